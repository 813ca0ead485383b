# Sourced by the e2e tests that read profiles with the real go tool pprof:
# skips the test (exit 77) without go; makes $tmp with a private HOME, Go
# cache and PPROF_TMPDIR (go tool pprof writes nothing outside it) and
# $tmp/work, a folder without the binary (so only a profile's own names can
# be shown); on exit kills what the test started (orderd_pid from
# scripts/lib/orderd.sh, loadpid) and removes $tmp.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/scripts/lib/orderd.sh"
command -v go >/dev/null || { echo "SKIP: go tool pprof not installed (golang-go)"; exit 77; }
tmp=$(mktemp -d)
orderd_pid=
loadpid=
pprof_cleanup() {
    [ -n "$loadpid" ] && kill "$loadpid" 2>/dev/null
    [ -n "$orderd_pid" ] && kill -KILL "$orderd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap pprof_cleanup EXIT
export HOME=$tmp/home GOCACHE=$tmp/gocache GOFLAGS= GOTOOLCHAIN=local PPROF_TMPDIR=$tmp/pprof
mkdir -p "$HOME" "$tmp/work" "$PPROF_TMPDIR"

# False (status 1) for builds with TSan (SANITIZE=thread, set by `make
# test`): TSan runs an asynchronous signal's handler at the thread's next
# safe point, so CPU-profile and thread-dump stacks are not where the
# threads were.
signal_stacks_exact() { [ "${SANITIZE:-}" != thread ]; }
