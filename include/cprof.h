#ifndef CPROF_H
#define CPROF_H

/* cprof: in-process profiling for C programs, with Go's net/http/pprof
 * contract (profiles in profile.proto, readable by `go tool pprof` without
 * the binary).
 *
 * Pieces, each in its own header under include/cprof/:
 *   pprof.h      profile.proto builder (symbolizes in-process) and decoder
 *   merge.h      merging and scaling decoded profiles (delta profiles)
 *   symbolize.h  in-process symbolization with libdw (function, file, line, inlines)
 *   cpu.h        CPU profiler: per-thread CPU-time timers, SIGPROF sampling
 *   http.h       HTTP layer independent of any server library (/debug/pprof/...)
 *   heap.h       heap/allocs profiles (jemalloc sampling)
 *   memstats.h   allocator statistics
 *   threads.h    thread dumps (goroutine), threadcreate, cprof_thread_create
 *   lock.h       cprof_mutex_t / cprof_cond_t, mutex and block profiles
 *   trace.h      execution trace (Chrome Trace Event JSON)
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno on failure; cprof_strerror names those. The library never prints and
 * never aborts. Every function is thread-safe unless its comment says
 * otherwise; only functions whose comment says "async-signal-safe" may be
 * called from a signal handler. Build with `pkg-config --cflags --libs cprof`. */

#include "cprof/pprof.h"
#include "cprof/merge.h"
#include "cprof/symbolize.h"
#include "cprof/cpu.h"
#include "cprof/http.h"
#include "cprof/heap.h"
#include "cprof/memstats.h"
#include "cprof/threads.h"
#include "cprof/lock.h"
#include "cprof/trace.h"

#define CPROF_VERSION "0.1.0"

/* A static one-line description of a negative errno returned by cprof (or of
 * a positive errno). Never NULL. Thread-safe, async-signal-safe. */
const char *cprof_strerror(int err);

#endif
