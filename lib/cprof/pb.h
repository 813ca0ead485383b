#ifndef CPROF_PB_H
#define CPROF_PB_H

/* Internal: a growable byte buffer, a streaming protobuf writer on it, a
 * string table and a u64 hash map, shared by the profile encoders. None of
 * it is thread-safe (one owner) or async-signal-safe. Allocation failures
 * are sticky: the buffer's err becomes -ENOMEM and later writes are
 * ignored, so encoders check once at the end. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cprof__buf {
    uint8_t *data;
    size_t len, cap;
    int err;
} cprof__buf_t;

void cprof__buf_put(cprof__buf_t *b, const void *p, size_t n);
void cprof__buf_destroy(cprof__buf_t *b);

/* Wire types. */
enum { CPROF__PB_VARINT = 0, CPROF__PB_I64 = 1, CPROF__PB_LEN = 2, CPROF__PB_I32 = 5 };

void cprof__pb_varint(cprof__buf_t *b, uint64_t v);
/* Scalar fields; zero values are written too (callers skip defaults). */
void cprof__pb_uint(cprof__buf_t *b, int field, uint64_t v);
void cprof__pb_int(cprof__buf_t *b, int field, int64_t v);
void cprof__pb_bool(cprof__buf_t *b, int field, bool v);
void cprof__pb_bytes(cprof__buf_t *b, int field, const void *p, size_t n);
void cprof__pb_packed_uint(cprof__buf_t *b, int field, const uint64_t *v, size_t n);
void cprof__pb_packed_int(cprof__buf_t *b, int field, const int64_t *v, size_t n);
/* Nested message: begin writes the tag and returns a mark; end writes the
 * length in front of what was written since (moving it). */
size_t cprof__pb_begin(cprof__buf_t *b, int field);
void cprof__pb_end(cprof__buf_t *b, size_t mark);

/* gzip (RFC 1952) of in into *out (malloc'ed). Returns 0, -ENOMEM, -EIO. */
int cprof__gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);
/* Inflates gzip or zlib data. Returns 0, -ENOMEM or -EBADMSG. */
int cprof__gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

/* u64 -> u64 open-addressing hash map (key 0 allowed). */
typedef struct cprof__map {
    uint64_t *keys, *vals;
    uint8_t *used;
    size_t cap, n;
} cprof__map_t;
/* Returns a pointer to the value slot of key, inserting (value 0, *inserted
 * = true) if absent; NULL on ENOMEM. */
uint64_t *cprof__map_put(cprof__map_t *m, uint64_t key, bool *inserted);
uint64_t *cprof__map_get(const cprof__map_t *m, uint64_t key);
void cprof__map_destroy(cprof__map_t *m);
uint64_t cprof__hash_bytes(const void *p, size_t n, uint64_t seed);

/* String table: index 0 is "". Strings are copied. */
typedef struct cprof__strtab {
    char **strs;
    size_t n, cap;
    cprof__map_t index; /* hash -> chain head index + 1; collisions chained in next */
    uint32_t *next;
    int err;
} cprof__strtab_t;
int cprof__strtab_init(cprof__strtab_t *t);
/* Index of s (NULL means ""), adding it if new. Returns -1 on ENOMEM. */
int64_t cprof__strtab_add(cprof__strtab_t *t, const char *s);
void cprof__strtab_destroy(cprof__strtab_t *t);
/* Writes every string as field `field` of the enclosing message. */
void cprof__strtab_write(const cprof__strtab_t *t, cprof__buf_t *b, int field);

#endif
