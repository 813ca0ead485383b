/* Heap snapshots as gzipped profile.proto (see cprof_heap_write_pprof).
 *
 * The message is built in memory with a minimal protobuf writer (varints,
 * length-delimited fields; sub-messages are encoded into a scratch buffer
 * and copied in with their length) and gzipped in one deflate pass. Strings,
 * locations (one per distinct address) and functions (one per distinct
 * name) are interned through small open-addressing tables, so the output
 * holds each once, as pprof expects.
 *
 * Symbolization is dladdr on the call instruction (return address - 1):
 * function names of every exported symbol (programs link with -rdynamic),
 * no file:line. Addresses it cannot name keep no line, and their mapping
 * says has_functions=false so that go tool pprof symbolizes them from the
 * binary on disk if it can. The executable's mapping comes first (pprof
 * treats mapping 1 as the main binary).
 *
 * Every allocation is checked; an out-of-memory anywhere poisons the writer
 * (pb.oom) and the call returns -ENOMEM. */

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cprof/heap.h"
#include "cprof/heap_int.h"

/* ---- protobuf writer -------------------------------------------------- */

typedef struct pb {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} pb_t;

static void pb_bytes(pb_t *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        uint8_t *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void pb_varint(pb_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_bytes(b, tmp, n);
}

static void pb_int(pb_t *b, int field, uint64_t v) /* wire type 0 */
{
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, v);
}

static void pb_int_nz(pb_t *b, int field, uint64_t v)
{
    if (v)
        pb_int(b, field, v);
}

static void pb_len(pb_t *b, int field, const void *data, size_t n) /* wire type 2 */
{
    pb_varint(b, ((uint64_t)field << 3) | 2);
    pb_varint(b, n);
    pb_bytes(b, data, n);
}

/* Moves a finished sub-message into its parent and empties it. */
static void pb_msg(pb_t *parent, int field, pb_t *sub)
{
    if (sub->oom)
        parent->oom = true;
    pb_len(parent, field, sub->p, sub->len);
    sub->len = 0;
}

/* ---- interning -------------------------------------------------------- */

typedef struct intern {
    uint64_t *keys; /* string: its hash; address: the address */
    uint64_t *ids;  /* 0 = empty slot */
    size_t cap, n;
} intern_t;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

static bool intern_grow(intern_t *t)
{
    if (2 * (t->n + 1) <= t->cap)
        return true;
    size_t ncap = t->cap ? t->cap * 2 : 256;
    uint64_t *keys = calloc(ncap, sizeof(uint64_t)), *ids = calloc(ncap, sizeof(uint64_t));
    if (!keys || !ids) {
        free(keys);
        free(ids);
        return false;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->ids[i])
            continue;
        size_t at = mix(t->keys[i]) & (ncap - 1);
        while (ids[at])
            at = (at + 1) & (ncap - 1);
        keys[at] = t->keys[i];
        ids[at] = t->ids[i];
    }
    free(t->keys);
    free(t->ids);
    t->keys = keys;
    t->ids = ids;
    t->cap = ncap;
    return true;
}

static void intern_free(intern_t *t)
{
    free(t->keys);
    free(t->ids);
}

typedef struct writer {
    pb_t out, sub, sub2;
    /* string table: strs[i] is string i (pointers into callers' storage or
     * into owned[]: names are copied because dladdr's may not outlive us). */
    intern_t str_ix;
    char **strs;
    size_t nstrs, cap_strs;
    intern_t loc_ix;  /* address -> location id */
    intern_t func_ix; /* string index -> function id */
    uint64_t nfuncs;
} writer_t;

/* Returns the string-table index of s (adding a copy), 0 on OOM. */
static uint64_t str_id(writer_t *w, const char *s)
{
    uint64_t h = hash_str(s);
    if (!intern_grow(&w->str_ix)) {
        w->out.oom = true;
        return 0;
    }
    size_t at = mix(h) & (w->str_ix.cap - 1);
    while (w->str_ix.ids[at]) {
        if (w->str_ix.keys[at] == h && strcmp(w->strs[w->str_ix.ids[at] - 1], s) == 0)
            return w->str_ix.ids[at] - 1;
        at = (at + 1) & (w->str_ix.cap - 1);
    }
    if (w->nstrs == w->cap_strs) {
        size_t ncap = w->cap_strs ? w->cap_strs * 2 : 256;
        char **np = realloc(w->strs, ncap * sizeof(char *));
        if (!np) {
            w->out.oom = true;
            return 0;
        }
        w->strs = np;
        w->cap_strs = ncap;
    }
    char *copy = strdup(s);
    if (!copy) {
        w->out.oom = true;
        return 0;
    }
    w->strs[w->nstrs++] = copy;
    w->str_ix.keys[at] = h;
    w->str_ix.ids[at] = w->nstrs; /* index + 1 */
    w->str_ix.n++;
    return w->nstrs - 1;
}

