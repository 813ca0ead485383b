/* Scenarios and order shapes: the table matches the seed, every generated
 * order is valid JSON that orderd's validation accepts, priorities follow
 * the scenario, and the mixed stream has the intended distribution. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "common/scenario.h"

#define S_NS 1000000000LL

static const char *const statuses[] = {"pending", "paid", "shipped", "delivered", "cancelled"};

/* Parses one generated order and checks it against DESIGN.md's rules (the
 * ones orderd answers 400 for). Returns the parsed object (decref it). */
static json_t *parse_valid(const buf_t *b)
{
    json_error_t err;
    json_t *o = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &err);
    cr_assert_not_null(o, "not JSON (%s) in: %s", err.text, b->data);
    cr_assert(json_is_object(o), "not an object: %s", b->data);
    cr_assert_null(json_object_get(o, "id"), "the server assigns ids: %s", b->data);

    json_t *v = json_object_get(o, "customer");
    cr_assert(json_is_string(v) && json_string_length(v) > 0, "customer: %s", b->data);
    v = json_object_get(o, "address");
    cr_assert(json_is_string(v) && json_string_length(v) > 0, "address: %s", b->data);
    v = json_object_get(o, "amount");
    cr_assert(json_is_number(v) && json_number_value(v) > 0, "amount: %s", b->data);
    v = json_object_get(o, "items");
    cr_assert(json_is_array(v) && json_array_size(v) > 0, "items: %s", b->data);
    for (size_t i = 0; i < json_array_size(v); i++)
        cr_assert(json_is_string(json_array_get(v, i)), "item %zu: %s", i, b->data);
    v = json_object_get(o, "status");
    cr_assert(json_is_string(v), "status: %s", b->data);
    bool known = false;
    for (size_t i = 0; i < 5; i++)
        known = known || strcmp(json_string_value(v), statuses[i]) == 0;
    cr_assert(known, "status '%s' is not one orderd accepts", json_string_value(v));
    v = json_object_get(o, "priority");
    cr_assert(json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 3,
              "priority: %s", b->data);
    v = json_object_get(o, "notes");
    cr_assert(!v || json_is_string(v), "notes: %s", b->data);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        static const char *const known_keys[] = {"customer", "address",  "amount", "items",
                                                 "status",   "priority", "notes"};
        bool ok = false;
        for (size_t i = 0; i < 7; i++)
            ok = ok || strcmp(key, known_keys[i]) == 0;
        cr_assert(ok, "unknown field '%s' would be a 400", key);
    }
    return o;
}

/* Mirrors orderd's order_validate_for_processing. */
static bool fails_rules(json_t *o)
{
    const char *st = json_string_value(json_object_get(o, "status"));
    return strcmp(st, "cancelled") == 0 || strcmp(st, "delivered") == 0 ||
           json_number_value(json_object_get(o, "amount")) > 100000;
}

Test(scenario, table_matches_the_seed)
{
    struct {
        const char *name;
        double rate;
        int64_t dur;
        int prio;
    } want[] = {
        {"normal", 10, 30 * S_NS, 2}, {"high", 50, 20 * S_NS, 1}, {"burst", 100, 10 * S_NS, 3}};
    for (size_t i = 0; i < 3; i++) {
        const scenario_t *s = scenario_find(want[i].name);
        cr_assert_not_null(s, "%s missing", want[i].name);
        cr_assert_eq(s->nphases, 1);
        cr_assert_eq(s->phases[0].rate, want[i].rate, "%s rate %.1f", want[i].name,
                     s->phases[0].rate);
        cr_assert_eq(s->phases[0].duration_ns, want[i].dur);
        cr_assert_eq(s->phases[0].priority, want[i].prio);
        cr_assert(!s->phases[0].mixed);
    }
    const scenario_t *all = scenario_find("all");
    cr_assert_eq(all->nphases, 3);
    cr_assert_str_eq(all->phases[0].name, "normal");
    cr_assert_str_eq(all->phases[1].name, "high");
    cr_assert_str_eq(all->phases[2].name, "burst");
    cr_assert_eq(all->phases[2].pause_after_ns, 0, "no pause after the last phase");
    cr_assert_eq(scenario_total_ns(all), 64 * S_NS);
    const scenario_t *mixed = scenario_find("mixed");
    cr_assert(mixed->phases[0].mixed);
    cr_assert_eq(mixed->phases[0].priority, SCENARIO_PRIORITY_RANDOM);
    cr_assert_null(scenario_find("nope"));
    cr_assert_null(scenario_find(NULL));
    cr_assert_eq(scenario_phase_orders(&scenario_find("normal")->phases[0]), 300);
}

