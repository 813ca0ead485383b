/* See hmap.h. FNV-1a hashing; the table doubles when it would pass 3/4
 * full, re-inserting every entry into a fresh allocation. */

#include "lab/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static size_t cap_for(size_t entries)
{
    size_t cap = 1;
    while (cap * 3 < entries * 4 + 1)
        cap <<= 1;
    return cap;
}

static hmap_slot_t *find(hmap_slot_t *slots, size_t cap, const char *key)
{
    size_t i = (size_t)hash(key) & (cap - 1);
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void resize(hmap_t *m, size_t cap)
{
    hmap_slot_t *slots = xcalloc(cap, sizeof(*slots));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *find(slots, cap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->rehashes++;
}

void hmap_init(hmap_t *m, size_t hint)
{
    memset(m, 0, sizeof(*m));
    if (hint)
        resize(m, cap_for(hint));
    m->rehashes = 0;
}

void hmap_destroy(hmap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

void hmap_clear(hmap_t *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof(*m->slots));
    m->len = 0;
}

void hmap_put(hmap_t *m, const char *key, int64_t value)
{
    /* Keep at least one empty slot and the load at or under 3/4. */
    while ((m->len + 1) * 4 > m->cap * 3)
        resize(m, m->cap ? m->cap * 2 : 1);
    hmap_slot_t *s = find(m->slots, m->cap, key);
    if (!s->key) {
        s->key = key;
        m->len++;
    }
    s->value = value;
}

int hmap_get(const hmap_t *m, const char *key, int64_t *value)
{
    if (!m->cap)
        return 0;
    const hmap_slot_t *s = find(m->slots, m->cap, key);
    if (!s->key)
        return 0;
    *value = s->value;
    return 1;
}
