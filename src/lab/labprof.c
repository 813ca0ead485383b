/* See labprof.h. The heap profile samples from the start of the run (before
 * the workers start), so the file covers every allocation of the run, and
 * is written with the allocs view as default (alloc_space): the lab's
 * question is "who allocates", not "who holds memory at the end". */

#include "lab/labprof.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "cprof/heap.h"
#include "cprof/lock.h"

static bool g_heap_on;

void labprof_start(const labcfg_t *cfg)
{
    if (cfg->cpuprofile[0])
        log_warn("-cpuprofile: CPU profiles are not available in this build; no %s",
                 cfg->cpuprofile);
    cprof_set_mutex_profile_fraction(cfg->mutex_fraction);
    cprof_set_block_profile_rate(cfg->block_rate);
    if (cfg->memprofile[0] || strcmp(cfg->metrics_addr, "none") != 0) {
        int rc = cprof_heap_start((size_t)cfg->memprofilerate);
        if (rc == 0)
            g_heap_on = true;
        else if (rc == -ENOTSUP && cfg->memprofile[0])
            log_warn("-memprofile: heap profiles are not available: %s; no %s",
                     cprof_heap_unavailable() ? cprof_heap_unavailable() : "unsupported",
                     cfg->memprofile);
        else if (rc != -ENOTSUP)
            log_warn("cannot start heap profiling: %s", strerror(-rc));
    }
}

static void write_heap(const char *path)
{
    cprof_heap_t *h = NULL;
    int rc = cprof_heap_snapshot(&h);
    if (rc != 0) {
        log_warn("-memprofile: heap snapshot failed: %s", strerror(-rc));
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        log_warn("-memprofile: cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    rc = cprof_heap_write_pprof(h, true, f);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0)
        log_warn("-memprofile: writing %s failed: %s", path, strerror(-rc));
out:
    cprof_heap_free(h);
}

void labprof_finish(const labcfg_t *cfg)
{
    if (g_heap_on && cfg->memprofile[0]) {
        cprof_heap_set_active(false);
        write_heap(cfg->memprofile);
    }
}
