#!/usr/bin/env bash
# Throughput, CPU cost, latency and memory per order of orderd, measured
# with orderload over real HTTP on 127.0.0.1. Prints RESULT lines (see
# bench/run.sh); never asserts timing. Bounded: about 100 s on a quiet
# 2-core machine, most of it filling a paused queue with 1M orders (the fill
# stops after 90 s; the bytes per order are then from what was queued).
#
#  1. max load: orderd --work none --http-threads 1 (the load generator
#     shares this 2-core box), orderload --max for BENCH_SECONDS:
#     accepted orders/s, processed orders/s, server CPU us per order
#     (utime+stime from /proc/PID/stat before and after);
#  2. the same server at a fixed rate of half that max: p50/p99 latency
#     (open loop, measured from each order's scheduled send time);
#  3. a paused server with room for BENCH_FILL_ORDERS (default 1M) + 10%:
#     RSS growth / queued orders.
#
# Env: BUILD (build folder), ORDERD_BIN, BENCH_SECONDS (default 8),
#      BENCH_CONNECTIONS (default 16), BENCH_FILL_ORDERS (default 1000000).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
ORDERD_BIN=${ORDERD_BIN:-$BUILD/bin/orderd}
ORDERLOAD_BIN=${ORDERLOAD_BIN:-$BUILD/bin/orderload}
SECS=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-16}
FILL=${BENCH_FILL_ORDERS:-1000000}
for b in "$ORDERD_BIN" "$ORDERLOAD_BIN"; do
    [ -x "$b" ] || { echo "missing $b (run make first)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'orderd_stop; rm -rf "$tmp"' EXIT
ticks=$(getconf CLK_TCK)

# start_server ARGS...: starts orderd on a free port, sets orderd_pid and base.
start_server() {
    orderd_start "$tmp/orderd.log" --summary-interval 0 "$@" || exit 1
}
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$orderd_pid/status"; }
stat_field() { curl -sf "$base/stats" | jq -r ".$1"; }

# ---- 1. max load --------------------------------------------------------
start_server --work none --http-threads 1
"$ORDERLOAD_BIN" --url "$base" --max --duration 1s --connections "$CONNS" --quiet \
    --max-error-rate 1 >/dev/null # warm-up: connections, allocator, caches
proc0=$(stat_field total_processed)
cpu0=$(orderd_cpu_ticks)
t0=$(date +%s%N)
"$ORDERLOAD_BIN" --url "$base" --max --duration "${SECS}s" --connections "$CONNS" --json \
    --quiet --max-error-rate 1 >"$tmp/max.json"
t1=$(date +%s%N)
cpu1=$(orderd_cpu_ticks)
proc1=$(stat_field total_processed)
ok=$(jq '.codes["201"] // 0' "$tmp/max.json")
elapsed=$(jq '.elapsed_s' "$tmp/max.json")
echo "max load: $ok orders accepted in ${elapsed}s over $CONNS connections"
accepted_rate=$(awk -v n="$ok" -v s="$elapsed" 'BEGIN{printf "%.0f", n / s}')
processed_rate=$(awk -v a="$proc0" -v b="$proc1" -v t0="$t0" -v t1="$t1" \
    'BEGIN{printf "%.0f", (b - a) / ((t1 - t0) / 1e9)}')
cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$ticks" -v n="$ok" \
    'BEGIN{printf "%.1f", n ? (b - a) / hz * 1e6 / n : 0}')
printf 'RESULT\taccepted orders/s at max load (--work none, 1 HTTP thread)\t%s\torders/s\n' "$accepted_rate"
printf 'RESULT\tprocessed orders/s at max load\t%s\torders/s\n' "$processed_rate"
printf 'RESULT\tserver CPU per order at max load\t%s\tus\n' "$cpu_us"
printf 'RESULT\tlatency p50 at max load (closed loop)\t%s\tms\n' "$(jq '.latency_ms.p50' "$tmp/max.json")"
printf 'RESULT\tlatency p99 at max load (closed loop)\t%s\tms\n' "$(jq '.latency_ms.p99' "$tmp/max.json")"

# ---- 2. fixed rate at half the max ---------------------------------------
half=$((accepted_rate / 2))
[ "$half" -ge 1 ] || half=1
"$ORDERLOAD_BIN" --url "$base" --rate "$half" --duration "${SECS}s" --connections "$CONNS" \
    --json --quiet --max-error-rate 1 >"$tmp/half.json"
echo "half load: target $half/s, achieved $(jq .rate "$tmp/half.json")/s," \
    "$(jq .unsent "$tmp/half.json") orders behind schedule"
printf 'RESULT\tlatency p50 at half the max rate (%s/s, open loop)\t%s\tms\n' "$half" "$(jq '.latency_ms.p50' "$tmp/half.json")"
printf 'RESULT\tlatency p99 at half the max rate (%s/s, open loop)\t%s\tms\n' "$half" "$(jq '.latency_ms.p99' "$tmp/half.json")"
printf 'RESULT\tlatency p99.9 at half the max rate (%s/s, open loop)\t%s\tms\n' "$half" "$(jq '.latency_ms["p99.9"]' "$tmp/half.json")"
orderd_stop

# ---- 3. memory per queued order ------------------------------------------
start_server --work none --http-threads 1 --paused --queue-capacity $((FILL + FILL / 10))
"$ORDERLOAD_BIN" --url "$base" --max --count 1000 --duration 10s --connections "$CONNS" \
    --quiet --max-error-rate 1 >/dev/null # connections and first arenas before the baseline
rss0=$(rss_kib)
q0=$(stat_field queue_length)
t0=$(date +%s)
"$ORDERLOAD_BIN" --url "$base" --max --count "$FILL" --duration 90s --connections "$CONNS" \
    --json --quiet --max-error-rate 1 >"$tmp/fill.json"
rss1=$(rss_kib)
q1=$(stat_field queue_length)
echo "fill: $((q1 - q0)) orders queued in $(($(date +%s) - t0)) s, RSS ${rss0} -> ${rss1} KiB"
per=$(awk -v a="$rss0" -v b="$rss1" -v n=$((q1 - q0)) 'BEGIN{printf "%.0f", n ? (b - a) * 1024 / n : 0}')
printf 'RESULT\tRSS per queued order (%s orders, paused queue)\t%s\tbytes\n' "$((q1 - q0))" "$per"
printf 'RESULT\taccepted orders/s filling a paused queue\t%s\torders/s\n' "$(jq '.rate | floor' "$tmp/fill.json")"
orderd_stop
