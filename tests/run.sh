#!/usr/bin/env bash
# Runs every test given on the command line and prints one summary line.
#   Criterion binaries (unit, integration): their "Synthesis" counts are added.
#   Shell scripts (e2e): each counts as one test; exit 77 means skipped.
# Env: BUILD (test binaries, logs), ORDERD_BUILD (programs; default BUILD).
# Each test's output goes to $BUILD/test-logs/<name>.log and is printed when
# it fails. Exit status is non-zero when anything failed.
set -uo pipefail

BUILD=${BUILD:-build}
logs="$BUILD/test-logs"
mkdir -p "$logs"
# ORDERD_BUILD: where the programs under test are (differs from BUILD, the
# test binaries' folder, under SANITIZE=thread).
export ORDERD_BUILD="${ORDERD_BUILD:-$BUILD}"
export ORDERD_BIN="$ORDERD_BUILD/bin/orderd"

passed=0 failed=0 skipped=0
failures=()
for t in "$@"; do
    name=$(echo "$t" | sed "s#^$BUILD/##; s#/#_#g")
    log="$logs/$name.log"
    start=$(date +%s%3N)
    case "$t" in
    *.sh)
        bash "$t" >"$log" 2>&1
        rc=$?
        if [ $rc = 0 ]; then p=1 f=0 s=0
        elif [ $rc = 77 ]; then p=0 f=0 s=1
        else p=0 f=1 s=0; fi
        ;;
    *)
        # Integration tests each start servers; run them one at a time on
        # this 2-core machine so timing-sensitive pieces are not starved.
        jobs=""
        case "$t" in */integration/*) jobs="-j1" ;; esac
        "$t" $jobs --verbose --timeout 300 >"$log" 2>&1
        rc=$?
        line=$(grep -a 'Synthesis:' "$log" | tail -1)
        p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
        f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
        c=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
        p=${p:-0} f=${f:-0} c=${c:-0}
        f=$((f + c))
        s=$(grep -ac '\[SKIP\]' "$log")
        # A binary that died before its synthesis line counts as one failure.
        if [ -z "$line" ] || { [ $rc != 0 ] && [ $f = 0 ]; }; then f=$((f + 1)); fi
        ;;
    esac
    ms=$(( $(date +%s%3N) - start )); took="$((ms / 1000)).$(( (ms % 1000) / 100 ))"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    if [ "$f" != 0 ]; then
        failures+=("$name")
        printf 'FAIL %-55s %5ss  (log: %s)\n' "$name" "$took" "$log"
        tail -n 60 "$log" | sed 's/^/    | /'
    else
        printf 'ok   %-55s %5ss  %s passed%s\n' "$name" "$took" "$p" \
            "$([ "$s" != 0 ] && echo ", $s skipped")"
    fi
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
