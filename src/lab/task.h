#ifndef LAB_TASK_H
#define LAB_TASK_H

/* The lab's task: one operation on an array of ints, the same in both
 * workers. A task's data and operation are a pure function of its id, so the
 * producer builds tasks lazily (no up-front array of every task) and both
 * workers, whatever their internals, compute the same result for the same
 * id; the run's checksum (a sum of task_mix over the completed tasks) is
 * therefore independent of scheduling and identical between the workers.
 *
 * Every function is pure and thread-safe. */

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TASK_SUM = 0,
    TASK_MULTIPLY,
    TASK_SQUARE,
    TASK_FILTER,
    TASK_OPS,               /* number of valid operations */
    TASK_INVALID = TASK_OPS /* a deliberately malformed task: counted as an error */
} task_op_t;

/* Metric/label names of the valid operations: "sum", "multiply"... */
extern const char *const task_op_names[TASK_OPS];

/* One in TASK_ERROR_EVERY tasks carries an invalid operation (simulated bad
 * input), so the error counters have something to count. */
#define TASK_ERROR_EVERY 500

task_op_t task_op_of(uint64_t id);
/* Multiplier used by TASK_MULTIPLY for this task (2..8). */
int task_factor(uint64_t id);
/* Fills data[0..n) with the task's values, in [-1000, 1000]. */
void task_fill(uint64_t id, int32_t *data, size_t n);
/* Whether TASK_FILTER keeps v (positive and not a multiple of 3). */
static inline int task_keep(int32_t v) { return v > 0 && v % 3 != 0; }
/* Folds a filtered output into the task's result. */
static inline int64_t task_filter_result(int64_t sum, size_t kept)
{
    return sum * 31 + (int64_t)kept;
}
/* The reference result (straightforward code; the workers must agree). */
int64_t task_reference(uint64_t id, const int32_t *data, size_t n);
/* A task's contribution to the run checksum. */
uint64_t task_mix(uint64_t id, int64_t result);

#endif
