/* The metrics registry.
 *
 * Data: the registry holds a singly linked list of families in registration
 * order; each family a list of series in creation order. Lists only grow,
 * under the registry mutex, and nothing is removed before metrics_free, so a
 * handle handed out once stays valid and the hot path never looks anything
 * up: a stored counter is one uint64_t updated with a relaxed atomic add; a
 * gauge is the bit pattern of a double updated by store or compare-and-swap;
 * a stored histogram is an array of non-cumulative bucket counts plus the
 * bit pattern of the sum. Series are allocated on their own cache lines so
 * two hot counters never share one.
 *
 * Rendering holds the mutex for the whole scrape, runs the scrape hooks,
 * then walks the families. Histogram buckets are read non-cumulatively and
 * accumulated while writing, and _count is the +Inf bucket, so every
 * rendered histogram is internally consistent even while observations
 * race with the scrape (its _sum may lag or lead by the racing
 * observations, as in every Prometheus client). */

#include "common/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

typedef enum { S_COUNTER, S_GAUGE, S_HIST, S_VALUE_FN, S_HIST_FN, S_HIST_VIEW } kind_t;

struct metrics_counter {
    uint64_t value;
};

struct metrics_gauge {
    uint64_t bits; /* a double */
};

struct metrics_histogram {
    const double *bounds; /* the family's */
    size_t nbounds;
    uint64_t sum_bits; /* a double */
    uint64_t *counts;  /* nbounds + 1, non-cumulative */
};

typedef struct series {
    struct series *next;
    char **values; /* one per label name */
    kind_t kind;
    union {
        struct metrics_counter counter;
        struct metrics_gauge gauge;
        struct metrics_histogram hist;
        struct {
            metrics_value_fn fn;
            void *arg;
        } vfn;
        struct {
            metrics_hist_fn fn;
            void *arg;
        } hfn;
        struct {
            const hist_t *h;
            double divisor;
        } view;
    } u;
} series_t;

struct metrics_family {
    struct metrics_family *next;
    metrics_t *reg;
    char *name;
    char *help;
    metrics_type_t type;
    size_t nlabels;
    char **labels;
    size_t nbounds;
    double *bounds;
    char **le; /* bounds formatted once, for the `le` label */
    series_t *head, **tail;
};

typedef struct hook {
    struct hook *next;
    metrics_scrape_fn fn;
    void *arg;
    void (*release)(void *);
} hook_t;

struct metrics {
    pthread_mutex_t mu;
    metrics_family_t *head, **tail;
    hook_t *hooks, **hooks_tail;
};

static const char *const type_names[] = {"counter", "gauge", "histogram"};