Test(scenario, scale_keeps_rates_and_proportions)
{
    scenario_t s;
    scenario_scale(scenario_find("all"), 6400000000LL, &s);
    cr_assert_eq(scenario_total_ns(&s), 6400000000LL);
    cr_assert_eq(s.phases[0].duration_ns, 3 * S_NS);
    cr_assert_eq(s.phases[1].duration_ns, 2 * S_NS);
    cr_assert_eq(s.phases[2].duration_ns, 1 * S_NS);
    cr_assert_eq(s.phases[0].pause_after_ns, 200000000LL);
    cr_assert_eq(s.phases[1].rate, 50);
    cr_assert_eq(scenario_phase_orders(&s.phases[1]), 100);
}

Test(scenario, realistic_orders_are_valid_and_keep_the_priority)
{
    buf_t b;
    buf_init(&b, 512);
    uint64_t rng = 42;
    for (int prio = 1; prio <= 3; prio++) {
        for (int i = 0; i < 2000; i++) {
            buf_reset(&b);
            scenario_order_json(&b, &rng, prio, false);
            json_t *o = parse_valid(&b);
            cr_assert_eq(json_integer_value(json_object_get(o, "priority")), prio);
            cr_assert(!fails_rules(o), "a realistic order fails the business rules: %s", b.data);
            cr_assert_lt(json_array_size(json_object_get(o, "items")), 6);
            json_decref(o);
        }
    }
    buf_destroy(&b);
}

Test(scenario, mixed_distribution)
{
    buf_t b;
    buf_init(&b, 512);
    uint64_t rng = 7;
    int n = 10000, by_prio[4] = {0}, failing = 0, cancelled = 0;
    for (int i = 0; i < n; i++) {
        buf_reset(&b);
        scenario_order_json(&b, &rng, SCENARIO_PRIORITY_RANDOM, true);
        json_t *o = parse_valid(&b);
        by_prio[json_integer_value(json_object_get(o, "priority"))]++;
        failing += fails_rules(o);
        cancelled += strcmp(json_string_value(json_object_get(o, "status")), "cancelled") == 0;
        json_decref(o);
    }
    for (int p = 1; p <= 3; p++)
        cr_assert(by_prio[p] > n / 3 - n / 25 && by_prio[p] < n / 3 + n / 25,
                  "priority %d: %d of %d orders, want about a third", p, by_prio[p], n);
    cr_assert(failing > n * 5 / 100 && failing < n * 12 / 100,
              "%d of %d mixed orders fail the rules, want about 8%%", failing, n);
    cr_assert_gt(cancelled, 0);
    buf_destroy(&b);
}

Test(scenario, same_seed_same_orders)
{
    buf_t a, b;
    buf_init(&a, 512);
    buf_init(&b, 512);
    uint64_t r1 = 99, r2 = 99, r3 = 100;
    for (int i = 0; i < 100; i++) {
        scenario_order_json(&a, &r1, 2, i % 2);
        scenario_order_json(&b, &r2, 2, i % 2);
    }
    cr_assert_str_eq(a.data, b.data);
    buf_reset(&b);
    for (int i = 0; i < 100; i++)
        scenario_order_json(&b, &r3, 2, i % 2);
    cr_assert_str_neq(a.data, b.data, "a different seed must give different orders");
    buf_destroy(&a);
    buf_destroy(&b);
}

Test(scenario, rng_range_bounds)
{
    uint64_t rng = 1;
    int seen[6] = {0};
    for (int i = 0; i < 6000; i++) {
        int v = scenario_rng_range(&rng, 10, 15);
        cr_assert(v >= 10 && v <= 15, "%d out of [10,15]", v);
        seen[v - 10]++;
    }
    for (int i = 0; i < 6; i++)
        cr_assert_gt(seen[i], 800, "value %d came %d times in 6000", i + 10, seen[i]);
}
