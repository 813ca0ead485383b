/* See labprof.h. The CPU profile is started before the workers start and
 * stopped after they stopped (whether the run ended by itself, by
 * -duration or by SIGINT/SIGTERM: labrun calls labprof_finish on every
 * path), so it covers the whole run, as Go's pprof.StartCPUProfile around
 * main's work does. It is symbolized in-process and gzipped when written.
 *
 * The heap profile samples from the start of the run (before the workers
 * start), so the file covers every allocation of the run, and is written
 * with the allocs view as default (alloc_space): the lab's question is "who
 * allocates", not "who holds memory at the end". */

#include "lab/labprof.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "cprof.h"

static bool g_heap_on;
static FILE *g_cpu_file; /* open while the CPU profile runs */

void labprof_init(void)
{
    /* Installs the SIGPROF handler and loads the unwinder now, before any
     * thread starts, rather than inside the first profile. */
    int rc = cprof_cpu_init();
    if (rc != 0)
        log_warn("CPU profiler unavailable: %s", cprof_strerror(rc));
}

void labprof_start(const labcfg_t *cfg)
{
    /* The file is created first, as Go's os.Create before StartCPUProfile:
     * a path that cannot be written is reported now, not after the run. */
    if (cfg->cpuprofile[0] && !(g_cpu_file = fopen(cfg->cpuprofile, "wb")))
        log_warn("-cpuprofile: cannot create %s: %s", cfg->cpuprofile, strerror(errno));
    if (g_cpu_file) {
        int rc = cprof_cpu_start(CPROF_CPU_DEFAULT_HZ);
        if (rc != 0) {
            log_warn("-cpuprofile: cannot start the CPU profile: %s; %s stays empty",
                     cprof_strerror(rc), cfg->cpuprofile);
            fclose(g_cpu_file);
            g_cpu_file = NULL;
        }
    }
    cprof_set_mutex_profile_fraction(cfg->mutex_fraction);
    cprof_set_block_profile_rate(cfg->block_rate);
    cprof_lock_use_frame_pointers(true); /* the Makefile builds with -fno-omit-frame-pointer */
    if (cfg->memprofile[0] || strcmp(cfg->metrics_addr, "none") != 0) {
        int rc = cprof_heap_start((size_t)cfg->memprofilerate);
        if (rc == 0)
            g_heap_on = true;
        else if (rc == -ENOTSUP && cfg->memprofile[0])
            log_warn("-memprofile: heap profiles are not available: %s; no %s",
                     cprof_heap_unavailable() ? cprof_heap_unavailable() : "unsupported",
                     cfg->memprofile);
        else if (rc != -ENOTSUP)
            log_warn("cannot start heap profiling: %s", cprof_strerror(rc));
    }
}

/* Symbolizes a stopped CPU profile, writes it to f and closes f; frees p. */
static void write_cpu(cprof_pprof_t *p, FILE *f, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = cprof_pprof_finish(p, true, &data, &len);
    cprof_pprof_free(p);
    if (rc != 0) {
        log_warn("-cpuprofile: building the profile failed: %s", cprof_strerror(rc));
        fclose(f);
        return;
    }
    rc = fwrite(data, 1, len, f) == len ? 0 : -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0)
        log_warn("-cpuprofile: writing %s failed: %s", path, strerror(-rc));
    free(data);
}

static void write_heap(const char *path)
{
    cprof_heap_t *h = NULL;
    int rc = cprof_heap_snapshot(&h);
    if (rc != 0) {
        log_warn("-memprofile: heap snapshot failed: %s", cprof_strerror(rc));
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
        log_warn("-memprofile: writing %s failed: %s", path, cprof_strerror(rc));
out:
    cprof_heap_free(h);
}

void labprof_finish(const labcfg_t *cfg)
{
    /* Both profiles stop before either file is built: symbolizing the CPU
     * profile loads debug information (megabytes of libdw allocations) that
     * belongs in neither. */
    cprof_pprof_t *cpu = NULL;
    FILE *cpu_file = g_cpu_file;
    g_cpu_file = NULL;
    if (cpu_file) {
        int rc = cprof_cpu_stop(&cpu);
        if (rc != 0) {
            log_warn("-cpuprofile: stopping the profile failed: %s", cprof_strerror(rc));
            fclose(cpu_file);
            cpu_file = NULL;
        }
    }
    if (g_heap_on && cfg->memprofile[0]) {
        cprof_heap_set_active(false);
        write_heap(cfg->memprofile);
    }
    if (cpu_file)
        write_cpu(cpu, cpu_file, cfg->cpuprofile);
}
