#!/usr/bin/env bash
# CPU-profiles one lab worker and prints the hottest functions.
# Usage: scripts/profile-cpu.sh bad|optimized DURATION [extra worker flags]
#   DURATION like 30s, 500ms, 2m: how long the worker runs (and is profiled).
# Env: BUILD (build folder, default build), PPROF_DIR (default pprof),
#      WORKERS (10), DATA_SIZE (100), TASKS (0 = as many as fit in DURATION).
# Writes $PPROF_DIR/cpu-WORKER.prof (gzipped profile.proto) and, when
# go tool pprof is installed, prints its -top view.
set -euo pipefail
# shellcheck source=scripts/lib/profile.sh
. "$(dirname "$0")/lib/profile.sh"
profile_main cpu "$0" "$@"
