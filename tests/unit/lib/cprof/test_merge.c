/* Profile merge, scale and delta (lib/cprof/merge.c) on hand-built
 * profiles: each is made with the real builder, encoded and decoded, so two
 * profiles built separately give the same stacks different ids and the
 * merge must match them by content. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"

typedef struct spec {
    const char *stack; /* "leaf;caller;..." */
    int64_t v[2];
    const char *label; /* "key=value" string label, or NULL */
} spec_t;

static const cprof_value_type_t types2[] = {{"contentions", "count"}, {"delay", "nanoseconds"}};

/* Builds and decodes a profile of the given samples. */
static cprof_profile_t *build(const cprof_value_type_t *types, size_t ntypes,
                              cprof_value_type_t period_type, int64_t time_ns, const spec_t *specs,
                              size_t n)
{
    cprof_pprof_opts_t o = {.sample_types = types,
                            .nsample_types = ntypes,
                            .period_type = period_type,
                            .period = 1,
                            .time_nanos = time_ns};
    cprof_pprof_t *p;
    cr_assert_eq(cprof_pprof_new(&o, &p), 0);
    for (size_t i = 0; i < n; i++) {
        cprof_frame_t frames[8];
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", specs[i].stack);
        size_t nf = 0;
        for (char *save, *t = strtok_r(buf, ";", &save); t && nf < 8;
             t = strtok_r(NULL, ";", &save))
            frames[nf++] = (cprof_frame_t){.function = t, .file = "x.c", .line = (int64_t)nf + 1};
        char kv[64] = "";
        cprof_label_t l = {0};
        if (specs[i].label) {
            snprintf(kv, sizeof(kv), "%s", specs[i].label);
            char *eq = strchr(kv, '=');
            *eq = '\0';
            l = (cprof_label_t){.key = kv, .str = eq + 1};
        }
        cr_assert_eq(
            cprof_pprof_add_sample_frames(p, frames, nf, specs[i].v, &l, specs[i].label ? 1 : 0),
            0);
    }
    uint8_t *data;
    size_t len;
    cr_assert_eq(cprof_pprof_finish(p, false, &data, &len), 0);
    cprof_pprof_free(p);
    cprof_profile_t *out;
    cr_assert_eq(cprof_profile_decode(data, len, &out), 0);
    free(data);
    return out;
}

static cprof_profile_t *build2(int64_t time_ns, const spec_t *specs, size_t n)
{
    return build(types2, 2, (cprof_value_type_t){"contentions", "count"}, time_ns, specs, n);
}

/* "leaf;caller" of sample s, with "|key=value" for a string label. */
static void stack_of(const cprof_profile_t *p, const cprof_pp_sample_t *s, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->nlocations; i++) {
        const cprof_pp_location_t *l = cprof_profile_location(p, s->location_ids[i]);
        cr_assert_not_null(l, "dangling location id %llu", (unsigned long long)s->location_ids[i]);
        for (size_t k = 0; k < l->nlines; k++) {
            const cprof_pp_function_t *f = cprof_profile_function(p, l->lines[k].function_id);
            cr_assert_not_null(f);
            o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ";" : "", f->name);
        }
    }
    for (size_t i = 0; i < s->nlabels; i++)
        if (s->labels[i].str)
            o += (size_t)snprintf(out + o, len - o, "|%s=%s", s->labels[i].key, s->labels[i].str);
}

/* The sample whose stack (and label) reads `stack`, or NULL. */
static const cprof_pp_sample_t *find(const cprof_profile_t *p, const char *stack)
{
    const cprof_pp_sample_t *found = NULL;
    for (size_t i = 0; i < p->nsamples; i++) {
        char buf[256];
        stack_of(p, &p->samples[i], buf, sizeof(buf));
        if (strcmp(buf, stack) == 0) {
            cr_assert_null(found, "stack %s appears twice after the merge", stack);
            found = &p->samples[i];
        }
    }
    return found;
}

static void expect_values(const cprof_profile_t *p, const char *stack, int64_t a, int64_t b)
{
    const cprof_pp_sample_t *s = find(p, stack);
    cr_assert_not_null(s, "no sample %s", stack);
    cr_expect(s->values[0] == a && s->values[1] == b, "%s: expected {%lld, %lld}, got {%lld, %lld}",
              stack, (long long)a, (long long)b, (long long)s->values[0], (long long)s->values[1]);
}

