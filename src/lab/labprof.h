#ifndef LAB_LABPROF_H
#define LAB_LABPROF_H

/* The seed's -cpuprofile and -memprofile, on cprof: a CPU profile of the
 * whole run, and a heap profile (alloc_objects, alloc_space, inuse_objects,
 * inuse_space) with sampling switched on from the start, written at the end
 * as gzipped profile.proto files that go tool pprof opens.
 *
 * Main thread only. Failures are warnings (the run goes on without that
 * profile), printed on stderr. */

#include "lab/labcfg.h"

/* Readies the CPU profiler (SIGPROF handler, unwinder). Call once, before
 * any thread is created. */
void labprof_init(void);
/* Starts what cfg asks for: the CPU profile at 100 Hz if -cpuprofile is
 * set, and heap sampling. Heap sampling also runs whenever the metrics
 * server is on, so /debug/pprof/heap and /allocs have data, as in Go. */
void labprof_start(const labcfg_t *cfg);
/* Stops the CPU profile and writes both files. */
void labprof_finish(const labcfg_t *cfg);

#endif
