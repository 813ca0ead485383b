/* Merging and scaling decoded profiles (see include/cprof/merge.h).
 *
 * Data flow: every source is walked once. Its functions, mappings and
 * locations are interned into output tables by content (a hash plus a
 * chained equality check, so hash collisions cost time, never
 * correctness); a per-source map from the source's location id to the
 * output id memoizes that. Each sample's stack is rewritten to output
 * location ids, its labels are sorted into a canonical order, and the pair
 * is interned too; its values (times the source's scale) are added to the
 * output sample's. Samples left all zero are dropped.
 *
 * The output is first a "view" profile whose strings point into the
 * sources; encoding it and decoding the bytes gives a self-contained
 * profile in the decoder's arena, owned by the caller like any decoded
 * profile (cprof_profile_free), with no second ownership scheme. Profiles
 * here are at most a few MB, so the round trip costs milliseconds.
 *
 * Temporary memory: growable arrays for the tables, a bump arena for the
 * variable-size parts (lines, stacks, labels, values), all freed before
 * returning. */

#include "cprof/merge.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/pb.h"

/* ---- temporary memory --------------------------------------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk_t;

static void *bump(chunk_t **a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (!*a || (*a)->cap - (*a)->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        chunk_t *c = malloc(sizeof(chunk_t) + cap);
        if (!c)
            return NULL;
        c->next = *a;
        c->used = 0;
        c->cap = cap;
        *a = c;
    }
    void *p = (*a)->data + (*a)->used;
    (*a)->used += n;
    return p;
}

static void bump_free(chunk_t *a)
{
    while (a) {
        chunk_t *n = a->next;
        free(a);
        a = n;
    }
}

/* Makes room for one more element in *arr (*cap elements of size elem). */
static int reserve(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*(void **)arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *(void **)arr = p;
    *cap = ncap;
    return 0;
}

/* An interning index over entries kept in a caller's array: hash -> first
 * entry + 1, collisions chained through next[]. */
typedef struct tab {
    cprof__map_t index;
    uint32_t *next;
    size_t n, cap;
} tab_t;

/* Returns the index of the entry with hash h for which eq(ctx, i) holds,
 * or registers a new one (index n, *added set: the caller stores it).
 * -1 on ENOMEM. */
static long tab_find(tab_t *t, uint64_t h, bool (*eq)(const void *ctx, size_t i), const void *ctx,
                     bool *added)
{
    *added = false;
    bool ins;
    uint64_t *head = cprof__map_put(&t->index, h, &ins);
    if (!head)
        return -1;
    for (uint64_t i = *head; i; i = t->next[i - 1])
        if (eq(ctx, i - 1))
            return (long)(i - 1);
    if (reserve(&t->next, &t->cap, t->n, sizeof(*t->next)) != 0)
        return -1;
    t->next[t->n] = (uint32_t)*head;
    *head = ++t->n;
    *added = true;
    return (long)(t->n - 1);
}

static void tab_destroy(tab_t *t)
{
    cprof__map_destroy(&t->index);
    free(t->next);
}

static const char *s_or_empty(const char *s) { return s ? s : ""; }

static uint64_t hash_str(const char *s, uint64_t seed)
{
    s = s_or_empty(s);
    return cprof__hash_bytes(s, strlen(s) + 1, seed);
}

static uint64_t hash_u64(uint64_t v, uint64_t seed)
{
    return cprof__hash_bytes(&v, sizeof(v), seed);
}

/* ---- the merger ------------------------------------------------------------ */

typedef struct out_sample {
    uint64_t *locs;
    size_t nlocs;
    cprof_label_t *labels; /* sorted */
    size_t nlabels;
    int64_t *values;
} out_sample_t;

typedef struct merger {
    chunk_t *arena;
    size_t nvalues;
    tab_t ftab, mtab, ltab, stab;
    cprof_pp_function_t *funcs;
    size_t nfuncs_cap;
    cprof_pp_mapping_t *maps;
    size_t nmaps_cap;
    cprof_pp_location_t *locs;
    size_t nlocs_cap;
    out_sample_t *samples;
    size_t nsamples_cap;
    const char **comments;
    size_t ncomments, ncomments_cap;
} merger_t;

