#!/usr/bin/env bash
# `make bench`: runs every bench/bench_*.sh in order and prints one table.
# Each bench script prints result lines "RESULT<TAB>name<TAB>value<TAB>unit"
# (anything else it prints is shown as progress). The table is also written
# as JSON to $BUILD/bench.json. Benchmarks print numbers; they never fail on
# a slow machine (a script that crashes is reported, and make bench exits 1).
set -uo pipefail
BUILD=${BUILD:-build}
export BUILD ORDERD_BIN="$BUILD/bin/orderd"
here=$(cd "$(dirname "$0")" && pwd)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
for b in "$here"/bench_*.sh; do
    [ -e "$b" ] || continue
    echo "== $(basename "$b")" >&2
    if ! bash "$b" | while IFS= read -r line; do
        case "$line" in
        RESULT$'\t'*) printf '%s\n' "${line#RESULT$'\t'}" >>"$results" ;;
        *) printf '   %s\n' "$line" >&2 ;;
        esac
    done; then
        echo "   $(basename "$b") failed" >&2
        status=1
    fi
done
echo
printf '%-58s %14s  %s\n' "benchmark" "value" "unit"
printf '%-58s %14s  %s\n' "---------" "-----" "----"
while IFS=$'\t' read -r name value unit; do
    printf '%-58s %14s  %s\n' "$name" "$value" "$unit"
done <"$results"
{
    echo "{"
    echo "  \"machine\": \"$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\","
    echo "  \"date\": \"$(date -u +%FT%TZ)\","
    echo "  \"results\": ["
    awk -F'\t' 'NR>1{print ","} {printf "    {\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\"}", $1, $2, $3}' "$results"
    echo
    echo "  ]"
    echo "}"
} >"$BUILD/bench.json"
echo
echo "JSON: $BUILD/bench.json"
exit $status
