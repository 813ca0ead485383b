#ifndef LAB_HMAP_H
#define LAB_HMAP_H

/* A small string-keyed hash map (open addressing, linear probing) holding
 * int64 values: the task "metadata map" of both lab workers. The capacity
 * hint is the point of the lesson: hmap_init(m, 0) starts at one slot and
 * rehashes at every doubling (the bad worker, like a Go map made without a
 * size), hmap_init(m, n) allocates once for n entries and hmap_clear keeps
 * the memory for the next task (the optimized worker).
 *
 * Keys are not copied: the caller keeps them alive while they are in the
 * map. Not thread-safe: one owner at a time. Out of memory aborts. */

#include <stddef.h>
#include <stdint.h>

typedef struct hmap_slot {
    const char *key; /* NULL: empty */
    int64_t value;
} hmap_slot_t;

typedef struct hmap {
    hmap_slot_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
    size_t rehashes; /* times the table was reallocated */
} hmap_t;

/* Sizes the table for `hint` entries without rehashing (0: allocate lazily). */
void hmap_init(hmap_t *m, size_t hint);
void hmap_destroy(hmap_t *m);
/* Removes every entry and keeps the memory. */
void hmap_clear(hmap_t *m);
/* Inserts or replaces key's value. */
void hmap_put(hmap_t *m, const char *key, int64_t value);
/* Returns 1 and sets *value when key is present, else 0. */
int hmap_get(const hmap_t *m, const char *key, int64_t *value);

#endif
