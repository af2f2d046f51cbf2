#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the test suite.
#   scripts/pg.sh start   → prints the server's URL on stdout (installs PostgreSQL from
#                           Debian packages first when CI=true or GRIDLINE_TEST_PG=install)
#   scripts/pg.sh stop
# Exit 3 from start: PostgreSQL is not available here (the reason is on stderr).
set -euo pipefail

port="${GRIDLINE_TEST_PG_PORT:-54329}"
dir="${GRIDLINE_TEST_PG_DIR:-${TMPDIR:-/tmp}/gridline-pg-$port}"
user=gridline

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_pg() {
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install PostgreSQL" >&2; return 1; fi
  echo "installing PostgreSQL from Debian packages…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
}

# PostgreSQL refuses to run as root: run it as the postgres user the package creates.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin; bin="$(bindir)"
  if [ -z "$bin" ]; then
    if [ "${CI:-}" = "true" ] || [ "${GRIDLINE_TEST_PG:-}" = "install" ]; then
      install_pg || exit 3
      bin="$(bindir)"
    else
      echo "PostgreSQL is not installed (run 'GRIDLINE_TEST_PG=install make test' to install it)" >&2
      exit 3
    fi
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "no postgres user to run the server as" >&2; exit 3
  fi
  if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir" -U "$user" -A trust -E UTF8 --locale=C >/dev/null
    # Durability is not under test here: trade it for speed.
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
  fi
  echo "postgresql+psycopg://$user@127.0.0.1:$port/postgres"
}

stop() {
  local bin; bin="$(bindir)"
  [ -n "$bin" ] && [ -d "$dir" ] && as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
