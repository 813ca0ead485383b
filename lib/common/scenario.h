#ifndef COMMON_SCENARIO_H
#define COMMON_SCENARIO_H

/* Load scenarios and order shapes (the seed's load test, in C).
 *
 * A scenario is a fixed list of phases; each phase sends orders at a
 * constant rate for a duration, then pauses. `normal` (10/s, 30 s,
 * priority 2), `high` (50/s, 20 s, priority 1), `burst` (100/s, 10 s,
 * priority 3), `mixed` (20/s, 30 s, the seed's random test orders: random
 * priority 1-3, random amounts and items, about 8% that fail the business
 * rules at processing time) and `all` (normal, high and burst in sequence
 * with 2 s pauses).
 *
 * The tables are static and read-only; every function is thread-safe. The
 * order generator keeps no global state: its randomness comes from the
 * caller's RNG state, so the same seed gives the same orders. */

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

#define SCENARIO_MAX_PHASES 3

/* Priority value meaning "random 1-3 per order". */
#define SCENARIO_PRIORITY_RANDOM 0

typedef struct scenario_phase {
    const char *name;       /* "normal", "high", ... */
    double rate;            /* orders per second */
    int64_t duration_ns;    /* how long the phase sends */
    int priority;           /* 1-3, or SCENARIO_PRIORITY_RANDOM */
    bool mixed;             /* the seed's random test orders (some fail the rules) */
    int64_t pause_after_ns; /* quiet time before the next phase (0 for the last) */
} scenario_phase_t;

typedef struct scenario {
    const char *name;
    const char *description;
    int nphases;
    scenario_phase_t phases[SCENARIO_MAX_PHASES];
} scenario_t;

/* The scenario called name, or NULL. The result points to static storage. */
const scenario_t *scenario_find(const char *name);
/* The known names, comma-separated ("normal, high, burst, mixed, all"). */
const char *scenario_names(void);
/* Total wall time of a scenario: every phase and pause. */
int64_t scenario_total_ns(const scenario_t *s);
/* Copies s into out with every phase and pause scaled so that the total is
 * total_ns (the `--duration` override; rates are unchanged). */
void scenario_scale(const scenario_t *s, int64_t total_ns, scenario_t *out);
/* Number of orders a phase sends: rate × duration, rounded. */
uint64_t scenario_phase_orders(const scenario_phase_t *p);

/* A fast 64-bit RNG (splitmix64) over caller-owned state. */
uint64_t scenario_rng_next(uint64_t *state);
/* Uniform integer in [lo, hi]. */
int scenario_rng_range(uint64_t *state, int lo, int hi);

/* Appends one order as a JSON object to out (no "id": the server assigns
 * one). priority is 1-3 or SCENARIO_PRIORITY_RANDOM; mixed selects the
 * seed's random test orders, otherwise a realistic order (customer, items
 * from a catalog, amount = their total, address, optional notes, status
 * pending or paid). */
void scenario_order_json(buf_t *out, uint64_t *rng, int priority, bool mixed);

#endif
