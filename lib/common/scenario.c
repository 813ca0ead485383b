/* Scenarios and order shapes.
 *
 * The scenario table mirrors the seed's load test (normal, high, burst run
 * one after the other) plus `mixed`, the seed's createTestOrder stream. An
 * order is written straight into the caller's buffer with the buf JSON
 * helpers: no JSON library, no allocation beyond the buffer's growth, so a
 * load generator can build tens of thousands per second on one core.
 *
 * Amounts are computed in integer cents and printed with two decimals, so
 * the server sees the exact value a human would type. The catalog's prices
 * make a realistic order's amount the sum of its items. */
#include "common/scenario.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define S_NS 1000000000LL

static const scenario_t scenarios[] = {
    {"normal", "10 orders/s for 30 s, priority 2", 1, {{"normal", 10, 30 * S_NS, 2, false, 0}}},
    {"high", "50 orders/s for 20 s, priority 1", 1, {{"high", 50, 20 * S_NS, 1, false, 0}}},
    {"burst", "100 orders/s for 10 s, priority 3", 1, {{"burst", 100, 10 * S_NS, 3, false, 0}}},
    {"mixed",
     "20 orders/s for 30 s, random priorities, amounts and items; ~8% fail the business rules",
     1,
     {{"mixed", 20, 30 * S_NS, SCENARIO_PRIORITY_RANDOM, true, 0}}},
    {"all",
     "normal, high and burst in sequence with 2 s pauses (64 s)",
     3,
     {{"normal", 10, 30 * S_NS, 2, false, 2 * S_NS},
      {"high", 50, 20 * S_NS, 1, false, 2 * S_NS},
      {"burst", 100, 10 * S_NS, 3, false, 0}}},
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

const scenario_t *scenario_find(const char *name)
{
    for (size_t i = 0; name && i < NSCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

const char *scenario_names(void) { return "normal, high, burst, mixed, all"; }

int64_t scenario_total_ns(const scenario_t *s)
{
    int64_t t = 0;
    for (int i = 0; i < s->nphases; i++)
        t += s->phases[i].duration_ns + s->phases[i].pause_after_ns;
    return t;
}

void scenario_scale(const scenario_t *s, int64_t total_ns, scenario_t *out)
{
    *out = *s;
    double k = (double)total_ns / (double)scenario_total_ns(s);
    for (int i = 0; i < out->nphases; i++) {
        out->phases[i].duration_ns = (int64_t)llround((double)s->phases[i].duration_ns * k);
        out->phases[i].pause_after_ns = (int64_t)llround((double)s->phases[i].pause_after_ns * k);
    }
}

uint64_t scenario_phase_orders(const scenario_phase_t *p)
{
    return (uint64_t)llround(p->rate * (double)p->duration_ns / 1e9);
}

uint64_t scenario_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int scenario_rng_range(uint64_t *state, int lo, int hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int)(scenario_rng_next(state) % span);
}

/* ---- order shapes ----------------------------------------------------- */

typedef struct product {
    const char *name;
    int cents;
} product_t;

static const product_t catalog[] = {
    {"laptop", 129900},        {"wireless mouse", 2999}, {"mechanical keyboard", 8950},
    {"27\" monitor", 32900},   {"usb-c hub", 4599},      {"headphones", 19900},
    {"webcam", 6999},          {"desk lamp", 3450},      {"office chair", 24900},
    {"notebook", 499},         {"fountain pen", 3800},   {"coffee beans 1kg", 2450},
    {"espresso cups", 1890},   {"water bottle", 1500},   {"backpack", 7900},
    {"phone case", 1999},      {"charging cable", 999},  {"power bank", 3999},
    {"paperback novel", 1299}, {"board game", 4299},     {"running shoes", 11900},
    {"yoga mat", 2999},        {"tea sampler", 2199},    {"houseplant", 2600},
};
#define NCATALOG ((int)(sizeof(catalog) / sizeof(catalog[0])))

static const char *const first_names[] = {
    "Ada",   "Grace",    "Alan",    "Edsger",  "Barbara", "Donald", "Ken", "Dennis",
    "Linus", "Margaret", "Niklaus", "Frances", "John",    "Radia",  "Tim", "Sophie",
};
static const char *const last_names[] = {
    "Lovelace", "Hopper",   "Turing", "Dijkstra", "Liskov",   "Knuth",   "Thompson",    "Ritchie",
    "Torvalds", "Hamilton", "Wirth",  "Allen",    "McCarthy", "Perlman", "Berners-Lee", "Wilson",
};
static const char *const streets[] = {
    "Main St",      "Oak Avenue",  "Market Street", "Elm Road",      "Harbor Way",
    "Station Road", "Maple Drive", "King's Parade", "Rue de Rivoli", "Baker Street",
};
static const char *const cities[] = {
    "Springfield, IL 62701", "Portland, OR 97201", "Austin, TX 73301", "Boston, MA 02108",
    "London NW1 6XE",        "Paris 75001",        "Berlin 10115",     "Toronto, ON M5H 2N2",
};
static const char *const notes[] = {
    "leave at the front door",   "gift wrap, please", "call on arrival",
    "fragile: handle with care", "deliver after 5pm", "no plastic packaging",
};

#define PICK(rng, arr) (arr)[scenario_rng_next(rng) % (sizeof(arr) / sizeof((arr)[0]))]

static void put_amount(buf_t *out, bool *first, long long cents)
{
    buf_json_key(out, "amount", first);
    buf_printf(out, "%lld.%02lld", cents / 100, cents % 100);
}

static void put_address(buf_t *out, bool *first, uint64_t *rng)
{
    char addr[128];
    snprintf(addr, sizeof(addr), "%d %s, %s", scenario_rng_range(rng, 1, 999), PICK(rng, streets),
             PICK(rng, cities));
    buf_json_key(out, "address", first);
    buf_json_str(out, addr);
}

static void put_customer(buf_t *out, bool *first, uint64_t *rng)
{
    char name[64];
    snprintf(name, sizeof(name), "%s %s", PICK(rng, first_names), PICK(rng, last_names));
    buf_json_key(out, "customer", first);
    buf_json_str(out, name);
}

static void realistic_order(buf_t *out, uint64_t *rng, int priority)
{
    bool first = true;
    buf_putc(out, '{');
    put_customer(out, &first, rng);
    buf_json_key(out, "items", &first);
    buf_putc(out, '[');
    int nitems = scenario_rng_range(rng, 1, 5);
    long long cents = 0;
    for (int i = 0; i < nitems; i++) {
        const product_t *p = &catalog[scenario_rng_next(rng) % NCATALOG];
        if (i)
            buf_putc(out, ',');
        buf_json_str(out, p->name);
        cents += p->cents;
    }
    buf_putc(out, ']');
    put_amount(out, &first, cents);
    buf_json_key(out, "status", &first);
    buf_json_str(out, scenario_rng_next(rng) % 4 == 0 ? "paid" : "pending");
    put_address(out, &first, rng);
    if (scenario_rng_next(rng) % 5 < 2) {
        buf_json_key(out, "notes", &first);
        buf_json_str(out, PICK(rng, notes));
    }
    buf_json_key(out, "priority", &first);
    buf_json_i64(out, priority);
    buf_putc(out, '}');
}

/* The seed's createTestOrder: synthetic customers and items, random
 * amounts, and a few orders the processing rules reject (cancelled,
 * already delivered, above the automatic-processing limit). */
static void mixed_order(buf_t *out, uint64_t *rng, int priority)
{
    bool first = true;
    int roll = scenario_rng_range(rng, 0, 99);
    const char *status = roll < 5 ? "cancelled" : roll < 7 ? "delivered" : "pending";
    long long cents = roll == 7 ? 10000000 + scenario_rng_range(rng, 1, 5000000)
                                : scenario_rng_range(rng, 100, 250000);
    if (roll >= 8 && roll < 20)
        status = roll < 14 ? "paid" : "shipped";
    char s[48];

    buf_putc(out, '{');
    buf_json_key(out, "customer", &first);
    snprintf(s, sizeof(s), "customer-%d", scenario_rng_range(rng, 1, 1000));
    buf_json_str(out, s);
    put_amount(out, &first, cents);
    buf_json_key(out, "items", &first);
    buf_putc(out, '[');
    int nitems = scenario_rng_range(rng, 1, 12);
    for (int i = 0; i < nitems; i++) {
        if (i)
            buf_putc(out, ',');
        snprintf(s, sizeof(s), "item-%d", scenario_rng_range(rng, 1, 500));
        buf_json_str(out, s);
    }
    buf_putc(out, ']');
    buf_json_key(out, "status", &first);
    buf_json_str(out, status);
    buf_json_key(out, "address", &first);
    snprintf(s, sizeof(s), "%d Test Street", scenario_rng_range(rng, 1, 9999));
    buf_json_str(out, s);
    buf_json_key(out, "notes", &first);
    buf_json_str(out, "test order");
    buf_json_key(out, "priority", &first);
    buf_json_i64(out, priority);
    buf_putc(out, '}');
}

void scenario_order_json(buf_t *out, uint64_t *rng, int priority, bool mixed)
{
    if (priority < 1 || priority > 3)
        priority = scenario_rng_range(rng, 1, 3);
    if (mixed)
        mixed_order(out, rng, priority);
    else
        realistic_order(out, rng, priority);
}
