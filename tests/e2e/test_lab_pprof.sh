#!/usr/bin/env bash
# -cpuprofile and -memprofile of both lab workers open in go tool pprof, the
# bad worker's allocation profile names its allocation hot spots, and each
# worker's CPU profile names its task functions.
# Exit 77 (skipped) without go, or when heap profiles cannot run in this
# build (under a sanitizer, which replaces jemalloc; frames not symbolized)
# with everything else passing; the reasons are printed. Any failure of what
# did run is 1, a missing CPU profile included.
set -uo pipefail
. "$(dirname "$0")/lib/pprof.sh"
cd "$(dirname "$0")/../.." || exit 1
build=${ORDERD_BUILD:-build}
# A 64 KiB sampling interval gives the small run enough heap samples. The
# task counts give each worker about half a CPU-second of work (the
# optimized one is about ten times faster per task), so its CPU profile
# holds some 50 samples at 100 Hz however busy the machine is: CPU profiles
# sample CPU time, not wall time.
args=(-workers 4 -data-size 400 -duration 120s --metrics-addr none -quiet -memprofilerate 65536)
declare -A tasks=([bad]=3000 [optimized]=30000)
fail=0 skipped=()
declare -A have=([mem]=1)
for w in bad optimized; do
    "$build/bin/worker-$w" -tasks "${tasks[$w]}" "${args[@]}" -cpuprofile "$tmp/cpu-$w.prof" \
        -memprofile "$tmp/mem-$w.prof" >"$tmp/$w.out" 2>&1 ||
        { echo "FAIL: worker-$w exited $?"; cat "$tmp/$w.out"; exit 1; }
    grep -q -- "-memprofile: heap profiles are not available" "$tmp/$w.out" && have[mem]=0
    for p in cpu mem; do
        [ "${have[$p]:-1}" = 1 ] || continue # CPU profiles always
        f="$tmp/$p-$w.prof"
        [ -s "$f" ] || { echo "FAIL: worker-$w wrote no $p profile"; cat "$tmp/$w.out"; fail=1; continue; }
        if go tool pprof -raw "$f" >"$tmp/raw" 2>&1; then
            echo "ok: go tool pprof reads $p-$w.prof"
        else
            echo "FAIL: go tool pprof cannot read $f:"; head "$tmp/raw"; fail=1
        fi
    done
done
[ "${have[mem]}" = 1 ] || skipped+=("$(grep -m1 -o -- '-memprofile: .*' "$tmp/bad.out")")

if [ "${have[mem]}" = 1 ] && [ -s "$tmp/mem-bad.prof" ]; then
    raw=$(go tool pprof -raw "$tmp/mem-bad.prof" 2>/dev/null | head -5)
    for t in alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes; do
        grep -q "$t" <<<"$raw" || { echo "FAIL: heap profile lacks sample type $t"; fail=1; }
    done
    # The bad worker's allocation hot spots, by bytes allocated.
    top=$(go tool pprof -sample_index=alloc_space -top -nodecount=40 "$tmp/mem-bad.prof" 2>&1)
    echo "$top" | head -16
    missing=()
    for fn in build_log_entry append_i64 process; do
        grep -q "$fn" <<<"$top" || missing+=("$fn")
    done
    if [ ${#missing[@]} = 0 ]; then
        echo "ok: the alloc profile names build_log_entry, append_i64 and process"
    elif grep -q '\[worker-bad\]' <<<"$top"; then
        skipped+=("heap profile frames inside worker-bad are not symbolized (no ${missing[*]})")
    else
        echo "FAIL: alloc_space top lacks ${missing[*]}"; fail=1
    fi
fi
# Each worker's CPU profile names the lab's task functions: the worker
# threads' entry point and the per-task function, which holds most of the
# CPU time (cumulative view: they are callers of whatever burns it; an
# inlined function is listed with " (inline)").
# Not under TSan, which runs a signal's handler at the thread's next safe
# point: its stacks are not where the thread was.
signal_stacks_exact || skipped+=("CPU stacks under SANITIZE=thread (TSan delays signal handlers)")
for w in bad optimized; do
    [ -s "$tmp/cpu-$w.prof" ] || continue # reported above
    signal_stacks_exact || continue
    cpu=$(go tool pprof -top -cum -nodecount=200 "$tmp/cpu-$w.prof" 2>&1)
    grep -q 'Type: cpu' <<<"$cpu" || { echo "FAIL: cpu-$w.prof is not a CPU profile"; fail=1; }
    missing=()
    for fn in worker_main process; do
        grep -qE " $fn( \(inline\))?\$" <<<"$cpu" || missing+=("$fn")
    done
    if [ ${#missing[@]} = 0 ]; then
        echo "ok: the CPU profile of worker-$w names worker_main and process"
        grep -E " (worker_main|process|compute)( \(inline\))?\$" <<<"$cpu"
    else
        echo "FAIL: the CPU profile of worker-$w lacks ${missing[*]}:"; echo "$cpu" | head -30; fail=1
    fi
done
[ $fail = 0 ] || exit 1
if [ ${#skipped[@]} -gt 0 ]; then
    printf 'skip: %s\n' "${skipped[@]}"
    exit 77
fi
exit 0
