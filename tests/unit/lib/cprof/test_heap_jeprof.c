/* The jemalloc heap_v2 dump parser on fixed texts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cprof/jeprof.h"

static const char dump[] =
    "heap_v2/524288\n"
    "  t*: 3: 300 [10: 5000]\n"
    "  t0: 3: 300 [10: 5000]\n"
    "@ 0x7f306a0a2630 0xdeadbeef 0x55c02cab2166\n"
    "  t*: 2: 200 [4: 4000]\n"
    "  t0: 2: 200 [4: 4000]\n"
    "@ 0xabc\n"
    "  t*: 1: 100 [6: 1000]\n"
    "\n"
    "MAPPED_LIBRARIES:\n"
    "55c02cab1000-55c02cab2000 r-xp 00001000 fe:00 10953315                   /tmp/t\n"
    "7f3060800000-7f3067000000 rw-p 00000000 00:00 0 \n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

Test(jeprof, parses_a_dump)
{
    cprof__jeprof_t p;
    cr_assert_eq(cprof__jeprof_parse(dump, strlen(dump), &p), 0);
    cr_expect_eq(p.period, 524288);
    cr_expect_eq(p.total.cur_objs, 3);
    cr_expect_eq(p.total.acc_bytes, 5000);
    cr_assert_eq(p.nsamples, 2);
    cr_expect_eq(p.samples[0].nframes, 3);
    cr_expect_eq(p.frames[p.samples[0].first_frame + 1], 0xdeadbeef);
    cr_expect_eq(p.samples[0].counts.cur_bytes, 200);
    cr_expect_eq(p.samples[0].counts.acc_objs, 4);
    cr_expect_eq(p.samples[1].nframes, 1);
    cr_expect_eq(p.frames[p.samples[1].first_frame], 0xabc);
    cr_expect_eq(p.samples[1].counts.acc_bytes, 1000);
    cr_assert_eq(p.nmaps, 3);
    cr_expect_eq(p.maps[0].start, 0x55c02cab1000);
    cr_expect_eq(p.maps[0].offset, 0x1000);
    cr_expect_str_eq(p.maps[0].perms, "r-xp");
    cr_expect_str_eq(p.maps[0].path, "/tmp/t");
    cr_expect_str_eq(p.maps[1].path, "");
    cr_expect_eq(p.maps[2].start, 0xffffffffff600000);
    cr_expect_str_eq(p.maps[2].path, "[vsyscall]");
    cprof__jeprof_destroy(&p);
}

Test(jeprof, accum_part_is_optional)
{
    const char t[] = "heap_v2/1\n t*: 1: 8\n@ 0x1\n t*: 1: 8\n";
    cprof__jeprof_t p;
    cr_assert_eq(cprof__jeprof_parse(t, strlen(t), &p), 0);
    cr_expect_eq(p.period, 1);
    cr_assert_eq(p.nsamples, 1);
    cr_expect_eq(p.samples[0].counts.cur_bytes, 8);
    cr_expect_eq(p.samples[0].counts.acc_bytes, 0);
    cprof__jeprof_destroy(&p);
}

Test(jeprof, rejects_malformed_dumps)
{
    static const char *bad[] = {
        "",
        "heap profile: 1: 2 [3: 4] @ heap/1048576\n", /* Go's format, not jemalloc's */
        "heap_v2/0\n t*: 0: 0\n",                     /* no period */
        "heap_v2/8\n",                                /* no totals */
        "heap_v2/8\n t*: 1: 8\n@ 0x1\n",              /* stack without counts */
        "heap_v2/8\n t*: 1: 8\n@ 0x1\n@ 0x2\n t*: 1: 8\n",
        "heap_v2/8\n t*: 1: 8\n@ 1234\n t*: 1: 8\n", /* address without 0x */
        "heap_v2/8\n t*: 1 8\n",                     /* missing colon */
        "heap_v2/8\n t*: 1: 8 [1: 8\n",              /* unclosed accum */
        "heap_v2/8\n t*: 1: 8\nhello\n",
        "heap_v2/8\n t*: 1: 8\nMAPPED_LIBRARIES:\nnot a map line\n",
        "heap_v2/8\n t*: 1: 99999999999999999999999\n", /* overflow */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cprof__jeprof_t p;
        int rc = cprof__jeprof_parse(bad[i], strlen(bad[i]), &p);
        cr_expect_eq(rc, -EINVAL, "case %zu (%s): got %d", i, bad[i], rc);
        cr_expect_eq(p.nsamples, 0);
        cr_expect_null(p.samples);
    }
}

Test(jeprof, every_prefix_of_a_dump_is_safe)
{
    /* Truncated dumps parse or fail cleanly, never read out of bounds (the
     * ASan build checks the "never"). */
    for (size_t n = 0; n <= strlen(dump); n++) {
        cprof__jeprof_t p;
        if (cprof__jeprof_parse(dump, n, &p) == 0)
            cprof__jeprof_destroy(&p);
    }
}
