/* profile.proto builder and encoder.
 *
 * Data flow: each added sample is encoded at once into the `samples`
 * buffer (field 2 of Profile) with location ids assigned on first sight of
 * each distinct (address, exact) pair or synthetic frame; nothing else is
 * kept per sample. cprof_pprof_finish then symbolizes every distinct
 * address in one batch under the symbolizer's lock, deduplicates functions
 * by (name, file), writes mappings, locations and functions, and the string
 * table last (every string is known by then). Field order does not matter
 * to protobuf readers. Location and function ids are index + 1. */

#include "cprof/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof/pb.h"
#include "cprof/sym_int.h"

typedef struct loc {
    uint64_t pc;
    bool exact, synthetic;
    int64_t name, file, line; /* synthetic frames: string indices and line */
} loc_t;

typedef struct func {
    int64_t name, file, start_line;
} func_t;

struct cprof_pprof {
    cprof__strtab_t st;
    cprof__buf_t samples;
    size_t nsamples;
    int err;
    int64_t (*types)[2];
    size_t ntypes;
    int64_t period_type[2], period, default_type;
    int64_t time_nanos, duration_nanos;
    int64_t *comments;
    size_t ncomments;
    cprof__map_t loc_index[2]; /* [exact] pc -> location id */
    loc_t *locs;
    size_t nlocs, locs_cap;
    uint64_t *ids; /* scratch for one sample's location ids */
    size_t ids_cap;
    bool finished;
};

static int64_t str(cprof_pprof_t *p, const char *s)
{
    int64_t i = cprof__strtab_add(&p->st, s);
    if (i < 0)
        p->err = -ENOMEM;
    return i < 0 ? 0 : i;
}

int cprof_pprof_new(const cprof_pprof_opts_t *o, cprof_pprof_t **out)
{
    *out = NULL;
    if (!o || !o->sample_types || o->nsample_types == 0)
        return -EINVAL;
    cprof_pprof_t *p = calloc(1, sizeof(*p));
    if (!p || cprof__strtab_init(&p->st) != 0)
        goto fail;
    p->types = calloc(o->nsample_types, sizeof(*p->types));
    if (!p->types)
        goto fail;
    p->ntypes = o->nsample_types;
    for (size_t i = 0; i < p->ntypes; i++) {
        p->types[i][0] = str(p, o->sample_types[i].type);
        p->types[i][1] = str(p, o->sample_types[i].unit);
    }
    p->period_type[0] = o->period_type.type ? str(p, o->period_type.type) : 0;
    p->period_type[1] = o->period_type.unit ? str(p, o->period_type.unit) : 0;
    p->period = o->period;
    p->default_type = o->default_sample_type ? str(p, o->default_sample_type) : 0;
    p->time_nanos = o->time_nanos;
    if (!p->time_nanos) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->time_nanos = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    p->duration_nanos = o->duration_nanos;
    if (p->err)
        goto fail;
    *out = p;
    return 0;
fail:
    cprof_pprof_free(p);
    return -ENOMEM;
}

void cprof_pprof_free(cprof_pprof_t *p)
{
    if (!p)
        return;
    cprof__strtab_destroy(&p->st);
    cprof__buf_destroy(&p->samples);
    cprof__map_destroy(&p->loc_index[0]);
    cprof__map_destroy(&p->loc_index[1]);
    free(p->types);
    free(p->comments);
    free(p->locs);
    free(p->ids);
    free(p);
}

void cprof_pprof_set_duration(cprof_pprof_t *p, int64_t duration_nanos)
{
    p->duration_nanos = duration_nanos;
}

int cprof_pprof_add_comment(cprof_pprof_t *p, const char *comment)
{
    int64_t *c = realloc(p->comments, (p->ncomments + 1) * sizeof(*c));
    if (!c)
        return p->err = -ENOMEM;
    p->comments = c;
    c[p->ncomments++] = str(p, comment);
    return p->err;
}

size_t cprof_pprof_count(const cprof_pprof_t *p) { return p->nsamples; }

static uint64_t new_loc(cprof_pprof_t *p, const loc_t *l)
{
    if (p->nlocs == p->locs_cap) {
        size_t cap = p->locs_cap ? p->locs_cap * 2 : 256;
        loc_t *n = realloc(p->locs, cap * sizeof(*n));
        if (!n) {
            p->err = -ENOMEM;
            return 0;
        }
        p->locs = n;
        p->locs_cap = cap;
    }
    p->locs[p->nlocs++] = *l;
    return p->nlocs;
}

