#!/usr/bin/env bash
# What the mutex, block and trace profilers cost orderd, side by side in one
# run, and the uncontended cost of cprof_mutex_t against pthread_mutex_t.
# Prints RESULT lines (see bench/run.sh); never asserts timing.
#
#  1. orderd --work none --http-threads 1 under orderload --max for
#     BENCH_LOCK_SECONDS (default 5), in three configurations, alternated
#     BENCH_LOCK_ROUNDS times (default 2; the best run of each counts, the
#     least disturbed by whatever else shares the machine):
#       off:   --mutex-profile-fraction 0 --block-profile-rate 0
#       on:    the defaults (1 and 1, as the seed's SetMutexProfileFraction(1)
#              and SetBlockProfileRate(1))
#       trace: the defaults with /debug/pprof/trace running over the window
#     Throughputs, and the ratios on/off and trace/on.
#  2. tests/programs/lock_bench: ns per uncontended lock+unlock of
#     pthread_mutex_t and cprof_mutex_t (profiles on), ns per trace span
#     when no trace runs and while one runs.
# About 45 s. Env: BUILD, ORDERD_BIN, BENCH_LOCK_SECONDS, BENCH_LOCK_ROUNDS,
# BENCH_CONNECTIONS (default 16).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
ORDERD_BIN=${ORDERD_BIN:-$BUILD/bin/orderd}
ORDERLOAD_BIN=${ORDERLOAD_BIN:-$BUILD/bin/orderload}
LOCK_BENCH=$BUILD/tests/programs/lock_bench
SECS=${BENCH_LOCK_SECONDS:-5}
ROUNDS=${BENCH_LOCK_ROUNDS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
for b in "$ORDERD_BIN" "$ORDERLOAD_BIN" "$LOCK_BENCH"; do
    [ -x "$b" ] || { echo "missing $b (run make first)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'orderd_stop; rm -rf "$tmp"' EXIT

start_server() {
    orderd_start "$tmp/orderd.log" --summary-interval 0 --work none --http-threads 1 "$@" || exit 1
}

# run CONFIG: one measured window; prints accepted orders/s.
run() {
    local cfg=$1 tracepid=""
    case $cfg in
    off) start_server --mutex-profile-fraction 0 --block-profile-rate 0 ;;
    *) start_server ;;
    esac
    "$ORDERLOAD_BIN" --url "$base" --max --duration 1s --connections "$CONNS" --quiet \
        --max-error-rate 1 >/dev/null # warm-up
    if [ "$cfg" = trace ]; then
        curl -sf "$base/debug/pprof/trace?seconds=$((SECS + 1))" -o "$tmp/trace-out.json" &
        tracepid=$!
        sleep 0.2
    fi
    "$ORDERLOAD_BIN" --url "$base" --max --duration "${SECS}s" --connections "$CONNS" --json \
        --quiet --max-error-rate 1 >"$tmp/$cfg.json"
    if [ -n "$tracepid" ]; then
        wait "$tracepid" || true
        echo "   trace: $(jq -c '.otherData' "$tmp/trace-out.json" 2>/dev/null), $(stat -c %s "$tmp/trace-out.json") bytes" >&2
    fi
    orderd_stop
    jq '(.codes["201"] // 0) / .elapsed_s | floor' "$tmp/$cfg.json"
}

declare -A best=([off]=0 [on]=0 [trace]=0)
for r in $(seq 1 "$ROUNDS"); do
    for cfg in off on trace; do
        v=$(run "$cfg")
        echo "round $r: $cfg $v orders/s"
        [ "$v" -gt "${best[$cfg]}" ] && best[$cfg]=$v
    done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a / b; else print 0 }'; }
printf 'RESULT\torders/s, mutex+block profiles off (--work none, 1 HTTP thread)\t%s\torders/s\n' "${best[off]}"
printf 'RESULT\torders/s, mutex+block profiles at rate 1 (default)\t%s\torders/s\n' "${best[on]}"
printf 'RESULT\torders/s, default profiles + execution trace running\t%s\torders/s\n' "${best[trace]}"
printf 'RESULT\tthroughput ratio: profiles at rate 1 / off\t%s\tratio\n' "$(ratio "${best[on]}" "${best[off]}")"
printf 'RESULT\tthroughput ratio: trace running / not\t%s\tratio\n' "$(ratio "${best[trace]}" "${best[on]}")"

"$LOCK_BENCH" >"$tmp/micro"
cat "$tmp/micro" >&2
while read -r name value unit; do
    case $name in
    pthread_mutex_lock_unlock) label="uncontended lock+unlock, pthread_mutex_t" ;;
    cprof_mutex_lock_unlock) label="uncontended lock+unlock, cprof_mutex_t (profiles on)" ;;
    trace_span_off) label="trace span begin+end, no trace running" ;;
    trace_span_on) label="trace span begin+end, trace running" ;;
    *) continue ;;
    esac
    printf 'RESULT\t%s\t%s\t%s\n' "$label" "$value" "$unit"
done <"$tmp/micro"
