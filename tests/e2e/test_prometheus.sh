#!/usr/bin/env bash
# End to end with the real Prometheus (Debian's `prometheus`): orderd on a
# free loopback port, Prometheus scraping it every second from a generated
# config; the orderd target must come up, and a PromQL query of the accepted
# counter must return what /stats reports. Also: `promtool check metrics`
# accepts orderd's exposition, deploy/*.yml pass `promtool check config`,
# and every Grafana dashboard parses, names only metrics orderd exposes
# (lab metrics, worker_*, are checked against the lab's own tests), and each
# Order Processor query returns data from Prometheus.
#
# Env: ORDERD_BIN (default build/bin/orderd). Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib/orderd.sh"

here=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${ORDERD_BIN:-$here/build/bin/orderd}
for tool in prometheus promtool jq curl; do
    if ! command -v $tool >/dev/null; then
        echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"
        exit 77
    fi
done
[ -x "$BIN" ] || { echo "FAIL: no orderd binary at $BIN"; exit 1; }

tmp=$(mktemp -d /tmp/orderd-e2e-prom.XXXXXX)
orderd_pid="" prom_pid=""
cleanup() {
    # Only the processes this script started, by pid.
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    [ -n "$orderd_pid" ] && kill "$orderd_pid" 2>/dev/null && wait "$orderd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for f in "$tmp"/orderd.log "$tmp"/prometheus.log; do
        [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 20 "$f"; }
    done
    exit 1
}

# Polls a command until it succeeds or the deadline (seconds) passes.
poll() {
    local deadline=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# ---- orderd on a free port (it reports the port on its ready fd) ----------
ORDERD_BIN=$BIN orderd_start "$tmp/orderd.log" --work-ms 1 || fail "orderd did not start"
echo "orderd on $base"

curl -fsS "$base/metrics" >"$tmp/metrics.txt" || fail "GET /metrics"
promtool check metrics <"$tmp/metrics.txt" >"$tmp/lint.txt" 2>&1 ||
    { cat "$tmp/lint.txt"; fail "promtool check metrics rejects orderd's exposition"; }
echo "promtool check metrics: ok"
promtool check config "$here/deploy/prometheus.yml" >/dev/null ||
    fail "deploy/prometheus.yml is not a valid config"
promtool check config "$here/deploy/prometheus-docker.yml" >/dev/null ||
    fail "deploy/prometheus-docker.yml is not a valid config"

# ---- Prometheus on a free loopback port ------------------------------------
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: orderd
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOF
port_free() { ! (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
prom_ready() { curl -fsS "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1; }
prom_alive() { kill -0 "$prom_pid" 2>/dev/null; }
for attempt in 1 2 3 4 5; do
    pport=$((20000 + RANDOM % 30000))
    port_free "$pport" || continue
    prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
        --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
    prom_pid=$!
    # Ready, or dead (the port was taken meanwhile: try another).
    poll 60 bash -c "curl -fsS http://127.0.0.1:$pport/-/ready >/dev/null 2>&1 || ! kill -0 $prom_pid 2>/dev/null" || true
    if prom_alive && prom_ready; then break; fi
    wait "$prom_pid" 2>/dev/null || true
    prom_pid=""
done
[ -n "$prom_pid" ] || fail "Prometheus did not start"
papi="http://127.0.0.1:$pport/api/v1"
echo "prometheus on 127.0.0.1:$pport"

target_up() {
    curl -fsS "$papi/targets" |
        jq -e '.data.activeTargets[] | select(.labels.job == "orderd") | .health == "up"' >/dev/null
}
poll 60 target_up || fail "the orderd target is not up after 60 s: $(curl -sS "$papi/targets")"
echo "target up"

# ---- orders in, counter out --------------------------------------------------
for i in $(seq 1 7); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"id\":\"e2e-$i\",\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],\"address\":\"a\",\"priority\":$((1 + i % 3))}" \
        "$base/orders")
    [ "$code" = 201 ] || fail "POST /orders answered $code"
done
accepted=$(curl -fsS "$base/stats" | jq -e '.accepted') || fail "GET /stats"
[ "$accepted" = 7 ] || fail "/stats reports $accepted accepted orders, expected 7"

query() { # prints the single value of an instant query, or nothing
    curl -fsS --get --data-urlencode "query=$1" "$papi/query" |
        jq -r 'select(.status == "success") | .data.result[0].value[1] // empty'
}
counter_matches() { [ "$(query 'sum(orderd_orders_accepted_total{job="orderd"})')" = "$accepted" ]; }
poll 30 counter_matches ||
    fail "PromQL sum(orderd_orders_accepted_total) = '$(query 'sum(orderd_orders_accepted_total{job="orderd"})')', /stats says $accepted"
echo "PromQL accepted = /stats accepted = $accepted"
p1=$(curl -fsS "$base/stats" | jq -e '.by_priority["1"].accepted')
[ "$(query 'orderd_orders_accepted_total{job="orderd",priority="1"}')" = "$p1" ] ||
    fail "priority 1: PromQL and /stats disagree"

# ---- Grafana dashboards ------------------------------------------------------
curl -fsS "$base/metrics" >"$tmp/metrics.txt"
# Metric names an expression uses: drop label matchers, ranges, strings and
# grouping clauses; what is left that is not a function call, keyword or
# number is a metric name.
expr_metrics() {
    sed -E 's/"[^"]*"//g; s/\{[^}]*\}//g; s/\[[^]]*\]//g; s/(by|without|on|ignoring|group_left|group_right) *\([^)]*\)//g' |
        grep -oE '[a-zA-Z_:][a-zA-Z0-9_:]*[[:space:]]*\(?' |
        grep -vE '\($' |
        grep -vxE 'by|without|on|ignoring|group_left|group_right|and|or|unless|bool|offset|Inf|NaN|e[0-9]*' || true
}
# Series Prometheus itself adds to every target.
synthetic='^(up|scrape_[a-z_]+)$'
checked=0 skipped=0
for dash in "$here"/deploy/grafana/dashboards/*.json; do
    jq -e '.title and (.panels | length > 0)' "$dash" >/dev/null || fail "$dash does not parse as a dashboard"
    jq -r '[.. | objects | select(has("expr")) | .expr] | .[]' "$dash" >"$tmp/exprs.txt"
    [ -s "$tmp/exprs.txt" ] || fail "$dash has no queries"
    for m in $(expr_metrics <"$tmp/exprs.txt" | sort -u); do
        if [[ $m =~ $synthetic ]]; then continue; fi
        if [[ $m == worker_* ]]; then skipped=$((skipped + 1)); continue; fi
        grep -qE "^$m[{ ]" "$tmp/metrics.txt" || fail "$(basename "$dash") uses $m, which orderd's /metrics does not have"
        checked=$((checked + 1))
    done
done
echo "dashboards: $checked metric names found in /metrics, $skipped lab names (worker_*) left to the lab"

# Every Order Processor query returns data once Prometheus has a few scrapes.
dash="$here/deploy/grafana/dashboards/order-processor.json"
has_data() {
    local q=${1//\$__rate_interval/30s}
    curl -fsS --get --data-urlencode "query=$q" "$papi/query" |
        jq -e '.status == "success" and (.data.result | length > 0)' >/dev/null
}
while IFS= read -r expr; do
    poll 30 has_data "$expr" || fail "no data from Prometheus for: $expr"
done < <(jq -r '[.. | objects | select(has("expr")) | .expr] | .[]' "$dash")
echo "every Order Processor query returns data"
echo "PASS"