static bool reserve_ids(cprof_pprof_t *p, size_t n)
{
    if (n <= p->ids_cap)
        return true;
    uint64_t *ids = realloc(p->ids, n * sizeof(*ids));
    if (!ids) {
        p->err = -ENOMEM;
        return false;
    }
    p->ids = ids;
    p->ids_cap = n;
    return true;
}

static void write_sample(cprof_pprof_t *p, size_t nids, const int64_t *values,
                         const cprof_label_t *labels, size_t nlabels)
{
    cprof__buf_t *b = &p->samples;
    size_t m = cprof__pb_begin(b, 2);
    cprof__pb_packed_uint(b, 1, p->ids, nids);
    cprof__pb_packed_int(b, 2, values, p->ntypes);
    for (size_t i = 0; i < nlabels; i++) {
        size_t lm = cprof__pb_begin(b, 3);
        cprof__pb_int(b, 1, str(p, labels[i].key));
        if (labels[i].str) {
            cprof__pb_int(b, 2, str(p, labels[i].str));
        } else {
            cprof__pb_int(b, 3, labels[i].num);
            if (labels[i].num_unit)
                cprof__pb_int(b, 4, str(p, labels[i].num_unit));
        }
        cprof__pb_end(b, lm);
    }
    cprof__pb_end(b, m);
    if (b->err)
        p->err = b->err;
    p->nsamples++;
}

int cprof_pprof_add_sample(cprof_pprof_t *p, const uint64_t *pcs, size_t npcs, unsigned flags,
                           const int64_t *values, const cprof_label_t *labels, size_t nlabels)
{
    if (p->err || p->finished)
        return p->err ? p->err : -EINVAL;
    if (!reserve_ids(p, npcs))
        return p->err;
    for (size_t i = 0; i < npcs; i++) {
        bool exact = i == 0 && (flags & CPROF_PCS_LEAF_EXACT);
        bool ins;
        uint64_t *id = cprof__map_put(&p->loc_index[exact], pcs[i], &ins);
        if (!id)
            return p->err = -ENOMEM;
        if (ins)
            *id = new_loc(p, &(loc_t){.pc = pcs[i], .exact = exact});
        p->ids[i] = *id;
    }
    write_sample(p, npcs, values, labels, nlabels);
    return p->err;
}

int cprof_pprof_add_sample_frames(cprof_pprof_t *p, const cprof_frame_t *frames, size_t nframes,
                                  const int64_t *values, const cprof_label_t *labels,
                                  size_t nlabels)
{
    if (p->err || p->finished)
        return p->err ? p->err : -EINVAL;
    if (!reserve_ids(p, nframes))
        return p->err;
    for (size_t i = 0; i < nframes; i++) {
        loc_t l = {.synthetic = true,
                   .name = str(p, frames[i].function),
                   .file = str(p, frames[i].file),
                   .line = frames[i].line};
        uint64_t id = 0;
        for (size_t j = 0; j < p->nlocs && !id; j++) {
            const loc_t *o = &p->locs[j];
            if (o->synthetic && o->name == l.name && o->file == l.file && o->line == l.line)
                id = j + 1;
        }
        p->ids[i] = id ? id : new_loc(p, &l);
    }
    write_sample(p, nframes, values, labels, nlabels);
    return p->err;
}

/* ---- finishing ----------------------------------------------------------- */

typedef struct funcs {
    cprof__map_t index; /* name | file << 32 -> function id */
    func_t *v;
    size_t n, cap;
    int err;
} funcs_t;

static uint64_t func_id(funcs_t *f, int64_t name, int64_t file, int64_t start_line)
{
    bool ins;
    uint64_t *id = cprof__map_put(&f->index, (uint64_t)name | ((uint64_t)file << 32), &ins);
    if (!id) {
        f->err = -ENOMEM;
        return 0;
    }
    if (!ins)
        return *id;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        func_t *n = realloc(f->v, cap * sizeof(*n));
        if (!n) {
            f->err = -ENOMEM;
            return 0;
        }
        f->v = n;
        f->cap = cap;
    }
    f->v[f->n++] = (func_t){name, file, start_line};
    return *id = f->n;
}

static void write_line(cprof__buf_t *b, uint64_t fid, int64_t line)
{
    size_t m = cprof__pb_begin(b, 4);
    cprof__pb_uint(b, 1, fid);
    if (line)
        cprof__pb_int(b, 2, line);
    cprof__pb_end(b, m);
}

static void write_value_type(cprof__buf_t *b, int field, int64_t type, int64_t unit)
{
    size_t m = cprof__pb_begin(b, field);
    cprof__pb_int(b, 1, type);
    cprof__pb_int(b, 2, unit);
    cprof__pb_end(b, m);
}

