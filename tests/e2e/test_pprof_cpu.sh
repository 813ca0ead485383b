#!/usr/bin/env bash
# CPU profiles of a loaded orderd read by the real `go tool pprof`.
#
# orderd --work none runs under a bounded wrk load (POST /orders). Checked:
#   - a 4 s profile downloaded with curl: `go tool pprof -top` and `-raw`,
#     run in a directory without the binary (so nothing but the profile's
#     own names can be used), show orderd's request handling (post_order)
#     and JSON (order_parse, jansson's json_*) functions, with no
#     symbolization warnings;
#   - `go tool pprof` fetching /debug/pprof/profile?seconds=2 itself works;
#   - a second profile while one runs answers 409 with X-Go-Pprof: 1;
#   - the seed's /profile/cpu?duration=1s has its attachment file name;
#   - orderd exits 0 on SIGTERM afterwards.
# Skipped (77) when go is missing.
set -uo pipefail
. "$(dirname "$0")/lib/pprof.sh"
BUILD=${ORDERD_BUILD:-${BUILD:-build}}
bin=${ORDERD_BIN:-$BUILD/bin/orderd}
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
bin=$(realpath "$bin")

ORDERD_BIN=$bin orderd_start "$tmp/orderd.log" --work none || { echo "FAIL: orderd did not start"; exit 1; }
echo "orderd on $base"

# Bounded load: wrk if present, else a curl loop; at most 12 s either way.
body='{"customer":"c","amount":10,"items":["a"],"address":"x","status":"pending"}'
if command -v wrk >/dev/null; then
    cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
    wrk -t1 -c16 -d12s -s "$tmp/post.lua" "$base/orders" >"$tmp/wrk.log" 2>&1 &
else
    (end=$((SECONDS + 12)); while [ $SECONDS -lt $end ]; do
        curl -s -o /dev/null -H 'Content-Type: application/json' -d "$body" "$base/orders"
    done) &
fi
loadpid=$!

fail=0
check() { # check DESCRIPTION CONDITION...
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

curl -s -o "$tmp/cpu.prof" -D "$tmp/cpu.h" "$base/debug/pprof/profile?seconds=4" &
curlpid=$!
# While it runs, a second one is refused at once.
orderd_wait_cpu_profile "$curlpid" || echo "FAIL: the index never showed the profile running"
code=$(curl -s -o "$tmp/409.txt" -D "$tmp/409.h" -w '%{http_code}' \
    "$base/debug/pprof/profile?seconds=0.05")
check "second profile answers 409" test "$code" = 409
check "409 carries X-Go-Pprof: 1" grep -qi '^X-Go-Pprof: 1' "$tmp/409.h"
wait $curlpid

cd "$tmp/work"  # no binary here: names must come from the profile
go tool pprof -top "$tmp/cpu.prof" >"$tmp/top.txt" 2>"$tmp/top.err"
head -25 "$tmp/top.txt"
go tool pprof -top -cum "$tmp/cpu.prof" >"$tmp/cum.txt" 2>/dev/null
go tool pprof -raw "$tmp/cpu.prof" >"$tmp/raw.txt" 2>"$tmp/raw.err"
check "-top reads the profile (Type: cpu)" grep -q '^Type: cpu' "$tmp/top.txt"
if ! signal_stacks_exact; then
    echo "note: SANITIZE=thread: orderd's frames not checked (TSan delays signal handlers)"
else
    check "-top shows post_order (request handling)" grep -qw post_order "$tmp/cum.txt"
    check "-top shows JSON functions (order_parse / json_*)" grep -qE 'order_parse|json_[a-z_]+' "$tmp/cum.txt"
    check "-raw shows post_order" grep -qw post_order "$tmp/raw.txt"
fi
check "-raw has thread labels" grep -q 'thread:' "$tmp/raw.txt"
check "no symbolization warnings" bash -c "! grep -qiE 'symboliz|no such file' '$tmp/top.err' '$tmp/raw.err'"
[ -s "$tmp/top.err" ] && { echo "pprof stderr:"; cat "$tmp/top.err"; }

go tool pprof -top "$base/debug/pprof/profile?seconds=2" >"$tmp/url.txt" 2>"$tmp/url.err"
check "go tool pprof fetches the URL itself" grep -q '^Type: cpu' "$tmp/url.txt"
head -8 "$tmp/url.txt"

curl -s -o "$tmp/seed.prof" -D "$tmp/seed.h" "$base/profile/cpu?duration=1s"
check "/profile/cpu has the seed's attachment name" \
    grep -qiE '^Content-Disposition: attachment; filename="?cpu_profile_[0-9]+\.prof' "$tmp/seed.h"
check "/profile/cpu is a readable profile" bash -c "go tool pprof -top '$tmp/seed.prof' 2>/dev/null | grep -q '^Type: cpu'"

kill "$loadpid" 2>/dev/null
wait "$loadpid" 2>/dev/null
loadpid=
kill -TERM "$orderd_pid"
wait "$orderd_pid"
rc=$?
orderd_pid=
check "orderd exits 0 on SIGTERM" test "$rc" = 0
if grep -q 'ERROR: AddressSanitizer\|runtime error:\|WARNING: ThreadSanitizer' "$tmp/orderd.log"; then
    echo "FAIL: sanitizer report"; cat "$tmp/orderd.log"; fail=1
fi
exit $fail
