#!/usr/bin/env bash
# Heap-profiles one lab worker (allocations over the whole run) and prints the top allocators.
# Usage: scripts/profile-mem.sh bad|optimized DURATION [extra worker flags]
#   DURATION like 30s, 500ms, 2m: how long the worker runs (and is profiled).
# Env: BUILD (build folder, default build), PPROF_DIR (default pprof),
#      WORKERS (10), DATA_SIZE (100), TASKS (0 = as many as fit in DURATION).
# Writes $PPROF_DIR/mem-WORKER.prof (gzipped profile.proto: alloc_objects, alloc_space,
# inuse_objects, inuse_space) and, with go tool pprof, its -top view.
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "profile-mem.sh: $*" >&2; usage >&2; exit 2; }

case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 2 ] || die "need a worker and a duration"
worker=$1 duration=$2
shift 2
case "$worker" in bad|optimized) ;; *) die "worker must be bad or optimized, not '$worker'" ;; esac
[[ "$duration" =~ ^[0-9]+(\.[0-9]+)?(us|ms|s|m|h)?$ ]] || die "'$duration' is not a duration (e.g. 30s)"

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
[[ "$build" = /* ]] || build="$root/$build"
bin="$build/bin/worker-$worker"
out=${PPROF_DIR:-pprof}
mkdir -p "$out"
if [ ! -x "$bin" ]; then
    echo "profile-mem.sh: building the lab (make lab)" >&2
    make -C "$root" --no-print-directory BUILD="$build" lab >&2
fi

prof="$out/mem-$worker.prof"
echo "Heap-profiling worker-$worker for $duration -> $prof"
"$bin" -tasks "${TASKS:-0}" -workers "${WORKERS:-10}" -data-size "${DATA_SIZE:-100}" \
    -duration "$duration" -memprofile "$prof" --metrics-addr none -quiet "$@"

echo
if command -v go >/dev/null; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "Top allocators by bytes (go tool pprof -sample_index=alloc_space -top -nodecount=25 $prof):"
    HOME="$tmp" GOCACHE="$tmp/cache" GOPATH="$tmp/go" go tool pprof -sample_index=alloc_space -top -nodecount=25 "$prof" 2>&1
    echo
fi
cat <<MSG
Explore it:
  go tool pprof -sample_index=alloc_space -top $prof
  go tool pprof -sample_index=alloc_objects -top $prof
  go tool pprof -sample_index=inuse_space -top $prof
  go tool pprof -sample_index=alloc_space -list 'build_log_entry|process' $prof
  go tool pprof -http=127.0.0.1:8081 $prof
MSG
