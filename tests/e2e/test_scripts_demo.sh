#!/usr/bin/env bash
# scripts/start-demo.sh and stop-demo.sh on free ports with their own pid
# folder: both workers and orderd come up and serve /metrics, a second start
# does not duplicate them, stop-demo ends exactly those processes and removes
# the pid files. Each worker serves the dashboard at /, /api/live and the
# /debug/pprof/ index; continuous-profiling.sh --count 1 runs against
# worker-bad.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${ORDERD_BUILD:-build}
tmp=$(mktemp -d)
export DEMO_DIR="$tmp/demo" BUILD=$build ORDERD_LOAD=normal LEAK_CAP=200
# shellcheck disable=SC2317 # called by the trap
cleanup() { scripts/stop-demo.sh >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT

# A port nobody listens on (a connect that fails), from a random start
# below the kernel's ephemeral range (32768 and up here), where the local
# end of some other program's outgoing connection could hold it.
free_port() {
    local p=$((20000 + RANDOM % 12000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo $p
}
BAD_ADDR=127.0.0.1:$(free_port)
OPT_ADDR=127.0.0.1:$(free_port)
ORDERD_ADDR=127.0.0.1:$(free_port)
export BAD_ADDR OPT_ADDR ORDERD_ADDR
[ "$BAD_ADDR" != "$OPT_ADDR" ] && [ "$OPT_ADDR" != "$ORDERD_ADDR" ] || exit 77

scripts/start-demo.sh --rate 100 --no-prometheus >"$tmp/start.txt" 2>&1 ||
    { echo "FAIL: start-demo.sh exited $?"; cat "$tmp/start.txt"; tail -n 20 "$DEMO_DIR"/*.log; exit 1; }
cat "$tmp/start.txt"
fail=0
pids=()
for n in worker-bad worker-optimized orderd; do
    [ -s "$DEMO_DIR/$n.pid" ] || { echo "FAIL: no pid file for $n"; fail=1; continue; }
    pids+=("$(cat "$DEMO_DIR/$n.pid")")
done
grep -q 'worker_threads_active{worker_type="bad"}' <<<"$(curl -fsS "http://$BAD_ADDR/metrics")" ||
    { echo "FAIL: worker-bad /metrics"; fail=1; }
grep -q 'worker_threads_active{worker_type="optimized"}' <<<"$(curl -fsS "http://$OPT_ADDR/metrics")" ||
    { echo "FAIL: worker-optimized /metrics"; fail=1; }
curl -fsS "http://$ORDERD_ADDR/health" >/dev/null || { echo "FAIL: orderd /health"; fail=1; }

# Starting again finds them running.
scripts/start-demo.sh --no-prometheus 2>&1 | grep -c "already running" | grep -q 3 ||
    { echo "FAIL: a second start-demo.sh did not find the three running"; fail=1; }

# Each worker serves the dashboard, its data and the profiles.
for w in bad:"$BAD_ADDR" optimized:"$OPT_ADDR"; do
    name=${w%%:*} addr=${w#*:}
    curl -fsS "http://$addr/" | grep -q '/ui/dashboard.js' ||
        { echo "FAIL: worker-$name serves no dashboard at /"; fail=1; }
    curl -fsS "http://$addr/api/live" | grep -q "\"title\":\"worker-$name\"" ||
        { echo "FAIL: worker-$name /api/live"; fail=1; }
    curl -fsS "http://$addr/debug/pprof/" | grep -q "href='profile?seconds=30'" ||
        { echo "FAIL: worker-$name /debug/pprof/ index"; fail=1; }
done
scripts/continuous-profiling.sh --url "http://$BAD_ADDR" --count 1 --cpu-seconds 1 \
    --interval 0s --out "$tmp/profiles" || { echo "FAIL: continuous-profiling.sh"; fail=1; }
kinds=(cpu goroutine)
# Heap profiles need jemalloc: a sanitizer build answers 501 (and the script
# says so instead of failing).
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$BAD_ADDR/debug/pprof/heap")" = 501 ] ||
    kinds+=(memory)
for k in "${kinds[@]}"; do
    ls "$tmp/profiles/${k}_"*.prof >/dev/null 2>&1 || { echo "FAIL: no $k profile"; fail=1; }
done

scripts/stop-demo.sh || { echo "FAIL: stop-demo.sh exited $?"; fail=1; }
for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null && { echo "FAIL: pid $p still running after stop-demo.sh"; fail=1; }
done
ls "$DEMO_DIR"/*.pid >/dev/null 2>&1 && { echo "FAIL: pid files left"; fail=1; }
grep -q "Final thread count" "$DEMO_DIR/worker-optimized.log" ||
    { echo "FAIL: worker-optimized did not report on SIGTERM"; fail=1; }
grep -q "All threads properly cleaned up!" "$DEMO_DIR/worker-optimized.log" ||
    { echo "FAIL: worker-optimized leaked threads"; fail=1; }
exit $fail
