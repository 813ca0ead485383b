/* Task definitions shared by both lab workers (see task.h). Data come from a
 * splitmix64-seeded xorshift generator keyed by the task id. */

#include "lab/task.h"

const char *const task_op_names[TASK_OPS] = {"sum", "multiply", "square", "filter"};

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

task_op_t task_op_of(uint64_t id)
{
    if (id % TASK_ERROR_EVERY == TASK_ERROR_EVERY - 1)
        return TASK_INVALID;
    return (task_op_t)(id % TASK_OPS);
}

int task_factor(uint64_t id) { return (int)(id % 7) + 2; }

void task_fill(uint64_t id, int32_t *data, size_t n)
{
    uint64_t s = splitmix64(id ^ 0x6c61626f72646572ULL) | 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        data[i] = (int32_t)(s % 2001) - 1000;
    }
}

int64_t task_reference(uint64_t id, const int32_t *data, size_t n)
{
    int64_t r = 0;
    size_t kept = 0;
    switch (task_op_of(id)) {
    case TASK_SUM:
        for (size_t i = 0; i < n; i++)
            r += data[i];
        return r;
    case TASK_MULTIPLY:
        for (size_t i = 0; i < n; i++)
            r += (int64_t)data[i] * task_factor(id);
        return r;
    case TASK_SQUARE:
        for (size_t i = 0; i < n; i++)
            r += (int64_t)data[i] * data[i];
        return r;
    case TASK_FILTER:
        for (size_t i = 0; i < n; i++)
            if (task_keep(data[i])) {
                r += data[i];
                kept++;
            }
        return task_filter_result(r, kept);
    default: return 0;
    }
}

uint64_t task_mix(uint64_t id, int64_t result)
{
    return splitmix64(id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)result);
}