/* ---- doubles stored as bits ---------------------------------------------- */

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static void atomic_add_double(uint64_t *bits, double delta)
{
    uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(bits, &old, dbits(bitsd(old) + delta), true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* ---- registry ------------------------------------------------------------ */

metrics_t *metrics_new(void)
{
    metrics_t *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    m->tail = &m->head;
    m->hooks_tail = &m->hooks;
    return m;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void metrics_free(metrics_t *m)
{
    if (!m)
        return;
    for (metrics_family_t *f = m->head, *fn; f; f = fn) {
        fn = f->next;
        for (series_t *s = f->head, *sn; s; s = sn) {
            sn = s->next;
            if (s->kind == S_HIST)
                free(s->u.hist.counts);
            free_strv(s->values, f->nlabels);
            free(s);
        }
        free_strv(f->labels, f->nlabels);
        free(f->name);
        free(f->help);
        free(f->bounds);
        free_strv(f->le, f->nbounds);
        free(f);
    }
    for (hook_t *h = m->hooks, *hn; h; h = hn) {
        hn = h->next;
        if (h->release)
            h->release(h->arg);
        free(h);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static metrics_family_t *add_family(metrics_t *m, metrics_type_t type, const char *name,
                                    const char *help, const char *const *labels,
                                    const double *bounds, size_t nbounds)
{
    if (!valid_name(name, true))
        return NULL;
    size_t nlabels = 0;
    for (; labels && labels[nlabels]; nlabels++) {
        const char *l = labels[nlabels];
        if (!valid_name(l, false) || strncmp(l, "__", 2) == 0 ||
            (type == METRICS_HISTOGRAM && strcmp(l, "le") == 0))
            return NULL;
        for (size_t j = 0; j < nlabels; j++)
            if (strcmp(labels[j], l) == 0)
                return NULL;
    }
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return NULL;

    char full[256];
    int n = snprintf(full, sizeof(full), "%s%s", name,
                     type == METRICS_COUNTER && !ends_with(name, "_total") ? "_total" : "");
    if (n < 0 || (size_t)n >= sizeof(full))
        return NULL;

    metrics_family_t *f = NULL;
    pthread_mutex_lock(&m->mu);
    for (metrics_family_t *g = m->head; g; g = g->next)
        if (strcmp(g->name, full) == 0)
            goto out;
    f = xcalloc(1, sizeof(*f));
    f->reg = m;
    f->name = xstrdup(full);
    f->help = xstrdup(help ? help : "");
    f->type = type;
    f->nlabels = nlabels;
    f->labels = xcalloc(nlabels ? nlabels : 1, sizeof(char *));
    for (size_t i = 0; i < nlabels; i++)
        f->labels[i] = xstrdup(labels[i]);
    if (nbounds) {
        f->bounds = xmalloc(nbounds * sizeof(double));
        memcpy(f->bounds, bounds, nbounds * sizeof(double));
        f->le = xcalloc(nbounds, sizeof(char *));
        for (size_t i = 0; i < nbounds; i++) {
            buf_t b;
            buf_init(&b, 32);
            metrics_format_value(&b, bounds[i]);
            f->le[i] = buf_steal(&b, NULL);
        }
    }
    f->nbounds = nbounds;
    f->tail = &f->head;
    *m->tail = f;
    m->tail = &f->next;
out:
    pthread_mutex_unlock(&m->mu);
    return f;
}

metrics_family_t *metrics_add_counter(metrics_t *m, const char *name, const char *help,
                                      const char *const *labels)
{
    return add_family(m, METRICS_COUNTER, name, help, labels, NULL, 0);
}

metrics_family_t *metrics_add_gauge(metrics_t *m, const char *name, const char *help,
                                    const char *const *labels)
{
    return add_family(m, METRICS_GAUGE, name, help, labels, NULL, 0);
}

metrics_family_t *metrics_add_histogram(metrics_t *m, const char *name, const char *help,
                                        const char *const *labels, const double *bounds,
                                        size_t nbounds)
{
    return add_family(m, METRICS_HISTOGRAM, name, help, labels, bounds, nbounds);
}

void metrics_on_scrape(metrics_t *m, metrics_scrape_fn fn, void *arg, void (*release)(void *))
{
    hook_t *h = xcalloc(1, sizeof(*h));
    h->fn = fn;
    h->arg = arg;
    h->release = release;
    pthread_mutex_lock(&m->mu);
    *m->hooks_tail = h;
    m->hooks_tail = &h->next;
    pthread_mutex_unlock(&m->mu);
}

/* ---- series -------------------------------------------------------------- */

static bool same_values(const metrics_family_t *f, const series_t *s, const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static bool values_ok(const metrics_family_t *f, const char *const *values)
{
    if (f->nlabels && !values)
        return false;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values[i])
            return false;
    return true;
}

/* Finds the series with these values, or creates one of kind `kind` when
 * create is set. *created tells which. Caller holds the mutex. */
static series_t *find_or_add(metrics_family_t *f, const char *const *values, kind_t kind,
                             bool *created)
{
    *created = false;
    for (series_t *s = f->head; s; s = s->next)
        if (same_values(f, s, values))
            return s;
    series_t *s = aligned_alloc(64, (sizeof(series_t) + 63) / 64 * 64);
    if (!s)
        fatal(__FILE__, __LINE__, "out of memory");
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->values = xcalloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = xstrdup(values[i]);
    if (kind == S_HIST) {
        s->u.hist.bounds = f->bounds;
        s->u.hist.nbounds = f->nbounds;
        s->u.hist.counts = xcalloc(f->nbounds + 1, sizeof(uint64_t));
    }
    *f->tail = s;
    f->tail = &s->next;
    *created = true;
    return s;
}

static series_t *stored(metrics_family_t *f, const char *const *values, metrics_type_t type,
                        kind_t kind)
{
    if (!f || f->type != type || !values_ok(f, values))
        return NULL;
    bool created;
    pthread_mutex_lock(&f->reg->mu);
    series_t *s = find_or_add(f, values, kind, &created);
    pthread_mutex_unlock(&f->reg->mu);
    return s->kind == kind ? s : NULL;
}

metrics_counter_t *metrics_counter(metrics_family_t *f, const char *const *values)
{
    series_t *s = stored(f, values, METRICS_COUNTER, S_COUNTER);
    return s ? &s->u.counter : NULL;
}

metrics_gauge_t *metrics_gauge(metrics_family_t *f, const char *const *values)
{
    series_t *s = stored(f, values, METRICS_GAUGE, S_GAUGE);
    return s ? &s->u.gauge : NULL;
}

metrics_histogram_t *metrics_histogram(metrics_family_t *f, const char *const *values)
{
    series_t *s = stored(f, values, METRICS_HISTOGRAM, S_HIST);
    return s ? &s->u.hist : NULL;
}

static int add_callback(metrics_family_t *f, const char *const *values, kind_t kind, void *fn,
                        void *arg, const hist_t *h, double divisor)
{
    if (!f || !values_ok(f, values) || (!fn && !h))
        return -EINVAL;
    bool hist_kind = kind != S_VALUE_FN;
    if (hist_kind != (f->type == METRICS_HISTOGRAM))
        return -EINVAL;
    bool created;
    pthread_mutex_lock(&f->reg->mu);
    series_t *s = find_or_add(f, values, kind, &created);
    if (created) {
        if (kind == S_VALUE_FN) {
            s->u.vfn.fn = (metrics_value_fn)fn;
            s->u.vfn.arg = arg;
        } else if (kind == S_HIST_FN) {
            s->u.hfn.fn = (metrics_hist_fn)fn;
            s->u.hfn.arg = arg;
        } else {
            s->u.view.h = h;
            s->u.view.divisor = divisor;
        }
    }
    pthread_mutex_unlock(&f->reg->mu);
    return created ? 0 : -EEXIST;
}

int metrics_add_fn(metrics_family_t *f, const char *const *values, metrics_value_fn fn, void *arg)
{
    return add_callback(f, values, S_VALUE_FN, (void *)fn, arg, NULL, 0);
}

int metrics_add_hist_fn(metrics_family_t *f, const char *const *values, metrics_hist_fn fn,
                        void *arg)
{
    return add_callback(f, values, S_HIST_FN, (void *)fn, arg, NULL, 0);
}

int metrics_add_hist_view(metrics_family_t *f, const char *const *values, const hist_t *h,
                          double divisor)
{
    if (!(divisor > 0))
        return -EINVAL;
    return add_callback(f, values, S_HIST_VIEW, NULL, NULL, h, divisor);
}

/* ---- hot path ------------------------------------------------------------ */

void metrics_counter_add(metrics_counter_t *c, uint64_t n)
{
    __atomic_fetch_add(&c->value, n, __ATOMIC_RELAXED);
}

uint64_t metrics_counter_value(const metrics_counter_t *c)
{
    return __atomic_load_n(&c->value, __ATOMIC_RELAXED);
}

void metrics_gauge_set(metrics_gauge_t *g, double v)
{
    __atomic_store_n(&g->bits, dbits(v), __ATOMIC_RELAXED);
}

void metrics_gauge_add(metrics_gauge_t *g, double delta) { atomic_add_double(&g->bits, delta); }

double metrics_gauge_value(const metrics_gauge_t *g)
{
    return bitsd(__atomic_load_n(&g->bits, __ATOMIC_RELAXED));
}

/* Index of the bucket holding v: the first bound >= v, or nbounds. */
static size_t bucket_index(const double *bounds, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void metrics_histogram_observe(metrics_histogram_t *h, double v)
{
    size_t i = isnan(v) ? h->nbounds : bucket_index(h->bounds, h->nbounds, v);
    __atomic_fetch_add(&h->counts[i], 1, __ATOMIC_RELAXED);
    atomic_add_double(&h->sum_bits, v);
}

/* ---- rendering ----------------------------------------------------------- */

/* Decimal digits of n without printf (scrapes format hundreds of them). */
static void put_u64(buf_t *out, uint64_t n)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    buf_append(out, tmp + i, sizeof(tmp) - (size_t)i);
}

void metrics_format_value(buf_t *out, double v)
{
    if (isnan(v)) {
        buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        buf_putc(out, '0'); /* also -0 */
        return;
    }
    /* Integers below 2^53 are exact in a double: print them as such. */
    double a = fabs(v);
    if (a < 9007199254740992.0 && a == floor(a)) {
        if (v < 0)
            buf_putc(out, '-');
        put_u64(out, (uint64_t)a);
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    buf_puts(out, tmp);
}

static void put_escaped(buf_t *out, const char *s, bool quote)
{
    size_t plain = strcspn(s, quote ? "\\\n\"" : "\\\n");
    buf_append(out, s, plain);
    for (const char *p = s + plain; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else if (quote && *p == '"')
            buf_puts(out, "\\\"");
        else
            buf_putc(out, *p);
    }
}

/* Writes "name+suffix{labels[,le="..."]} " (the value follows). */
static void put_key(buf_t *out, const metrics_family_t *f, const series_t *s, const char *suffix,
                    const char *le)
{
    buf_puts(out, f->name);
    buf_puts(out, suffix);
    if (f->nlabels || le) {
        buf_putc(out, '{');
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i)
                buf_putc(out, ',');
            buf_puts(out, f->labels[i]);
            buf_puts(out, "=\"");
            put_escaped(out, s->values[i], true);
            buf_putc(out, '"');
        }
        if (le) {
            buf_puts(out, f->nlabels ? ",le=\"" : "le=\"");
            buf_puts(out, le);
            buf_putc(out, '"');
        }
        buf_putc(out, '}');
    }
    buf_putc(out, ' ');
}

static void put_sample(buf_t *out, const metrics_family_t *f, const series_t *s, const char *suffix,
                       const char *le, double v)
{
    put_key(out, f, s, suffix, le);
    metrics_format_value(out, v);
    buf_putc(out, '\n');
}

/* Integers print exactly (a counter above 2^53 must not round). */
static void put_count(buf_t *out, const metrics_family_t *f, const series_t *s, const char *suffix,
                      const char *le, uint64_t n)
{
    put_key(out, f, s, suffix, le);
    put_u64(out, n);
    buf_putc(out, '\n');
}

/* Re-buckets a fine log-linear histogram (see metrics.h). */
static void view_fill(const hist_t *h, double divisor, const double *bounds, size_t nbounds,
                      uint64_t *counts, double *sum)
{
    size_t j = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        uint64_t n = __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
        if (!n)
            continue;
        double low = (double)hist_bucket_low(i) / divisor;
        while (j < nbounds && low > bounds[j])
            j++;
        counts[j] += n;
    }
    *sum = (double)__atomic_load_n(&h->sum, __ATOMIC_RELAXED) / divisor;
}

static void render_histogram(buf_t *out, const metrics_family_t *f, const series_t *s,
                             uint64_t *counts)
{
    size_t n = f->nbounds;
    double sum = 0;
    memset(counts, 0, (n + 1) * sizeof(uint64_t));
    if (s->kind == S_HIST) {
        for (size_t i = 0; i <= n; i++)
            counts[i] = __atomic_load_n(&s->u.hist.counts[i], __ATOMIC_RELAXED);
        sum = bitsd(__atomic_load_n(&s->u.hist.sum_bits, __ATOMIC_RELAXED));
    } else if (s->kind == S_HIST_FN) {
        s->u.hfn.fn(s->u.hfn.arg, f->bounds, n, counts, &sum);
    } else {
        view_fill(s->u.view.h, s->u.view.divisor, f->bounds, n, counts, &sum);
    }
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += counts[i];
        put_count(out, f, s, "_bucket", f->le[i], cum);
    }
    cum += counts[n];
    put_count(out, f, s, "_bucket", "+Inf", cum);
    put_sample(out, f, s, "_sum", NULL, sum);
    put_count(out, f, s, "_count", NULL, cum);
}

void metrics_render(metrics_t *m, buf_t *out)
{
    pthread_mutex_lock(&m->mu);
    for (hook_t *h = m->hooks; h; h = h->next)
        h->fn(h->arg);
    for (metrics_family_t *f = m->head; f; f = f->next) {
        if (!f->head)
            continue;
        buf_puts(out, "# HELP ");
        buf_puts(out, f->name);
        buf_putc(out, ' ');
        put_escaped(out, f->help, false);
        buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        uint64_t *counts = f->type == METRICS_HISTOGRAM ? xcalloc(f->nbounds + 1, 8) : NULL;
        for (series_t *s = f->head; s; s = s->next) {
            switch (s->kind) {
            case S_COUNTER:
                put_count(out, f, s, "", NULL, metrics_counter_value(&s->u.counter));
                break;
            case S_GAUGE: put_sample(out, f, s, "", NULL, metrics_gauge_value(&s->u.gauge)); break;
            case S_VALUE_FN: put_sample(out, f, s, "", NULL, s->u.vfn.fn(s->u.vfn.arg)); break;
            case S_HIST:
            case S_HIST_FN:
            case S_HIST_VIEW: render_histogram(out, f, s, counts); break;
            }
        }
        free(counts);
    }
    pthread_mutex_unlock(&m->mu);
}
