#!/usr/bin/env bash
# The lab scripts: --help prints usage and exits 0; bad arguments print usage
# on stderr and exit 2 (before starting anything).
set -uo pipefail
cd "$(dirname "$0")/../.."
fail=0
expect() { # WANT_RC DESC CMD...
    local want=$1 desc=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $desc: exit $rc, want $want; output:"; echo "$out" | head -5; fail=1
    elif ! grep -q "Usage:" <<<"$out"; then
        echo "FAIL: $desc: no usage text"; fail=1
    else
        echo "ok: $desc"
    fi
}
for s in profile-cpu profile-mem benchmark start-demo stop-demo continuous-profiling; do
    expect 0 "$s.sh --help" "scripts/$s.sh" --help
    grep -q '^set -euo pipefail' "scripts/$s.sh" || { echo "FAIL: $s.sh lacks set -euo pipefail"; fail=1; }
done
expect 2 "profile-cpu.sh (no args)" scripts/profile-cpu.sh
expect 2 "profile-cpu.sh wrong worker" scripts/profile-cpu.sh good 30s
expect 2 "profile-cpu.sh bad duration" scripts/profile-cpu.sh bad soon
expect 2 "profile-mem.sh (one arg)" scripts/profile-mem.sh optimized
expect 2 "benchmark.sh --tasks x" scripts/benchmark.sh --tasks x
expect 2 "benchmark.sh unknown flag" scripts/benchmark.sh --fast
expect 2 "start-demo.sh --rate x" scripts/start-demo.sh --rate x
expect 2 "stop-demo.sh extra arg" scripts/stop-demo.sh now
expect 2 "continuous-profiling.sh --count 0" scripts/continuous-profiling.sh --count 0
expect 2 "continuous-profiling.sh --interval x" scripts/continuous-profiling.sh --interval soon
exit $fail
