#!/usr/bin/env bash
# Collects CPU, heap and thread profiles from a running service at a fixed
# interval, as the seed's continuous_profiling.sh does, but bounded.
# Usage: scripts/continuous-profiling.sh [--url URL] [--count N] [--interval D]
#                                        [--cpu-seconds N] [--out DIR]
#   --url          base URL of the service (default http://127.0.0.1:8080;
#                  the lab workers: http://127.0.0.1:9090 or :9091)
#   --count        rounds to collect (default 5; must be at least 1)
#   --interval     pause between rounds, e.g. 60s (default 60s)
#   --cpu-seconds  length of each CPU profile (default 10)
#   --out          directory (default profiles)
# Each round writes cpu_TS.prof, memory_TS.prof and goroutine_TS.prof (TS =
# Unix time) from /debug/pprof/profile, /heap and /goroutine.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "continuous-profiling.sh: $*" >&2; usage >&2; exit 2; }

url=http://127.0.0.1:8080 count=5 interval=60s cpu=10 out=profiles
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) usage; exit 0 ;;
    --url|--count|--interval|--cpu-seconds|--out)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
        --url) url=$2 ;; --count) count=$2 ;; --interval) interval=$2 ;;
        --cpu-seconds) cpu=$2 ;; --out) out=$2 ;;
        esac
        shift 2 ;;
    *) die "unknown argument '$1'" ;;
    esac
done
[[ "$count" =~ ^[1-9][0-9]*$ ]] || die "--count must be a whole number >= 1"
[[ "$cpu" =~ ^[1-9][0-9]*$ ]] || die "--cpu-seconds must be a whole number >= 1"
[[ "$interval" =~ ^([0-9]+)(s|m)?$ ]] || die "--interval must look like 60s or 2m"
secs=${BASH_REMATCH[1]}
[ "${BASH_REMATCH[2]}" = m ] && secs=$((secs * 60))
url=${url%/}
mkdir -p "$out"

fetch() { # PATH FILE TIMEOUT
    local code
    code=$(curl -sS --max-time "$3" -o "$2" -w '%{http_code}' "$url$1") || code=000
    case $code in
    200) echo "  $2 ($(stat -c %s "$2") bytes)" ;;
    501) # e.g. heap profiles in a sanitizer build: the server says why
        echo "  $url$1: not available in this build: $(head -c 200 "$2")"
        rm -f "$2" ;;
    *)
        echo "  $url$1: failed (HTTP $code)" >&2
        rm -f "$2"
        return 1 ;;
    esac
}

failed=0
for ((i = 1; i <= count; i++)); do
    ts=$(date +%s)
    echo "round $i/$count at $ts:"
    fetch "/debug/pprof/profile?seconds=$cpu" "$out/cpu_$ts.prof" $((cpu + 30)) || failed=1
    fetch /debug/pprof/heap "$out/memory_$ts.prof" 30 || failed=1
    fetch /debug/pprof/goroutine "$out/goroutine_$ts.prof" 30 || failed=1
    if [ $i -lt $count ]; then sleep "$secs"; fi
done
echo "Compare two rounds: go tool pprof -base $out/memory_A.prof $out/memory_B.prof"
exit $failed
