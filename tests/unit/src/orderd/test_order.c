/* Order parsing, validation, defaults, JSON output and business rules. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "orderd/order.h"

#define GOOD "\"customer\":\"ada\",\"amount\":10.5,\"items\":[\"a\"],\"address\":\"1 Main St\""

static order_t *parse(const char *json, order_error_t *err)
{
    memset(err, 0, sizeof(*err));
    return order_parse(json, strlen(json), err);
}

/* Expects a 400-style error naming `field`. */
static void expect_error(const char *json, const char *field, const char *needle)
{
    order_error_t err;
    order_t *o = parse(json, &err);
    cr_assert_null(o, "expected %s to be rejected", json);
    cr_assert_str_eq(err.field, field, "body %s: expected field '%s', got '%s' (%s)", json, field,
                     err.field, err.error);
    cr_assert(strstr(err.error, needle), "body %s: expected error containing '%s', got '%s'", json,
              needle, err.error);
}

Test(order, defaults_applied)
{
    order_error_t err;
    order_t *o = parse("{" GOOD "}", &err);
    cr_assert_not_null(o, "%s", err.error);
    cr_assert_eq(strlen(o->id), 32, "generated id has 32 hex chars, got '%s'", o->id);
    cr_assert_eq(strspn(o->id, "0123456789abcdef"), 32);
    cr_assert_str_eq(o->status, "pending");
    cr_assert_eq(o->priority, 2);
    cr_assert_str_eq(o->notes, "");
    cr_assert_str_eq(o->customer, "ada");
    cr_assert_float_eq(o->amount, 10.5, 1e-9);
    cr_assert_eq(o->nitems, 1);
    cr_assert_gt(o->created_wall_ns, 0);
    order_free(o);
}

Test(order, explicit_fields_kept)
{
    order_error_t err;
    order_t *o = parse("{\"id\":\"ord-1\",\"status\":\"paid\",\"priority\":1,\"notes\":\"n\","
                       "\"items\":[\"x\",\"y\",\"z\"],\"customer\":\"c\",\"amount\":3,"
                       "\"address\":\"addr\"}",
                       &err);
    cr_assert_not_null(o, "%s", err.error);
    cr_assert_str_eq(o->id, "ord-1");
    cr_assert_str_eq(o->status, "paid");
    cr_assert_eq(o->priority, 1);
    cr_assert_eq(o->nitems, 3);
    cr_assert_str_eq(o->items[2], "z");
    cr_assert_str_eq(o->notes, "n");
    order_free(o);
}

Test(order, random_ids_differ)
{
    char a[33], b[33];
    order_random_id(a);
    order_random_id(b);
    cr_assert_str_neq(a, b);
}

Test(order, bad_json)
{
    expect_error("{\"customer\":", "", "invalid JSON at line 1");
    expect_error("", "", "invalid JSON");
    expect_error("[1,2]", "", "must be a JSON object");
    expect_error("\"str\"", "", "invalid JSON");
    expect_error("{" GOOD ",\"customer\":\"twice\"}", "", "invalid JSON");
}

Test(order, unknown_field)
{
    expect_error("{" GOOD ",\"discount\":5}", "discount", "unknown field 'discount'");
}

Test(order, wrong_types)
{
    expect_error("{\"id\":5," GOOD "}", "id", "id must be a string");
    expect_error("{\"customer\":1,\"amount\":1,\"items\":[\"a\"],\"address\":\"x\"}", "customer",
                 "customer must be a string");
    expect_error("{\"customer\":\"c\",\"amount\":\"1\",\"items\":[\"a\"],\"address\":\"x\"}",
                 "amount", "amount must be a number");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"items\":\"a\",\"address\":\"x\"}", "items",
                 "items must be an array");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"items\":[1],\"address\":\"x\"}", "items",
                 "items[0] must be a string");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"items\":[\"a\"],\"address\":[]}", "address",
                 "address must be a string");
    expect_error("{\"status\":true," GOOD "}", "status", "status must be a string");
    expect_error("{\"notes\":{}," GOOD "}", "notes", "notes must be a string");
    expect_error("{\"priority\":\"1\"," GOOD "}", "priority", "priority must be an integer");
    expect_error("{\"priority\":1.5," GOOD "}", "priority", "priority must be an integer");
    expect_error("{\"id\":null," GOOD "}", "id", "id must be a string");
}

