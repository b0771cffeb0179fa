#!/usr/bin/env bash
# The console in a real browser: a demo federation, headless Chromium (Debian packages
# chromium + chromium-driver; fonts-wqy-zenhei for the Chinese text in screenshots) driven over WebDriver by tests/console_browser.py (selenium from
# PyPI). Saves screenshots under docs/console/. About 1–2 minutes after the build.
#   tests/console-browser.sh            # installs nothing; needs chromium, chromedriver, selenium
#   INSTALL=1 tests/console-browser.sh  # apt-get install chromium chromium-driver; pip install selenium
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INSTALL:-0}" = 1 ]; then
  apt-get install -y chromium chromium-driver fonts-wqy-zenhei >/dev/null
  pip install -q selenium
fi
command -v chromedriver >/dev/null || { echo "chromedriver missing (apt-get install chromium chromium-driver)"; exit 2; }
python3 -c 'import selenium' 2>/dev/null || { echo "selenium missing (pip install selenium)"; exit 2; }
cargo build -q -p credfed-node
BIN="${CARGO_TARGET_DIR:-target}/debug/credfed-node"
DIR="$(mktemp -d)"
"$BIN" demo --dir "$DIR/demo" > "$DIR/demo.out" 2>&1 &
PID=$!
trap 'kill -INT $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 120); do [ -f "$DIR/demo/demo.json" ] && break; sleep 0.5; done
[ -f "$DIR/demo/demo.json" ] || { cat "$DIR/demo.out"; exit 1; }
sleep 2
mkdir -p docs/console
start=$(date +%s)
python3 tests/console_browser.py "$DIR/demo" docs/console
echo "browser test passed in $(( $(date +%s) - start )) s"
