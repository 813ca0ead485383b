#!/usr/bin/env bash
# The goroutine (thread), threadcreate, mutex and block profiles of a loaded
# orderd, read by the real `go tool pprof` in a directory without the
# binary, so only the profiles' own names can appear. Checked:
#   - goroutine: -top names worker_main, -tags lists the
#     worker-N thread labels; the seed's /profile/goroutines too;
#   - mutex: -top has an unlock site (cprof_mutex_unlock or cprof_cond_wait,
#     Go's semantics)
#     and an orderd function above it; block: cprof_cond_wait and queue_pop;
#   - go tool pprof fetching /debug/pprof/mutex itself works;
#   - the execution trace is valid JSON (python3 json) with traceEvents;
#   - orderd exits 0 on SIGTERM afterwards.
# Skipped (77) when go is missing.
set -uo pipefail
. "$(dirname "$0")/lib/pprof.sh"
BUILD=${ORDERD_BUILD:-${BUILD:-build}}
bin=${ORDERD_BIN:-$BUILD/bin/orderd}
load=$(dirname "$bin")/orderload
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
[ -x "$load" ] || { echo "FAIL: $load not built"; exit 1; }
bin=$(realpath "$bin")
load=$(realpath "$load")
cd "$tmp/work" || exit 1

# Few workers and a shared hand-off channel so that locks are contended.
ORDERD_BIN=$bin orderd_start "$tmp/orderd.log" --work cpu --work-ms 0.2 --workers 4 ||
    { echo "FAIL: orderd did not start"; exit 1; }
echo "orderd on $base"

"$load" --url "$base" --max --duration 4s --connections 16 --quiet \
    --max-error-rate 1 >"$tmp/load.out" 2>&1 &
loadpid=$!
# Profiles are taken once the load has pushed 800 orders through (bounded).
for _ in $(seq 100); do
    n=$(curl -sf "$base/stats" | sed -n 's/.*"total_processed":\([0-9]*\).*/\1/p')
    [ "${n:-0}" -ge 800 ] && break
    sleep 0.1
done

fail=0
check() { # name file pattern...
    local what=$1 out=$2
    shift 2
    for pat in "$@"; do
        if ! grep -q -- "$pat" "$out"; then
            echo "FAIL: $what lacks $pat"
            head -30 "$out"
            fail=1
        fi
    done
}

curl -sf "$base/debug/pprof/goroutine" -o "$tmp/goroutine.prof" || { echo "FAIL: goroutine"; fail=1; }
curl -sf "$base/profile/goroutines" -o "$tmp/goroutines-alias.prof" || { echo "FAIL: alias"; fail=1; }
curl -sf "$base/debug/pprof/threadcreate" -o "$tmp/threadcreate.prof" || { echo "FAIL: threadcreate"; fail=1; }
curl -sf "$base/debug/pprof/trace?seconds=0.5" -o "$tmp/trace.json" || { echo "FAIL: trace"; fail=1; }
wait "$loadpid"
loadpid=
curl -sf "$base/debug/pprof/mutex" -o "$tmp/mutex.prof" || { echo "FAIL: mutex"; fail=1; }
curl -sf "$base/debug/pprof/block" -o "$tmp/block.prof" || { echo "FAIL: block"; fail=1; }

go tool pprof -top "$tmp/goroutine.prof" >"$tmp/g.top" 2>&1
# Where a worker is at the instant of the dump depends on the load; every
# worker thread is inside worker_main.
check "goroutine -top" "$tmp/g.top" "Type: goroutine" worker_main
go tool pprof -tags "$tmp/goroutine.prof" >"$tmp/g.tags" 2>&1
check "goroutine -tags" "$tmp/g.tags" "worker-1" "worker-4" "results-1"
go tool pprof -top "$tmp/goroutines-alias.prof" >"$tmp/ga.top" 2>&1
check "/profile/goroutines -top" "$tmp/ga.top" "Type: goroutine" worker_main
go tool pprof -top "$tmp/threadcreate.prof" >"$tmp/tc.top" 2>&1
check "threadcreate -top" "$tmp/tc.top" "Type: threadcreate" pool_start cprof_thread_create

go tool pprof -top "$tmp/mutex.prof" >"$tmp/m.top" 2>&1
# The leaf is an unlocking call: cprof_mutex_unlock, or cprof_cond_wait,
# which releases the mutex (which one a short run sees depends on timing).
check "mutex -top" "$tmp/m.top" "Type: delay" "cprof_mutex_unlock\|cprof_cond_wait"
go tool pprof -top -sample_index=contentions "$tmp/mutex.prof" >"$tmp/mc.top" 2>&1
check "mutex contentions -top" "$tmp/mc.top" "Type: contentions"
go tool pprof -top -cum "$tmp/block.prof" >"$tmp/b.top" 2>&1
check "block -top" "$tmp/b.top" "Type: delay" cprof_cond_wait queue_pop
go tool pprof -top "$base/debug/pprof/block" >"$tmp/bf.top" 2>&1
check "go tool pprof fetching /debug/pprof/block" "$tmp/bf.top" cprof_cond_wait
for f in "$tmp"/*.top "$tmp"/*.tags; do
    if grep -qi "unrecognized\|failed to\|parsing profile" "$f"; then
        echo "FAIL: go tool pprof complained in $(basename "$f"):"; head "$f"; fail=1
    fi
done
# Mutex holders in orderd: the unlock site is below an orderd function.
grep -Eq "queue_(push|pop)|chan_(send|recv)|store_|take" "$tmp/m.top" ||
    echo "note: no orderd lock holder in the mutex top (little contention this run)"

python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["traceEvents"], "empty"' \
    "$tmp/trace.json" || { echo "FAIL: the trace is not valid JSON with events"; fail=1; }

kill -TERM "$orderd_pid"
wait "$orderd_pid"
rc=$?
orderd_pid=
[ $rc = 0 ] || { echo "FAIL: orderd exited $rc"; tail "$tmp/orderd.log"; fail=1; }
[ $fail = 0 ] && echo "ok: go tool pprof reads goroutine, threadcreate, mutex and block with names"
exit $fail
