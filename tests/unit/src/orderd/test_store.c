/* Store: duplicate ids, lookup, removal, bounded results with FIFO eviction. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "orderd/store.h"

static order_t *mk(const char *id)
{
    char json[256];
    snprintf(json, sizeof(json),
             "{\"id\":\"%s\",\"customer\":\"c\",\"amount\":1,\"items\":[\"a\"],\"address\":\"x\"}",
             id);
    order_error_t err;
    order_t *o = order_parse(json, strlen(json), &err);
    cr_assert_not_null(o, "%s", err.error);
    return o;
}

Test(store, duplicate_ids_refused)
{
    store_t *s = store_new(10);
    order_t *a = mk("a"), *a2 = mk("a");
    cr_assert_eq(store_insert(s, a), 0);
    cr_assert_eq(store_insert(s, a2), -EEXIST);
    order_free(a2);
    store_remove(s, a);
    cr_assert_eq(store_count(s), 0);
    order_t *a3 = mk("a");
    cr_assert_eq(store_insert(s, a3), 0, "a removed id can be used again");
    order_free(a);
    store_free(s);
}

Test(store, render_states)
{
    store_t *s = store_new(10);
    order_t *o = mk("x1");
    store_insert(s, o);
    buf_t b;
    buf_init(&b, 64);
    cr_assert_eq(store_render(s, "x1", &b), 0);
    cr_assert(strstr(b.data, "\"state\":\"queued\""), "%s", b.data);
    cr_assert_eq(store_render(s, "nope", &b), -ENOENT);
    buf_reset(&b);
    o->success = true;
    strcpy(o->result, "fine");
    order_set_state(o, ORDER_DONE);
    store_done(s, o);
    store_render(s, "x1", &b);
    cr_assert(strstr(b.data, "\"state\":\"done\"") && strstr(b.data, "\"result\":\"fine\""), "%s",
              b.data);
    buf_destroy(&b);
    store_free(s);
}

Test(store, evicts_oldest_done_beyond_capacity)
{
    store_t *s = store_new(100);
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "o%d", i);
        order_t *o = mk(id);
        cr_assert_eq(store_insert(s, o), 0);
        order_set_state(o, ORDER_DONE);
        store_done(s, o);
    }
    cr_assert_eq(store_done_count(s), 100);
    cr_assert_eq(store_count(s), 100);
    buf_t b;
    buf_init(&b, 64);
    cr_assert_eq(store_render(s, "o4899", &b), -ENOENT, "evicted");
    cr_assert_eq(store_render(s, "o4900", &b), 0, "kept: among the newest 100");
    cr_assert_eq(store_render(s, "o4999", &b), 0);
    buf_destroy(&b);
    store_free(s);
}

Test(store, queued_orders_never_evicted)
{
    store_t *s = store_new(1);
    order_t *queued = mk("q");
    store_insert(s, queued);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof(id), "d%d", i);
        order_t *o = mk(id);
        store_insert(s, o);
        order_set_state(o, ORDER_DONE);
        store_done(s, o);
    }
    buf_t b;
    buf_init(&b, 64);
    cr_assert_eq(store_render(s, "q", &b), 0);
    cr_assert_eq(store_count(s), 2);
    buf_destroy(&b);
    store_free(s);
}