static bool func_eq(const void *ctx, size_t i);
static bool map_eq(const void *ctx, size_t i);
static bool loc_eq(const void *ctx, size_t i);
static bool sample_eq(const void *ctx, size_t i);

/* The equality callbacks compare a candidate (in a small context struct)
 * with the merger's i-th entry. */
typedef struct func_ctx {
    const merger_t *m;
    const cprof_pp_function_t *f;
} func_ctx_t;

static bool func_eq(const void *ctx, size_t i)
{
    const func_ctx_t *c = ctx;
    const cprof_pp_function_t *a = c->f, *b = &c->m->funcs[i];
    return a->start_line == b->start_line && strcmp(s_or_empty(a->name), b->name) == 0 &&
           strcmp(s_or_empty(a->system_name), b->system_name) == 0 &&
           strcmp(s_or_empty(a->filename), b->filename) == 0;
}

static uint64_t func_id(merger_t *m, const cprof_pp_function_t *f)
{
    uint64_t h = hash_str(f->name, hash_str(f->system_name, hash_str(f->filename, 0)));
    h = hash_u64((uint64_t)f->start_line, h);
    func_ctx_t c = {m, f};
    bool added;
    long i = tab_find(&m->ftab, h, func_eq, &c, &added);
    if (i < 0 || (added && reserve(&m->funcs, &m->nfuncs_cap, (size_t)i, sizeof(*m->funcs))))
        return 0;
    if (added)
        m->funcs[i] = (cprof_pp_function_t){.id = (uint64_t)i + 1,
                                            .name = s_or_empty(f->name),
                                            .system_name = s_or_empty(f->system_name),
                                            .filename = s_or_empty(f->filename),
                                            .start_line = f->start_line};
    return (uint64_t)i + 1;
}

typedef struct map_ctx {
    const merger_t *m;
    const cprof_pp_mapping_t *mp;
} map_ctx_t;

static bool map_eq(const void *ctx, size_t i)
{
    const map_ctx_t *c = ctx;
    const cprof_pp_mapping_t *a = c->mp, *b = &c->m->maps[i];
    return a->memory_start == b->memory_start && a->memory_limit == b->memory_limit &&
           a->file_offset == b->file_offset && strcmp(s_or_empty(a->filename), b->filename) == 0 &&
           strcmp(s_or_empty(a->build_id), b->build_id) == 0;
}

static uint64_t mapping_id(merger_t *m, const cprof_profile_t *src, uint64_t id)
{
    const cprof_pp_mapping_t *mp = NULL;
    for (size_t i = 0; i < src->nmappings && !mp; i++)
        if (src->mappings[i].id == id)
            mp = &src->mappings[i];
    if (!mp)
        return 0;
    uint64_t h = hash_u64(mp->memory_start, hash_u64(mp->memory_limit, mp->file_offset));
    h = hash_str(mp->filename, hash_str(mp->build_id, h));
    map_ctx_t c = {m, mp};
    bool added;
    long i = tab_find(&m->mtab, h, map_eq, &c, &added);
    if (i < 0 || (added && reserve(&m->maps, &m->nmaps_cap, (size_t)i, sizeof(*m->maps))))
        return 0;
    if (added) {
        m->maps[i] = *mp;
        m->maps[i].id = (uint64_t)i + 1;
        m->maps[i].filename = s_or_empty(mp->filename);
        m->maps[i].build_id = s_or_empty(mp->build_id);
    } else {
        /* What one source could symbolize, the merge keeps. */
        m->maps[i].has_functions |= mp->has_functions;
        m->maps[i].has_filenames |= mp->has_filenames;
        m->maps[i].has_line_numbers |= mp->has_line_numbers;
        m->maps[i].has_inline_frames |= mp->has_inline_frames;
    }
    return (uint64_t)i + 1;
}

typedef struct loc_ctx {
    const merger_t *m;
    const cprof_pp_location_t *l; /* mapping_id and lines already in output ids */
} loc_ctx_t;