static void write_mapping(cprof__buf_t *b, uint64_t id, uint64_t start, uint64_t limit,
                          uint64_t offset, int64_t file, int64_t build_id, const bool has[4])
{
    size_t m = cprof__pb_begin(b, 3);
    cprof__pb_uint(b, 1, id);
    cprof__pb_uint(b, 2, start);
    cprof__pb_uint(b, 3, limit);
    cprof__pb_uint(b, 4, offset);
    cprof__pb_int(b, 5, file);
    cprof__pb_int(b, 6, build_id);
    for (int i = 0; i < 4; i++)
        if (has[i])
            cprof__pb_bool(b, 7 + i, true);
    cprof__pb_end(b, m);
}

static void write_function(cprof__buf_t *b, uint64_t id, int64_t name, int64_t system_name,
                           int64_t file, int64_t start_line)
{
    size_t m = cprof__pb_begin(b, 5);
    cprof__pb_uint(b, 1, id);
    cprof__pb_int(b, 2, name);
    cprof__pb_int(b, 3, system_name);
    cprof__pb_int(b, 4, file);
    if (start_line)
        cprof__pb_int(b, 5, start_line);
    cprof__pb_end(b, m);
}

/* Profile header fields shared by both encoders (strings already indices). */
static void write_tail(cprof__buf_t *b, int64_t time_nanos, int64_t duration_nanos,
                       const int64_t period_type[2], int64_t period, const int64_t *comments,
                       size_t ncomments, int64_t default_type)
{
    if (time_nanos)
        cprof__pb_int(b, 9, time_nanos);
    if (duration_nanos)
        cprof__pb_int(b, 10, duration_nanos);
    if (period_type[0] || period_type[1])
        write_value_type(b, 11, period_type[0], period_type[1]);
    if (period)
        cprof__pb_int(b, 12, period);
    for (size_t i = 0; i < ncomments; i++)
        cprof__pb_int(b, 13, comments[i]);
    if (default_type)
        cprof__pb_int(b, 14, default_type);
}

static int finish_output(cprof__buf_t *b, bool gzip, uint8_t **out, size_t *out_len)
{
    if (b->err)
        return b->err;
    if (!gzip) {
        *out = b->data;
        *out_len = b->len;
        b->data = NULL;
        return 0;
    }
    return cprof__gzip(b->data, b->len, out, out_len);
}

int cprof_pprof_finish(cprof_pprof_t *p, bool gzip, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (p->finished)
        return -EINVAL;
    p->finished = true;
    cprof__buf_t b = {0};
    funcs_t fs = {0};
    int err = p->err;
    bool locked = false;
    if (err)
        goto out;
    for (size_t i = 0; i < p->ntypes; i++)
        write_value_type(&b, 1, p->types[i][0], p->types[i][1]);
    cprof__buf_put(&b, p->samples.data, p->samples.len);

    bool any_pc = false;
    for (size_t i = 0; i < p->nlocs && !any_pc; i++)
        any_pc = !p->locs[i].synthetic;
    const cprof__sym_mapping_t *maps = NULL;
    size_t nmaps = 0;
    if (any_pc) {
        if ((err = cprof__sym_begin()) != 0)
            goto out;
        locked = true;
        nmaps = cprof__sym_mappings(&maps);
        for (size_t i = 0; i < nmaps; i++) {
            const cprof__sym_mapping_t *m = &maps[i];
            bool has[4] = {true, m->has_debug, m->has_debug, m->has_debug};
            write_mapping(&b, i + 1, m->start, m->limit, m->offset, str(p, m->path),
                          str(p, m->build_id), has);
        }
    }
    for (size_t i = 0; i < p->nlocs; i++) {
        const loc_t *l = &p->locs[i];
        size_t m = cprof__pb_begin(&b, 4);
        cprof__pb_uint(&b, 1, i + 1);
        if (l->synthetic) {
            write_line(&b, func_id(&fs, l->name, l->file, 0), l->line);
        } else {
            const cprof__sym_entry_t *e = cprof__sym_lookup(l->pc, l->exact);
            if (!e) {
                err = -ENOMEM;
                goto out;
            }
            if (e->mapping >= 0)
                cprof__pb_uint(&b, 2, (uint64_t)e->mapping + 1);
            cprof__pb_uint(&b, 3, l->pc);
            for (int k = 0; k < e->nframes; k++) {
                const cprof__sym_frame_t *f = &e->frames[k];
                write_line(&b, func_id(&fs, str(p, f->function), str(p, f->file), f->start_line),
                           f->line);
            }
        }
        cprof__pb_end(&b, m);
    }
    if (locked) {
        cprof__sym_end();
        locked = false;
    }
    if (fs.err) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < fs.n; i++)
        write_function(&b, i + 1, fs.v[i].name, fs.v[i].name, fs.v[i].file, fs.v[i].start_line);
    write_tail(&b, p->time_nanos, p->duration_nanos, p->period_type, p->period, p->comments,
               p->ncomments, p->default_type);
    if (p->err || p->st.err) {
        err = -ENOMEM;
        goto out;
    }
    cprof__strtab_write(&p->st, &b, 6);
    err = finish_output(&b, gzip, out, out_len);
