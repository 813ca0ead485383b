#!/usr/bin/env bash
# README.md's copy of `orderd --help` (the block that starts with
# "Usage: orderd") is what the binary prints, so the documented flags cannot
# drift from the real ones. Env: ORDERD_BUILD (default build).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${ORDERD_BUILD:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bin/orderd" --help >"$tmp/help.txt"
awk '/^```/ { if (f) exit; next } /^Usage: orderd/ { f = 1 } f' "$here/README.md" >"$tmp/readme.txt"
[ -s "$tmp/readme.txt" ] || { echo "FAIL: no 'Usage: orderd' block in README.md"; exit 1; }
if ! diff -u "$tmp/readme.txt" "$tmp/help.txt"; then
    echo "FAIL: README.md's flag list differs from orderd --help (above: - README, + binary)"
    exit 1
fi
echo "ok: README.md's flag list is orderd --help"