Test(order, required_and_values)
{
    expect_error("{\"amount\":1,\"items\":[\"a\"],\"address\":\"x\"}", "customer",
                 "customer is required");
    expect_error("{\"customer\":\"\",\"amount\":1,\"items\":[\"a\"],\"address\":\"x\"}", "customer",
                 "customer is required");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"items\":[\"a\"]}", "address",
                 "address is required");
    expect_error("{\"customer\":\"c\",\"items\":[\"a\"],\"address\":\"x\"}", "amount",
                 "amount is required");
    expect_error("{\"customer\":\"c\",\"amount\":0,\"items\":[\"a\"],\"address\":\"x\"}", "amount",
                 "greater than 0");
    expect_error("{\"customer\":\"c\",\"amount\":-3,\"items\":[\"a\"],\"address\":\"x\"}", "amount",
                 "greater than 0");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"items\":[],\"address\":\"x\"}", "items",
                 "at least one item");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"address\":\"x\"}", "items",
                 "at least one item");
    expect_error("{\"customer\":\"c\",\"amount\":1,\"items\":[\"\"],\"address\":\"x\"}", "items",
                 "non-empty");
    expect_error("{\"status\":\"lost\"," GOOD "}", "status", "status must be one of");
    expect_error("{\"status\":\"\"," GOOD "}", "status", "status must be one of");
    expect_error("{\"priority\":0," GOOD "}", "priority", "priority must be 1");
    expect_error("{\"priority\":4," GOOD "}", "priority", "priority must be 1");
    expect_error("{\"id\":\"\"," GOOD "}", "id", "id must be 1 to");
    expect_error("{\"id\":\"a/b\"," GOOD "}", "id", "id must be 1 to");
}

Test(order, every_status_accepted)
{
    const char *st[] = {"pending", "paid", "shipped", "delivered", "cancelled"};
    for (int i = 0; i < 5; i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"status\":\"%s\"," GOOD "}", st[i]);
        order_error_t err;
        order_t *o = parse(json, &err);
        cr_assert_not_null(o, "status %s: %s", st[i], err.error);
        order_free(o);
    }
}

Test(order, json_round_trip_escapes)
{
    order_error_t err;
    order_t *o =
        parse("{\"customer\":\"a \\\"q\\\" \\n\\u00e9\",\"amount\":12.25,\"items\":[\"i\"],"
              "\"address\":\"x\"}",
              &err);
    cr_assert_not_null(o, "%s", err.error);
    buf_t b;
    buf_init(&b, 64);
    order_to_json(o, &b);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    cr_assert_not_null(j, "output is not JSON: %s (%s)", b.data, je.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "customer")), o->customer);
    cr_assert_float_eq(json_number_value(json_object_get(j, "amount")), 12.25, 1e-9);
    cr_assert(json_is_string(json_object_get(j, "created_at")), "created_at in %s", b.data);
    json_decref(j);
    buf_destroy(&b);
    order_free(o);
}

Test(order, business_rules)
{
    order_error_t err;
    order_t *o = parse("{\"amount\":2000,\"priority\":1,\"customer\":\"c\",\"items\":[\"a\"],"
                       "\"address\":\"x\"}",
                       &err);
    cr_assert_null(order_validate_for_processing(o));
    order_apply_business_rules(o);
    cr_assert_float_eq(o->final_amount, 1900, 1e-9);
    cr_assert(strstr(o->result, "discount") && strstr(o->result, "expedited"), "%s", o->result);
    order_free(o);

    o = parse("{\"status\":\"cancelled\"," GOOD "}", &err);
    cr_assert_str_eq(order_validate_for_processing(o), "order is cancelled");
    order_free(o);
    o = parse("{\"status\":\"delivered\"," GOOD "}", &err);
    cr_assert_not_null(order_validate_for_processing(o));
    order_free(o);
    o = parse("{\"customer\":\"c\",\"amount\":100001,\"items\":[\"a\"],\"address\":\"x\"}", &err);
    cr_assert(strstr(order_validate_for_processing(o), "limit"));
    order_free(o);
    o = parse("{" GOOD "}", &err);
    order_apply_business_rules(o);
    cr_assert_str_eq(o->result, "Order processed successfully");
    cr_assert_float_eq(o->final_amount, 10.5, 1e-9);
    order_free(o);
}
