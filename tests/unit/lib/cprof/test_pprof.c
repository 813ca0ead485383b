/* The profile.proto builder and encoder, checked through the decoder:
 * varint edge cases, negative int64, string table dedupe, labels, synthetic
 * frames, mappings, symbolized locations, gzip, and malformed input. */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "cprof/pb.h"

static const cprof_value_type_t types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};

static cprof_pprof_t *new_builder(void)
{
    cprof_pprof_opts_t o = {.sample_types = types,
                            .nsample_types = 2,
                            .period_type = {"cpu", "nanoseconds"},
                            .period = 10000000,
                            .default_sample_type = "cpu",
                            .time_nanos = 1700000000123456789LL,
                            .duration_nanos = 5000000000LL};
    cprof_pprof_t *p = NULL;
    cr_assert_eq(cprof_pprof_new(&o, &p), 0);
    return p;
}

static cprof_profile_t *finish_decode(cprof_pprof_t *p, bool gzip)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = cprof_pprof_finish(p, gzip, &data, &len);
    cr_assert_eq(rc, 0, "finish: %s", cprof_strerror(rc));
    if (gzip)
        cr_assert(len > 2 && data[0] == 0x1f && data[1] == 0x8b, "gzip magic expected");
    cprof_profile_t *d = NULL;
    rc = cprof_profile_decode(data, len, &d);
    cr_assert_eq(rc, 0, "decode: %s", cprof_strerror(rc));
    free(data);
    return d;
}

Test(pprof, varint_edges_round_trip)
{
    static const int64_t edge[] = {0, 1, 127, 128, 16383, 16384, INT64_MAX, -1, INT64_MIN, -128};
    size_t n = sizeof(edge) / sizeof(edge[0]);
    cprof_pprof_t *p = new_builder();
    for (size_t i = 0; i < n; i++) {
        int64_t v[2] = {edge[i], edge[n - 1 - i]};
        cprof_frame_t f = {"edge", "e.c", edge[i] >= 0 ? edge[i] % 1000 : 7};
        cr_assert_eq(cprof_pprof_add_sample_frames(p, &f, 1, v, NULL, 0), 0);
    }
    cprof_profile_t *d = finish_decode(p, true);
    cr_assert_eq(d->nsamples, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(d->samples[i].nvalues, 2);
        cr_assert_eq(d->samples[i].values[0], edge[i], "sample %zu: expected %lld, got %lld", i,
                     (long long)edge[i], (long long)d->samples[i].values[0]);
        cr_assert_eq(d->samples[i].values[1], edge[n - 1 - i]);
    }
    cr_assert_eq(d->time_nanos, 1700000000123456789LL);
    cr_assert_eq(d->duration_nanos, 5000000000LL);
    cr_assert_eq(d->period, 10000000);
    cr_assert_str_eq(d->period_type.type, "cpu");
    cr_assert_str_eq(d->period_type.unit, "nanoseconds");
    cr_assert_str_eq(d->default_sample_type, "cpu");
    cr_assert_eq(d->nsample_types, 2);
    cr_assert_str_eq(d->sample_types[0].type, "samples");
    cr_assert_str_eq(d->sample_types[1].unit, "nanoseconds");
    cprof_pprof_free(p);
    cprof_profile_free(d);
}

Test(pprof, raw_varint_bytes)
{
    static const struct {
        uint64_t v;
        size_t len;
        uint8_t first, last;
    } cases[] = {{0, 1, 0x00, 0x00},    {127, 1, 0x7f, 0x7f},         {128, 2, 0x80, 0x01},
                 {300, 2, 0xac, 0x02},  {1ULL << 63, 10, 0x80, 0x01}, {UINT64_MAX, 10, 0xff, 0x01},
                 {16384, 3, 0x80, 0x01}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cprof__buf_t b = {0};
        cprof__pb_varint(&b, cases[i].v);
        cr_assert_eq(b.len, cases[i].len, "varint %llu: %zu bytes, expected %zu",
                     (unsigned long long)cases[i].v, b.len, cases[i].len);
        cr_assert_eq(b.data[0], cases[i].first);
        cr_assert_eq(b.data[b.len - 1], cases[i].last);
        cprof__buf_destroy(&b);
    }
    /* Negative int64 is a 10-byte varint of its two's complement. */
    cprof__buf_t b = {0};
    cprof__pb_int(&b, 1, -1);
    cr_assert_eq(b.len, 11);
    cprof__buf_destroy(&b);
}

