#!/usr/bin/env bash
# Heap profiles read by the real `go tool pprof` (golang-go).
#
# tests/programs/heap_ratio allocates from ratio_three three times the bytes
# of ratio_one (freeing ratio_three's, keeping ratio_one's), then from
# delta_fresh, and writes heap/allocs/delta profiles. Checked:
#   - alloc_space -top names both functions, in a 3:1 ratio within 10%
#     (sampling at 16 KiB gives ~4000 samples for ratio_one: the ratio's
#     standard deviation is ~2%, so 10% is a 5-sigma bound);
#   - inuse_space shows ratio_one and not ratio_three;
#   - the delta profile shows delta_fresh and neither earlier function;
#   - the debug=1 text parses too (its totals match the proto's within 1%).
# Skipped (77) when go is missing or the build has no jemalloc (sanitizers).
set -uo pipefail
BUILD=${ORDERD_BUILD:-${BUILD:-build}}
prog=$BUILD/tests/programs/heap_ratio
command -v go >/dev/null || { echo "SKIP: go tool pprof not installed (golang-go)"; exit 77; }
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home GOCACHE=$tmp/gocache GOFLAGS= GOTOOLCHAIN=local
mkdir -p "$HOME" "$tmp/out"

"$prog" "$tmp/out" 16384 >"$tmp/prog.log" 2>&1
rc=$?
if [ $rc = 77 ]; then
    echo "SKIP: heap profiling unavailable in this build: $(cat "$tmp/prog.log")"
    exit 77
fi
[ $rc = 0 ] || { echo "FAIL: heap_ratio exited $rc"; cat "$tmp/prog.log"; exit 1; }

fail=0
# bytes INDEX FILE FUNCTION: the function's flat bytes in `pprof -top`.
top() { go tool pprof -sample_index="$1" -unit=B -nodefraction=0 -edgefraction=0 -top "$2" 2>/dev/null; }
bytes() {
    top "$1" "$2" | awk -v fn="$3" '$NF == fn { sub(/B$/, "", $1); print $1; found=1 } END { if (!found) print 0 }'
}
check() { # check DESCRIPTION CONDITION...
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

top alloc_space "$tmp/out/heap.pb.gz" | head -12
three=$(bytes alloc_space "$tmp/out/heap.pb.gz" ratio_three)
one=$(bytes alloc_space "$tmp/out/heap.pb.gz" ratio_one)
echo "alloc_space: ratio_three=$three ratio_one=$one"
check "alloc_space names both functions" test "$three" -gt 0 -a "$one" -gt 0
ratio_ok() { awk -v a="$three" -v b="$one" 'BEGIN { r = b > 0 ? a / b : 0; printf "ratio %.3f\n", r; exit !(r >= 2.7 && r <= 3.3) }'; }
check "alloc_space ratio 3:1 within 10%" ratio_ok
# The allocs profile is the same data with alloc_space as its default.
go tool pprof -top "$tmp/out/allocs.pb.gz" 2>/dev/null | grep -q '^Type: alloc_space' ||
    { echo "FAIL: allocs default sample type is not alloc_space"; fail=1; }
go tool pprof -top "$tmp/out/heap.pb.gz" 2>/dev/null | grep -q '^Type: inuse_space' ||
    { echo "FAIL: heap default sample type is not inuse_space"; fail=1; }

top inuse_space "$tmp/out/heap.pb.gz" | head -10
live_one=$(bytes inuse_space "$tmp/out/heap.pb.gz" ratio_one)
live_three=$(bytes inuse_space "$tmp/out/heap.pb.gz" ratio_three)
check "inuse_space shows the live ratio_one ($live_one B)" test "$live_one" -gt 0
check "inuse_space does not show the freed ratio_three ($live_three B)" test "$live_three" = 0

top alloc_space "$tmp/out/delta.pb.gz" | head -10
fresh=$(bytes alloc_space "$tmp/out/delta.pb.gz" delta_fresh)
d_one=$(bytes alloc_space "$tmp/out/delta.pb.gz" ratio_one)
d_three=$(bytes alloc_space "$tmp/out/delta.pb.gz" ratio_three)
check "delta shows the new allocations of delta_fresh ($fresh B)" test "$fresh" -gt 0
check "delta drops the earlier allocations ($d_one, $d_three B)" test "$d_one" = 0 -a "$d_three" = 0

# debug=1 text: go tool pprof parses it and un-samples it to the same total.
total() { go tool pprof -sample_index="$1" -unit=B -top "$2" 2>/dev/null | sed -n 's/.*accounting for \([0-9]*\)B, .* of \([0-9]*\)B total.*/\2/p'; }
t_text=$(total alloc_space "$tmp/out/heap.txt")
t_pb=$(total alloc_space "$tmp/out/heap.pb.gz")
echo "alloc_space total: text $t_text B, proto $t_pb B"
close() { awk -v a="${t_text:-0}" -v b="${t_pb:-0}" 'BEGIN { exit !(b > 0 && a / b > 0.99 && a / b < 1.01) }'; }
check "legacy text totals agree with the proto" close
exit $fail
