#!/usr/bin/env bash
# -cpuprofile and -memprofile of both lab workers open in go tool pprof, and
# the bad worker's allocation profile names its allocation hot spots.
# Skips (77) without go, or when this build has no CPU or heap profiles
# (heap profiles need jemalloc: not under a sanitizer).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${ORDERD_BUILD:-build}
command -v go >/dev/null || { echo "skip: go tool pprof (golang-go) is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" GOCACHE="$tmp/gocache" GOPATH="$tmp/go"
args=(-tasks 3000 -workers 4 -data-size 100 -duration 60s --metrics-addr none -quiet)
fail=0
for w in bad optimized; do
    "$build/bin/worker-$w" "${args[@]}" -cpuprofile "$tmp/cpu-$w.prof" \
        -memprofile "$tmp/mem-$w.prof" >"$tmp/$w.out" 2>&1 ||
        { echo "FAIL: worker-$w exited $?"; cat "$tmp/$w.out"; exit 1; }
    if grep -q "not available" "$tmp/$w.out"; then
        echo "skip: $(grep -m1 'not available' "$tmp/$w.out")"
        exit 77
    fi
    for p in cpu mem; do
        f="$tmp/$p-$w.prof"
        [ -s "$f" ] || { echo "FAIL: worker-$w wrote no $p profile"; cat "$tmp/$w.out"; fail=1; continue; }
        go tool pprof -raw "$f" >"$tmp/raw" 2>&1 || { echo "FAIL: go tool pprof cannot read $f:"; head "$tmp/raw"; fail=1; }
    done
done
[ $fail = 0 ] || exit 1

# The sample types of a heap profile, as Go writes them.
types=$(go tool pprof -raw "$tmp/mem-bad.prof" 2>/dev/null | sed -n 's/^Sample types: *//p; /^PeriodType/q')
go tool pprof -raw "$tmp/mem-bad.prof" 2>/dev/null | head -3
for t in alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes; do
    go tool pprof -raw "$tmp/mem-bad.prof" 2>/dev/null | head -5 | grep -q "$t" ||
        { echo "FAIL: heap profile lacks sample type $t ($types)"; fail=1; }
done

# The bad worker's allocation hot spots, by bytes allocated.
top=$(go tool pprof -sample_index=alloc_space -top -nodecount=40 "$tmp/mem-bad.prof" 2>&1)
echo "$top" | head -20
for fn in build_log_entry append_i64 process; do
    grep -q "$fn" <<<"$top" || { echo "FAIL: alloc_space top lacks $fn"; fail=1; }
done
# And the CPU profile names the bad worker's code.
cpu=$(go tool pprof -top -nodecount=60 "$tmp/cpu-bad.prof" 2>&1)
grep -qE "build_log_entry|process|compute" <<<"$cpu" || { echo "FAIL: CPU profile lacks the worker's functions:"; echo "$cpu" | head -30; fail=1; }
exit $fail
