#!/usr/bin/env bash
# Starts the live demo: worker-bad (metrics on 127.0.0.1:9090), worker-optimized
# (127.0.0.1:9091), orderd with its built-in load (127.0.0.1:8080), and
# Prometheus (127.0.0.1:9095, scraping deploy/prometheus.yml) when installed.
# Usage: scripts/start-demo.sh [--rate N] [--no-orderd] [--no-prometheus]
#   --rate N: tasks per second each worker submits (default 50), so the demo
#   runs for hours without eating the machine (the bad worker's thread count
#   climbs for about a minute, to its -leak-cap); stop it with stop-demo.sh.
# Env: BUILD (build folder, default build), DEMO_DIR (pid files and logs,
#      default $BUILD/demo), ORDERD_LOAD (default all), LEAK_CAP (3000),
#      BAD_ADDR, OPT_ADDR, ORDERD_ADDR, PROM_ADDR (the addresses above).
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "start-demo.sh: $*" >&2; usage >&2; exit 2; }

rate=50 orderd=1 prom=1
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) usage; exit 0 ;;
    --rate) [ $# -ge 2 ] || die "--rate needs a value"; rate=$2; shift 2 ;;
    --no-orderd) orderd=0; shift ;;
    --no-prometheus) prom=0; shift ;;
    *) die "unknown argument '$1'" ;;
    esac
done
[[ "$rate" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "'$rate' is not a rate"

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
[[ "$build" = /* ]] || build="$root/$build"
demo=${DEMO_DIR:-$build/demo}
mkdir -p "$demo"
need=("$build/bin/worker-bad" "$build/bin/worker-optimized")
[ $orderd = 1 ] && need+=("$build/bin/orderd")
for b in "${need[@]}"; do
    if [ ! -x "$b" ]; then
        echo "start-demo.sh: building (make all)" >&2
        make -C "$root" --no-print-directory BUILD="$build" all >&2
        break
    fi
done

# start NAME URL CMD...: starts CMD in the background with its pid file and
# log, unless one is already running; then waits (10 s at most) for URL.
start() {
    local name=$1 url=$2 pidf="$demo/$1.pid"
    shift 2
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        echo "  $name already running (pid $(cat "$pidf"))"
        return 0
    fi
    "$@" >"$demo/$name.log" 2>&1 &
    echo $! >"$pidf"
    local deadline=$((SECONDS + 10))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if ! kill -0 "$(cat "$pidf")" 2>/dev/null; then
            echo "start-demo.sh: $name exited; its log:" >&2
            tail -n 20 "$demo/$name.log" >&2
            rm -f "$pidf"
            return 1
        fi
        [ $SECONDS -lt $deadline ] || { echo "start-demo.sh: $name not ready after 10 s" >&2; return 1; }
        sleep 0.2
    done
    echo "  $name: $url (pid $(cat "$pidf"), log $demo/$name.log)"
}

echo "Starting the demo:"
bad=${BAD_ADDR:-127.0.0.1:9090} opt=${OPT_ADDR:-127.0.0.1:9091} od=${ORDERD_ADDR:-127.0.0.1:8080}
start worker-bad "http://$bad/metrics" "$build/bin/worker-bad" \
    -tasks 0 -duration 0 -rate "$rate" -leak-cap "${LEAK_CAP:-3000}" --metrics-addr "$bad"
start worker-optimized "http://$opt/metrics" "$build/bin/worker-optimized" \
    -tasks 0 -duration 0 -rate "$rate" --metrics-addr "$opt"
if [ $orderd = 1 ]; then
    start orderd "http://$od/health" "$build/bin/orderd" --listen "$od" --load "${ORDERD_LOAD:-all}"
fi
prom_addr=${PROM_ADDR:-127.0.0.1:9095}
if [ $prom = 1 ]; then
    if ! command -v prometheus >/dev/null; then
        echo "  prometheus: not installed (apt-get install prometheus); skipped"
    elif [ ! -f "$root/deploy/prometheus.yml" ]; then
        echo "  prometheus: deploy/prometheus.yml not found; skipped"
    else
        start prometheus "http://$prom_addr/-/ready" prometheus \
            --config.file="$root/deploy/prometheus.yml" \
            --storage.tsdb.path="$demo/prometheus-data" \
            --web.listen-address="$prom_addr"
    fi
fi
cat <<MSG

Live dashboards (charts, and profiles as flame graphs, in the browser):
  http://$bad/   http://$opt/$( [ $orderd = 1 ] && echo "   http://$od/")
Watch the leak and the allocation rate:
  curl -s http://$bad/metrics | grep -E 'worker_threads_active|worker_allocated_bytes_total'
  curl -s http://$opt/metrics | grep -E 'worker_threads_active|worker_allocated_bytes_total'
  go tool pprof -top http://$bad/debug/pprof/goroutine
Stop everything with: scripts/stop-demo.sh   (or make stop)
MSG
