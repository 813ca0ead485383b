#!/usr/bin/env bash
# -cpuprofile and -memprofile of both lab workers open in go tool pprof, and
# the bad worker's allocation profile names its allocation hot spots.
# Exit 77 (skipped) without go, or when a part cannot run in this build (no
# CPU or heap profiles, e.g. heap profiles under a sanitizer; frames not
# symbolized); the reasons are printed. Any failure of what did run is 1.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${ORDERD_BUILD:-build}
command -v go >/dev/null || { echo "skip: go tool pprof (golang-go) is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" GOCACHE="$tmp/gocache" GOPATH="$tmp/go"
# A 64 KiB sampling interval gives the small run enough heap samples.
args=(-tasks 3000 -workers 4 -data-size 100 -duration 60s --metrics-addr none -quiet
      -memprofilerate 65536)
fail=0 skipped=()
declare -A have=([cpu]=1 [mem]=1)
for w in bad optimized; do
    "$build/bin/worker-$w" "${args[@]}" -cpuprofile "$tmp/cpu-$w.prof" \
        -memprofile "$tmp/mem-$w.prof" >"$tmp/$w.out" 2>&1 ||
        { echo "FAIL: worker-$w exited $?"; cat "$tmp/$w.out"; exit 1; }
    grep -q -- "-cpuprofile: CPU profiles are not available" "$tmp/$w.out" && have[cpu]=0
    grep -q -- "-memprofile: heap profiles are not available" "$tmp/$w.out" && have[mem]=0
    for p in cpu mem; do
        [ "${have[$p]}" = 1 ] || continue
        f="$tmp/$p-$w.prof"
        [ -s "$f" ] || { echo "FAIL: worker-$w wrote no $p profile"; cat "$tmp/$w.out"; fail=1; continue; }
        if go tool pprof -raw "$f" >"$tmp/raw" 2>&1; then
            echo "ok: go tool pprof reads $p-$w.prof"
        else
            echo "FAIL: go tool pprof cannot read $f:"; head "$tmp/raw"; fail=1
        fi
    done
done
[ "${have[cpu]}" = 1 ] || skipped+=("$(grep -m1 -o -- '-cpuprofile: .*' "$tmp/bad.out")")
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
if [ "${have[cpu]}" = 1 ] && [ -s "$tmp/cpu-bad.prof" ]; then
    cpu=$(go tool pprof -top -nodecount=60 "$tmp/cpu-bad.prof" 2>&1)
    grep -qE "build_log_entry|process|compute|worker_main" <<<"$cpu" ||
        { echo "FAIL: CPU profile lacks the worker's functions:"; echo "$cpu" | head -30; fail=1; }
fi
[ $fail = 0 ] || exit 1
if [ ${#skipped[@]} -gt 0 ]; then
    printf 'skip: %s\n' "${skipped[@]}"
    exit 77
fi
exit 0
