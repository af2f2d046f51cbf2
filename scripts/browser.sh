#!/usr/bin/env bash
# Chromium and its WebDriver for the console's browser tests (tests/test_console_browser.py).
#   scripts/browser.sh check → exit 0 when /usr/bin/chromium and /usr/bin/chromedriver are there;
#                              installs Debian's packages first when CI=true or GRIDLINE_TEST_BROWSER=install
# Exit 3: no browser here (the reason is on stderr).
set -euo pipefail

have() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }

if have; then exit 0; fi
if [ "${CI:-}" = "true" ] || [ "${GRIDLINE_TEST_BROWSER:-}" = "install" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install chromium" >&2; exit 3; fi
  echo "installing chromium, chromium-driver and CJK fonts from Debian packages…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk >&2
  have && exit 0
fi
echo "chromium and chromium-driver are not installed (run 'GRIDLINE_TEST_BROWSER=install make test' to install them)" >&2
exit 3
