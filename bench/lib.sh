# Sourced by the benchmarks (bench/run.sh runs only bench_*.sh): orderd's
# start/stop helpers and the measurements several benchmarks share.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib/orderd.sh"

# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# orderd_cpu_per_order LOAD_BIN RATE SECONDS: sends RATE orders/s for
# SECONDS to the orderd of orderd_start with orderload, and prints orderd's
# CPU time (user+system) per order processed meanwhile, in µs (empty when
# none was processed).
orderd_cpu_per_order() {
    local t0 n0 t1 n1
    t0=$(orderd_cpu_ticks) n0=$(orderd_processed)
    "$1" --url "$base" --rate "$2" --duration "${3}s" --connections 16 --quiet \
        --max-error-rate 1 >/dev/null
    t1=$(orderd_cpu_ticks) n1=$(orderd_processed)
    awk -v t="$((t1 - t0))" -v n="$((n1 - n0))" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (n > 0) printf "%.2f", t / hz * 1e6 / n }'
}