static bool loc_eq(const void *ctx, size_t i)
{
    const loc_ctx_t *c = ctx;
    const cprof_pp_location_t *a = c->l, *b = &c->m->locs[i];
    return a->mapping_id == b->mapping_id && a->address == b->address &&
           a->is_folded == b->is_folded && a->nlines == b->nlines &&
           (a->nlines == 0 || memcmp(a->lines, b->lines, a->nlines * sizeof(*a->lines)) == 0);
}

/* The output id of src's location id (0 on ENOMEM or a dangling id). */
static uint64_t location_id(merger_t *m, const cprof_profile_t *src, uint64_t id)
{
    const cprof_pp_location_t *l = cprof_profile_location(src, id);
    if (!l)
        return 0;
    cprof_pp_location_t n = {.address = l->address, .nlines = l->nlines, .is_folded = l->is_folded};
    n.mapping_id = l->mapping_id ? mapping_id(m, src, l->mapping_id) : 0;
    n.lines = bump(&m->arena, (l->nlines ? l->nlines : 1) * sizeof(*n.lines));
    if (!n.lines || (l->mapping_id && !n.mapping_id))
        return 0;
    uint64_t h = hash_u64(n.mapping_id, hash_u64(n.address, n.is_folded));
    for (size_t k = 0; k < l->nlines; k++) {
        const cprof_pp_function_t *f = cprof_profile_function(src, l->lines[k].function_id);
        cprof_pp_function_t none = {.name = "", .system_name = "", .filename = ""};
        uint64_t fid = func_id(m, f ? f : &none);
        if (!fid)
            return 0;
        n.lines[k] = (cprof_pp_line_t){fid, l->lines[k].line};
        h = hash_u64(fid, hash_u64((uint64_t)n.lines[k].line, h));
    }
    loc_ctx_t c = {m, &n};
    bool added;
    long i = tab_find(&m->ltab, h, loc_eq, &c, &added);
    if (i < 0 || (added && reserve(&m->locs, &m->nlocs_cap, (size_t)i, sizeof(*m->locs))))
        return 0;
    if (added) {
        n.id = (uint64_t)i + 1;
        m->locs[i] = n;
    }
    return (uint64_t)i + 1;
}

static int label_cmp(const void *x, const void *y)
{
    const cprof_label_t *a = x, *b = y;
    int c = strcmp(s_or_empty(a->key), s_or_empty(b->key));
    if (c)
        return c;
    if (!a->str != !b->str)
        return a->str ? 1 : -1;
    if (a->str)
        return strcmp(a->str, b->str);
    if (a->num != b->num)
        return a->num < b->num ? -1 : 1;
    return strcmp(s_or_empty(a->num_unit), s_or_empty(b->num_unit));
}

static uint64_t hash_label(const cprof_label_t *l, uint64_t h)
{
    h = hash_str(l->key, h);
    if (l->str)
        return hash_str(l->str, hash_u64(1, h));
    return hash_str(l->num_unit, hash_u64((uint64_t)l->num, hash_u64(2, h)));
}

typedef struct sample_ctx {
    const merger_t *m;
    const out_sample_t *s;
} sample_ctx_t;

static bool sample_eq(const void *ctx, size_t i)
{
    const sample_ctx_t *c = ctx;
    const out_sample_t *a = c->s, *b = &c->m->samples[i];
    if (a->nlocs != b->nlocs || a->nlabels != b->nlabels)
        return false;
    if (a->nlocs && memcmp(a->locs, b->locs, a->nlocs * sizeof(*a->locs)) != 0)
        return false;
    for (size_t k = 0; k < a->nlabels; k++)
        if (label_cmp(&a->labels[k], &b->labels[k]) != 0)
            return false;
    return true;
}

static bool all_zero(const int64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i])
            return false;
    return true;
}

