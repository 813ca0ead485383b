/* Output of thread dumps: Go's goroutine profile formats (debug=0 proto,
 * debug=1 grouped text, debug=2 one block per thread), and the symbolized
 * frame printers the lock and threadcreate outputs share.
 *
 * Grouping sorts the answering threads by stack (a permutation of
 * indexes), so equal stacks are adjacent; the largest groups come first,
 * as in Go. Names come from cprof_symbolize (libdw, cached per address). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/pprof.h"
#include "cprof/symbolize.h"
#include "cprof/threads.h"
#include "cprof/threads_int.h"

#define MAX_INLINE 8

static int symbolize(uint64_t pc, bool exact, cprof_frame_t *frames, char *strbuf, size_t len)
{
    int n = cprof_symbolize(pc, exact ? CPROF_SYM_EXACT : 0, frames, MAX_INLINE, strbuf, len);
    if (n <= 0) {
        frames[0].function = "?";
        frames[0].file = NULL;
        frames[0].line = 0;
        n = 1;
    }
    return n;
}

void cprof__print_pc_lines(FILE *out, uint64_t pc, bool exact)
{
    cprof_frame_t f[MAX_INLINE];
    char strbuf[2048];
    int n = symbolize(pc, exact, f, strbuf, sizeof(strbuf));
    for (int i = 0; i < n; i++) {
        fprintf(out, "#\t%#llx\t%s", (unsigned long long)(exact ? pc : pc - 1), f[i].function);
        if (f[i].file && *f[i].file)
            fprintf(out, "\t%s:%lld", f[i].file, (long long)f[i].line);
        fputc('\n', out);
    }
}

void cprof__print_pc_frames(FILE *out, uint64_t pc, bool exact)
{
    cprof_frame_t f[MAX_INLINE];
    char strbuf[2048];
    int n = symbolize(pc, exact, f, strbuf, sizeof(strbuf));
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s()\n", f[i].function);
        if (f[i].file && *f[i].file)
            fprintf(out, "\t%s:%lld", f[i].file, (long long)f[i].line);
        else
            fprintf(out, "\t?");
        if (i == n - 1)
            fprintf(out, " pc=%#llx", (unsigned long long)pc);
        fputc('\n', out);
    }
}

void cprof__lock_name_pc(uint64_t pc, FILE *out, void *arg)
{
    (void)arg;
    cprof__print_pc_lines(out, pc, false);
}

/* ---- grouping ------------------------------------------------------------- */

static const cprof_threads_t *sort_dump;

