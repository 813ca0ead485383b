/* Flag parsing for the lab workers from one table: name, kind, field
 * offset, default (parsed like user input) and help. The seed's Go flag
 * package accepts -flag=value and -flag value; we add the --flag forms. */

#include "lab/labcfg.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

typedef enum { K_I64, K_INT, K_DUR, K_RATE, K_STR, K_BOOL } kind_t;

typedef struct option {
    const char *name;
    kind_t kind;
    size_t off;
    size_t size;
    const char *def; /* NULL: worker-specific (metrics-addr) */
    const char *help;
} option_t;

#define F(field) offsetof(labcfg_t, field)
#define S(field) sizeof(((labcfg_t *)0)->field)

static const option_t options[] = {
    {"tasks", K_I64, F(tasks), 0, "1000", "number of tasks to process (0 = until -duration)"},
    {"workers", K_INT, F(workers), 0, "10", "number of worker threads"},
    {"data-size", K_INT, F(data_size), 0, "100", "size of the int array of each task"},
    {"duration", K_DUR, F(duration_ns), 0, "30s", "longest run time (0 = no limit)"},
    {"cpuprofile", K_STR, F(cpuprofile), S(cpuprofile), "", "write a CPU profile (pprof) to FILE"},
    {"memprofile", K_STR, F(memprofile), S(memprofile), "",
     "write a heap/allocs profile (pprof) to FILE at the end"},
    {"memprofilerate", K_I64, F(memprofilerate), 0, "524288",
     "mean bytes allocated between heap-profile samples (Go's MemProfileRate)"},
    {"mutexprofilefraction", K_INT, F(mutex_fraction), 0, "10",
     "record 1 in N lock contentions for /debug/pprof/mutex (0 = off)"},
    {"blockprofilerate", K_I64, F(block_rate), 0, "0",
     "record blocking events of this many ns on average for /debug/pprof/block (0 = off)"},
    {"metrics-addr", K_STR, F(metrics_addr), S(metrics_addr), NULL,
     "serve /metrics and /debug/pprof/ on host:port (\":PORT\" = 127.0.0.1:PORT; none = off)"},
    {"rate", K_RATE, F(rate), 0, "0", "tasks submitted per second (0 = as fast as they are taken)"},
    {"leak-cap", K_INT, F(leak_cap), 0, "1000",
     "bad worker: most helper threads it leaks (protects the machine)"},
    {"ready-fd", K_INT, F(ready_fd), 0, "-1",
     "write the metrics port and a newline to this fd once serving"},
    {"quiet", K_BOOL, F(quiet), 0, "false", "no progress lines"},
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

static int set(labcfg_t *cfg, const option_t *o, const char *v, char *err, size_t errlen)
{
    char *p = (char *)cfg + o->off;
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case K_I64:
    case K_INT: {
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < (o->kind == K_INT ? -1 : 0) ||
            (o->kind == K_INT && n > 1000000)) {
            snprintf(err, errlen, "-%s: '%s' is not a valid count", o->name, v);
            return -EINVAL;
        }
        if (o->kind == K_I64)
            *(int64_t *)p = n;
        else
            *(int *)p = (int)n;
        return 0;
    }
    case K_DUR:
        if (clock_parse_duration(v, (int64_t *)p) != 0 || *(int64_t *)p < 0) {
            snprintf(err, errlen, "-%s: '%s' is not a duration (e.g. 30s, 500ms, 2m)", o->name, v);
            return -EINVAL;
        }
        return 0;
    case K_RATE: {
        double d = strtod(v, &end);
        if (errno || end == v || *end || d < 0) {
            snprintf(err, errlen, "-%s: '%s' is not a rate (tasks per second)", o->name, v);
            return -EINVAL;
        }
        *(double *)p = d;
        return 0;
    }
    case K_STR:
        if (strlen(v) >= o->size) {
            snprintf(err, errlen, "-%s: value too long", o->name);
            return -EINVAL;
        }
        strcpy(p, v);
        return 0;
    case K_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            *(bool *)p = true;
        else if (!strcmp(v, "false") || !strcmp(v, "0"))
            *(bool *)p = false;
        else {
            snprintf(err, errlen, "-%s: '%s' is not true or false", o->name, v);
            return -EINVAL;
        }
        return 0;
    }
    return -EINVAL;
}

static const char *default_of(const option_t *o, const char *worker_type)
{
    if (o->def)
        return o->def;
    return strcmp(worker_type, "bad") == 0 ? ":9090" : ":9091";
}

void labcfg_usage(void *fp, const char *prog, const char *worker_type)
{
    FILE *f = fp;
    fprintf(f, "Usage: %s [flags]   (each flag as -flag=value, -flag value or --flag ...)\n\n",
            prog);
    for (size_t i = 0; i < NOPTS; i++) {
        const option_t *o = &options[i];
        const char *def = default_of(o, worker_type);
        fprintf(f, "  -%-21s %s%s%s%s\n", o->name, o->help, *def ? " (default " : "", def,
                *def ? ")" : "");
    }
}

int labcfg_parse(labcfg_t *cfg, const char *worker_type, int argc, char **argv, char *err,
                 size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NOPTS; i++)
        if (set(cfg, &options[i], default_of(&options[i], worker_type), err, errlen) != 0)
            return -EINVAL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return -EINVAL;
        }
        a += a[1] == '-' ? 2 : 1;
        if (!strcmp(a, "h") || !strcmp(a, "help")) {
            labcfg_usage(stdout, argv[0], worker_type);
            return 1;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const option_t *o = NULL;
        for (size_t k = 0; k < NOPTS && !o; k++)
            if (strlen(options[k].name) == nlen && !strncmp(options[k].name, a, nlen))
                o = &options[k];
        if (!o) {
            snprintf(err, errlen, "unknown flag '%s' (see --help)", argv[i]);
            return -EINVAL;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v && o->kind == K_BOOL)
            v = "true";
        if (!v) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "flag -%s needs a value", o->name);
                return -EINVAL;
            }
            v = argv[++i];
        }
        if (set(cfg, o, v, err, errlen) != 0)
            return -EINVAL;
    }
    if (cfg->workers < 1 || cfg->data_size < 1 || cfg->leak_cap < 0) {
        snprintf(err, errlen, "-workers and -data-size must be at least 1, -leak-cap at least 0");
        return -EINVAL;
    }
    return 0;
}
