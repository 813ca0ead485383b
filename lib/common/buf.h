#ifndef COMMON_BUF_H
#define COMMON_BUF_H

/* A growable byte buffer / string builder with JSON helpers, for building
 * HTTP responses without a JSON library on the hot path. Grows
 * geometrically through xrealloc (aborts on OOM). The contents are always
 * NUL-terminated. Not thread-safe: one owner at a time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *b, size_t cap_hint);
void buf_destroy(buf_t *b);
/* Empties the buffer and keeps its memory for reuse. */
static inline void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
/* Hands the contents to the caller (free() it) and leaves b empty. */
char *buf_steal(buf_t *b, size_t *len);
void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *data, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON pieces. buf_json_str writes a quoted, escaped string (NULL -> null). */
void buf_json_str(buf_t *b, const char *s);
void buf_json_strn(buf_t *b, const char *s, size_t n);
/* Writes "key": (with a leading comma unless *first), then clears *first. */
void buf_json_key(buf_t *b, const char *key, bool *first);
void buf_json_i64(buf_t *b, int64_t v);
/* Writes a double exactly: the shortest decimal that reads back as the same
 * value (non-finite -> 0). */
void buf_json_num(buf_t *b, double v);
/* Writes a finite double rounded to `decimals` decimals, trailing zeros
 * trimmed (non-finite -> 0); for display values such as milliseconds. */
void buf_json_f64(buf_t *b, double v, int decimals);

#endif
