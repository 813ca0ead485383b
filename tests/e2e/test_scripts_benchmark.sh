#!/usr/bin/env bash
# scripts/benchmark.sh with small parameters: it runs both workers, writes
# benchmark.txt with every row, identical checksums, the leak and its fix,
# and profiles that go tool pprof opens (when go is installed).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${ORDERD_BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BUILD=$build scripts/benchmark.sh --tasks 1200 --workers 4 --data-size 32 --out "$tmp/pprof" \
    >"$tmp/out.txt" 2>&1 || { echo "FAIL: benchmark.sh exited $?"; cat "$tmp/out.txt"; exit 1; }
txt="$tmp/pprof/benchmark.txt"
[ -s "$txt" ] || { echo "FAIL: no benchmark.txt"; cat "$tmp/out.txt"; exit 1; }
cat "$txt" | sed -n '1,/^Results:/p'
fail=0
for row in "tasks/s" "total allocated (KB)" "allocations" "peak RSS (KB)" "final threads"; do
    line=$(grep "^$row " "$txt") || { echo "FAIL: no '$row' row"; fail=1; continue; }
    # Two values per row (n/a only for allocation totals under a sanitizer).
    [ "$(awk '{ print NF }' <<<"${line#"$row"}")" -ge 2 ] || { echo "FAIL: '$line'"; fail=1; }
done
grep -q "^Results: identical" "$txt" || { echo "FAIL: checksums differ"; fail=1; }
read -r _ _ bad_threads opt_threads _ < <(grep "^final threads " "$txt")
[ "$bad_threads" -gt "$opt_threads" ] || { echo "FAIL: bad $bad_threads threads, optimized $opt_threads"; fail=1; }
grep -q "All threads properly cleaned up!" "$txt" || { echo "FAIL: optimized did not clean up"; fail=1; }
if command -v go >/dev/null; then
    export HOME="$tmp" GOCACHE="$tmp/gocache" GOPATH="$tmp/go"
    n=0
    for p in "$tmp"/pprof/*.prof; do
        [ -e "$p" ] || continue
        n=$((n + 1))
        go tool pprof -raw "$p" >/dev/null 2>"$tmp/err" || { echo "FAIL: go tool pprof cannot read $p:"; cat "$tmp/err"; fail=1; }
    done
    echo "profiles read by go tool pprof: $n"
fi
exit $fail
