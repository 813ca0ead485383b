/* profile.proto decoder (see include/cprof/pprof.h).
 *
 * Input is untrusted: every read is bounds-checked against the end of its
 * enclosing message, and string indices against the string table.
 * The profile is parsed in three passes over the top-level message: count
 * the repeated fields (so each array is allocated once, exactly), collect
 * the string table, then decode every message resolving string indices.
 * Nested repeated fields (a sample's location ids, values, labels; a
 * location's lines) are counted inside their message the same way. Repeated
 * scalars are accepted both packed and unpacked, as protobuf requires.
 * Everything lives in one arena freed by cprof_profile_free. */

#include "cprof/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/pb.h"

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk_t;

typedef struct rd {
    const uint8_t *p, *end;
} rd_t;

typedef struct field {
    int num, wire;
    uint64_t v; /* varint / fixed value */
    rd_t sub;   /* length-delimited payload */
} field_t;

typedef struct dec {
    chunk_t *arena;
    const char **strs;
    size_t nstrs;
    int err;
} dec_t;

static void *alloc(dec_t *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (!d->arena || d->arena->cap - d->arena->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        chunk_t *c = malloc(sizeof(chunk_t) + cap);
        if (!c) {
            d->err = -ENOMEM;
            return NULL;
        }
        c->next = d->arena;
        c->used = 0;
        c->cap = cap;
        d->arena = c;
    }
    void *p = d->arena->data + d->arena->used;
    d->arena->used += n;
    memset(p, 0, n);
    return p;
}