Test(merge, matching_stacks_sum)
{
    const spec_t a[] = {{"f;main", {1, 10}, NULL}, {"g;main", {2, 20}, NULL}};
    /* Built in another order: g;main gets other location ids here. */
    const spec_t b[] = {{"h;main", {4, 40}, NULL}, {"g;main", {3, 30}, NULL}};
    cprof_profile_t *pa = build2(2000, a, 2), *pb = build2(1000, b, 2), *m;
    const cprof_profile_t *srcs[] = {pa, pb};
    cr_assert_eq(cprof_profile_merge(srcs, 2, &m), 0);
    cr_expect_eq(m->nsamples, 3, "expected 3 samples, got %zu", m->nsamples);
    expect_values(m, "f;main", 1, 10);
    expect_values(m, "g;main", 5, 50);
    expect_values(m, "h;main", 4, 40);
    cr_expect_eq(m->time_nanos, 1000, "earliest time: %lld", (long long)m->time_nanos);
    cr_expect_eq(cprof_profile_sample_type(m, "delay"), 1);
    /* The merged profile encodes and decodes again. */
    uint8_t *data;
    size_t len;
    cr_assert_eq(cprof_profile_encode(m, true, &data, &len), 0);
    cprof_profile_t *again;
    cr_assert_eq(cprof_profile_decode(data, len, &again), 0);
    expect_values(again, "g;main", 5, 50);
    free(data);
    cprof_profile_free(again);
    cprof_profile_free(m);
    cprof_profile_free(pa);
    cprof_profile_free(pb);
}

Test(merge, labels_are_part_of_the_key)
{
    const spec_t a[] = {{"f;main", {1, 1}, "thread=a"}, {"f;main", {2, 2}, "thread=b"}};
    const spec_t b[] = {{"f;main", {3, 3}, "thread=b"}};
    cprof_profile_t *pa = build2(1, a, 2), *pb = build2(1, b, 1), *m;
    const cprof_profile_t *srcs[] = {pa, pb};
    cr_assert_eq(cprof_profile_merge(srcs, 2, &m), 0);
    cr_expect_eq(m->nsamples, 2);
    expect_values(m, "f;main|thread=a", 1, 1);
    expect_values(m, "f;main|thread=b", 5, 5);
    cprof_profile_free(m);
    cprof_profile_free(pa);
    cprof_profile_free(pb);
}

Test(merge, different_sample_types_are_an_error)
{
    const spec_t a[] = {{"f;main", {1, 10}, NULL}};
    static const cprof_value_type_t other[] = {{"contentions", "count"}, {"delay", "cycles"}};
    cprof_profile_t *pa = build2(1, a, 1);
    cprof_profile_t *pb = build(other, 2, (cprof_value_type_t){"contentions", "count"}, 1, a, 1);
    cprof_profile_t *pc = build(types2, 1, (cprof_value_type_t){"contentions", "count"}, 1, a, 1);
    cprof_profile_t *pd = build(types2, 2, (cprof_value_type_t){"space", "bytes"}, 1, a, 1);
    cprof_profile_t *m = (cprof_profile_t *)1;
    const cprof_profile_t *ab[] = {pa, pb}, *ac[] = {pa, pc}, *ad[] = {pa, pd};
    cr_expect_eq(cprof_profile_merge(ab, 2, &m), -EINVAL, "unit differs");
    cr_expect_null(m, "no output on error");
    cr_expect_eq(cprof_profile_merge(ac, 2, &m), -EINVAL, "number of types differs");
    cr_expect_eq(cprof_profile_merge(ad, 2, &m), -EINVAL, "period type differs");
    cr_expect_eq(cprof_profile_delta(pa, pb, &m), -EINVAL, "delta checks too");
    cprof_profile_free(pa);
    cprof_profile_free(pb);
    cprof_profile_free(pc);
    cprof_profile_free(pd);
}

Test(merge, delta_subtracts_and_drops_zero_samples)
{
    const spec_t base[] = {{"f;main", {1, 10}, NULL}, {"g;main", {2, 20}, NULL}};
    const spec_t now[] = {
        {"g;main", {5, 50}, NULL}, {"f;main", {1, 10}, NULL}, {"h;main", {1, 1}, NULL}};
    cprof_profile_t *pb = build2(1000, base, 2), *pn = build2(5000, now, 3), *d;
    cr_assert_eq(cprof_profile_delta(pb, pn, &d), 0);
    cr_expect_eq(d->nsamples, 2, "f;main cancels out; got %zu samples", d->nsamples);
    cr_expect_null(find(d, "f;main"), "a sample that became zero is dropped");
    expect_values(d, "g;main", 3, 30);
    expect_values(d, "h;main", 1, 1);
    cr_expect_eq(d->time_nanos, 1000, "time of the base: %lld", (long long)d->time_nanos);
    cr_expect_eq(d->duration_nanos, 4000, "time between: %lld", (long long)d->duration_nanos);
    /* The inputs are untouched. */
    expect_values(pb, "g;main", 2, 20);
    cprof_profile_free(d);
    cprof_profile_free(pb);
    cprof_profile_free(pn);
}

