/* See unwind_int.h. glibc's backtrace() walks the stack with libgcc's
 * unwinder, which reads .eh_frame and crosses the signal frame; the frames
 * above the interrupted instruction belong to the handler and are skipped
 * by finding that instruction's address among the first few. */

#include "cprof/unwind_int.h"

#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <ucontext.h>

#define MAX_FRAMES (64 + CPROF_UNWIND_MAX_SKIP)

int cprof__signal_stack(const void *ucv, uint64_t *pcs, int max)
{
    const ucontext_t *uc = ucv;
    uintptr_t pc = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
    if (!pc || max <= 0)
        return 0;
    void *buf[MAX_FRAMES];
    int n = backtrace(buf, max + CPROF_UNWIND_MAX_SKIP < MAX_FRAMES ? max + CPROF_UNWIND_MAX_SKIP
                                                                     : MAX_FRAMES);
    int start = -1;
    for (int i = 0; i < n && i <= CPROF_UNWIND_MAX_SKIP; i++) {
        if ((uintptr_t)buf[i] == pc) {
            start = i;
            break;
        }
    }
    if (start < 0) {
        pcs[0] = pc; /* unwinding failed: keep at least the leaf */
        return 1;
    }
    int depth = 0;
    for (int i = start; i < n && depth < max; i++)
        pcs[depth++] = (uint64_t)(uintptr_t)buf[i];
    return depth;
}

int cprof__signal_install(int sig, void (*handler)(int, siginfo_t *, void *))
{
    void *warm[8];
    backtrace(warm, 8);
    struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL) != 0 ? -errno : 0;
}
