/* jemalloc heap_v2 dump parser (see jeprof.h).
 *
 * The text is copied once into a NUL-terminated buffer and cut into lines
 * in place; numbers are read with strtoull and every field is checked, so a
 * truncated or foreign dump gives -EINVAL rather than garbage. Stacks are
 * collected into one flat frame array (samples hold index ranges), which
 * keeps the allocation count at a handful of geometric regrowths whatever
 * the dump size. A stack line must be followed by its "t*:" line before the
 * next stack; per-thread "tN:" lines are ignored. */

#include "cprof/jeprof.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Ensures room for one more element in a growable array. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Reads an unsigned number in the given base at *s; advances *s. */
static bool read_u64(const char **s, int base, uint64_t *v)
{
    const char *p = skip_spaces(*s);
    bool digit = (*p >= '0' && *p <= '9') ||
                 (base == 16 && ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')));
    if (!digit)
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(p, &end, base);
    if (errno != 0 || end == p)
        return false;
    *v = x;
    *s = end;
    return true;
}

static bool expect(const char **s, char c)
{
    const char *p = skip_spaces(*s);
    if (*p != c)
        return false;
    *s = p + 1;
    return true;
}

/* "t*: a: b [c: d]" after the "t*:" prefix; the bracketed part is optional. */
static bool parse_counts(const char *s, cprof__jeprof_counts_t *c)
{
    memset(c, 0, sizeof(*c));
    if (!read_u64(&s, 10, &c->cur_objs) || !expect(&s, ':') || !read_u64(&s, 10, &c->cur_bytes))
        return false;
    s = skip_spaces(s);
    if (*s == '\0')
        return true;
    return expect(&s, '[') && read_u64(&s, 10, &c->acc_objs) && expect(&s, ':') &&
           read_u64(&s, 10, &c->acc_bytes) && expect(&s, ']');
}

/* One /proc/self/maps line: "start-end perms offset dev inode [path]". */
static int parse_map(char *line, cprof__jeprof_map_t *m)
{
    const char *s = line;
    uint64_t dummy;
    memset(m, 0, sizeof(*m));
    if (!read_u64(&s, 16, &m->start) || *s != '-')
        return -EINVAL;
    s++;
    if (!read_u64(&s, 16, &m->end))
        return -EINVAL;
    s = skip_spaces(s);
    size_t i = 0;
    while (i < 4 && *s && *s != ' ')
        m->perms[i++] = *s++;
    m->perms[i] = '\0';
    if (!read_u64(&s, 16, &m->offset))
        return -EINVAL;
    s = skip_spaces(s);
    while (*s && *s != ' ') /* device "fe:00" */
        s++;
    if (!read_u64(&s, 10, &dummy))
        return -EINVAL;
    s = skip_spaces(s);
    m->path = strdup(s);
    return m->path ? 0 : -ENOMEM;
}

void cprof__jeprof_destroy(cprof__jeprof_t *p)
{
    for (size_t i = 0; i < p->nmaps; i++)
        free(p->maps[i].path);
    free(p->maps);
    free(p->samples);
    free(p->frames);
    memset(p, 0, sizeof(*p));
}

int cprof__jeprof_parse(const char *text, size_t len, cprof__jeprof_t *out)
{
    int err = -EINVAL;
    size_t scap = 0, fcap = 0, mcap = 0;
    bool have_total = false, in_maps = false, pending = false;
    memset(out, 0, sizeof(*out));
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';

    char *next = copy;
    const char *hdr = "heap_v2/";
    if (strncmp(copy, hdr, strlen(hdr)) != 0)
        goto fail_inval;
    for (size_t lineno = 0; next && *next; lineno++) {
        char *line = next;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        next = nl ? nl + 1 : NULL;
        const char *s = line;
        if (lineno == 0) {
            s += strlen(hdr);
            if (!read_u64(&s, 10, &out->period) || out->period == 0)
                goto fail_inval;
            continue;
        }
        if (in_maps) {
            if (*skip_spaces(line) == '\0')
                continue;
            if ((err = grow((void **)&out->maps, &mcap, out->nmaps, sizeof(*out->maps))) < 0)
                goto fail;
            if ((err = parse_map(line, &out->maps[out->nmaps])) < 0) {
                err = err == -ENOMEM ? err : -EINVAL;
                goto fail;
            }
            out->nmaps++;
            continue;
        }
        s = skip_spaces(line);
        if (*s == '\0')
            continue;
        if (strncmp(s, "MAPPED_LIBRARIES:", 17) == 0) {
            in_maps = true;
            continue;
        }
        if (*s == '@') {
            if (pending) /* the previous stack had no t*: line */
                goto fail_inval;
            if ((err = grow((void **)&out->samples, &scap, out->nsamples, sizeof(*out->samples))) <
                0)
                goto fail;
            cprof__jeprof_sample_t *smp = &out->samples[out->nsamples];
            memset(smp, 0, sizeof(*smp));
            smp->first_frame = out->nframes;
            s++;
            for (;;) {
                s = skip_spaces(s);
                if (*s == '\0')
                    break;
                uint64_t pc;
                if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
                    goto fail_inval;
                s += 2;
                if (!read_u64(&s, 16, &pc))
                    goto fail_inval;
                if ((err = grow((void **)&out->frames, &fcap, out->nframes, sizeof(*out->frames))) <
                    0)
                    goto fail;
                out->frames[out->nframes++] = pc;
                smp->nframes++;
            }
            pending = true;
            continue;
        }
        if (s[0] == 't') {
            bool star = s[1] == '*';
            const char *colon = strchr(s, ':');
            if (!colon)
                goto fail_inval;
            if (!star)
                continue; /* per-thread line */
            cprof__jeprof_counts_t c;
            if (!parse_counts(colon + 1, &c))
                goto fail_inval;
            if (pending) {
                out->samples[out->nsamples++].counts = c;
                pending = false;
            } else if (!have_total && out->nsamples == 0) {
                out->total = c;
                have_total = true;
            }
            continue;
        }
        goto fail_inval;
    }
    if (pending || !have_total)
        goto fail_inval;
    free(copy);
    return 0;

fail_inval:
    err = -EINVAL;
fail:
    free(copy);
    cprof__jeprof_destroy(out);
    return err;
}
