#!/usr/bin/env bash
# Keeps docs/PROFILING_GUIDE.md honest: runs every ```bash block of its
# "Quick reference" section against a live orderd (with --work cpu, an admin
# listener, and orderload sending 50 orders/s), each as its own
# `bash -euo pipefail` script with a 90 s limit. localhost:8080 and
# localhost:6060 become the ports orderd bound, build/bin/ the build folder
# under test. Blocks whose first line starts with "# browser:" or
# "# long-running:" are listed and skipped. Blocks run in a scratch folder
# with src/, lib/ and include/ linked in, so `go tool pprof -list` finds the
# sources and nothing is written into the work tree.
#
# Env: ORDERD_BUILD (default build). Exit 0 pass, 1 fail, 77 skip (no go).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${ORDERD_BUILD:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$here/$BUILD_DIR" ;; esac
guide="$here/docs/PROFILING_GUIDE.md"

fail() {
    echo "FAIL: $*"
    [ -f "${tmp:-/nonexistent}/orderd.log" ] && { echo "--- orderd log (tail)"; tail -n 20 "$tmp/orderd.log"; }
    exit 1
}
[ -f "$guide" ] || fail "no $guide"
[ -x "$BUILD_DIR/bin/orderd" ] || fail "no orderd in $BUILD_DIR/bin"
[ -x "$BUILD_DIR/bin/orderload" ] || fail "no orderload in $BUILD_DIR/bin"
for tool in curl jq; do command -v $tool >/dev/null || fail "$tool is not installed"; done
if [ -n "${SANITIZE:-}" ]; then
    # The guide's commands and outputs are those of the normal build: heap
    # profiles need jemalloc (which a sanitizer replaces) and TSan delays
    # the profilers' signal handlers.
    echo "SKIP: under SANITIZE=$SANITIZE; the guide documents the normal build"
    exit 77
fi
if ! command -v go >/dev/null; then
    echo "SKIP: go (golang-go) is not installed; scripts/install-deps.sh installs it"
    exit 77
fi

tmp=$(mktemp -d /tmp/orderd-e2e-guide.XXXXXX)
orderd_pid="" load_pid=""
cleanup() {
    # Only the processes this script started, by pid.
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
    [ -n "$orderd_pid" ] && kill "$orderd_pid" 2>/dev/null && wait "$orderd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the blocks ------------------------------------------------------------
mkdir -p "$tmp/blocks" "$tmp/work" "$tmp/home"
awk -v dir="$tmp/blocks" '
    /^## / { inref = ($0 == "## Quick reference") ; next }
    !inref { next }
    /^```bash[ \t]*$/ && !inblock { inblock = 1; n++; file = sprintf("%s/%02d.sh", dir, n); printf "" > file; next }
    /^```/ && inblock { inblock = 0; close(file); next }
    inblock { print >> file }
' "$guide"
nblocks=$(find "$tmp/blocks" -name '*.sh' | wc -l)
[ "$nblocks" -ge 3 ] || fail "found only $nblocks bash blocks in the guide's Quick reference"

# ---- orderd under load --------------------------------------------------------
mkfifo "$tmp/ready"
"$BUILD_DIR/bin/orderd" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --ready-fd 3 \
    --work cpu --summary-interval 0 3>"$tmp/ready" 2>"$tmp/orderd.log" &
orderd_pid=$!
read -r port admin_port <"$tmp/ready" || fail "orderd did not report its ports"
[ -n "$admin_port" ] || fail "orderd reported no admin port"
echo "orderd on 127.0.0.1:$port (admin $admin_port)"
"$BUILD_DIR/bin/orderload" --url "http://127.0.0.1:$port" --rate 50 --duration 170s --quiet \
    --max-error-rate 1 >"$tmp/orderload.log" 2>&1 &
load_pid=$!

for d in src lib include scripts; do ln -s "$here/$d" "$tmp/work/$d"; done

passed=0 failed=0 skipped=0
for f in "$tmp"/blocks/*.sh; do
    first=$(head -n 1 "$f")
    name="block $(basename "$f" .sh): ${first#\# }"
    case "$first" in
    "# browser:"* | "# long-running:"*)
        echo "skip $name"
        skipped=$((skipped + 1))
        continue ;;
    esac
    sed -i -e "s#localhost:8080#127.0.0.1:$port#g" -e "s#localhost:6060#127.0.0.1:$admin_port#g" \
        -e "s#build/bin/#$BUILD_DIR/bin/#g" "$f"
    if [ -n "${GUIDE_VERBOSE:-}" ]; then echo "--- $name"; fi
    if (cd "$tmp/work" && HOME="$tmp/home" timeout 90 bash -euo pipefail "$f") >"$f.out" 2>&1; then
        echo "ok   $name"
        [ -n "${GUIDE_VERBOSE:-}" ] && sed "s/^/    > /" "$f.out"
        passed=$((passed + 1))
    else
        echo "FAIL $name (exit $?)"
        sed 's/^/    | /' "$f"
        echo "    output:"
        tail -n 25 "$f.out" | sed 's/^/    > /'
        failed=$((failed + 1))
    fi
done
echo "guide quick reference: $passed blocks ran, $failed failed, $skipped skipped (browser, long-running)"
kill -0 "$orderd_pid" 2>/dev/null || fail "orderd died while the blocks ran"
[ $failed = 0 ] || fail "$failed quick-reference block(s) of docs/PROFILING_GUIDE.md failed"
echo "PASS"
