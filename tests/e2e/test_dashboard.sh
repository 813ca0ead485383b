#!/usr/bin/env bash
# End to end in real headless Chromium: the live dashboard at / of an orderd
# under load (orderload's mixed scenario stretched over the whole test, at
# most 200 s, so a slow machine never profiles an idle server; --work cpu so
# worker functions take CPU), driven
# by tests/e2e/dashboard.mjs with playwright-core and Debian's chromium.
# Charts must fill with values matching /stats, every profile button must
# end in a flame graph or a visible error, the CPU-profile button in a
# speedscope flame graph naming orderd functions (read from orderd's own
# object files), the trace button in a download; no JavaScript errors.
# Screenshots: $ORDERD_BUILD/screenshots/. orderd must exit 0 on SIGTERM
# with no sanitizer report.
#
# Missing chromium, node or web/node_modules is a failure, not a skip:
# scripts/install-deps.sh installs them.
# Env: ORDERD_BUILD (default build), ORDERD_BIN. Exit 0 pass, 1 fail.
set -euo pipefail
. "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib/orderd.sh"
. "$(dirname "$0")/lib/dashboard.sh"

here=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${ORDERD_BUILD:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$here/$BUILD_DIR" ;; esac
BIN=${ORDERD_BIN:-$BUILD_DIR/bin/orderd}
case "$BIN" in /*) ;; *) BIN="$here/$BIN" ;; esac
SHOTS="$BUILD_DIR/screenshots"

fail() {
    echo "FAIL: $*"
    [ -f "${tmp:-/nonexistent}/orderd.log" ] && { echo "--- orderd log (tail)"; tail -n 30 "$tmp/orderd.log"; }
    exit 1
}
[ -x "$BIN" ] || fail "no orderd binary at $BIN"
dashboard_require_browser "$here"

tmp=$(mktemp -d /tmp/orderd-e2e-dash.XXXXXX)
orderd_pid="" load_pid=""
cleanup() {
    # Only the processes this script started, by pid.
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
    [ -n "$orderd_pid" ] && kill -KILL "$orderd_pid" 2>/dev/null && wait "$orderd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

dashboard_functions "$tmp/funcs.txt" "$BUILD_DIR"/obj/src/orderd/*.o

ORDERD_BIN=$BIN orderd_start "$tmp/orderd.log" --work cpu --summary-interval 0 ||
    fail "orderd did not start"
echo "orderd on $base (pid $orderd_pid)"
"$(dirname "$BIN")/orderload" --url "$base" --scenario mixed --duration 200s --quiet \
    --max-error-rate 1 >"$tmp/load.log" 2>&1 &
load_pid=$!

dashboard_wait_history "$base"

rm -rf "$SHOTS"
BASE="$base" SHOTS="$SHOTS" FUNCS="$tmp/funcs.txt" timeout 180 node "$here/tests/e2e/dashboard.mjs" ||
    fail "dashboard checks failed (screenshots in $SHOTS)"

kill "$load_pid" 2>/dev/null
wait "$load_pid" 2>/dev/null || true
load_pid=""
dashboard_stop "$orderd_pid" orderd "$tmp/orderd.log"
orderd_pid=""
echo "PASS: dashboard, profiles and flame graph in Chromium; screenshots in $SHOTS"
