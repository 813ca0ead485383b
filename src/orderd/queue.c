/* Three FIFO rings (one per priority) under one mutex. Each ring can hold
 * the whole capacity, so a push only checks the shared count. A pop picks,
 * in order: the oldest head that has waited longer than max_wait (aging),
 * else the head of the highest non-empty level. Workers wait on `ready`;
 * pushes signal one worker, close and resume broadcast. The lock and the
 * condition variable are cprof's, so contention and the workers' waits
 * show in the mutex and block profiles; while an execution trace runs,
 * every push and take records the depth of each level (a counter). */

#include "orderd/queue.h"

#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "cprof/lock.h"
#include "cprof/trace.h"

typedef struct ring {
    order_t **slots;
    size_t head, len;
} ring_t;

struct queue {
    cprof_mutex_t mu;
    cprof_cond_t ready;
    size_t cap, len;
    ring_t lv[ORDER_PRIORITIES];
    int64_t max_wait_ns;
    bool closed, paused;
    uint64_t aged;
};

/* Trace counter of the depth of each level; called with the lock held. */
static void trace_depth(const queue_t *q)
{
    static const char *const keys[ORDER_PRIORITIES] = {"p1", "p2", "p3"};
    if (cprof_trace_enabled()) {
        int64_t v[ORDER_PRIORITIES];
        for (int i = 0; i < ORDER_PRIORITIES; i++)
            v[i] = (int64_t)q->lv[i].len;
        cprof_trace_counter("queue depth", keys, v, ORDER_PRIORITIES);
    }
}

queue_t *queue_new(size_t capacity, int64_t max_wait_ns)
{
    queue_t *q = xcalloc(1, sizeof(*q));
    cprof_mutex_init(&q->mu);
    cprof_cond_init(&q->ready);
    q->cap = capacity;
    q->max_wait_ns = max_wait_ns;
    for (int i = 0; i < ORDER_PRIORITIES; i++)
        q->lv[i].slots = xcalloc(capacity, sizeof(order_t *));
    return q;
}

void queue_free(queue_t *q)
{
    if (!q)
        return;
    for (int i = 0; i < ORDER_PRIORITIES; i++)
        free(q->lv[i].slots);
    cprof_cond_destroy(&q->ready);
    cprof_mutex_destroy(&q->mu);
    free(q);
}

int queue_push(queue_t *q, order_t *o)
{
    int rc = 0;
    cprof_mutex_lock(&q->mu);
    if (q->closed) {
        rc = -EPIPE;
    } else if (q->len >= q->cap) {
        rc = -EAGAIN;
    } else {
        ring_t *r = &q->lv[o->priority - 1];
        r->slots[(r->head + r->len) % q->cap] = o;
        r->len++;
        q->len++;
        trace_depth(q);
    }
    cprof_mutex_unlock(&q->mu);
    /* After the unlock: a worker woken under the lock would only block
     * again on it, one more futex wake per order. */
    if (rc == 0)
        cprof_cond_signal(&q->ready);
    return rc;
}

/* Called with the lock held and q->len > 0. */
static order_t *take(queue_t *q)
{
    int pick = -1;
    if (q->max_wait_ns > 0) {
        int64_t limit = clock_mono_ns() - q->max_wait_ns;
        for (int p = 0; p < ORDER_PRIORITIES; p++) {
            ring_t *r = &q->lv[p];
            if (!r->len)
                continue;
            int64_t t = r->slots[r->head]->accepted_mono_ns;
            if (t < limit &&
                (pick < 0 || t < q->lv[pick].slots[q->lv[pick].head]->accepted_mono_ns))
                pick = p;
        }
    }
    int first = 0;
    while (!q->lv[first].len)
        first++;
    if (pick < 0)
        pick = first;
    else if (pick != first)
        q->aged++;
    ring_t *r = &q->lv[pick];
    order_t *o = r->slots[r->head];
    r->head = (r->head + 1) % q->cap;
    r->len--;
    q->len--;
    trace_depth(q);
    return o;
}

order_t *queue_pop(queue_t *q)
{
    order_t *o = NULL;
    cprof_mutex_lock(&q->mu);
    while (!q->closed && (q->paused || q->len == 0))
        cprof_cond_wait(&q->ready, &q->mu);
    if (q->len > 0)
        o = take(q);
    cprof_mutex_unlock(&q->mu);
    return o;
}

order_t *queue_try_pop(queue_t *q)
{
    order_t *o = NULL;
    cprof_mutex_lock(&q->mu);
    if (q->len > 0 && (!q->paused || q->closed))
        o = take(q);
    cprof_mutex_unlock(&q->mu);
    return o;
}

void queue_close(queue_t *q)
{
    cprof_mutex_lock(&q->mu);
    q->closed = true;
    q->paused = false;
    cprof_cond_broadcast(&q->ready);
    cprof_mutex_unlock(&q->mu);
}

void queue_set_paused(queue_t *q, bool paused)
{
    cprof_mutex_lock(&q->mu);
    if (!q->closed)
        q->paused = paused;
    cprof_cond_broadcast(&q->ready);
    cprof_mutex_unlock(&q->mu);
}

bool queue_paused(queue_t *q)
{
    cprof_mutex_lock(&q->mu);
    bool p = q->paused;
    cprof_mutex_unlock(&q->mu);
    return p;
}

size_t queue_length(queue_t *q, int priority)
{
    cprof_mutex_lock(&q->mu);
    size_t n = priority >= 1 && priority <= ORDER_PRIORITIES ? q->lv[priority - 1].len : q->len;
    cprof_mutex_unlock(&q->mu);
    return n;
}

size_t queue_capacity(const queue_t *q) { return q->cap; }

uint64_t queue_aged(queue_t *q)
{
    cprof_mutex_lock(&q->mu);
    uint64_t n = q->aged;
    cprof_mutex_unlock(&q->mu);
    return n;
}

int64_t queue_oldest_ns(queue_t *q)
{
    int64_t oldest = 0;
    cprof_mutex_lock(&q->mu);
    for (int p = 0; p < ORDER_PRIORITIES; p++) {
        ring_t *r = &q->lv[p];
        if (r->len) {
            int64_t t = r->slots[r->head]->accepted_mono_ns;
            if (!oldest || t < oldest)
                oldest = t;
        }
    }
    cprof_mutex_unlock(&q->mu);
    return oldest;
}
