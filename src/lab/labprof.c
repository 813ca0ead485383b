/* See labprof.h. */

#include "lab/labprof.h"

#include "common/log.h"

void labprof_start(const labcfg_t *cfg)
{
    if (cfg->cpuprofile[0])
        log_warn("-cpuprofile: CPU profiles are not available in this build; no %s",
                 cfg->cpuprofile);
    if (cfg->memprofile[0])
        log_warn("-memprofile: heap profiles are not available in this build; no %s",
                 cfg->memprofile);
}

void labprof_finish(const labcfg_t *cfg) { (void)cfg; }
