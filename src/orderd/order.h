#ifndef ORDERD_ORDER_H
#define ORDERD_ORDER_H

/* One order: parsed from JSON, stored in a single allocation (the struct
 * followed by its strings), moved by pointer through queue, worker, results
 * stage and store. Fields above `state` are immutable once the order is
 * accepted; result fields are written by one worker before `state` becomes
 * ORDER_DONE (release), and read by others only after seeing ORDER_DONE
 * (acquire). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define ORDER_MAX_BODY (64 * 1024)
#define ORDER_ID_MAX 128
#define ORDER_PRIORITIES 3

typedef enum { ORDER_QUEUED = 0, ORDER_PROCESSING = 1, ORDER_DONE = 2 } order_state_t;

typedef struct order {
    /* links owned by the store and the queue */
    struct order *store_next;
    struct order *done_next;
    uint64_t hash;
    uint64_t trace_id; /* flow id for the execution trace */

    const char *id, *customer, *status, *address, *notes;
    const char **items;
    size_t nitems;
    double amount;
    int priority; /* 1 (high) .. 3 (low) */
    int64_t created_wall_ns;
    int64_t accepted_mono_ns;

    int state; /* order_state_t, atomic */
    /* result, written by the worker and results stage */
    bool success;
    int worker_id;
    double final_amount;
    int64_t started_mono_ns, finished_mono_ns, done_mono_ns;
    int64_t processed_wall_ns;
    char result[96];
    char error[96];
    char data[]; /* strings and items array */
} order_t;

/* The outcome of parsing a body: on error, `error` says what and `field`
 * names the offending field ("" for the whole body). */
typedef struct order_error {
    char error[256];
    char field[64];
} order_error_t;

/* Parses and validates one order (DESIGN.md rules and defaults). On success
 * returns a malloc'ed order (free with order_free) with created_wall_ns set;
 * on failure returns NULL and fills err. Thread-safe. */
order_t *order_parse(const char *json, size_t len, order_error_t *err);
void order_free(order_t *o);

/* Appends the order as JSON ({"id",...,"created_at"}), optionally with its
 * processing state and result (state must have been read with acquire). */
void order_to_json(const order_t *o, buf_t *out);
void order_status_json(const order_t *o, buf_t *out);

/* The seed's business rules, used by the workers. validate returns NULL if
 * the order may be processed, or an error text; apply writes result text and
 * final amount. */
const char *order_validate_for_processing(const order_t *o);
void order_apply_business_rules(order_t *o);

/* Generates a 32-hex-char random id into out[33]. Thread-safe. */
void order_random_id(char out[33]);

static inline int order_state(const order_t *o)
{
    return __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
}
static inline void order_set_state(order_t *o, int s)
{
    __atomic_store_n(&o->state, s, __ATOMIC_RELEASE);
}

#endif
