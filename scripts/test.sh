#!/usr/bin/env bash
# `make test`: the whole suite on SQLite and on a real PostgreSQL server, the console in a real Chromium.
set -uo pipefail
cd "$(dirname "$0")/.."

if url="$(bash scripts/pg.sh start)"; then
  export GRIDLINE_TEST_PG_URL="$url"
  trap 'bash scripts/pg.sh stop' EXIT
else
  status=$?
  if [ "${CI:-}" = "true" ]; then echo "CI needs PostgreSQL and it could not be started" >&2; exit 1; fi
  export GRIDLINE_TEST_PG_SKIP="PostgreSQL could not be started (scripts/pg.sh exit $status)"
fi
if ! reason="$(bash scripts/browser.sh 2>&1 >/dev/null)"; then
  if [ "${CI:-}" = "true" ]; then echo "CI needs Chromium for the browser tests: $reason" >&2; exit 1; fi
  export GRIDLINE_TEST_BROWSER_SKIP="$reason"
fi
.venv/bin/pytest "$@"