Test(merge, delta_of_a_profile_with_itself_is_empty)
{
    const spec_t a[] = {{"f;main", {1, 10}, NULL}, {"g;main", {2, 20}, NULL}};
    cprof_profile_t *p = build2(1, a, 2), *d;
    cr_assert_eq(cprof_profile_delta(p, p, &d), 0);
    cr_expect_eq(d->nsamples, 0, "got %zu samples", d->nsamples);
    cprof_profile_free(d);
    cprof_profile_free(p);
}

Test(merge, scale_rounds_and_drops_zeros)
{
    const spec_t a[] = {{"f;main", {3, 10}, NULL}, {"g;main", {1, 0}, NULL}};
    cprof_profile_t *p = build2(1, a, 2);
    cr_assert_eq(cprof_profile_scale(p, 0.5), 0);
    expect_values(p, "f;main", 2, 5); /* 1.5 rounds away from zero */
    expect_values(p, "g;main", 1, 0);
    cr_assert_eq(cprof_profile_scale(p, -1), 0);
    expect_values(p, "f;main", -2, -5);
    cr_assert_eq(cprof_profile_scale(p, 0.2), 0);
    cr_expect_eq(p->nsamples, 1, "g;main became {0, 0}: %zu samples", p->nsamples);
    expect_values(p, "f;main", 0, -1);
    cr_expect_eq(cprof_profile_scale(p, NAN), -EINVAL);
    cr_assert_eq(cprof_profile_scale(p, 0), 0);
    cr_expect_eq(p->nsamples, 0);
    cprof_profile_free(p);
}

__attribute__((noinline)) static void marker_a(void) { __asm__ volatile(""); }
__attribute__((noinline)) static void marker_b(void) { __asm__ volatile(""); }

/* Address-based stacks (symbolized by the builder, with mappings): two
 * profiles of the same addresses built separately merge sample by sample,
 * and the executable stays mapping 1. */
Test(merge, symbolized_addresses_match)
{
    uint64_t s1[] = {(uint64_t)(uintptr_t)marker_a + 1, (uint64_t)(uintptr_t)marker_b + 1};
    uint64_t s2[] = {(uint64_t)(uintptr_t)marker_b + 1};
    cprof_profile_t *ps[2];
    for (int k = 0; k < 2; k++) {
        cprof_pprof_opts_t o = {.sample_types = types2, .nsample_types = 2};
        cprof_pprof_t *p;
        cr_assert_eq(cprof_pprof_new(&o, &p), 0);
        int64_t v1[2] = {1, 100}, v2[2] = {2, 200};
        if (k == 0) {
            cr_assert_eq(cprof_pprof_add_sample(p, s1, 2, 0, v1, NULL, 0), 0);
            cr_assert_eq(cprof_pprof_add_sample(p, s2, 1, 0, v2, NULL, 0), 0);
        } else {
            cr_assert_eq(cprof_pprof_add_sample(p, s2, 1, 0, v2, NULL, 0), 0);
            cr_assert_eq(cprof_pprof_add_sample(p, s1, 2, 0, v1, NULL, 0), 0);
        }
        uint8_t *data;
        size_t len;
        cr_assert_eq(cprof_pprof_finish(p, true, &data, &len), 0);
        cprof_pprof_free(p);
        cr_assert_eq(cprof_profile_decode(data, len, &ps[k]), 0);
        free(data);
    }
    cprof_profile_t *m;
    const cprof_profile_t *srcs[] = {ps[0], ps[1]};
    cr_assert_eq(cprof_profile_merge(srcs, 2, &m), 0);
    cr_expect_eq(m->nsamples, 2, "got %zu samples", m->nsamples);
    expect_values(m, "marker_a;marker_b", 2, 200);
    expect_values(m, "marker_b", 4, 400);
    cr_assert(m->nmappings >= 1);
    cr_expect_str_eq(m->mappings[0].filename, ps[0]->mappings[0].filename,
                     "the first mapping stays first");
    cr_expect_str_eq(m->mappings[0].build_id, ps[0]->mappings[0].build_id);
    cprof_profile_free(m);
    cprof_profile_free(ps[0]);
    cprof_profile_free(ps[1]);
}
