/* The store: a hash index of every known order, split into 16 shards by the
 * id's hash (FNV-1a), each a chained table with its own mutex that doubles
 * when it holds more orders than buckets. Done orders are also linked, in
 * completion order, into one FIFO (its own mutex); past results_capacity the
 * oldest is unlinked from its shard and freed. Lock order: FIFO, then shard.
 * Rendering a status happens under the shard lock, so eviction can never
 * free an order while it is being read. The mutexes are cprof's, so their
 * contention shows in the mutex and block profiles. */

#include "orderd/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "cprof/lock.h"

#define SHARDS 16

typedef struct shard {
    cprof_mutex_t mu;
    order_t **buckets;
    size_t nbuckets, count;
} shard_t;

struct store {
    shard_t shards[SHARDS];
    cprof_mutex_t done_mu;
    order_t *done_head, *done_tail;
    size_t done_count, capacity;
};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static shard_t *shard_of(store_t *s, uint64_t h) { return &s->shards[h >> 60]; }

store_t *store_new(size_t results_capacity)
{
    store_t *s = xcalloc(1, sizeof(*s));
    for (int i = 0; i < SHARDS; i++) {
        cprof_mutex_init(&s->shards[i].mu);
        s->shards[i].nbuckets = 1024;
        s->shards[i].buckets = xcalloc(1024, sizeof(order_t *));
    }
    cprof_mutex_init(&s->done_mu);
    s->capacity = results_capacity;
    return s;
}

void store_free(store_t *s)
{
    if (!s)
        return;
    for (int i = 0; i < SHARDS; i++) {
        shard_t *sh = &s->shards[i];
        for (size_t b = 0; b < sh->nbuckets; b++) {
            for (order_t *o = sh->buckets[b], *next; o; o = next) {
                next = o->store_next;
                order_free(o);
            }
        }
        free(sh->buckets);
        cprof_mutex_destroy(&sh->mu);
    }
    cprof_mutex_destroy(&s->done_mu);
    free(s);
}

static void grow(shard_t *sh)
{
    size_t n = sh->nbuckets * 2;
    order_t **b = xcalloc(n, sizeof(order_t *));
    for (size_t i = 0; i < sh->nbuckets; i++) {
        for (order_t *o = sh->buckets[i], *next; o; o = next) {
            next = o->store_next;
            size_t j = o->hash & (n - 1);
            o->store_next = b[j];
            b[j] = o;
        }
    }
    free(sh->buckets);
    sh->buckets = b;
    sh->nbuckets = n;
}

static order_t **find(shard_t *sh, uint64_t h, const char *id)
{
    order_t **pp = &sh->buckets[h & (sh->nbuckets - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->id, id) != 0))
        pp = &(*pp)->store_next;
    return pp;
}

int store_insert(store_t *s, order_t *o)
{
    o->hash = hash_id(o->id);
    shard_t *sh = shard_of(s, o->hash);
    int rc = 0;
    cprof_mutex_lock(&sh->mu);
    order_t **pp = find(sh, o->hash, o->id);
    if (*pp) {
        rc = -EEXIST;
    } else {
        if (sh->count >= sh->nbuckets) {
            grow(sh);
            pp = find(sh, o->hash, o->id);
        }
        o->store_next = NULL;
        *pp = o;
        sh->count++;
    }
    cprof_mutex_unlock(&sh->mu);
    return rc;
}

static void unlink_locked(shard_t *sh, order_t *o)
{
    order_t **pp = &sh->buckets[o->hash & (sh->nbuckets - 1)];
    while (*pp && *pp != o)
        pp = &(*pp)->store_next;
    if (*pp) {
        *pp = o->store_next;
        sh->count--;
    }
}

void store_remove(store_t *s, order_t *o)
{
    shard_t *sh = shard_of(s, o->hash);
    cprof_mutex_lock(&sh->mu);
    unlink_locked(sh, o);
    cprof_mutex_unlock(&sh->mu);
}

void store_done(store_t *s, order_t *o)
{
    cprof_mutex_lock(&s->done_mu);
    o->done_next = NULL;
    if (s->done_tail)
        s->done_tail->done_next = o;
    else
        s->done_head = o;
    s->done_tail = o;
    s->done_count++;
    while (s->done_count > s->capacity) {
        order_t *old = s->done_head;
        s->done_head = old->done_next;
        if (!s->done_head)
            s->done_tail = NULL;
        s->done_count--;
        shard_t *sh = shard_of(s, old->hash);
        cprof_mutex_lock(&sh->mu);
        unlink_locked(sh, old);
        cprof_mutex_unlock(&sh->mu);
        order_free(old);
    }
    cprof_mutex_unlock(&s->done_mu);
}

int store_render(store_t *s, const char *id, buf_t *out)
{
    uint64_t h = hash_id(id);
    shard_t *sh = shard_of(s, h);
    int rc = -ENOENT;
    cprof_mutex_lock(&sh->mu);
    order_t *o = *find(sh, h, id);
    if (o) {
        order_status_json(o, out);
        rc = 0;
    }
    cprof_mutex_unlock(&sh->mu);
    return rc;
}

size_t store_count(store_t *s)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        cprof_mutex_lock(&s->shards[i].mu);
        n += s->shards[i].count;
        cprof_mutex_unlock(&s->shards[i].mu);
    }
    return n;
}

size_t store_done_count(store_t *s)
{
    cprof_mutex_lock(&s->done_mu);
    size_t n = s->done_count;
    cprof_mutex_unlock(&s->done_mu);
    return n;
}
