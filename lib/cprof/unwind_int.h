#ifndef CPROF_UNWIND_INT_H
#define CPROF_UNWIND_INT_H

/* Internal: the stack of a thread interrupted by a signal, for the signal
 * handlers of the CPU profiler and the thread dump. */

#include <signal.h>
#include <stdint.h>

/* Frames the handler and the kernel's signal trampoline may add above the
 * interrupted instruction. */
#define CPROF_UNWIND_MAX_SKIP 16

/* From inside a signal handler: the interrupted thread's return addresses,
 * starting at the interrupted instruction (ucontext's RIP; this handler's
 * own frames and the trampoline are dropped), at most max of them, into
 * pcs. When unwinding does not reach that instruction, pcs holds it alone.
 * Returns the depth (0 without a context). Async-signal-safe once
 * backtrace() has been called outside any handler (it loads libgcc_s on
 * first use); no allocation, no lock. max is at most 64. */
int cprof__signal_stack(const void *ucontext, uint64_t *pcs, int max);

/* Warms backtrace() up (it loads libgcc_s on first use: never in a
 * handler) and installs handler for sig (SA_SIGINFO | SA_RESTART, nothing
 * masked). 0 or -errno. Not async-signal-safe: call once, at init. */
int cprof__signal_install(int sig, void (*handler)(int, siginfo_t *, void *));

#endif
