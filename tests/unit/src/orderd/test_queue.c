/* Priority queue: ordering, FIFO ties, aging, capacity, close and pause. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/clock.h"
#include "orderd/queue.h"

static order_t *mk(int priority, int64_t accepted_ns)
{
    order_t *o = calloc(1, sizeof(order_t));
    o->priority = priority;
    o->accepted_mono_ns = accepted_ns;
    return o;
}

Test(queue, highest_priority_first_fifo_ties)
{
    queue_t *q = queue_new(16, 0);
    int64_t t = clock_mono_ns();
    order_t *l1 = mk(3, t), *m1 = mk(2, t + 1), *h1 = mk(1, t + 2), *l2 = mk(3, t + 3),
            *h2 = mk(1, t + 4), *m2 = mk(2, t + 5);
    order_t *in[] = {l1, m1, h1, l2, h2, m2};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(queue_push(q, in[i]), 0);
    order_t *want[] = {h1, h2, m1, m2, l1, l2};
    for (int i = 0; i < 6; i++) {
        order_t *o = queue_try_pop(q);
        cr_assert_eq(o, want[i], "pop %d: expected priority %d order #%d", i, want[i]->priority, i);
        free(o);
    }
    cr_assert_null(queue_try_pop(q));
    queue_free(q);
}

Test(queue, capacity_counts_all_levels)
{
    queue_t *q = queue_new(3, 0);
    order_t *a = mk(1, 0), *b = mk(2, 0), *c = mk(3, 0), *d = mk(1, 0);
    cr_assert_eq(queue_push(q, a), 0);
    cr_assert_eq(queue_push(q, b), 0);
    cr_assert_eq(queue_push(q, c), 0);
    cr_assert_eq(queue_push(q, d), -EAGAIN, "a full queue refuses at once");
    cr_assert_eq(queue_length(q, 0), 3);
    cr_assert_eq(queue_length(q, 1), 1);
    cr_assert_eq(queue_length(q, 3), 1);
    free(queue_try_pop(q));
    cr_assert_eq(queue_push(q, d), 0, "room again after a pop");
    for (order_t *o; (o = queue_try_pop(q));)
        free(o);
    queue_free(q);
}

Test(queue, ring_wraps_around)
{
    queue_t *q = queue_new(4, 0);
    for (int round = 0; round < 10; round++) {
        order_t *o[3];
        for (int i = 0; i < 3; i++) {
            o[i] = mk(2, round * 10 + i);
            cr_assert_eq(queue_push(q, o[i]), 0);
        }
        for (int i = 0; i < 3; i++) {
            order_t *p = queue_try_pop(q);
            cr_assert_eq(p, o[i], "round %d pop %d out of FIFO order", round, i);
            free(p);
        }
    }
    queue_free(q);
}

Test(queue, aging_serves_old_low_priority_first)
{
    int64_t now = clock_mono_ns();
    queue_t *q = queue_new(16, 1000000000);         /* 1 s */
    order_t *old_low = mk(3, now - 5000000000LL);   /* waited 5 s */
    order_t *older_mid = mk(2, now - 6000000000LL); /* waited 6 s */
    order_t *fresh_high = mk(1, now);
    queue_push(q, old_low);
    queue_push(q, fresh_high);
    queue_push(q, older_mid);
    cr_assert_eq(queue_try_pop(q), older_mid, "the oldest aged head goes first");
    cr_assert_eq(queue_try_pop(q), old_low, "then the other aged head");
    cr_assert_eq(queue_try_pop(q), fresh_high);
    cr_assert_eq(queue_aged(q), 2);
    free(old_low), free(older_mid), free(fresh_high);
    queue_free(q);
}

Test(queue, no_aging_when_disabled_or_young)
{
    int64_t now = clock_mono_ns();
    queue_t *q = queue_new(16, 10000000000LL); /* 10 s */
    order_t *low = mk(3, now - 1000000000LL), *high = mk(1, now);
    queue_push(q, low);
    queue_push(q, high);
    cr_assert_eq(queue_try_pop(q), high, "a 1 s wait is below the 10 s aging limit");
    cr_assert_eq(queue_try_pop(q), low);
    cr_assert_eq(queue_aged(q), 0);
    free(low), free(high);
    queue_free(q);
}

static void *popper(void *arg) { return queue_pop(arg); }

Test(queue, close_drains_then_returns_null)
{
    queue_t *q = queue_new(4, 0);
    order_t *a = mk(2, 0);
    queue_push(q, a);
    queue_close(q);
    cr_assert_eq(queue_push(q, mk(1, 0)), -EPIPE);
    cr_assert_eq(queue_pop(q), a, "orders queued before close are still handed out");
    cr_assert_null(queue_pop(q), "closed and empty: pop returns NULL at once");
    free(a);
    queue_free(q);
}

Test(queue, pause_holds_orders_until_resumed)
{
    queue_t *q = queue_new(4, 0);
    queue_set_paused(q, true);
    order_t *a = mk(2, 0);
    queue_push(q, a);
    cr_assert_null(queue_try_pop(q), "paused: nothing handed out");
    pthread_t t;
    pthread_create(&t, NULL, popper, q);
    queue_set_paused(q, false);
    void *got;
    pthread_join(t, &got);
    cr_assert_eq(got, a, "a waiting worker gets the order once resumed");
    free(a);
    queue_free(q);
}

Test(queue, close_wakes_blocked_workers)
{
    queue_t *q = queue_new(4, 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, popper, q);
    queue_close(q);
    for (int i = 0; i < 3; i++) {
        void *got = (void *)1;
        pthread_join(t[i], &got);
        cr_assert_null(got);
    }
    queue_free(q);
}
