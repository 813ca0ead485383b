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
# Then the seed's memory workflow against a loaded orderd (curl -o mem.prof
# /profile/memory; go tool pprof -sample_index=alloc_space -top mem.prof;
# curl /profile/gc), read with -symbolize=none so that every name comes from
# the profile itself; an allocs?seconds=2 delta taken under load; the
# /debug/pprof/ index lists heap, allocs and gc.
# Skipped (77) when go is missing or the build has no jemalloc (sanitizers).
set -uo pipefail
. "$(dirname "$0")/lib/pprof.sh"
BUILD=${ORDERD_BUILD:-${BUILD:-build}}
prog=$BUILD/tests/programs/heap_ratio
ORDERD_BIN=$(realpath "${ORDERD_BIN:-$BUILD/bin/orderd}")
load=$(dirname "$ORDERD_BIN")/orderload
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }

mkdir -p "$tmp/out"
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

# ---- orderd: the seed's workflow ---------------------------------------------
[ -x "$ORDERD_BIN" ] && [ -x "$load" ] || { echo "FAIL: orderd or orderload not built"; exit 1; }
orderd_start "$tmp/orderd.log" --work none || { echo "FAIL: orderd did not start"; exit 1; }
"$load" --url "$base" --rate 500 --duration 8s --connections 4 --quiet --max-error-rate 1 \
    >"$tmp/load.out" 2>&1 &
loadpid=$!
# Profiles are taken once the load has pushed 500 orders through (bounded).
for _ in $(seq 100); do
    n=$(curl -sf "$base/stats" | sed -n 's/.*"total_processed":\([0-9]*\).*/\1/p')
    [ "${n:-0}" -ge 500 ] && break
    sleep 0.1
done
curl -sf -D "$tmp/mem.h" -o "$tmp/mem.prof" "$base/profile/memory" || { echo "FAIL: /profile/memory"; fail=1; }
curl -sf -o "$tmp/delta.prof" "$base/debug/pprof/allocs?seconds=2" || { echo "FAIL: allocs?seconds=2"; fail=1; }
wait "$loadpid"
loadpid=
curl -sf -o "$tmp/gc.json" "$base/profile/gc" || { echo "FAIL: /profile/gc"; fail=1; }
curl -sf -o "$tmp/index.html" "$base/debug/pprof/" || { echo "FAIL: index"; fail=1; }

check "/profile/memory is an attachment memory_profile_<unix>.prof" \
    grep -qiE '^Content-Disposition: attachment; filename="?memory_profile_[0-9]+\.prof' "$tmp/mem.h"
go tool pprof -symbolize=none -sample_index=alloc_space -top "$tmp/mem.prof" >"$tmp/mem.top" 2>&1
head -12 "$tmp/mem.top"
check "orderd alloc_space -top names orderd's allocation sites without the binary" \
    grep -qE '^Type: alloc_space' "$tmp/mem.top"
check "... with functions of orderd (xalloc, api_, store_ or json)" \
    grep -qE ' (xalloc[a-z_]*|xstrdup|api_[a-z_]+|store_[a-z_]+|json_[a-z_]+)$' "$tmp/mem.top"
go tool pprof -symbolize=none -top "$tmp/delta.prof" >"$tmp/delta.top" 2>&1
check "the allocs delta is a 2 s profile of alloc_space" \
    grep -qE '^Duration: 2' "$tmp/delta.top"
check "... in which orderd allocated" grep -qE '^Type: alloc_space' "$tmp/delta.top"
gc_ok() {
    python3 - "$tmp/gc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("before", "after"):
    assert d[k]["TotalAlloc"] > 0 and d[k]["Mallocs"] > 0, d[k]
assert d["after"]["NumGC"] > d["before"]["NumGC"], d
assert d["took_ns"] >= 0
PY
}
check "/profile/gc: statistics before and after a purge, with its time" gc_ok
for name in heap allocs gc; do
    check "the index links $name" grep -q "href='$name'" "$tmp/index.html"
done
for f in "$tmp"/*.top; do
    if grep -qi "unrecognized\|failed to\|parsing profile" "$f"; then
        echo "FAIL: go tool pprof complained in $(basename "$f"):"; head "$f"; fail=1
    fi
done
kill -TERM "$orderd_pid"
wait "$orderd_pid"
rc=$?
orderd_pid=
[ $rc = 0 ] || { echo "FAIL: orderd exited $rc"; tail "$tmp/orderd.log"; fail=1; }
exit $fail
