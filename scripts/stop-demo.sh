#!/usr/bin/env bash
# Stops what scripts/start-demo.sh started, by the pid files in $BUILD/demo/:
# SIGTERM, up to 15 s to exit, then SIGKILL. A pid whose process is not the
# program the file names (the pid was reused) is left alone.
# Usage: scripts/stop-demo.sh
# Env: BUILD (build folder, default build), DEMO_DIR (default $BUILD/demo).
set -euo pipefail

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
"") ;;
-h|--help) usage; exit 0 ;;
*) echo "stop-demo.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
[[ "$build" = /* ]] || build="$root/$build"
demo=${DEMO_DIR:-$build/demo}
shopt -s nullglob
files=("$demo"/*.pid)
if [ ${#files[@]} = 0 ]; then
    echo "Nothing to stop (no pid files in $demo)."
    exit 0
fi
for f in "${files[@]}"; do
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
        echo "  $name: not running"
        rm -f "$f"
        continue
    fi
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$name"; then
        echo "  $name: pid $pid is another program now; left alone"
        rm -f "$f"
        continue
    fi
    kill -TERM "$pid"
    deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        echo "  $name: killed (did not exit within 15 s of SIGTERM)"
    else
        echo "  $name: stopped"
    fi
    rm -f "$f"
done
