/* Orders: strict JSON parsing with jansson, validation with DESIGN.md's rules
 * and defaults, and the seed's business rules.
 *
 * An accepted order lives in one allocation: the order_t, then the items
 * pointer array, then every string, so queueing and freeing it cost one
 * malloc and one free. Parsing checks, in this order: well-formed JSON, an
 * object, no unknown fields, the type of each field, then values; the first
 * problem found is reported with the field it concerns. */

#include "orderd/order.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "common/xalloc.h"

static const char *const known_fields[] = {"id",     "amount",  "items", "customer",
                                           "status", "address", "notes", "priority"};
static const char *const statuses[] = {"pending", "paid", "shipped", "delivered", "cancelled"};

#define MAX_TEXT 1024
#define MAX_ITEMS 1000

static order_t *fail(order_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static order_t *fail(order_error_t *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->error, sizeof(err->error), fmt, ap);
    va_end(ap);
    snprintf(err->field, sizeof(err->field), "%s", field);
    return NULL;
}

static bool is_known(const char *key)
{
    for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
        if (strcmp(key, known_fields[i]) == 0)
            return true;
    return false;
}

static bool valid_id(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

/* Fetches an optional string field; false (and err filled) on a wrong type
 * or an over-long value. */
static bool get_string(json_t *root, const char *key, const char **out, size_t *len,
                       order_error_t *err)
{
    json_t *v = json_object_get(root, key);
    *out = NULL;
    *len = 0;
    if (!v)
        return true;
    if (!json_is_string(v)) {
        fail(err, key, "%s must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (*len > MAX_TEXT) {
        fail(err, key, "%s is longer than %d characters", key, MAX_TEXT);
        return false;
    }
    if (strlen(*out) != *len) {
        fail(err, key, "%s must not contain NUL characters", key);
        return false;
    }
    return true;
}

/* Copies s (n bytes) into the order's string area. */
static const char *put(char **cursor, const char *s, size_t n)
{
    char *p = *cursor;
    memcpy(p, s, n);
    p[n] = '\0';
    *cursor = p + n + 1;
    return p;
}

order_t *order_parse(const char *json, size_t len, order_error_t *err)
{
    order_t *o = NULL;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, "", "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
    if (!json_is_object(root)) {
        fail(err, "", "the body must be a JSON object");
        goto out;
    }

    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (!is_known(key)) {
            fail(err, key, "unknown field '%s'", key);
            goto out;
        }
    }

    const char *id, *customer, *status, *address, *notes;
    size_t id_len, customer_len, status_len, address_len, notes_len;
    if (!get_string(root, "id", &id, &id_len, err) ||
        !get_string(root, "customer", &customer, &customer_len, err) ||
        !get_string(root, "status", &status, &status_len, err) ||
        !get_string(root, "address", &address, &address_len, err) ||
        !get_string(root, "notes", &notes, &notes_len, err))
        goto out;

    json_t *amount = json_object_get(root, "amount");
    if (amount && !json_is_number(amount)) {
        fail(err, "amount", "amount must be a number");
        goto out;
    }
    json_t *items = json_object_get(root, "items");
    if (items && !json_is_array(items)) {
        fail(err, "items", "items must be an array of strings");
        goto out;
    }
    size_t nitems = items ? json_array_size(items) : 0, items_bytes = 0;
    for (size_t i = 0; i < nitems; i++) {
        json_t *it = json_array_get(items, i);
        if (!json_is_string(it)) {
            fail(err, "items", "items[%zu] must be a string", i);
            goto out;
        }
        size_t n = json_string_length(it);
        if (n == 0 || n > MAX_TEXT || strlen(json_string_value(it)) != n) {
            fail(err, "items", "items[%zu] must be a non-empty string of at most %d characters", i,
                 MAX_TEXT);
            goto out;
        }
        items_bytes += n + 1;
    }
    json_t *priority = json_object_get(root, "priority");
    if (priority && !json_is_integer(priority)) {
        fail(err, "priority", "priority must be an integer (1, 2 or 3)");
        goto out;
    }

    /* Values, with the seed's defaults. */
    char gen_id[33];
    if (!id) {
        order_random_id(gen_id);
        id = gen_id;
        id_len = 32;
    } else if (id_len == 0 || id_len > ORDER_ID_MAX || !valid_id(id)) {
        fail(err, "id", "id must be 1 to %d characters of letters, digits, '-', '_', '.' or ':'",
             ORDER_ID_MAX);
        goto out;
    }
    if (!customer || customer_len == 0) {
        fail(err, "customer", "customer is required");
        goto out;
    }
    if (!address || address_len == 0) {
        fail(err, "address", "address is required");
        goto out;
    }
    if (!status) {
        status = "pending";
        status_len = 7;
    }
    bool status_ok = false;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        status_ok |= strcmp(status, statuses[i]) == 0;
    if (!status_ok) {
        fail(err, "status",
             "status must be one of pending, paid, shipped, delivered, cancelled (got '%.64s')",
             status);
        goto out;
    }
    if (!amount) {
        fail(err, "amount", "amount is required");
        goto out;
    }
    double amt = json_number_value(amount);
    if (!isfinite(amt) || amt <= 0) {
        fail(err, "amount", "amount must be greater than 0");
        goto out;
    }
    if (nitems == 0) {
        fail(err, "items", "items must contain at least one item");
        goto out;
    }
    if (nitems > MAX_ITEMS) {
        fail(err, "items", "items must contain at most %d items", MAX_ITEMS);
        goto out;
    }
    json_int_t prio = priority ? json_integer_value(priority) : 2;
    if (prio < 1 || prio > 3) {
        fail(err, "priority", "priority must be 1 (high), 2 (medium) or 3 (low)");
        goto out;
    }
    if (!notes) {
        notes = "";
        notes_len = 0;
    }

    size_t strings = id_len + customer_len + status_len + address_len + notes_len + 5;
    size_t size = sizeof(order_t) + nitems * sizeof(char *) + items_bytes + strings;
    o = xcalloc(1, size);
    o->items = (const char **)(void *)o->data;
    char *cursor = o->data + nitems * sizeof(char *);
    o->id = put(&cursor, id, id_len);
    o->customer = put(&cursor, customer, customer_len);
    o->status = put(&cursor, status, status_len);
    o->address = put(&cursor, address, address_len);
    o->notes = put(&cursor, notes, notes_len);
    for (size_t i = 0; i < nitems; i++) {
        json_t *it = json_array_get(items, i);
        o->items[i] = put(&cursor, json_string_value(it), json_string_length(it));
    }
    o->nitems = nitems;
    o->amount = amt;
    o->final_amount = amt;
    o->priority = (int)prio;
    o->created_wall_ns = clock_wall_ns();
out:
    json_decref(root);
    return o;
}

void order_free(order_t *o) { free(o); }

void order_to_json(const order_t *o, buf_t *out)
{
    char ts[40];
    buf_puts(out, "{\"id\":");
    buf_json_str(out, o->id);
    buf_puts(out, ",\"amount\":");
    buf_json_num(out, o->amount);
    buf_puts(out, ",\"items\":[");
    for (size_t i = 0; i < o->nitems; i++) {
        if (i)
            buf_putc(out, ',');
        buf_json_str(out, o->items[i]);
    }
    buf_puts(out, "],\"customer\":");
    buf_json_str(out, o->customer);
    buf_puts(out, ",\"status\":");
    buf_json_str(out, o->status);
    buf_puts(out, ",\"address\":");
    buf_json_str(out, o->address);
    buf_puts(out, ",\"notes\":");
    buf_json_str(out, o->notes);
    buf_printf(out, ",\"priority\":%d,\"created_at\":\"", o->priority);
    clock_format_rfc3339(o->created_wall_ns, ts, sizeof(ts));
    buf_puts(out, ts);
    buf_puts(out, "\"}");
}

void order_status_json(const order_t *o, buf_t *out)
{
    static const char *const names[] = {"queued", "processing", "done"};
    int st = order_state(o);
    buf_puts(out, "{\"id\":");
    buf_json_str(out, o->id);
    buf_printf(out, ",\"state\":\"%s\",\"order\":", names[st]);
    order_to_json(o, out);
    if (st == ORDER_QUEUED) {
        buf_puts(out, ",\"result\":null}");
        return;
    }
    buf_printf(out, ",\"worker_id\":%d", o->worker_id);
    if (st != ORDER_DONE) {
        buf_puts(out, ",\"result\":null}");
        return;
    }
    char ts[40];
    clock_format_rfc3339(o->processed_wall_ns, ts, sizeof(ts));
    buf_printf(out, ",\"result\":{\"success\":%s,\"result\":", o->success ? "true" : "false");
    buf_json_str(out, o->result);
    buf_puts(out, ",\"error\":");
    buf_json_str(out, o->error);
    buf_printf(out, ",\"worker_id\":%d,\"final_amount\":", o->worker_id);
    buf_json_num(out, o->final_amount);
    buf_puts(out, ",\"queue_wait_ms\":");
    buf_json_f64(out, (double)(o->started_mono_ns - o->accepted_mono_ns) / 1e6, 3);
    buf_puts(out, ",\"processing_time_ms\":");
    buf_json_f64(out, (double)(o->finished_mono_ns - o->started_mono_ns) / 1e6, 3);
    buf_printf(out, ",\"processed_at\":\"%s\"}}", ts);
}

/* The seed's validateOrderForProcessing: the checks that run again at
 * processing time, plus the rules that only apply then. */
const char *order_validate_for_processing(const order_t *o)
{
    if (!(o->amount > 0))
        return "invalid amount";
    if (o->nitems == 0)
        return "order has no items";
    if (o->customer[0] == '\0')
        return "missing customer";
    if (strcmp(o->status, "cancelled") == 0)
        return "order is cancelled";
    if (strcmp(o->status, "delivered") == 0)
        return "order was already delivered";
    if (o->amount > 100000)
        return "amount exceeds the 100000.00 limit for automatic processing";
    return NULL;
}

/* The seed's applyBusinessRules: high-value discount, expedited handling for
 * priority 1, bulk handling for large orders. */
void order_apply_business_rules(order_t *o)
{
    char *p = o->result, *end = o->result + sizeof(o->result);
    p += snprintf(p, (size_t)(end - p), "Order processed successfully");
    o->final_amount = o->amount;
    if (o->amount >= 1000) {
        o->final_amount = o->amount * 0.95;
        p += snprintf(p, (size_t)(end - p), "; 5%% high-value discount");
    }
    if (o->priority == 1 && p < end)
        p += snprintf(p, (size_t)(end - p), "; expedited");
    if (o->nitems >= 10 && p < end)
        snprintf(p, (size_t)(end - p), "; bulk handling");
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void order_random_id(char out[33])
{
    static __thread uint64_t state;
    static __thread bool seeded;
    static const char hex[] = "0123456789abcdef";
    if (!seeded) {
        while (getrandom(&state, sizeof(state), 0) < 0 && errno == EINTR)
            ;
        seeded = true;
    }
    for (int w = 0; w < 2; w++) {
        uint64_t r = splitmix(&state);
        for (int i = 0; i < 16; i++)
            out[w * 16 + i] = hex[(r >> (i * 4)) & 15];
    }
    out[32] = '\0';
}
