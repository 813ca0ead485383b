#!/usr/bin/env bash
# Overhead of the CPU profiler on orderd (--work none, 1 HTTP thread), the
# profiler off and on at 100 Hz (a /debug/pprof/profile request runs during
# each "on" phase), in alternating phases of one run so that drift of a
# noisy machine hits both sides alike:
#   - saturated throughput: wrk (1 thread, 32 connections, POST /orders),
#     phases off/on/off/on/off; the ratio of the medians;
#   - CPU per order at a fixed rate well under capacity: orderload at
#     BENCH_RATE orders/s, orderd's CPU time (utime+stime of the whole
#     process) per processed order, phases off/on x3; the ratio of medians;
#   - the handler's per-sample cost (tests/programs/cprof_samplebench), and
#     the overhead it implies: samples x cost / CPU time of the on phases.
# Prints RESULT lines; never asserts timing. About 90 s.
# Env: BUILD, ORDERD_BIN, BENCH_SECONDS (default 6 per phase), BENCH_RATE
# (default 4000).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
ORDERD_BIN=${ORDERD_BIN:-$BUILD/bin/orderd}
LOAD_BIN=$(dirname "$ORDERD_BIN")/orderload
SECS=${BENCH_SECONDS:-6}
RATE=${BENCH_RATE:-4000}
[ -x "$ORDERD_BIN" ] || { echo "missing $ORDERD_BIN (run make first)" >&2; exit 1; }
[ -x "$LOAD_BIN" ] || { echo "missing $LOAD_BIN (run make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'orderd_stop; wait 2>/dev/null; rm -rf "$tmp"' EXIT

orderd_start "$tmp/orderd.log" --work none --http-threads 1 || exit 1
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"customer":"c","amount":10,"items":["a"],"address":"x","status":"pending"}'
wrk.headers["Content-Type"] = "application/json"
LUA

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }'; }
n_on=0
profile_start() { # a profile covering the coming phase, in the background
    n_on=$((n_on + 1))
    curl -s -o "$tmp/cpu-$n_on.prof" "$base/debug/pprof/profile?seconds=$((SECS + 1))&hz=100" &
    curlpid=$!
    # The phase starts once the index counts the profile as running.
    orderd_wait_cpu_profile "$curlpid" || { echo "the CPU profile did not start" >&2; exit 1; }
}

rps() { # one saturated phase; prints requests/s
    wrk -t1 -c32 -d"${SECS}s" -s "$tmp/post.lua" "$base/orders" 2>/dev/null |
        awk '/^Requests\/sec:/ { print $2 }'
}
wrk -t1 -c32 -d2s -s "$tmp/post.lua" "$base/orders" >/dev/null 2>&1 # warm-up
for phase in off on off on off; do
    [ "$phase" = on ] && profile_start
    v=$(rps)
    [ "$phase" = on ] && wait "$curlpid"
    echo "$v" >>"$tmp/rps-$phase"
    echo "saturated, profiler $phase: $v requests/s"
done

on_ticks=0
for phase in off on off on off on; do
    if [ "$phase" = on ]; then
        profile_start
        t0=$(orderd_cpu_ticks)
    fi
    v=$(orderd_cpu_per_order "$LOAD_BIN" "$RATE" "$SECS")
    if [ "$phase" = on ]; then
        on_ticks=$((on_ticks + $(orderd_cpu_ticks) - t0))
        wait "$curlpid"
    fi
    echo "$v" >>"$tmp/cpu-$phase"
    echo "$RATE orders/s, profiler $phase: $v µs of orderd CPU per order"
done

rps_off=$(median <"$tmp/rps-off") rps_on=$(median <"$tmp/rps-on")
cpu_off=$(median <"$tmp/cpu-off") cpu_on=$(median <"$tmp/cpu-on")
printf 'RESULT\tcpu_profiler.throughput_off\t%.0f\treq/s\n' "$rps_off"
printf 'RESULT\tcpu_profiler.throughput_on_100hz\t%.0f\treq/s\n' "$rps_on"
printf 'RESULT\tcpu_profiler.throughput_ratio_on_off\t%s\tratio\n' "$(ratio "$rps_on" "$rps_off")"
printf 'RESULT\tcpu_profiler.cpu_per_order_off\t%s\tus\n' "$cpu_off"
printf 'RESULT\tcpu_profiler.cpu_per_order_on_100hz\t%s\tus\n' "$cpu_on"
printf 'RESULT\tcpu_profiler.cpu_per_order_ratio_on_off\t%s\tratio\n' "$(ratio "$cpu_on" "$cpu_off")"

bench=$BUILD/tests/programs/cprof_samplebench
if [ -x "$bench" ]; then
    "$bench" | tee "$tmp/sample.out"
    # Samples of the fixed-rate profiles (the last three) x cost per sample,
    # against orderd's CPU time in those phases.
    ns=$(awk -F'\t' '$1 == "RESULT" && $2 ~ /signal_sample_ns/ { print $3; exit }' "$tmp/sample.out")
    samples=0
    for i in $(seq $((n_on - 2)) "$n_on"); do
        s=$(go tool pprof -raw "$tmp/cpu-$i.prof" 2>/dev/null | awk '/^Samples:/ { on = 1; next }
            on && /^ *[0-9]+ / { n += $1 } /^Locations/ { on = 0 } END { print n + 0 }')
        samples=$((samples + s))
    done
    if [ -n "$ns" ] && [ "$on_ticks" -gt 0 ]; then
        printf 'RESULT\tcpu_profiler.handler_share_of_cpu\t%s\tpercent\n' "$(awk -v s="$samples" \
            -v ns="$ns" -v t="$on_ticks" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { printf "%.3f", s * ns / 1e9 / (t / hz) * 100 }')"
    fi
else
    echo "missing $bench: per-sample cost not measured" >&2
fi