static int add_sample(merger_t *m, const cprof_profile_t *src, const cprof_pp_sample_t *s,
                      cprof__map_t *loc_memo, double scale)
{
    if (s->nvalues != m->nvalues)
        return -EINVAL;
    if (all_zero(s->values, s->nvalues))
        return 0;
    out_sample_t n = {.nlocs = s->nlocations, .nlabels = s->nlabels};
    n.locs = bump(&m->arena, (s->nlocations ? s->nlocations : 1) * sizeof(*n.locs));
    n.labels = bump(&m->arena, (s->nlabels ? s->nlabels : 1) * sizeof(*n.labels));
    if (!n.locs || !n.labels)
        return -ENOMEM;
    uint64_t h = hash_u64(s->nlocations, 0);
    for (size_t k = 0; k < s->nlocations; k++) {
        bool ins;
        uint64_t *id = cprof__map_put(loc_memo, s->location_ids[k], &ins);
        if (!id)
            return -ENOMEM;
        if (ins && (*id = location_id(m, src, s->location_ids[k])) == 0)
            return -ENOMEM; /* a dangling id is rejected by the decoder already */
        n.locs[k] = *id;
        h = hash_u64(*id, h);
    }
    if (s->nlabels)
        memcpy(n.labels, s->labels, s->nlabels * sizeof(*n.labels));
    qsort(n.labels, n.nlabels, sizeof(*n.labels), label_cmp);
    for (size_t k = 0; k < n.nlabels; k++)
        h = hash_label(&n.labels[k], h);
    sample_ctx_t c = {m, &n};
    bool added;
    long i = tab_find(&m->stab, h, sample_eq, &c, &added);
    if (i < 0 || (added && reserve(&m->samples, &m->nsamples_cap, (size_t)i, sizeof(*m->samples))))
        return -ENOMEM;
    if (added) {
        n.values = bump(&m->arena, m->nvalues * sizeof(*n.values));
        if (!n.values)
            return -ENOMEM;
        memset(n.values, 0, m->nvalues * sizeof(*n.values));
        m->samples[i] = n;
    }
    int64_t *v = m->samples[i].values;
    for (size_t k = 0; k < m->nvalues; k++)
        v[k] += scale == 1 ? s->values[k] : (int64_t)llround((double)s->values[k] * scale);
    return 0;
}

static bool same_type(const cprof_value_type_t *a, const cprof_value_type_t *b)
{
    return strcmp(s_or_empty(a->type), s_or_empty(b->type)) == 0 &&
           strcmp(s_or_empty(a->unit), s_or_empty(b->unit)) == 0;
}

static int compatible(const cprof_profile_t *a, const cprof_profile_t *b)
{
    if (a->nsample_types != b->nsample_types || !same_type(&a->period_type, &b->period_type))
        return -EINVAL;
    for (size_t i = 0; i < a->nsample_types; i++)
        if (!same_type(&a->sample_types[i], &b->sample_types[i]))
            return -EINVAL;
    return 0;
}

static int add_comment(merger_t *m, const char *c)
{
    for (size_t i = 0; i < m->ncomments; i++)
        if (strcmp(m->comments[i], c) == 0)
            return 0;
    if (reserve(&m->comments, &m->ncomments_cap, m->ncomments, sizeof(*m->comments)))
        return -ENOMEM;
    m->comments[m->ncomments++] = c;
    return 0;
}

