# Sourced by the two dashboard tests (test_dashboard.sh, test_lab_dashboard.sh):
# what both need around tests/e2e/dashboard.mjs. The functions call the
# caller's fail() on a failure.

# The browser side: node, Debian's chromium, npm's playwright-core. Missing
# is a failure, not a skip: scripts/install-deps.sh installs them.
dashboard_require_browser() { # REPO
    command -v node >/dev/null || fail "node is not installed (scripts/install-deps.sh)"
    [ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (scripts/install-deps.sh)"
    [ -d "$1/web/node_modules/playwright-core" ] ||
        fail "web/node_modules/playwright-core is missing (scripts/install-deps.sh runs npm ci in web/)"
}

# The program's own function names (text symbols of its object files), for
# the flame-graph checks.
dashboard_functions() { # OUT OBJECT...
    local out=$1
    shift
    nm --defined-only "$@" 2>/dev/null | awk '$2 ~ /^[Tt]$/ {print $3}' | grep -v '\.' |
        sort -u >"$out" || true
    [ -s "$out" ] || fail "no object files to read function names from: $*"
}

# The page should open onto a few seconds of history: waits (20 s at most)
# until BASE/api/live holds three samples.
dashboard_wait_history() { # BASE
    local deadline=$(($(date +%s) + 20))
    until [ "$(curl -fsS "$1/api/live" | jq -r .next 2>/dev/null || echo 0)" -ge 3 ]; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "/api/live has no 3 samples after 20 s"
        sleep 0.3
    done
}

# SIGTERM to PID: it must exit 0 within 30 s with no sanitizer report in LOG.
dashboard_stop() { # PID NAME LOG
    local rc=0
    kill -TERM "$1"
    timeout 30 tail --pid="$1" -f /dev/null || fail "$2 did not exit within 30 s of SIGTERM"
    wait "$1" || rc=$?
    [ $rc = 0 ] || fail "$2 exited with $rc"
    if grep -qE 'Sanitizer|runtime error:' "$3"; then fail "sanitizer report in $2's log"; fi
}
