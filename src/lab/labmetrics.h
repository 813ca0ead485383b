#ifndef LAB_LABMETRICS_H
#define LAB_LABMETRICS_H

/* The lab workers' Prometheus metrics (the seed's, in C terms), every
 * series labelled worker_type="bad" or "optimized":
 *
 *   worker_tasks_processed_total{operation}   tasks completed, by operation
 *   worker_task_errors_total                  tasks rejected as invalid
 *   worker_tasks_in_queue                     submitted, not yet taken
 *   worker_task_processing_duration_seconds   histogram of per-task time
 *   worker_threads_active                     threads now (Go: goroutines)
 *   worker_memory_allocated_bytes             heap in use (Go: Alloc)
 *   worker_memory_mapped_bytes                mapped by the allocator (Sys)
 *   worker_allocated_bytes_total              cumulative bytes (TotalAlloc)
 *   worker_allocations_total                  cumulative allocations (Mallocs)
 *   worker_allocator_purges_total             purge sweeps (NumGC)
 *
 * plus the standard process_* families. Memory figures are read once per
 * scrape. The registry is process-lifetime (never freed: the bad worker's
 * leaked threads may still touch it at exit). Updates are lock-free and
 * thread-safe; labm_init must run first, once. */

#include <stdint.h>

#include "common/hist.h"
#include "common/metrics.h"
#include "lab/task.h"

void labm_init(const char *worker_type);
metrics_t *labm_registry(void);

void labm_task_done(task_op_t op, int64_t duration_ns);
void labm_task_error(void);
void labm_queue_add(int64_t delta);
int64_t labm_queue_length(void);

/* Readings for the live dashboard (lab/lablive.h): tasks completed (all
 * operations), tasks rejected as invalid, and a copy of the cumulative
 * processing-duration histogram (ns). */
uint64_t labm_processed(void);
uint64_t labm_errors(void);
void labm_duration_snapshot(hist_t *out);

#endif
