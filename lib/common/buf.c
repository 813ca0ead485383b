#include "common/buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void buf_init(buf_t *b, size_t cap_hint)
{
    b->cap = cap_hint < 16 ? 16 : cap_hint;
    b->data = xmalloc(b->cap);
    b->len = 0;
    b->data[0] = '\0';
}

void buf_destroy(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *buf_steal(buf_t *b, size_t *len)
{
    if (!b->data)
        buf_init(b, 16);
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_reserve(buf_t *b, size_t extra)
{
    if (!b->data)
        buf_init(b, extra + 1);
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap * 2;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(buf_t *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_putc(buf_t *b, char c)
{
    buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_reserve(b, 64);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void buf_json_strn(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        buf_puts(b, "null");
        return;
    }
    buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            buf_reserve(b, 2);
            b->data[b->len++] = (char)c;
            continue;
        }
        buf_reserve(b, 7);
        b->data[b->len++] = '\\';
        switch (c) {
        case '"': b->data[b->len++] = '"'; break;
        case '\\': b->data[b->len++] = '\\'; break;
        case '\n': b->data[b->len++] = 'n'; break;
        case '\r': b->data[b->len++] = 'r'; break;
        case '\t': b->data[b->len++] = 't'; break;
        default:
            b->data[b->len++] = 'u';
            b->data[b->len++] = '0';
            b->data[b->len++] = '0';
            b->data[b->len++] = hex[c >> 4];
            b->data[b->len++] = hex[c & 15];
        }
    }
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

void buf_json_str(buf_t *b, const char *s) { buf_json_strn(b, s, s ? strlen(s) : 0); }

void buf_json_key(buf_t *b, const char *key, bool *first)
{
    if (!*first)
        buf_putc(b, ',');
    *first = false;
    buf_json_str(b, key);
    buf_putc(b, ':');
}

void buf_json_i64(buf_t *b, int64_t v) { buf_printf(b, "%" PRId64, v); }

void buf_json_num(buf_t *b, double v)
{
    if (!isfinite(v))
        v = 0;
    char tmp[40];
    /* The shortest of %.15g..%.17g that reads back as the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    buf_puts(b, tmp);
}

void buf_json_f64(buf_t *b, double v, int decimals)
{
    if (!isfinite(v))
        v = 0;
    if (fabs(v) >= 1e15) {
        /* Fixed notation would print an integer literal beyond 2^53 that
         * JSON parsers refuse or round; exponent notation keeps it a real. */
        buf_json_num(b, v);
        return;
    }
    buf_printf(b, "%.*f", decimals, v);
    /* Trim trailing zeros ("12.500" -> "12.5", "3.000" -> "3"). */
    if (decimals > 0) {
        while (b->data[b->len - 1] == '0')
            b->len--;
        if (b->data[b->len - 1] == '.')
            b->len--;
        b->data[b->len] = '\0';
    }
}