/* Looks key up in t; returns its id, or 0 after storing *fresh = next id. */
static uint64_t lookup(writer_t *w, intern_t *t, uint64_t key, uint64_t fresh)
{
    if (!intern_grow(t)) {
        w->out.oom = true;
        return 0;
    }
    size_t at = mix(key) & (t->cap - 1);
    while (t->ids[at]) {
        if (t->keys[at] == key)
            return t->ids[at];
        at = (at + 1) & (t->cap - 1);
    }
    t->keys[at] = key;
    t->ids[at] = fresh;
    t->n++;
    return 0;
}

/* ---- the profile ------------------------------------------------------ */

typedef struct map {
    uint64_t start, end, offset;
    const char *path;
    bool all_named;
} map_t;

static void value_type(writer_t *w, int field, const char *type, const char *unit)
{
    pb_int(&w->sub, 1, str_id(w, type));
    pb_int(&w->sub, 2, str_id(w, unit));
    pb_msg(&w->out, field, &w->sub);
}

/* Collects the executable file mappings, the program's own first. */
static size_t collect_maps(const cprof_heap_t *h, map_t *maps, size_t max)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    size_t count = 0;
    uint64_t start, end, offset;
    bool x;
    const char *path;
    for (size_t i = 0; (path = cprof__heap_map_path(h, i, &start, &end, &offset, &x)) != NULL;
         i++) {
        if (!x || path[0] != '/' || count == max)
            continue;
        map_t m = {start, end, offset, path, true};
        if (strcmp(path, exe) == 0 && count > 0) {
            maps[count++] = maps[0];
            maps[0] = m;
        } else {
            maps[count++] = m;
        }
    }
    return count;
}

static size_t map_of(const map_t *maps, size_t n, uint64_t pc)
{
    for (size_t i = 0; i < n; i++)
        if (pc >= maps[i].start && pc < maps[i].end)
            return i + 1;
    return 0;
}

/* Emits the location of pc (once) and returns its id. */
static uint64_t location(writer_t *w, map_t *maps, size_t nmaps, uint64_t pc)
{
    uint64_t fresh = w->loc_ix.n + 1;
    uint64_t id = lookup(w, &w->loc_ix, pc, fresh);
    if (id)
        return id;
    size_t m = map_of(maps, nmaps, pc);
    pb_int(&w->sub, 1, fresh);
    pb_int_nz(&w->sub, 2, m);
    pb_int(&w->sub, 3, pc);
    Dl_info info;
    if (dladdr((void *)(uintptr_t)(pc - 1), &info) != 0 && info.dli_sname) {
        uint64_t name = str_id(w, info.dli_sname);
        uint64_t fid = lookup(w, &w->func_ix, name, w->nfuncs + 1);
        if (!fid) {
            fid = ++w->nfuncs;
            pb_int(&w->sub2, 1, fid);
            pb_int(&w->sub2, 2, name);
            pb_int(&w->sub2, 3, name);
            pb_msg(&w->out, 5, &w->sub2); /* Function */
        }
        pb_int(&w->sub2, 1, fid);
        pb_msg(&w->sub, 4, &w->sub2); /* Line */
    } else if (m) {
        maps[m - 1].all_named = false;
    }
    pb_msg(&w->out, 4, &w->sub); /* Location */
    return fresh;
}

static int gzip_to(const pb_t *b, FILE *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    int err = 0;
    uint8_t chunk[16384];
    z.next_in = b->p;
    z.avail_in = (uInt)b->len;
    int rc;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        rc = deflate(&z, Z_FINISH);
        size_t n = sizeof(chunk) - z.avail_out;
        if (n && fwrite(chunk, 1, n, out) != n) {
            err = -EIO;
            break;
        }
    } while (rc == Z_OK);
    if (!err && rc != Z_STREAM_END)
        err = -EIO;
    deflateEnd(&z);
    return err;
}

