#!/usr/bin/env bash
# `make run`: starts orderd on 127.0.0.1:8080 with its built-in load (the
# seed's scenarios) and prints where to look. Ctrl-C stops it gracefully.
# Usage: scripts/run.sh BIN_DIR [extra orderd flags]
set -euo pipefail
bin=${1:-build/bin}
shift || true
listen=${ORDERD_LISTEN:-127.0.0.1:8080}
cat <<MSG

orderd is starting on http://$listen with the built-in load (scenario: ${ORDERD_LOAD:-all}).
  curl http://$listen/stats
  curl http://$listen/health
  curl -X POST http://$listen/orders -d '{"customer":"ada","amount":42.5,"items":["book"],"address":"1 Main St"}'
Press Ctrl-C to stop (orders already accepted are drained first).

MSG
exec "$bin/orderd" --listen "$listen" --load "${ORDERD_LOAD:-all}" "$@"
