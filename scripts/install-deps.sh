#!/usr/bin/env bash
# Installs every Debian package orderd needs to build, run and test, and the
# browser assets (npm ci in web/). Idempotent and quiet: it only calls apt-get
# when a package is missing, and only runs `apt-get update` once per call.
# Usage: scripts/install-deps.sh [--check]   (--check: exit 1 if something is missing)
set -euo pipefail

PACKAGES=(
    build-essential pkg-config clang clang-format libclang-rt-14-dev
    libmicrohttpd-dev libjansson-dev libjemalloc-dev libdw-dev libelf-dev
    zlib1g-dev libcurl4-openssl-dev libcriterion-dev libc6-dbg
    golang-go prometheus chromium wrk curl jq procps nodejs npm
)

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; }

check=0
case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
    # nodejs/npm may come from outside Debian (the machine image); accept any.
    if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
    if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done

here=$(cd "$(dirname "$0")/.." && pwd)
web_missing=0
if [ -f "$here/web/package-lock.json" ] && [ ! -f "$here/web/node_modules/.package-lock.json" ]; then
    web_missing=1
fi

if [ $check = 1 ]; then
    [ ${#missing[@]} -eq 0 ] && [ $web_missing = 0 ] && exit 0
    exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $web_missing = 1 ]; then
    echo "install-deps: npm ci in web/" >&2
    (cd "$here/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
