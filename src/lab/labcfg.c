/* Flag parsing for the lab workers from one table: name, type, field
 * offset, default (parsed like user input) and help; common/flags parses it
 * in its Go style. The seed's Go flag package accepts -flag=value and
 * -flag value; we add the --flag forms. The rate is a lab-only kind, and the
 * metrics address defaults by worker type (default_of). No environment. */

#include "lab/labcfg.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/flags.h"

static const flags_type_t count = {.kind = FLAGS_INT, .min = -1, .max = 1000000};
static const flags_type_t count64 = {.kind = FLAGS_INT64, .min = 0, .max = INT64_MAX};

static int parse_rate(const char *v, void *field, size_t size)
{
    char *end;
    (void)size;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < 0)
        return -EINVAL;
    *(double *)field = d;
    return 0;
}

static const flags_type_t rate = {
    .kind = FLAGS_CUSTOM, .parse = parse_rate, .bad = "'%v' is not a rate (tasks per second)"};

#define F(field) offsetof(labcfg_t, field), sizeof(((labcfg_t *)0)->field)

static const flags_opt_t options[] = {
    {"tasks", &count64, F(tasks), "1000", "number of tasks to process (0 = until -duration)"},
    {"workers", &count, F(workers), "10", "number of worker threads"},
    {"data-size", &count, F(data_size), "100", "size of the int array of each task"},
    {"duration", &flags_duration, F(duration_ns), "30s", "longest run time (0 = no limit)"},
    {"cpuprofile", &flags_str, F(cpuprofile), "", "write a CPU profile (pprof) to FILE"},
    {"memprofile", &flags_str, F(memprofile), "",
     "write a heap/allocs profile (pprof) to FILE at the end"},
    {"memprofilerate", &count64, F(memprofilerate), "524288",
     "mean bytes allocated between heap-profile samples (Go's MemProfileRate)"},
    {"mutexprofilefraction", &count, F(mutex_fraction), "10",
     "record 1 in N lock contentions for /debug/pprof/mutex (0 = off)"},
    {"blockprofilerate", &count64, F(block_rate), "0",
     "record blocking events of this many ns on average for /debug/pprof/block (0 = off)"},
    {"metrics-addr", &flags_str, F(metrics_addr), NULL, /* by worker type */
     "serve /metrics and /debug/pprof/ on host:port (\":PORT\" = 127.0.0.1:PORT; none = off)"},
    {"rate", &rate, F(rate), "0", "tasks submitted per second (0 = as fast as they are taken)"},
    {"leak-cap", &count, F(leak_cap), "1000",
     "bad worker: most helper threads it leaks (protects the machine)"},
    {"ready-fd", &count, F(ready_fd), "-1",
     "write the metrics port and a newline to this fd once serving"},
    {"quiet", &flags_bool, F(quiet), "false", "no progress lines"},
};

static const char *default_of(const flags_opt_t *o, void *worker_type)
{
    if (o->def)
        return o->def;
    return strcmp(worker_type, "bad") == 0 ? ":9090" : ":9091";
}

static flags_spec_t spec_for(const char *worker_type)
{
    return (flags_spec_t){.opts = options,
                          .nopts = sizeof(options) / sizeof(options[0]),
                          .style = FLAGS_GO,
                          .default_of = default_of,
                          .arg = (void *)worker_type};
}

void labcfg_usage(void *fp, const char *prog, const char *worker_type)
{
    FILE *f = fp;
    flags_spec_t spec = spec_for(worker_type);
    fprintf(f, "Usage: %s [flags]   (each flag as -flag=value, -flag value or --flag ...)\n\n",
            prog);
    flags_usage(&spec, f);
}

int labcfg_parse(labcfg_t *cfg, const char *worker_type, int argc, char **argv, char *err,
                 size_t errlen)
{
    flags_spec_t spec = spec_for(worker_type);
    memset(cfg, 0, sizeof(*cfg));
    if (flags_defaults(&spec, cfg, err, errlen) != 0)
        return -EINVAL;
    int rc = flags_args(&spec, cfg, argc, argv, err, errlen);
    if (rc == FLAGS_HELP) {
        labcfg_usage(stdout, argv[0], worker_type);
        return 1;
    }
    if (rc != 0)
        return -EINVAL;
    if (cfg->workers < 1 || cfg->data_size < 1 || cfg->leak_cap < 0) {
        snprintf(err, errlen, "-workers and -data-size must be at least 1, -leak-cap at least 0");
        return -EINVAL;
    }
    return 0;
}