/* Builds the view profile of what m holds and turns it into a decoded one. */
static int finish(merger_t *m, const cprof_profile_t *const *srcs, size_t n, cprof_profile_t **out)
{
    cprof_profile_t v = {0};
    const cprof_profile_t *first = srcs[0];
    v.sample_types = first->sample_types;
    v.nsample_types = first->nsample_types;
    v.period_type = first->period_type;
    v.drop_frames = first->drop_frames;
    v.keep_frames = first->keep_frames;
    v.default_sample_type = "";
    for (size_t i = 0; i < n; i++) {
        const cprof_profile_t *s = srcs[i];
        if (s->time_nanos && (!v.time_nanos || s->time_nanos < v.time_nanos))
            v.time_nanos = s->time_nanos;
        v.duration_nanos += s->duration_nanos;
        if (s->period > v.period)
            v.period = s->period;
        if (!*v.default_sample_type && s->default_sample_type)
            v.default_sample_type = s->default_sample_type;
        if ((!v.drop_frames || !*v.drop_frames) && s->drop_frames)
            v.drop_frames = s->drop_frames;
        if ((!v.keep_frames || !*v.keep_frames) && s->keep_frames)
            v.keep_frames = s->keep_frames;
    }
    v.comments = m->comments;
    v.ncomments = m->ncomments;
    v.mappings = m->maps;
    v.nmappings = m->mtab.n;
    v.locations = m->locs;
    v.nlocations = m->ltab.n;
    v.functions = m->funcs;
    v.nfunctions = m->ftab.n;
    cprof_pp_sample_t *ss = calloc(m->stab.n ? m->stab.n : 1, sizeof(*ss));
    if (!ss)
        return -ENOMEM;
    for (size_t i = 0; i < m->stab.n; i++) {
        const out_sample_t *o = &m->samples[i];
        if (all_zero(o->values, m->nvalues))
            continue;
        ss[v.nsamples++] = (cprof_pp_sample_t){.location_ids = o->locs,
                                               .nlocations = o->nlocs,
                                               .values = o->values,
                                               .nvalues = m->nvalues,
                                               .labels = o->labels,
                                               .nlabels = o->nlabels};
    }
    v.samples = ss;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = cprof_profile_encode(&v, false, &data, &len);
    free(ss);
    if (!rc)
        rc = cprof_profile_decode(data, len, out);
    free(data);
    return rc == -EBADMSG ? -EIO : rc;
}

static int merge_scaled(const cprof_profile_t *const *srcs, const double *scales, size_t n,
                        cprof_profile_t **out)
{
    *out = NULL;
    if (n == 0 || !srcs[0])
        return -EINVAL;
    for (size_t i = 1; i < n; i++)
        if (compatible(srcs[0], srcs[i]) != 0)
            return -EINVAL;
    merger_t m = {.nvalues = srcs[0]->nsample_types};
    int rc = 0;
    /* Mappings first, in the sources' order: pprof takes mapping 1 for the
     * main binary. */
    for (size_t i = 0; i < n && !rc; i++)
        for (size_t k = 0; k < srcs[i]->nmappings && !rc; k++)
            if (!mapping_id(&m, srcs[i], srcs[i]->mappings[k].id))
                rc = -ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        cprof__map_t memo = {0};
        for (size_t k = 0; k < srcs[i]->nsamples && !rc; k++)
            rc = add_sample(&m, srcs[i], &srcs[i]->samples[k], &memo, scales ? scales[i] : 1);
        for (size_t k = 0; k < srcs[i]->ncomments && !rc; k++)
            rc = add_comment(&m, srcs[i]->comments[k]);
        cprof__map_destroy(&memo);
    }
    if (!rc)
        rc = finish(&m, srcs, n, out);
    tab_destroy(&m.ftab);
    tab_destroy(&m.mtab);
    tab_destroy(&m.ltab);
    tab_destroy(&m.stab);
    free(m.funcs);
    free(m.maps);
    free(m.locs);
    free(m.samples);
    free(m.comments);
    bump_free(m.arena);
    return rc;
}

int cprof_profile_merge(const cprof_profile_t *const *srcs, size_t n, cprof_profile_t **out)
{
    return merge_scaled(srcs, NULL, n, out);
}

int cprof_profile_delta(const cprof_profile_t *base, const cprof_profile_t *now,
                        cprof_profile_t **out)
{
    const cprof_profile_t *srcs[2] = {base, now};
    static const double scales[2] = {-1, 1};
    int rc = merge_scaled(srcs, scales, 2, out);
    if (rc)
        return rc;
    (*out)->time_nanos = base->time_nanos;
    int64_t d = now->time_nanos + now->duration_nanos - base->time_nanos - base->duration_nanos;
    (*out)->duration_nanos = d > 0 ? d : 0;
    return 0;
}

int cprof_profile_scale(cprof_profile_t *p, double ratio)
{
    if (!isfinite(ratio))
        return -EINVAL;
    size_t kept = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        cprof_pp_sample_t *s = &p->samples[i];
        if (ratio != 1)
            for (size_t k = 0; k < s->nvalues; k++)
                s->values[k] = (int64_t)llround((double)s->values[k] * ratio);
        if (!all_zero(s->values, s->nvalues))
            p->samples[kept++] = *s;
    }
    p->nsamples = kept;
    return 0;
}
