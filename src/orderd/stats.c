#include "orderd/stats.h"

#include <string.h>

#include "common/clock.h"

const char *const stats_reject_names[STATS_REJECT_N] = {"queue_full", "shutting_down", "invalid",
                                                        "too_large", "duplicate"};

void stats_init(stats_t *s)
{
    memset(s, 0, sizeof(*s));
    s->start_mono_ns = clock_mono_ns();
    s->start_wall_ns = clock_wall_ns();
    s->last_progress_mono_ns = s->start_mono_ns;
}

uint64_t stats_total_accepted(const stats_t *s)
{
    uint64_t n = 0;
    for (int p = 0; p < 3; p++)
        n += stats_get(&s->accepted[p]);
    return n;
}

uint64_t stats_total_processed(const stats_t *s)
{
    uint64_t n = 0;
    for (int p = 0; p < 3; p++)
        n += stats_get(&s->processed[p][0]) + stats_get(&s->processed[p][1]);
    return n;
}

uint64_t stats_total_rejected(const stats_t *s)
{
    uint64_t n = 0;
    for (int r = 0; r < STATS_REJECT_N; r++)
        n += stats_get(&s->rejected[r]);
    return n;
}
