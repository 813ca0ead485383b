# Sourced by benchmarks and end-to-end tests: starts orderd on a free
# loopback port and waits for it to be ready, with no polling: orderd
# writes "PORT ADMIN_PORT" on its --ready-fd once it listens, and the
# caller blocks on a FIFO for that line (30 s at most).
#
# orderd_start LOG ARGS...: runs "$ORDERD_BIN" --listen 127.0.0.1:0 ARGS...
# in the background with its stderr in LOG; sets orderd_pid, port and base
# (http://127.0.0.1:PORT). Returns 1, with the tail of LOG on stderr, when
# orderd exits or stays silent instead.

orderd_start() {
    local log=$1 fifo
    shift
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/orderd-ready.XXXXXX")
    mkfifo "$fifo"
    "${ORDERD_BIN:?ORDERD_BIN is not set}" --listen 127.0.0.1:0 --ready-fd 3 "$@" 3>"$fifo" 2>"$log" &
    orderd_pid=$!
    port=
    read -r -t 30 port _ <"$fifo" || true
    rm -f "$fifo"
    if [ -z "$port" ]; then
        echo "orderd did not report its port; the end of its log:" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    base=http://127.0.0.1:$port
}

# orderd_wait_cpu_profile PID: returns 0 once orderd's /debug/pprof/ index
# counts a running CPU profile (PID: the background client that asked for
# it); 1 when that client ended first or after 20 s.
orderd_wait_cpu_profile() {
    local _
    for _ in $(seq 400); do
        curl -s "$base/debug/pprof/" | grep -q "<td>1</td><td><a href='profile" && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# orderd_stop: SIGTERM to the orderd that orderd_start started, then waits
# for it; clears orderd_pid (nothing to do when it is empty).
orderd_stop() {
    [ -n "${orderd_pid:-}" ] || return 0
    kill -TERM "$orderd_pid" 2>/dev/null || true
    wait "$orderd_pid" 2>/dev/null || true
    orderd_pid=
}

# orderd_cpu_ticks: orderd's user+system CPU time so far, in clock ticks
# (getconf CLK_TCK per second), threads that exited included.
orderd_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$orderd_pid/stat"; }

# orderd_processed: /stats total_processed.
orderd_processed() { curl -sf "$base/stats" | sed -n 's/.*"total_processed":\([0-9]*\).*/\1/p'; }
