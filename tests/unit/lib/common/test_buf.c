/* String builder, JSON escaping, durations. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"

Test(buf, grows_and_formats)
{
    buf_t b;
    buf_init(&b, 1);
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    cr_assert(strncmp(b.data, "0,1,2,", 6) == 0);
    cr_assert_eq(strlen(b.data), b.len);
    buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    buf_destroy(&b);
}

Test(buf, json_escaping)
{
    buf_t b;
    buf_init(&b, 8);
    buf_json_str(&b, "a\"b\\c\n\t\x01\xc3\xa9");
    cr_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"");
    buf_reset(&b);
    buf_json_str(&b, NULL);
    cr_assert_str_eq(b.data, "null");
    buf_reset(&b);
    bool first = true;
    buf_putc(&b, '{');
    buf_json_key(&b, "a", &first);
    buf_json_f64(&b, 12.5, 3);
    buf_json_key(&b, "b", &first);
    buf_json_f64(&b, 3.0, 2);
    buf_json_key(&b, "c", &first);
    buf_json_i64(&b, -7);
    buf_putc(&b, '}');
    cr_assert_str_eq(b.data, "{\"a\":12.5,\"b\":3,\"c\":-7}");
    buf_reset(&b);
    buf_json_f64(&b, 3.3e38, 2);
    cr_assert_str_eq(b.data, "3.3e+38", "huge values stay real numbers");
    buf_reset(&b);
    buf_json_num(&b, 0.002);
    cr_assert_str_eq(b.data, "0.002");
    buf_reset(&b);
    buf_json_num(&b, 0.1 + 0.2);
    cr_assert_str_eq(b.data, "0.30000000000000004", "exact round trip");
    buf_destroy(&b);
}

Test(clock, parse_durations)
{
    int64_t ns;
    struct {
        const char *s;
        int64_t want;
    } ok[] = {{"30s", 30000000000LL},
              {"500ms", 500000000LL},
              {"2m", 120000000000LL},
              {"1.5s", 1500000000LL},
              {"250us", 250000LL},
              {"7", 7000000000LL},
              {"0", 0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(clock_parse_duration(ok[i].s, &ns), 0, "%s", ok[i].s);
        cr_assert_eq(ns, ok[i].want, "%s: expected %lld got %lld", ok[i].s, (long long)ok[i].want,
                     (long long)ns);
    }
    const char *bad[] = {"", "s", "10x", "-1s", "1e400s", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(clock_parse_duration(bad[i], &ns), -22, "'%s' must be refused", bad[i]);
}

Test(clock, rfc3339)
{
    char out[40];
    clock_format_rfc3339(1700000000123000000LL, out, sizeof(out));
    cr_assert_str_eq(out, "2023-11-14T22:13:20.123Z");
}