int cprof_heap_write_pprof(const cprof_heap_t *h, bool allocs, FILE *out)
{
    writer_t w;
    memset(&w, 0, sizeof(w));
    int err = 0;
    map_t maps[256];
    size_t nmaps = collect_maps(h, maps, 256);
    uint64_t *locs = NULL;
    str_id(&w, "");
    value_type(&w, 1, "alloc_objects", "count");
    value_type(&w, 1, "alloc_space", "bytes");
    value_type(&w, 1, "inuse_objects", "count");
    value_type(&w, 1, "inuse_space", "bytes");
    uint64_t bytes_key = str_id(&w, "bytes");
    size_t maxpcs = 1;
    for (size_t i = 0; i < cprof_heap_count(h); i++)
        if (cprof_heap_sample(h, i)->npcs > maxpcs)
            maxpcs = cprof_heap_sample(h, i)->npcs;
    locs = malloc(maxpcs * sizeof(uint64_t));
    if (!locs) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < cprof_heap_count(h); i++) {
        const cprof_heap_sample_t *s = cprof_heap_sample(h, i);
        for (size_t j = 0; j < s->npcs; j++)
            locs[j] = location(&w, maps, nmaps, s->pcs[j]);
        /* Sample: packed location ids, packed values, the bytes label. */
        pb_t packed = {0};
        for (size_t j = 0; j < s->npcs; j++)
            pb_varint(&packed, locs[j]);
        pb_len(&w.sub, 1, packed.p, packed.len);
        packed.len = 0;
        int64_t v[4] = {s->alloc_objects, s->alloc_space, s->inuse_objects, s->inuse_space};
        for (int k = 0; k < 4; k++)
            pb_varint(&packed, (uint64_t)v[k]);
        pb_len(&w.sub, 2, packed.p, packed.len);
        if (packed.oom)
            w.out.oom = true;
        free(packed.p);
        int64_t objs = v[0] ? v[0] : v[2], space = v[0] ? v[1] : v[3];
        if (objs > 0 && space / objs != 0) {
            pb_int(&w.sub2, 1, bytes_key);
            pb_int(&w.sub2, 3, (uint64_t)(space / objs));
            pb_msg(&w.sub, 3, &w.sub2); /* Label */
        }
        pb_msg(&w.out, 2, &w.sub);
    }
    for (size_t i = 0; i < nmaps; i++) {
        pb_int(&w.sub, 1, i + 1);
        pb_int(&w.sub, 2, maps[i].start);
        pb_int(&w.sub, 3, maps[i].end);
        pb_int_nz(&w.sub, 4, maps[i].offset);
        pb_int(&w.sub, 5, str_id(&w, maps[i].path));
        pb_int_nz(&w.sub, 7, maps[i].all_named);
        pb_msg(&w.out, 3, &w.sub);
    }
    uint64_t space = str_id(&w, "space");
    uint64_t dflt = str_id(&w, allocs ? "alloc_space" : "inuse_space");
    for (size_t i = 0; i < w.nstrs; i++)
        pb_len(&w.out, 6, w.strs[i], strlen(w.strs[i]));
    pb_int(&w.out, 9, (uint64_t)cprof_heap_time_ns(h));
    pb_int_nz(&w.out, 10, (uint64_t)cprof_heap_duration_ns(h));
    pb_int(&w.sub, 1, space);
    pb_int(&w.sub, 2, bytes_key);
    pb_msg(&w.out, 11, &w.sub); /* period_type space/bytes */
    pb_int(&w.out, 12, cprof_heap_period(h));
    pb_int(&w.out, 14, dflt);
    if (w.out.oom || w.sub.oom || w.sub2.oom)
        err = -ENOMEM;
    else
        err = gzip_to(&w.out, out);
out:
    free(locs);
    for (size_t i = 0; i < w.nstrs; i++)
        free(w.strs[i]);
    free(w.strs);
    intern_free(&w.str_ix);
    intern_free(&w.loc_ix);
    intern_free(&w.func_ix);
    free(w.out.p);
    free(w.sub.p);
    free(w.sub2.p);
    return err;
}
