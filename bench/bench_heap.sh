#!/usr/bin/env bash
# Heap profiling cost:
#  1. orderd throughput (closed loop, --work none) with heap sampling on
#     (--heap-profile, the default, 512 KiB rate) and off, side by side:
#     ROUNDS alternating rounds of SECONDS each, the median of each side, and
#     the loss in percent (target: under 2%; on a shared 2-core machine the
#     round-to-round noise is of the same order, so read it with the spread);
#     and, steadier, orderd's CPU time per order at a fixed RATE (4000/s)
#     in the same rounds, the ratio of the medians.
#  2. one malloc+free pair: jemalloc with profiling compiled out
#     (MALLOC_CONF=prof:false), compiled in but inactive, active; glibc.
# Env: BUILD (build folder), ROUNDS (5), SECONDS_PER_ROUND (4), RATE (4000).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
ORDERD_BIN=${ORDERD_BIN:-$BUILD/bin/orderd}
LOAD_BIN=$BUILD/bin/orderload
ROUNDS=${ROUNDS:-5}
SECS=${SECONDS_PER_ROUND:-4}
RATE=${RATE:-4000}
tmp=$(mktemp -d)
trap 'orderd_stop; rm -rf "$tmp"' EXIT

if [ -x "$ORDERD_BIN" ] && [ -x "$LOAD_BIN" ]; then
    : >"$tmp/on"
    : >"$tmp/off"
    : >"$tmp/cpu-on"
    : >"$tmp/cpu-off"
    for r in $(seq "$ROUNDS"); do
        for mode in on off; do
            flag=--heap-profile=true
            [ $mode = off ] && flag=--heap-profile=false
            orderd_start "$tmp/orderd.log" --work none --log-level warn --leak-interval 0 "$flag" ||
                { echo "orderd did not start"; exit 1; }
            rate=$("$LOAD_BIN" --url "http://127.0.0.1:$port" --max --duration "${SECS}s" \
                --json --quiet --max-error-rate 1 | sed -n 's/.*"rate":\([0-9.]*\).*/\1/p' | head -1)
            us=$(orderd_cpu_per_order "$LOAD_BIN" "$RATE" "$SECS")
            orderd_stop
            echo "round $r heap sampling $mode: ${rate:-?} orders/s; ${us:-?} µs CPU per order at $RATE/s"
            [ -n "$rate" ] && echo "$rate" >>"$tmp/$mode"
            [ -n "$us" ] && echo "$us" >>"$tmp/cpu-$mode"
        done
    done
    on=$(median <"$tmp/on")
    off=$(median <"$tmp/off")
    printf 'RESULT\torderd_throughput_heap_sampling_on\t%s\torders/s\n' "$on"
    printf 'RESULT\torderd_throughput_heap_sampling_off\t%s\torders/s\n' "$off"
    awk -v on="$on" -v off="$off" 'BEGIN { if (off > 0) printf "RESULT\torderd_heap_sampling_loss\t%.2f\t%%\n", (off - on) * 100 / off }'
    cpu_on=$(median <"$tmp/cpu-on")
    cpu_off=$(median <"$tmp/cpu-off")
    printf 'RESULT\torderd_cpu_per_order_heap_sampling_on\t%s\tus\n' "$cpu_on"
    printf 'RESULT\torderd_cpu_per_order_heap_sampling_off\t%s\tus\n' "$cpu_off"
    awk -v on="$cpu_on" -v off="$cpu_off" 'BEGIN { if (off > 0) printf "RESULT\torderd_cpu_per_order_ratio_on_off\t%.4f\tratio\n", on / off }'
    # The noise to read the loss against: the spread of the "off" rounds.
    sort -n "$tmp/off" | awk -v med="$off" '{v[NR]=$1} END { if (NR && med > 0) printf "RESULT\torderd_throughput_round_spread_off\t%.1f\t%%\n", (v[NR]-v[1])*100/med }'
else
    echo "orderd or orderload not built; skipping the throughput comparison"
fi

mb=$BUILD/tests/programs/heap_mallocbench
gb=$BUILD/tests/programs/glibc_heap_mallocbench
[ -x "$mb" ] && MALLOC_CONF=prof:false "$mb" 500
[ -x "$mb" ] && "$mb" 500
[ -x "$gb" ] && "$gb" 500
exit 0
