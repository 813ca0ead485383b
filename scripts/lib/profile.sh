# shellcheck shell=bash
# Sourced by scripts/profile-cpu.sh and scripts/profile-mem.sh, which differ
# only in the profile they take: argument checks, building the lab when its
# binaries are missing, one worker run with -cpuprofile or -memprofile, and
# go tool pprof's -top view when Go is installed.
#
# profile_main KIND SCRIPT [ARGS...]: KIND is cpu or mem; SCRIPT is the
# calling script ($0), whose header comment (lines 2-8) is its usage text.

profile_main() {
    local kind=$1 script=$2 name
    name=$(basename "$script")
    shift 2
    usage() { sed -n '2,8p' "$script" | sed 's/^# \{0,1\}//'; }
    die() { echo "$name: $*" >&2; usage >&2; exit 2; }

    case "${1:-}" in -h|--help) usage; exit 0 ;; esac
    [ $# -ge 2 ] || die "need a worker and a duration"
    local worker=$1 duration=$2
    shift 2
    case "$worker" in bad|optimized) ;; *) die "worker must be bad or optimized, not '$worker'" ;; esac
    [[ "$duration" =~ ^[0-9]+(\.[0-9]+)?(us|ms|s|m|h)?$ ]] || die "'$duration' is not a duration (e.g. 30s)"

    local root build bin out
    root=$(cd "$(dirname "$script")/.." && pwd)
    build=${BUILD:-build}
    [[ "$build" = /* ]] || build="$root/$build"
    bin="$build/bin/worker-$worker"
    out=${PPROF_DIR:-pprof}
    mkdir -p "$out"
    if [ ! -x "$bin" ]; then
        echo "$name: building the lab (make lab)" >&2
        make -C "$root" --no-print-directory BUILD="$build" lab >&2
    fi

    # What differs between the two profiles.
    local prof="$out/$kind-$worker.prof" flag what top echo_top
    local -a explore
    if [ "$kind" = cpu ]; then
        flag=-cpuprofile what=Profiling top="-top -nodecount=25"
        echo_top="Top functions"
        explore=("-top" "-list 'build_log_entry|compute'" "-http=127.0.0.1:8081")
    else
        flag=-memprofile what=Heap-profiling top="-sample_index=alloc_space -top -nodecount=25"
        echo_top="Top allocators by bytes"
        explore=("-sample_index=alloc_space -top" "-sample_index=alloc_objects -top"
                 "-sample_index=inuse_space -top"
                 "-sample_index=alloc_space -list 'build_log_entry|process'")
    fi

    echo "$what worker-$worker for $duration -> $prof"
    "$bin" -tasks "${TASKS:-0}" -workers "${WORKERS:-10}" -data-size "${DATA_SIZE:-100}" \
        -duration "$duration" "$flag" "$prof" --metrics-addr none -quiet "$@"

    echo
    if command -v go >/dev/null; then
        local tmp
        tmp=$(mktemp -d)
        # shellcheck disable=SC2064 # expand now: tmp is local
        trap "rm -rf '$tmp'" EXIT
        echo "$echo_top (go tool pprof $top $prof):"
        # shellcheck disable=SC2086 # $top is a list of flags
        HOME="$tmp" GOCACHE="$tmp/cache" GOPATH="$tmp/go" go tool pprof $top "$prof" 2>&1
        echo
    fi
    echo "Explore it:"
    local e
    for e in "${explore[@]}"; do
        echo "  go tool pprof $e $prof"
    done
}
