#!/usr/bin/env bash
# Runs worker-bad and worker-optimized with the same parameters and compares
# them: tasks/s, total allocated, allocations, peak RSS, final threads.
# Usage: scripts/benchmark.sh [--tasks N] [--workers N] [--data-size N]
#                             [--out DIR] [--no-profiles]
#   Defaults are the seed's: 10000 tasks, 20 workers, data size 200, out pprof.
#   Env TASKS, WORKERS, DATA_SIZE, PPROF_DIR set the same; BUILD is the build
#   folder (default build).
# Writes DIR/benchmark.txt (the comparison and both full reports), and with
# profiles: DIR/cpu-bad.prof, cpu-optimized.prof, mem-bad.prof,
# mem-optimized.prof (each from a second, profiled run, so the measured run
# carries no profiler overhead).
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "benchmark.sh: $*" >&2; usage >&2; exit 2; }

tasks=${TASKS:-10000} workers=${WORKERS:-20} data_size=${DATA_SIZE:-200}
out=${PPROF_DIR:-pprof} profiles=1
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) usage; exit 0 ;;
    --tasks) [ $# -ge 2 ] || die "--tasks needs a value"; tasks=$2; shift 2 ;;
    --workers) [ $# -ge 2 ] || die "--workers needs a value"; workers=$2; shift 2 ;;
    --data-size) [ $# -ge 2 ] || die "--data-size needs a value"; data_size=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --no-profiles) profiles=0; shift ;;
    *) die "unknown argument '$1'" ;;
    esac
done
for v in "$tasks" "$workers" "$data_size"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "'$v' is not a positive whole number"
done

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
[[ "$build" = /* ]] || build="$root/$build"
mkdir -p "$out"
if [ ! -x "$build/bin/worker-bad" ] || [ ! -x "$build/bin/worker-optimized" ]; then
    echo "benchmark.sh: building the lab (make lab)" >&2
    make -C "$root" --no-print-directory BUILD="$build" lab >&2
fi

args=(-tasks "$tasks" -workers "$workers" -data-size "$data_size" -duration 0
      --metrics-addr none -quiet)

# field REPORT LABEL: the value after "LABEL" in a worker's report.
field() { sed -n "s/^ *$2 *\([^ ]*\).*/\1/p" "$1" | head -1; }

for w in bad optimized; do
    echo "benchmark: worker-$w ${args[*]}" >&2
    "$build/bin/worker-$w" "${args[@]}" >"$out/bench-$w.txt"
    if [ $profiles = 1 ]; then
        echo "benchmark: worker-$w again with -cpuprofile and -memprofile" >&2
        "$build/bin/worker-$w" "${args[@]}" -cpuprofile "$out/cpu-$w.prof" \
            -memprofile "$out/mem-$w.prof" >"$out/bench-$w-profiled.txt"
    fi
done

b="$out/bench-bad.txt" o="$out/bench-optimized.txt"
# shellcheck source=/dev/null
os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo "unknown OS")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a ~ /^[0-9.]+$/) printf "%.1fx", a / b; else print "-" }'; }
# row LABEL BAD OPT [inverse]: the last column is how many times worse bad
# is (bad/opt, or opt/bad for a rate, where higher is better).
row() {
    local r
    if [ "${4:-}" = inverse ]; then r=$(ratio "$3" "$2"); else r=$(ratio "$2" "$3"); fi
    printf '%-22s %16s %16s %12s\n' "$1" "$2" "$3" "$r"
}
{
    echo "Lab benchmark: worker-bad vs worker-optimized"
    echo "Date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "Machine:    $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $os, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "Parameters: -tasks $tasks -workers $workers -data-size $data_size"
    echo
    printf '%-22s %16s %16s %12s\n' "" "bad" "optimized" "bad worse by"
    row "tasks/s" "$(field "$b" Rate:)" "$(field "$o" Rate:)" inverse
    row "time (s)" "$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' "$b")" \
        "$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' "$o")"
    row "total allocated (KB)" "$(field "$b" 'Total allocated:')" "$(field "$o" 'Total allocated:')"
    row "allocations" "$(field "$b" Allocations:)" "$(field "$o" Allocations:)"
    row "in use at end (KB)" "$(field "$b" 'In use:')" "$(field "$o" 'In use:')"
    row "peak RSS (KB)" "$(field "$b" 'Peak RSS:')" "$(field "$o" 'Peak RSS:')"
    row "allocator purges" "$(field "$b" Purges:)" "$(field "$o" Purges:)"
    row "final threads" "$(field "$b" 'Final thread count:')" \
        "$(field "$o" 'Final thread count:')"
    printf '%-22s %16s %16s\n' "checksum" "$(field "$b" Checksum:)" "$(field "$o" Checksum:)"
    if [ "$(field "$b" Checksum:)" = "$(field "$o" Checksum:)" ]; then
        echo "Results: identical (same checksum)"
    else
        echo "Results: DIFFERENT checksums"
    fi
    if [ $profiles = 1 ]; then
        echo
        echo "Profiles (from a second, profiled run of each):"
        for w in bad optimized; do
            for p in cpu mem; do
                [ -s "$out/$p-$w.prof" ] && echo "  $out/$p-$w.prof"
            done
        done
        echo "  go tool pprof -top $out/cpu-bad.prof"
        echo "  go tool pprof -sample_index=alloc_space -top $out/mem-bad.prof"
    fi
    for w in bad optimized; do
        echo
        echo "---- worker-$w report ----"
        cat "$out/bench-$w.txt"
    done
} >"$out/benchmark.txt"
sed -n '1,/^Results:/p' "$out/benchmark.txt"
echo "(full reports in $out/benchmark.txt)"