static bool varint(rd_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return false;
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Reads the next field; false at the end or (with d->err set) on garbage. */
static bool next(dec_t *d, rd_t *r, field_t *f)
{
    if (r->p >= r->end || d->err)
        return false;
    uint64_t key;
    if (!varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        goto bad;
    f->num = (int)(key >> 3);
    f->wire = (int)(key & 7);
    switch (f->wire) {
    case CPROF__PB_VARINT:
        if (!varint(r, &f->v))
            goto bad;
        return true;
    case CPROF__PB_I64:
        if (r->end - r->p < 8)
            goto bad;
        memcpy(&f->v, r->p, 8);
        r->p += 8;
        return true;
    case CPROF__PB_I32: {
        if (r->end - r->p < 4)
            goto bad;
        uint32_t v;
        memcpy(&v, r->p, 4);
        f->v = v;
        r->p += 4;
        return true;
    }
    case CPROF__PB_LEN: {
        uint64_t n;
        if (!varint(r, &n) || n > (uint64_t)(r->end - r->p))
            goto bad;
        f->sub.p = r->p;
        f->sub.end = r->p + n;
        r->p += n;
        return true;
    }
    }
bad:
    d->err = -EBADMSG;
    return false;
}

/* Repeated scalar (packed or not): number of values in this field. */
static size_t count_scalars(dec_t *d, const field_t *f)
{
    if (f->wire == CPROF__PB_VARINT)
        return 1;
    if (f->wire != CPROF__PB_LEN) {
        d->err = -EBADMSG;
        return 0;
    }
    size_t n = 0;
    for (const uint8_t *p = f->sub.p; p < f->sub.end; p++)
        if (!(*p & 0x80))
            n++;
    return n;
}

static void read_scalars(dec_t *d, const field_t *f, uint64_t *out, size_t *n, size_t cap)
{
    if (f->wire == CPROF__PB_VARINT) {
        if (*n < cap)
            out[(*n)++] = f->v;
        return;
    }
    rd_t r = f->sub;
    uint64_t v;
    while (r.p < r.end && *n < cap) {
        if (!varint(&r, &v)) {
            d->err = -EBADMSG;
            return;
        }
        out[(*n)++] = v;
    }
}

static const char *s(dec_t *d, uint64_t i)
{
    if (i >= d->nstrs) {
        d->err = -EBADMSG;
        return "";
    }
    return d->strs[i];
}

static void value_type(dec_t *d, rd_t r, cprof_value_type_t *vt)
{
    field_t f;
    vt->type = vt->unit = "";
    while (next(d, &r, &f)) {
        if (f.num == 1)
            vt->type = s(d, f.v);
        else if (f.num == 2)
            vt->unit = s(d, f.v);
    }
}

static void label(dec_t *d, rd_t r, cprof_label_t *l)
{
    field_t f;
    l->key = "";
    while (next(d, &r, &f)) {
        switch (f.num) {
        case 1: l->key = s(d, f.v); break;
        case 2: l->str = s(d, f.v); break;
        case 3: l->num = (int64_t)f.v; break;
        case 4: l->num_unit = s(d, f.v); break;
        }
    }
    if (l->str && !*l->str && (l->num || l->num_unit))
        l->str = NULL; /* a numeric label whose str index is 0 */
}

static void sample(dec_t *d, rd_t r, cprof_pp_sample_t *smp)
{
    field_t f;
    size_t nloc = 0, nval = 0, nlab = 0;
    rd_t r0 = r;
    while (next(d, &r, &f)) {
        if (f.num == 1)
            nloc += count_scalars(d, &f);
        else if (f.num == 2)
            nval += count_scalars(d, &f);
        else if (f.num == 3)
            nlab++;
    }
    smp->location_ids = alloc(d, nloc * sizeof(uint64_t));
    smp->values = alloc(d, nval * sizeof(int64_t));
    smp->labels = alloc(d, nlab * sizeof(cprof_label_t));
    if (d->err)
        return;
    r = r0;
    while (next(d, &r, &f)) {
        if (f.num == 1)
            read_scalars(d, &f, smp->location_ids, &smp->nlocations, nloc);
        else if (f.num == 2)
            read_scalars(d, &f, (uint64_t *)smp->values, &smp->nvalues, nval);
        else if (f.num == 3 && f.wire == CPROF__PB_LEN)
            label(d, f.sub, &smp->labels[smp->nlabels++]);
    }
}

static void mapping(dec_t *d, rd_t r, cprof_pp_mapping_t *m)
{
    field_t f;
    m->filename = m->build_id = "";
    while (next(d, &r, &f)) {
        switch (f.num) {
        case 1: m->id = f.v; break;
        case 2: m->memory_start = f.v; break;
        case 3: m->memory_limit = f.v; break;
        case 4: m->file_offset = f.v; break;
        case 5: m->filename = s(d, f.v); break;
        case 6: m->build_id = s(d, f.v); break;
        case 7: m->has_functions = f.v != 0; break;
        case 8: m->has_filenames = f.v != 0; break;
        case 9: m->has_line_numbers = f.v != 0; break;
        case 10: m->has_inline_frames = f.v != 0; break;
        }
    }
}

static void location(dec_t *d, rd_t r, cprof_pp_location_t *l)
{
    field_t f;
    size_t nlines = 0;
    rd_t r0 = r;
    while (next(d, &r, &f))
        if (f.num == 4)
            nlines++;
    l->lines = alloc(d, nlines * sizeof(cprof_pp_line_t));
    if (d->err)
        return;
    r = r0;
    while (next(d, &r, &f)) {
        switch (f.num) {
        case 1: l->id = f.v; break;
        case 2: l->mapping_id = f.v; break;
        case 3: l->address = f.v; break;
        case 5: l->is_folded = f.v != 0; break;
        case 4: {
            if (f.wire != CPROF__PB_LEN)
                break;
            cprof_pp_line_t *ln = &l->lines[l->nlines++];
            rd_t lr = f.sub;
            field_t g;
            while (next(d, &lr, &g)) {
                if (g.num == 1)
                    ln->function_id = g.v;
                else if (g.num == 2)
                    ln->line = (int64_t)g.v;
            }
            break;
        }
        }
    }
}

static void function(dec_t *d, rd_t r, cprof_pp_function_t *fn)
{
    field_t f;
    fn->name = fn->system_name = fn->filename = "";
    while (next(d, &r, &f)) {
        switch (f.num) {
        case 1: fn->id = f.v; break;
        case 2: fn->name = s(d, f.v); break;
        case 3: fn->system_name = s(d, f.v); break;
        case 4: fn->filename = s(d, f.v); break;
        case 5: fn->start_line = (int64_t)f.v; break;
        }
    }
}

static int cmp_loc(const void *a, const void *b)
{
    uint64_t x = ((const cprof_pp_location_t *)a)->id, y = ((const cprof_pp_location_t *)b)->id;
    return x < y ? -1 : x > y;
}

static int cmp_fn(const void *a, const void *b)
{
    uint64_t x = ((const cprof_pp_function_t *)a)->id, y = ((const cprof_pp_function_t *)b)->id;
    return x < y ? -1 : x > y;
}

static void parse(dec_t *d, rd_t top, cprof_profile_t *p)
{
    field_t f;
    size_t n[16] = {0}, ncomments = 0;
    rd_t r = top;
    while (next(d, &r, &f)) {
        if (f.num < 16 && f.num != 13)
            n[f.num]++;
        else if (f.num == 13)
            ncomments += count_scalars(d, &f);
    }
    if (d->err)
        return;
    d->strs = alloc(d, (n[6] ? n[6] : 1) * sizeof(char *));
    p->sample_types = alloc(d, n[1] * sizeof(*p->sample_types));
    p->samples = alloc(d, n[2] * sizeof(*p->samples));
    p->mappings = alloc(d, n[3] * sizeof(*p->mappings));
    p->locations = alloc(d, n[4] * sizeof(*p->locations));
    p->functions = alloc(d, n[5] * sizeof(*p->functions));
    p->comments = alloc(d, ncomments * sizeof(char *));
    if (d->err)
        return;
    d->strs[0] = "";
    for (r = top; next(d, &r, &f);) {
        if (f.num != 6)
            continue;
        if (f.wire != CPROF__PB_LEN) {
            d->err = -EBADMSG;
            return;
        }
        size_t len = (size_t)(f.sub.end - f.sub.p);
        char *str = alloc(d, len + 1);
        if (!str)
            return;
        memcpy(str, f.sub.p, len);
        d->strs[d->nstrs++] = str;
    }
    if (d->nstrs == 0)
        d->nstrs = 1; /* an empty profile has an implicit "" */
    else if (d->strs[0][0] != '\0')
        d->err = -EBADMSG; /* string_table[0] must be "" */
    p->strings = d->strs;
    p->nstrings = d->nstrs;
    p->drop_frames = p->keep_frames = p->default_sample_type = "";
    p->period_type.type = p->period_type.unit = "";
    uint64_t *comment_idx = alloc(d, ncomments * sizeof(uint64_t));
    for (r = top; next(d, &r, &f);) {
        bool len = f.wire == CPROF__PB_LEN;
        switch (f.num) {
        case 1:
            if (len)
                value_type(d, f.sub, &p->sample_types[p->nsample_types++]);
            break;
        case 2:
            if (len)
                sample(d, f.sub, &p->samples[p->nsamples++]);
            break;
        case 3:
            if (len)
                mapping(d, f.sub, &p->mappings[p->nmappings++]);
            break;
        case 4:
            if (len)
                location(d, f.sub, &p->locations[p->nlocations++]);
            break;
        case 5:
            if (len)
                function(d, f.sub, &p->functions[p->nfunctions++]);
            break;
        case 7: p->drop_frames = s(d, f.v); break;
        case 8: p->keep_frames = s(d, f.v); break;
        case 9: p->time_nanos = (int64_t)f.v; break;
        case 10: p->duration_nanos = (int64_t)f.v; break;
        case 11:
            if (len)
                value_type(d, f.sub, &p->period_type);
            break;
        case 12: p->period = (int64_t)f.v; break;
        case 13: read_scalars(d, &f, comment_idx, &p->ncomments, ncomments); break;
        case 14: p->default_sample_type = s(d, f.v); break;
        }
    }
    for (size_t i = 0; i < p->ncomments && !d->err; i++)
        p->comments[i] = s(d, comment_idx[i]);
    qsort(p->locations, p->nlocations, sizeof(*p->locations), cmp_loc);
    qsort(p->functions, p->nfunctions, sizeof(*p->functions), cmp_fn);
}

int cprof_profile_decode(const void *data, size_t len, cprof_profile_t **out)
{
    *out = NULL;
    const uint8_t *in = data;
    uint8_t *raw = NULL;
    size_t raw_len = len;
    int err = 0;
    if (len >= 2 && in[0] == 0x1f && in[1] == 0x8b) {
        if ((err = cprof__gunzip(in, len, &raw, &raw_len)) != 0)
            return err;
        in = raw;
    }
    dec_t d = {0};
    cprof_profile_t *p = alloc(&d, sizeof(*p));
    if (p)
        parse(&d, (rd_t){in, in + raw_len}, p);
    free(raw);
    if (d.err) {
        err = d.err;
        while (d.arena) {
            chunk_t *n = d.arena->next;
            free(d.arena);
            d.arena = n;
        }
        return err;
    }
    p->_arena = d.arena;
    *out = p;
    return 0;
}

void cprof_profile_free(cprof_profile_t *p)
{
    if (!p)
        return;
    chunk_t *c = p->_arena; /* p itself lives in the arena */
    while (c) {
        chunk_t *n = c->next;
        free(c);
        c = n;
    }
}

const cprof_pp_location_t *cprof_profile_location(const cprof_profile_t *p, uint64_t id)
{
    cprof_pp_location_t key = {.id = id};
    return bsearch(&key, p->locations, p->nlocations, sizeof(key), cmp_loc);
}

const cprof_pp_function_t *cprof_profile_function(const cprof_profile_t *p, uint64_t id)
{
    cprof_pp_function_t key = {.id = id};
    return bsearch(&key, p->functions, p->nfunctions, sizeof(key), cmp_fn);
}

int cprof_profile_sample_type(const cprof_profile_t *p, const char *type)
{
    for (size_t i = 0; i < p->nsample_types; i++)
        if (strcmp(p->sample_types[i].type, type) == 0)
            return (int)i;
    return -1;
}
