/* In-process symbolization: names, files and lines of functions in this
 * test binary, the inline chain of an always_inline function, return
 * addresses looked up at the call, glibc names (libc6-dbg), and the
 * fallback for addresses outside any module. Built with -O2 -g so that the
 * inlining is real (mk/cprof.mk). */

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"

static int leaf_line, call_line, bt_line;

/* The address of the lea instruction itself, which belongs to whatever
 * function this code is inlined into (and to this function's line). */
static inline __attribute__((always_inline)) uint64_t inline_leaf(void)
{
    uint64_t pc;
    leaf_line = __LINE__ + 1;
    __asm__ volatile("1: lea 1b(%%rip), %0" : "=r"(pc));
    return pc;
}

__attribute__((noinline)) static uint64_t outer_caller(void)
{
    call_line = __LINE__ + 1;
    uint64_t pc = inline_leaf();
    __asm__ volatile("" ::: "memory");
    return pc;
}

__attribute__((noinline)) static uint64_t return_address_here(void)
{
    /* The return address into the caller, as an unwinder reports it. */
    uint64_t ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return ra;
}

__attribute__((noinline)) static uint64_t known_caller(void)
{
    bt_line = __LINE__ + 1;
    uint64_t ra = return_address_here();
    __asm__ volatile("" ::: "memory");
    return ra;
}

Test(symbolize, inline_chain_with_caller)
{
    uint64_t pc = outer_caller();
    cprof_frame_t f[8];
    char buf[2048];
    int n = cprof_symbolize(pc, CPROF_SYM_EXACT, f, 8, buf, sizeof(buf));
    cr_assert_geq(n, 2, "an inlined frame and its caller expected, got %d frames", n);
    cr_assert_str_eq(f[0].function, "inline_leaf");
    cr_assert(f[0].file && strstr(f[0].file, "test_symbolize.c"), "file, got %s", f[0].file);
    cr_assert_eq(f[0].line, leaf_line, "leaf line %d expected, got %lld", leaf_line,
                 (long long)f[0].line);
    cr_assert_str_eq(f[1].function, "outer_caller");
    cr_assert(f[1].file && strstr(f[1].file, "test_symbolize.c"));
    cr_assert_eq(f[1].line, call_line, "call line %d expected, got %lld", call_line,
                 (long long)f[1].line);
}

Test(symbolize, return_address_names_the_call)
{
    uint64_t ra = known_caller();
    cprof_frame_t f[8];
    char buf[2048];
    int n = cprof_symbolize(ra, 0, f, 8, buf, sizeof(buf));
    cr_assert_geq(n, 1);
    cr_assert_str_eq(f[n - 1].function, "known_caller");
    cr_assert_eq(f[n - 1].line, bt_line, "call line %d expected, got %lld", bt_line,
                 (long long)f[n - 1].line);
}

Test(symbolize, glibc_and_exported_functions)
{
    cprof_frame_t f[8];
    char buf[2048];
    int n = cprof_symbolize((uint64_t)(uintptr_t)qsort, CPROF_SYM_EXACT, f, 8, buf, sizeof(buf));
    cr_assert_geq(n, 1);
    cr_assert(strstr(f[n - 1].function, "qsort") != NULL, "qsort expected, got %s",
              f[n - 1].function);
    /* libc6-dbg is installed: glibc frames have source files. */
    cr_assert_not_null(f[0].file, "glibc debug info (libc6-dbg) expected");
}

Test(symbolize, unknown_address_fallback)
{
    cprof_frame_t f[2];
    char buf[256];
    int n = cprof_symbolize(0x10, CPROF_SYM_EXACT, f, 2, buf, sizeof(buf));
    cr_assert_eq(n, 1);
    cr_assert_str_eq(f[0].function, "0x10");
    /* Inside a module but with no symbol: module+0xoffset (the ELF header). */
    cprof_mapping_t m[64];
    int nm = cprof_mappings(m, 64);
    cr_assert_gt(nm, 1);
    n = cprof_symbolize(m[0].start - m[0].offset + 0x10, CPROF_SYM_EXACT, f, 2, buf, sizeof(buf));
    cr_assert_eq(n, 1);
    char want[300];
    snprintf(want, sizeof(want), "%s+0x10", strrchr(m[0].path, '/') + 1);
    cr_assert(strcmp(f[0].function, want) == 0 || strncmp(f[0].function, "0x", 2) == 0,
              "expected %s, got %s", want, f[0].function);
    /* A tiny string buffer truncates, never overflows. */
    char tiny[4];
    n = cprof_symbolize((uint64_t)(uintptr_t)qsort, CPROF_SYM_EXACT, f, 2, tiny, sizeof(tiny));
    cr_assert_geq(n, 1);
    cr_assert_leq(strlen(f[0].function), 3);
}

Test(symbolize, mappings_have_build_ids)
{
    cprof_mapping_t m[64];
    int n = cprof_mappings(m, 64);
    cr_assert_gt(n, 1);
    cr_assert(strstr(m[0].path, "test_symbolize"), "main program first, got %s", m[0].path);
    bool libc = false;
    for (int i = 0; i < n && i < 64; i++) {
        cr_assert_lt(m[i].start, m[i].limit);
        if (strstr(m[i].path, "libc.so")) {
            libc = true;
            cr_assert_eq(strlen(m[i].build_id), 40, "libc build ID, got '%s'", m[i].build_id);
        }
    }
    cr_assert(libc);
}
