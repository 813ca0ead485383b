#!/usr/bin/env bash
# Heap-profiles one lab worker (allocations over the whole run) and prints the top allocators.
# Usage: scripts/profile-mem.sh bad|optimized DURATION [extra worker flags]
#   DURATION like 30s, 500ms, 2m: how long the worker runs (and is profiled).
# Env: BUILD (build folder, default build), PPROF_DIR (default pprof),
#      WORKERS (10), DATA_SIZE (100), TASKS (0 = as many as fit in DURATION).
# Writes $PPROF_DIR/mem-WORKER.prof (gzipped profile.proto: alloc_objects, alloc_space,
# inuse_objects, inuse_space) and, with go tool pprof, its -top view.
set -euo pipefail
# shellcheck source=scripts/lib/profile.sh
. "$(dirname "$0")/lib/profile.sh"
profile_main mem "$0" "$@"
