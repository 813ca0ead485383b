#!/usr/bin/env bash
# End to end in real headless Chromium: the live dashboard at / of a lab
# worker's metrics address (worker-bad under a steady task rate), driven by
# tests/e2e/dashboard.mjs with KIND=lab: charts fill with tasks/s matching
# the worker's /metrics, the header hides what the worker does not serve,
# the profile buttons end in flame graphs naming the lab's functions (read
# from the lab's object files), the trace downloads; no JavaScript errors.
# Screenshots: $ORDERD_BUILD/screenshots/lab/. The worker must exit 0 on
# SIGTERM with no sanitizer report.
#
# Missing chromium, node or web/node_modules is a failure, not a skip:
# scripts/install-deps.sh installs them.
# Env: ORDERD_BUILD (default build). Exit 0 pass, 1 fail.
set -euo pipefail
. "$(dirname "$0")/lib/dashboard.sh"

here=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${ORDERD_BUILD:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$here/$BUILD_DIR" ;; esac
BIN=$BUILD_DIR/bin/worker-bad
SHOTS="$BUILD_DIR/screenshots/lab"

fail() {
    echo "FAIL: $*"
    [ -f "${tmp:-/nonexistent}/worker.log" ] && { echo "--- worker log (tail)"; tail -n 30 "$tmp/worker.log"; }
    exit 1
}
[ -x "$BIN" ] || fail "no worker-bad binary at $BIN"
dashboard_require_browser "$here"

tmp=$(mktemp -d /tmp/lab-e2e-dash.XXXXXX)
pid=""
cleanup() {
    # Only the process this script started, by pid.
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

dashboard_functions "$tmp/funcs.txt" "$BUILD_DIR"/obj/src/lab/*.o "$BUILD_DIR"/obj/src/lab/bad/*.o

# Readiness: the worker writes its bound port on --ready-fd once it serves.
mkfifo "$tmp/ready"
"$BIN" -tasks 0 -rate 1000 -duration 0 -quiet --metrics-addr 127.0.0.1:0 --ready-fd 3 \
    3>"$tmp/ready" >"$tmp/worker.out" 2>"$tmp/worker.log" &
pid=$!
port=
read -r -t 30 port <"$tmp/ready" || true
[ -n "$port" ] || fail "worker-bad did not report its port within 30 s"
base="http://127.0.0.1:$port"
echo "worker-bad on $base (pid $pid)"

dashboard_wait_history "$base"

rm -rf "$SHOTS"
KIND=lab BASE="$base" SHOTS="$SHOTS" FUNCS="$tmp/funcs.txt" timeout 180 node "$here/tests/e2e/dashboard.mjs" ||
    fail "dashboard checks failed (screenshots in $SHOTS)"

dashboard_stop "$pid" worker-bad "$tmp/worker.log"
pid=""
grep -q "Final thread count" "$tmp/worker.out" || fail "no end report after SIGTERM"
echo "PASS: lab dashboard, profiles and flame graphs in Chromium; screenshots in $SHOTS"
