#ifndef CPROF_SYMBOLIZE_H
#define CPROF_SYMBOLIZE_H

/* In-process symbolization of this process's code addresses with elfutils
 * libdw: function, source file and line, and the chain of inlined calls at
 * the address. Debug information is found next to each module or under
 * /usr/lib/debug (by build ID), so glibc frames have names when libc6-dbg is
 * installed. Results are cached per address for the life of the process;
 * the cache and the module list are rebuilt when a library is loaded or
 * unloaded. Without debug information a frame is named by its symbol, and
 * without a symbol "module+0xoffset".
 *
 * Thread-safe (one lock). Not async-signal-safe: signal handlers record raw
 * addresses and symbolize later. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cprof/pprof.h"

/* pc is the exact instruction (CPROF_PCS_LEAF_EXACT), else a return
 * address, looked up at pc-1 (the call instruction). */
#define CPROF_SYM_EXACT 1u

/* Symbolizes pc: frames[0] is the innermost (possibly inlined) function,
 * the last one the real function that contains pc. Strings are copied into
 * strbuf (frames point into it; truncated when too small). Returns the
 * number of frames stored (>= 1: an unknown address still gets a
 * "module+0xoffset" or "0x..." frame), or a negative errno. */
int cprof_symbolize(uint64_t pc, unsigned flags, cprof_frame_t *frames, size_t max, char *strbuf,
                    size_t strbuf_len);

/* One executable mapping of this process (from /proc/self/maps). */
typedef struct cprof_mapping {
    uint64_t start, limit, offset;
    char path[256];    /* "" for anonymous, "[vdso]" ... */
    char build_id[65]; /* lower-case hex GNU build ID, "" if none */
} cprof_mapping_t;

/* Copies up to max executable mappings, the main program first. Returns the
 * number available (may exceed max) or a negative errno. */
int cprof_mappings(cprof_mapping_t *out, size_t max);

#endif