Test(pprof, addresses_and_string_table)
{
    cprof_pprof_t *p = new_builder();
    /* Addresses outside any mapping: symbolized as "0x..." frames. */
    uint64_t pcs1[] = {1ULL << 63, 128, 127};
    uint64_t pcs2[] = {128, 127};
    int64_t v[2] = {3, 30000000};
    cprof_label_t l1[] = {{.key = "thread", .str = "worker-1"},
                          {.key = "bytes", .num = -42, .num_unit = "bytes"}};
    cprof_label_t l2[] = {{.key = "thread", .str = "worker-1"}};
    cr_assert_eq(cprof_pprof_add_sample(p, pcs1, 3, CPROF_PCS_LEAF_EXACT, v, l1, 2), 0);
    cr_assert_eq(cprof_pprof_add_sample(p, pcs2, 2, 0, v, l2, 1), 0);
    cr_assert_eq(cprof_pprof_add_sample(p, NULL, 0, 0, v, NULL, 0), 0);
    cr_assert_eq(cprof_pprof_add_comment(p, "hello"), 0);
    cr_assert_eq(cprof_pprof_count(p), 3);
    cprof_profile_t *d = finish_decode(p, false);

    cr_assert_eq(d->nsamples, 3);
    cr_assert_str_eq(d->strings[0], "", "string_table[0] must be empty");
    size_t threads = 0, workers = 0;
    for (size_t i = 0; i < d->nstrings; i++) {
        threads += strcmp(d->strings[i], "thread") == 0;
        workers += strcmp(d->strings[i], "worker-1") == 0;
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(d->strings[i], d->strings[j], "string %zu duplicated at %zu", i, j);
    }
    cr_assert_eq(threads, 1);
    cr_assert_eq(workers, 1);

    const cprof_pp_sample_t *s = &d->samples[0];
    cr_assert_eq(s->nlocations, 3);
    cr_assert_eq(s->nlabels, 2);
    cr_assert_str_eq(s->labels[0].key, "thread");
    cr_assert_str_eq(s->labels[0].str, "worker-1");
    cr_assert_null(s->labels[1].str, "numeric label expected");
    cr_assert_eq(s->labels[1].num, -42);
    cr_assert_str_eq(s->labels[1].num_unit, "bytes");
    const cprof_pp_location_t *top = cprof_profile_location(d, s->location_ids[0]);
    cr_assert_not_null(top);
    cr_assert_eq(top->address, 1ULL << 63);
    /* 128 as the exact leaf of nothing, and 128 as a return address are
     * different locations; the same return address is one location. */
    const cprof_pp_sample_t *s2 = &d->samples[1];
    cr_assert_eq(s2->nlocations, 2);
    cr_assert_eq(s2->location_ids[0], s->location_ids[1], "same pc, same location");
    cr_assert_eq(s2->location_ids[1], s->location_ids[2]);
    cr_assert_eq(d->samples[2].nlocations, 0);
    cr_assert_eq(d->ncomments, 1);
    cr_assert_str_eq(d->comments[0], "hello");
    for (size_t i = 0; i < d->nlocations; i++) {
        cr_assert(d->locations[i].nlines >= 1, "every location is symbolized");
        const cprof_pp_function_t *f =
            cprof_profile_function(d, d->locations[i].lines[0].function_id);
        cr_assert_not_null(f);
        cr_assert(strncmp(f->name, "0x", 2) == 0, "unmapped address named 0x..., got %s", f->name);
    }
    cprof_pprof_free(p);
    cprof_profile_free(d);
}

static int marker_function(int x) { return x * 3 + 1; }

