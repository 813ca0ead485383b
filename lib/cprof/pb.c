/* Protobuf writing, gzip and the small containers of the encoders.
 *
 * The writer streams: scalar fields go straight to the buffer; a nested
 * message is written in place after its tag and then shifted right by the
 * size of its length varint (cprof__pb_end), as Go's runtime profile
 * builder does, so no message structs exist. Messages here are small
 * (a sample, a location), so the shift is cheap. */

#include "cprof/pb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void cprof__buf_put(cprof__buf_t *b, const void *p, size_t n)
{
    if (b->err)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->err = -ENOMEM;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void cprof__buf_destroy(cprof__buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static size_t varint_encode(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

void cprof__pb_varint(cprof__buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    cprof__buf_put(b, tmp, varint_encode(tmp, v));
}

static void tag(cprof__buf_t *b, int field, int wire)
{
    cprof__pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void cprof__pb_uint(cprof__buf_t *b, int field, uint64_t v)
{
    tag(b, field, CPROF__PB_VARINT);
    cprof__pb_varint(b, v);
}

/* int64 fields are plain varints of the two's complement (10 bytes when
 * negative), not zigzag: profile.proto uses int64, not sint64. */
void cprof__pb_int(cprof__buf_t *b, int field, int64_t v) { cprof__pb_uint(b, field, (uint64_t)v); }

void cprof__pb_bool(cprof__buf_t *b, int field, bool v) { cprof__pb_uint(b, field, v ? 1 : 0); }

void cprof__pb_bytes(cprof__buf_t *b, int field, const void *p, size_t n)
{
    tag(b, field, CPROF__PB_LEN);
    cprof__pb_varint(b, n);
    cprof__buf_put(b, p, n);
}

void cprof__pb_packed_uint(cprof__buf_t *b, int field, const uint64_t *v, size_t n)
{
    if (n == 0)
        return;
    size_t m = cprof__pb_begin(b, field);
    for (size_t i = 0; i < n; i++)
        cprof__pb_varint(b, v[i]);
    cprof__pb_end(b, m);
}

void cprof__pb_packed_int(cprof__buf_t *b, int field, const int64_t *v, size_t n)
{
    if (n == 0)
        return;
    size_t m = cprof__pb_begin(b, field);
    for (size_t i = 0; i < n; i++)
        cprof__pb_varint(b, (uint64_t)v[i]);
    cprof__pb_end(b, m);
}

size_t cprof__pb_begin(cprof__buf_t *b, int field)
{
    tag(b, field, CPROF__PB_LEN);
    return b->len;
}

void cprof__pb_end(cprof__buf_t *b, size_t mark)
{
    if (b->err)
        return;
    size_t n = b->len - mark;
    uint8_t tmp[10];
    size_t k = varint_encode(tmp, n);
    cprof__buf_put(b, tmp, k); /* grow by k */
    if (b->err)
        return;
    memmove(b->data + mark + k, b->data + mark, n);
    memcpy(b->data + mark, tmp, k);
}

/* ---- gzip ---------------------------------------------------------------- */

int cprof__gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* Level 1, as Go's pprof writer: profiles compress well at any level,
     * and this runs on a live server. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t cap = deflateBound(&z, (uLong)len);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int cprof__gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) /* 32: gzip or zlib header */
        return -ENOMEM;
    size_t cap = len * 4 + 1024, n = 0;
    uint8_t *buf = malloc(cap);
    int err = 0;
    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    for (;;) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                err = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n);
        int rc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) {
            err = -EBADMSG; /* truncated */
            goto out;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            err = rc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
            goto out;
        }
    }
    *out = buf;
    *out_len = n;
    buf = NULL;
out:
    inflateEnd(&z);
    free(buf);
    return err;
}

/* ---- u64 hash map ---------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t cprof__hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return mix(h);
}

static int map_grow(cprof__map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    cprof__map_t n = {.cap = cap};
    n.keys = malloc(cap * sizeof(*n.keys));
    n.vals = malloc(cap * sizeof(*n.vals));
    n.used = calloc(cap, 1);
    if (!n.keys || !n.vals || !n.used) {
        cprof__map_destroy(&n);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = mix(m->keys[i]) & (cap - 1);
        while (n.used[j])
            j = (j + 1) & (cap - 1);
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.n = m->n;
    cprof__map_destroy(m);
    *m = n;
    return 0;
}

uint64_t *cprof__map_get(const cprof__map_t *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t j = mix(key) & (m->cap - 1);
    while (m->used[j]) {
        if (m->keys[j] == key)
            return &m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

uint64_t *cprof__map_put(cprof__map_t *m, uint64_t key, bool *inserted)
{
    *inserted = false;
    uint64_t *v = cprof__map_get(m, key);
    if (v)
        return v;
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) != 0)
        return NULL;
    size_t j = mix(key) & (m->cap - 1);
    while (m->used[j])
        j = (j + 1) & (m->cap - 1);
    m->used[j] = 1;
    m->keys[j] = key;
    m->vals[j] = 0;
    m->n++;
    *inserted = true;
    return &m->vals[j];
}

void cprof__map_destroy(cprof__map_t *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof(*m));
}

/* ---- string table -------------------------------------------------------- */

int cprof__strtab_init(cprof__strtab_t *t)
{
    memset(t, 0, sizeof(*t));
    return cprof__strtab_add(t, "") == 0 ? 0 : -ENOMEM;
}

int64_t cprof__strtab_add(cprof__strtab_t *t, const char *s)
{
    if (!s)
        s = "";
    if (t->err)
        return -1;
    size_t len = strlen(s);
    uint64_t h = cprof__hash_bytes(s, len, 0);
    bool ins;
    uint64_t *head = cprof__map_put(&t->index, h, &ins);
    if (!head)
        goto fail;
    for (uint64_t i = *head; i; i = t->next[i - 1])
        if (strcmp(t->strs[i - 1], s) == 0)
            return (int64_t)(i - 1);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **ns = realloc(t->strs, cap * sizeof(*ns));
        if (!ns)
            goto fail;
        t->strs = ns;
        uint32_t *nn = realloc(t->next, cap * sizeof(*nn));
        if (!nn)
            goto fail;
        t->next = nn;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        goto fail;
    memcpy(copy, s, len + 1);
    t->strs[t->n] = copy;
    t->next[t->n] = (uint32_t)*head;
    *head = t->n + 1;
    return (int64_t)t->n++;
fail:
    t->err = -ENOMEM;
    return -1;
}

void cprof__strtab_destroy(cprof__strtab_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->next);
    cprof__map_destroy(&t->index);
    memset(t, 0, sizeof(*t));
}

void cprof__strtab_write(const cprof__strtab_t *t, cprof__buf_t *b, int field)
{
    for (size_t i = 0; i < t->n; i++)
        cprof__pb_bytes(b, field, t->strs[i], strlen(t->strs[i]));
}
