#!/usr/bin/env bash
# Overhead of the CPU profiler on orderd (--work none) under a fixed,
# bounded wrk load (POST /orders, 1 thread, 32 connections): throughput
# with the profiler off, on at 100 Hz (a /debug/pprof/profile request runs
# during the load), and off again, side by side in one run; plus the
# per-sample cost of the SIGPROF handler from tests/programs/cprof_samplebench.
# Prints RESULT lines; never asserts timing. About 40 s.
# Env: BUILD, ORDERD_BIN, BENCH_SECONDS (default 8 per phase).
set -euo pipefail
BUILD=${BUILD:-build}
ORDERD_BIN=${ORDERD_BIN:-$BUILD/bin/orderd}
SECS=${BENCH_SECONDS:-8}
[ -x "$ORDERD_BIN" ] || { echo "missing $ORDERD_BIN (run make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$ORDERD_BIN" --listen 127.0.0.1:0 --ready-fd 3 --work none --http-threads 1 \
    3>"$tmp/ready" 2>"$tmp/orderd.log" &
pid=$!
for _ in $(seq 300); do [ -s "$tmp/ready" ] && break; sleep 0.1; done
port=$(cut -d' ' -f1 "$tmp/ready")
[ -n "$port" ] || { echo "orderd did not start" >&2; cat "$tmp/orderd.log" >&2; exit 1; }
base=http://127.0.0.1:$port
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"customer":"c","amount":10,"items":["a"],"address":"x","status":"pending"}'
wrk.headers["Content-Type"] = "application/json"
LUA

rps() { # one load phase; prints requests/s
    wrk -t1 -c32 -d"${SECS}s" -s "$tmp/post.lua" "$base/orders" 2>/dev/null |
        awk '/^Requests\/sec:/ { print $2 }'
}

wrk -t1 -c32 -d2s -s "$tmp/post.lua" "$base/orders" >/dev/null 2>&1 # warm-up
off1=$(rps)
curl -s -o "$tmp/cpu.prof" "$base/debug/pprof/profile?seconds=$((SECS + 2))&hz=100" &
curlpid=$!
sleep 0.5
on=$(rps)
wait "$curlpid" || true
off2=$(rps)
off=$(awk -v a="$off1" -v b="$off2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
echo "throughput off $off1 / on $on / off $off2 requests/s; profile $(stat -c %s "$tmp/cpu.prof") bytes"
printf 'RESULT\tcpu_profiler.throughput_off\t%s\treq/s\n' "$off"
printf 'RESULT\tcpu_profiler.throughput_on_100hz\t%.0f\treq/s\n' "$on"
printf 'RESULT\tcpu_profiler.throughput_ratio_on_off\t%s\tratio\n' \
    "$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"

bench=$BUILD/tests/programs/cprof_samplebench
if [ -x "$bench" ]; then
    "$bench"
else
    echo "missing $bench: per-sample cost not measured" >&2
fi