Test(pprof, mappings_and_symbols_of_this_process)
{
    cprof_pprof_t *p = new_builder();
    uint64_t pcs[] = {(uint64_t)(uintptr_t)marker_function, (uint64_t)(uintptr_t)malloc + 1};
    int64_t v[2] = {1, 10};
    cr_assert_eq(cprof_pprof_add_sample(p, pcs, 2, CPROF_PCS_LEAF_EXACT, v, NULL, 0), 0);
    cprof_profile_t *d = finish_decode(p, true);
    cr_assert(d->nmappings >= 2, "executable mappings expected, got %zu", d->nmappings);
    cr_assert(strstr(d->mappings[0].filename, "test_pprof") != NULL, "main program first, got %s",
              d->mappings[0].filename);
    cr_assert(strlen(d->mappings[0].build_id) >= 16, "build ID expected, got '%s'",
              d->mappings[0].build_id);
    cr_assert(d->mappings[0].has_functions && d->mappings[0].has_line_numbers);
    const cprof_pp_location_t *l = cprof_profile_location(d, d->samples[0].location_ids[0]);
    cr_assert_eq(l->mapping_id, d->mappings[0].id);
    const cprof_pp_function_t *f = cprof_profile_function(d, l->lines[0].function_id);
    cr_assert_str_eq(f->name, "marker_function");
    cr_assert(strstr(f->filename, "test_pprof.c"), "file expected, got %s", f->filename);
    cr_assert(marker_function(1) == 4);
    l = cprof_profile_location(d, d->samples[0].location_ids[1]);
    f = cprof_profile_function(d, l->lines[l->nlines - 1].function_id);
    cr_assert(strstr(f->name, "malloc") != NULL, "malloc's frame named, got %s", f->name);
    cprof_pprof_free(p);
    cprof_profile_free(d);
}

Test(pprof, encode_decoded_profile_round_trip)
{
    cprof_pprof_t *p = new_builder();
    uint64_t pcs[] = {(uint64_t)(uintptr_t)marker_function};
    int64_t v[2] = {5, 50};
    cprof_label_t l[] = {{.key = "thread", .str = "main"}, {.key = "n", .num = 9}};
    cprof_frame_t lost = {"[lost samples]", NULL, 0};
    cr_assert_eq(cprof_pprof_add_sample(p, pcs, 1, CPROF_PCS_LEAF_EXACT, v, l, 2), 0);
    cr_assert_eq(cprof_pprof_add_sample_frames(p, &lost, 1, v, NULL, 0), 0);
    cprof_profile_t *a = finish_decode(p, true);
    uint8_t *data;
    size_t len;
    cr_assert_eq(cprof_profile_encode(a, true, &data, &len), 0);
    cprof_profile_t *b = NULL;
    cr_assert_eq(cprof_profile_decode(data, len, &b), 0);
    free(data);
    cr_assert_eq(a->nsamples, b->nsamples);
    cr_assert_eq(a->nlocations, b->nlocations);
    cr_assert_eq(a->nfunctions, b->nfunctions);
    cr_assert_eq(a->nmappings, b->nmappings);
    for (size_t i = 0; i < a->nsamples; i++) {
        cr_assert_eq(a->samples[i].nlocations, b->samples[i].nlocations);
        cr_assert_eq(a->samples[i].values[1], b->samples[i].values[1]);
        cr_assert_eq(a->samples[i].nlabels, b->samples[i].nlabels);
    }
    cr_assert_eq(b->samples[0].labels[1].num, 9);
    cr_assert_str_eq(a->mappings[0].build_id, b->mappings[0].build_id);
    cr_assert_eq(a->time_nanos, b->time_nanos);
    const cprof_pp_location_t *ll = cprof_profile_location(b, b->samples[1].location_ids[0]);
    cr_assert_str_eq(cprof_profile_function(b, ll->lines[0].function_id)->name, "[lost samples]");
    cprof_pprof_free(p);
    cprof_profile_free(a);
    cprof_profile_free(b);
}

Test(pprof, malformed_input_is_rejected)
{
    static const uint8_t truncated[] = {0x12, 0x05, 0x0a, 0x01};
    static const uint8_t bad_string_index[] = {0x32, 0x00, 0x48, 0x01, 0x70, 0x05};
    static const uint8_t bad_gzip[] = {0x1f, 0x8b, 0x08, 0x00, 0x01};
    cprof_profile_t *d = NULL;
    cr_assert_eq(cprof_profile_decode(truncated, sizeof(truncated), &d), -EBADMSG);
    cr_assert_eq(cprof_profile_decode(bad_string_index, sizeof(bad_string_index), &d), -EBADMSG);
    cr_assert_eq(cprof_profile_decode(bad_gzip, sizeof(bad_gzip), &d), -EBADMSG);
    cr_assert_null(d);
    cr_assert_eq(cprof_profile_decode("", 0, &d), 0, "an empty message is an empty profile");
    cr_assert_eq(d->nsamples, 0);
    cprof_profile_free(d);
}