static int by_stack(const void *a, const void *b)
{
    const cprof_thread_t *x = cprof_threads_get(sort_dump, *(const size_t *)a);
    const cprof_thread_t *y = cprof_threads_get(sort_dump, *(const size_t *)b);
    if (x->status != y->status)
        return x->status < y->status ? -1 : 1;
    if (x->npcs != y->npcs)
        return x->npcs < y->npcs ? -1 : 1;
    int c = memcmp(x->pcs, y->pcs, x->npcs * sizeof(*x->pcs));
    if (c)
        return c;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static bool same_stack(const cprof_thread_t *x, const cprof_thread_t *y)
{
    return x->status == y->status && x->npcs == y->npcs &&
           memcmp(x->pcs, y->pcs, x->npcs * sizeof(*x->pcs)) == 0;
}

typedef struct group {
    size_t first, count; /* in the sorted index array */
} group_t;

static int by_count(const void *a, const void *b)
{
    const group_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Sorted thread indexes (exited threads left out) and their groups, largest
 * first. Serialized by the caller's lock (sort_dump is shared). */
static pthread_mutex_t group_mu = PTHREAD_MUTEX_INITIALIZER;

static int group_threads(const cprof_threads_t *t, size_t **idx_out, group_t **groups_out,
                         size_t *ngroups)
{
    size_t n = cprof_threads_count(t), m = 0;
    size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    group_t *g = malloc((n ? n : 1) * sizeof(*g));
    if (!idx || !g) {
        free(idx);
        free(g);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (cprof_threads_get(t, i)->status != -ESRCH)
            idx[m++] = i;
    pthread_mutex_lock(&group_mu);
    sort_dump = t;
    qsort(idx, m, sizeof(*idx), by_stack);
    pthread_mutex_unlock(&group_mu);
    size_t ng = 0;
    for (size_t i = 0; i < m; i++) {
        if (ng &&
            same_stack(cprof_threads_get(t, idx[g[ng - 1].first]), cprof_threads_get(t, idx[i]))) {
            g[ng - 1].count++;
        } else {
            g[ng].first = i;
            g[ng].count = 1;
            ng++;
        }
    }
    qsort(g, ng, sizeof(*g), by_count);
    *idx_out = idx;
    *groups_out = g;
    *ngroups = ng;
    return 0;
}

static const char *status_frame(int status)
{
    return status == -EAGAIN ? "[thread blocks the dump signal]" : "[thread did not answer]";
}

static const char *state_name(char s)
{
    switch (s) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk sleep";
    case 'T': return "stopped";
    case 't': return "tracing stop";
    case 'Z': return "zombie";
    case 'X': return "dead";
    case 'I': return "idle";
    default: return "unknown";
    }
}

int cprof_threads_write_text(const cprof_threads_t *t, int debug, FILE *out)
{
    if (debug >= 2) {
        for (size_t i = 0; i < cprof_threads_count(t); i++) {
            const cprof_thread_t *th = cprof_threads_get(t, i);
            if (th->status == -ESRCH)
                continue;
            fprintf(out, "thread %d \"%s\" [%c (%s), cpu user %.3fms sys %.3fms]:\n", (int)th->tid,
                    th->name, th->state, state_name(th->state), (double)th->utime_ns / 1e6,
                    (double)th->stime_ns / 1e6);
            if (th->status != 0)
                fprintf(out, "%s\n", status_frame(th->status));
            for (size_t k = 0; k < th->npcs; k++)
                cprof__print_pc_frames(out, th->pcs[k], k == 0 && th->leaf_exact);
            fputc('\n', out);
        }
        fflush(out);
        return ferror(out) ? -EIO : 0;
    }
    size_t *idx, ng;
    group_t *g;
    int rc = group_threads(t, &idx, &g, &ng);
    if (rc)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < ng; i++)
        total += g[i].count;
    fprintf(out, "goroutine profile: total %zu\n", total);
    for (size_t i = 0; i < ng; i++) {
        const cprof_thread_t *th = cprof_threads_get(t, idx[g[i].first]);
        fprintf(out, "%zu @", g[i].count);
        for (size_t k = 0; k < th->npcs; k++)
            fprintf(out, " %#llx", (unsigned long long)th->pcs[k]);
        fputc('\n', out);
        if (th->status != 0)
            fprintf(out, "#\t%s\n", status_frame(th->status));
        for (size_t k = 0; k < th->npcs; k++)
            cprof__print_pc_lines(out, th->pcs[k], k == 0 && th->leaf_exact);
        fprintf(out, "#\tthreads:");
        for (size_t k = 0; k < g[i].count; k++)
            fprintf(out, " %s(%d)", cprof_threads_get(t, idx[g[i].first + k])->name,
                    (int)cprof_threads_get(t, idx[g[i].first + k])->tid);
        fprintf(out, "\n\n");
    }
    free(idx);
    free(g);
    fflush(out);
    return ferror(out) ? -EIO : 0;
}

int cprof_threads_write_pprof(const cprof_threads_t *t, uint8_t **out, size_t *len)
{
    static const cprof_value_type_t type = {"goroutine", "count"};
    cprof_pprof_opts_t o = {.sample_types = &type,
                            .nsample_types = 1,
                            .period_type = {"goroutine", "count"},
                            .period = 1,
                            .time_nanos = cprof_threads_time_ns(t)};
    size_t *idx, ng;
    group_t *g;
    int rc = group_threads(t, &idx, &g, &ng);
    if (rc)
        return rc;
    cprof_pprof_t *p = NULL;
    cprof_label_t *labels = malloc((cprof_threads_count(t) + 1) * sizeof(*labels));
    if (!labels) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = cprof_pprof_new(&o, &p)) != 0)
        goto out;
    for (size_t i = 0; i < ng && !rc; i++) {
        const cprof_thread_t *th = cprof_threads_get(t, idx[g[i].first]);
        for (size_t k = 0; k < g[i].count; k++)
            labels[k] = (cprof_label_t){.key = "thread",
                                        .str = cprof_threads_get(t, idx[g[i].first + k])->name};
        int64_t v = (int64_t)g[i].count;
        if (th->status != 0) {
            cprof_frame_t f = {.function = status_frame(th->status)};
            rc = cprof_pprof_add_sample_frames(p, &f, 1, &v, labels, g[i].count);
        } else {
            rc = cprof_pprof_add_sample(p, th->pcs, th->npcs,
                                        th->leaf_exact ? CPROF_PCS_LEAF_EXACT : 0, &v, labels,
                                        g[i].count);
        }
    }
    if (!rc)
        rc = cprof_pprof_finish(p, true, out, len);
out:
    cprof_pprof_free(p);
    free(labels);
    free(idx);
    free(g);
    return rc;
}