out:
    if (locked)
        cprof__sym_end();
    cprof__buf_destroy(&b);
    cprof__map_destroy(&fs.index);
    free(fs.v);
    return err;
}

/* ---- encoding a decoded profile ------------------------------------------- */

int cprof_profile_encode(const cprof_profile_t *p, bool gzip, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    cprof__strtab_t st;
    cprof__buf_t b = {0};
    int64_t *comments = NULL;
    int err = cprof__strtab_init(&st);
    if (err)
        return err;
#define S(s) cprof__strtab_add(&st, (s))
    for (size_t i = 0; i < p->nsample_types; i++)
        write_value_type(&b, 1, S(p->sample_types[i].type), S(p->sample_types[i].unit));
    for (size_t i = 0; i < p->nsamples; i++) {
        const cprof_pp_sample_t *s = &p->samples[i];
        size_t m = cprof__pb_begin(&b, 2);
        cprof__pb_packed_uint(&b, 1, s->location_ids, s->nlocations);
        cprof__pb_packed_int(&b, 2, s->values, s->nvalues);
        for (size_t k = 0; k < s->nlabels; k++) {
            const cprof_label_t *l = &s->labels[k];
            size_t lm = cprof__pb_begin(&b, 3);
            cprof__pb_int(&b, 1, S(l->key));
            if (l->str) {
                cprof__pb_int(&b, 2, S(l->str));
            } else {
                cprof__pb_int(&b, 3, l->num);
                if (l->num_unit && *l->num_unit)
                    cprof__pb_int(&b, 4, S(l->num_unit));
            }
            cprof__pb_end(&b, lm);
        }
        cprof__pb_end(&b, m);
    }
    for (size_t i = 0; i < p->nmappings; i++) {
        const cprof_pp_mapping_t *m = &p->mappings[i];
        bool has[4] = {m->has_functions, m->has_filenames, m->has_line_numbers,
                       m->has_inline_frames};
        write_mapping(&b, m->id, m->memory_start, m->memory_limit, m->file_offset, S(m->filename),
                      S(m->build_id), has);
    }
    for (size_t i = 0; i < p->nlocations; i++) {
        const cprof_pp_location_t *l = &p->locations[i];
        size_t m = cprof__pb_begin(&b, 4);
        cprof__pb_uint(&b, 1, l->id);
        if (l->mapping_id)
            cprof__pb_uint(&b, 2, l->mapping_id);
        if (l->address)
            cprof__pb_uint(&b, 3, l->address);
        for (size_t k = 0; k < l->nlines; k++)
            write_line(&b, l->lines[k].function_id, l->lines[k].line);
        if (l->is_folded)
            cprof__pb_bool(&b, 5, true);
        cprof__pb_end(&b, m);
    }
    for (size_t i = 0; i < p->nfunctions; i++) {
        const cprof_pp_function_t *f = &p->functions[i];
        write_function(&b, f->id, S(f->name), S(f->system_name), S(f->filename), f->start_line);
    }
    if (p->drop_frames && *p->drop_frames)
        cprof__pb_int(&b, 7, S(p->drop_frames));
    if (p->keep_frames && *p->keep_frames)
        cprof__pb_int(&b, 8, S(p->keep_frames));
    comments = calloc(p->ncomments + 1, sizeof(*comments));
    if (!comments) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < p->ncomments; i++)
        comments[i] = S(p->comments[i]);
    int64_t pt[2] = {p->period_type.type ? S(p->period_type.type) : 0,
                     p->period_type.unit ? S(p->period_type.unit) : 0};
    int64_t dt = p->default_sample_type && *p->default_sample_type ? S(p->default_sample_type) : 0;
#undef S
    write_tail(&b, p->time_nanos, p->duration_nanos, pt, p->period, comments, p->ncomments, dt);
    if (st.err) {
        err = -ENOMEM;
        goto out;
    }
    cprof__strtab_write(&st, &b, 6);
    err = finish_output(&b, gzip, out, out_len);
out:
    free(comments);
    cprof__buf_destroy(&b);
    cprof__strtab_destroy(&st);
    return err;
}
