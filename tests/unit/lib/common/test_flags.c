#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/flags.h"

typedef struct tcfg {
    char name[8];
    int count;
    int wide; /* full int range */
    int64_t big;
    size_t bytes;
    int64_t timeout_ns;
    int64_t work_ns;
    bool verbose;
    int color; /* custom: red = 1, blue = 2 */
} tcfg_t;

static const flags_type_t count = {.kind = FLAGS_INT, .min = -1, .max = 10};
static const flags_type_t wide = {.kind = FLAGS_INT, .min = INT64_MIN, .max = INT64_MAX};
static const flags_type_t big = {.kind = FLAGS_INT64, .min = 0, .max = INT64_MAX};
static const flags_type_t bytes = {.kind = FLAGS_SIZE, .min = 1, .max = 1 << 20};

static int parse_color(const char *v, void *field, size_t size)
{
    (void)size;
    if (strlen(v) > 8)
        return -E2BIG;
    if (!strcmp(v, "red"))
        *(int *)field = 1;
    else if (!strcmp(v, "blue"))
        *(int *)field = 2;
    else
        return -EINVAL;
    return 0;
}

static const flags_type_t color = {
    .kind = FLAGS_CUSTOM, .parse = parse_color, .bad = "expected red or blue, got '%v'"};

#define F(field) offsetof(tcfg_t, field), sizeof(((tcfg_t *)0)->field)

static const flags_opt_t opts[] = {
    {"name", &flags_str, F(name), "anon", "a name"},
    {"count", &count, F(count), "3", "a count"},
    {"wide", &wide, F(wide), "0", "any int"},
    {"big", &big, F(big), "0", "an int64"},
    {"bytes", &bytes, F(bytes), "64", "a size"},
    {"timeout", &flags_duration, F(timeout_ns), "30s", "a duration"},
    {"work-ms", &flags_duration_ms, F(work_ns), "10", "a duration, bare = ms"},
    {"verbose", &flags_bool, F(verbose), "false", "a bool"},
    {"color", &color, F(color), "red", "a custom kind"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static const flags_spec_t gnu = {
    .opts = opts, .nopts = NOPTS, .style = FLAGS_GNU, .env_prefix = "TFLAGS_"};
static const flags_spec_t go = {.opts = opts, .nopts = NOPTS, .style = FLAGS_GO};

static char err[256];

/* Defaults, then argv (NULL-terminated list after argv[0]). */
static int parse(const flags_spec_t *s, tcfg_t *c, const char *a0, ...)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 16; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    int rc = flags_defaults(s, c, err, sizeof(err));
    cr_assert_eq(rc, 0, "defaults failed: %s", err);
    return flags_args(s, c, argc, argv, err, sizeof(err));
}

static void expect_err(const flags_spec_t *s, const char *want, const char *a0, const char *a1)
{
    tcfg_t c;
    int rc = parse(s, &c, a0, a1, NULL);
    cr_assert_eq(rc, -EINVAL, "%s %s: expected -EINVAL, got %d", a0, a1 ? a1 : "", rc);
    cr_assert_str_eq(err, want, "%s: expected \"%s\", got \"%s\"", a0, want, err);
}

Test(flags, defaults_apply)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, NULL), 0);
    cr_assert_str_eq(c.name, "anon");
    cr_assert_eq(c.count, 3);
    cr_assert_eq(c.bytes, 64);
    cr_assert_eq(c.timeout_ns, 30000000000LL);
    cr_assert_eq(c.work_ns, 10000000LL, "bare default is ms, got %lld", (long long)c.work_ns);
    cr_assert_eq(c.verbose, false);
    cr_assert_eq(c.color, 1);
}

Test(flags, each_kind_parses)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, "--name=bob", "--count", "10", "--wide=-2000000000",
                       "--big=9000000000000", "--bytes", "1048576", "--timeout=500ms",
                       "--work-ms=250", "--verbose", "--color=blue", NULL),
                 0, "%s", err);
    cr_assert_str_eq(c.name, "bob");
    cr_assert_eq(c.count, 10);
    cr_assert_eq(c.wide, -2000000000);
    cr_assert_eq(c.big, 9000000000000LL);
    cr_assert_eq(c.bytes, 1048576);
    cr_assert_eq(c.timeout_ns, 500000000LL);
    cr_assert_eq(c.work_ns, 250000000LL);
    cr_assert_eq(c.verbose, true);
    cr_assert_eq(c.color, 2);
}

Test(flags, durations)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, "--timeout=2m", "--work-ms=1.5", NULL), 0, "%s", err);
    cr_assert_eq(c.timeout_ns, 120000000000LL);
    cr_assert_eq(c.work_ns, 1500000LL);
    cr_assert_eq(parse(&gnu, &c, "--timeout=2", "--work-ms=2s", NULL), 0, "%s", err);
    cr_assert_eq(c.timeout_ns, 2000000000LL, "bare duration is seconds");
    cr_assert_eq(c.work_ns, 2000000000LL, "a unit overrides the ms default");
    expect_err(&gnu, "--timeout: expected a duration like 30s, 500ms or 2m, got '5x'",
               "--timeout=5x", NULL);
    expect_err(&gnu, "--timeout: expected a duration like 30s, 500ms or 2m, got '-1s'",
               "--timeout=-1s", NULL);
    /* The message shows what was parsed after the bare-ms rewrite. */
    expect_err(&gnu, "--work-ms: expected a duration like 30s, 500ms or 2m, got '1.2.3ms'",
               "--work-ms=1.2.3", NULL);
    expect_err(&go, "-timeout: '5x' is not a duration (e.g. 30s, 500ms, 2m)", "-timeout=5x",
               NULL);
}

Test(flags, int_bounds)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, "--count=-1", NULL), 0, "min is inclusive: %s", err);
    cr_assert_eq(c.count, -1);
    cr_assert_eq(parse(&gnu, &c, "--count=10", NULL), 0, "max is inclusive: %s", err);
    expect_err(&gnu, "--count: expected an integer, got '11'", "--count=11", NULL);
    expect_err(&gnu, "--count: expected an integer, got '-2'", "--count=-2", NULL);
    expect_err(&gnu, "--count: expected an integer, got '3x'", "--count=3x", NULL);
    expect_err(&gnu, "--count: expected an integer, got ''", "--count=", NULL);
    expect_err(&gnu, "--wide: expected an integer, got '3000000000'", "--wide=3000000000", NULL);
    expect_err(&gnu, "--big: expected an integer, got '-1'", "--big=-1", NULL);
    expect_err(&gnu, "--big: expected an integer, got '99999999999999999999'",
               "--big=99999999999999999999", NULL);
    expect_err(&go, "-count: '11' is not a valid count", "-count=11", NULL);
}

Test(flags, size_bounds)
{
    expect_err(&gnu, "--bytes: expected a positive integer, got '0'", "--bytes=0", NULL);
    expect_err(&gnu, "--bytes: expected a positive integer, got '-1'", "--bytes=-1", NULL);
    expect_err(&gnu, "--bytes: expected a positive integer, got '1048577'", "--bytes=1048577",
               NULL);
    expect_err(&go, "-bytes: '0' is not a valid size", "-bytes=0", NULL);
}

Test(flags, bools)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, "--verbose", "--count", "4", NULL), 0, "%s", err);
    cr_assert(c.verbose, "a bare bool flag means true and takes no value");
    cr_assert_eq(c.count, 4);
    cr_assert_eq(parse(&gnu, &c, "--verbose=yes", NULL), 0, "GNU takes yes: %s", err);
    cr_assert(c.verbose);
    cr_assert_eq(parse(&gnu, &c, "--verbose", "--verbose=off", NULL), 0, "%s", err);
    cr_assert(!c.verbose, "the last flag wins");
    cr_assert_eq(parse(&go, &c, "-verbose=1", NULL), 0, "%s", err);
    cr_assert(c.verbose);
    expect_err(&gnu, "--verbose: expected true or false, got 'maybe'", "--verbose=maybe", NULL);
    expect_err(&go, "-verbose: 'yes' is not true or false", "-verbose=yes", NULL);
}

Test(flags, strings_and_custom)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, "--name=1234567", NULL), 0, "7 chars fit char[8]: %s", err);
    cr_assert_str_eq(c.name, "1234567");
    cr_assert_eq(parse(&gnu, &c, "--name=", NULL), 0, "%s", err);
    cr_assert_str_eq(c.name, "");
    expect_err(&gnu, "--name: value too long", "--name=12345678", NULL);
    expect_err(&go, "-name: value too long", "-name=12345678", NULL);
    expect_err(&gnu, "--color: expected red or blue, got 'green'", "--color", "green");
    expect_err(&gnu, "--color: value too long", "--color=ultraviolet", NULL);
}

Test(flags, gnu_forms)
{
    tcfg_t c;
    cr_assert_eq(parse(&gnu, &c, "--count", "5", "--name=x=y", NULL), 0, "%s", err);
    cr_assert_eq(c.count, 5);
    cr_assert_str_eq(c.name, "x=y", "only the first '=' splits");
    cr_assert_eq(parse(&gnu, &c, "--name", "--count", NULL), 0, "%s", err);
    cr_assert_str_eq(c.name, "--count", "the next argument is the value, whatever it is");
    cr_assert_eq(parse(&gnu, &c, "-h", NULL), FLAGS_HELP);
    cr_assert_eq(parse(&gnu, &c, "--count=1", "--help", "--bogus", NULL), FLAGS_HELP);
    expect_err(&gnu, "unknown flag '--h' (see --help)", "--h", NULL);
    expect_err(&gnu, "unknown flag '--cou' (see --help)", "--cou", NULL);
    expect_err(&gnu, "unknown flag '--' (see --help)", "--", NULL);
    expect_err(&gnu, "unexpected argument '-count' (see --help)", "-count", "3");
    expect_err(&gnu, "unexpected argument 'stray' (see --help)", "stray", NULL);
    expect_err(&gnu, "--count needs a value", "--count", NULL);
}

Test(flags, go_forms)
{
    tcfg_t c;
    cr_assert_eq(parse(&go, &c, "-count", "5", "--big=7", "-name=a", "--bytes", "9", NULL), 0,
                 "%s", err);
    cr_assert_eq(c.count, 5);
    cr_assert_eq(c.big, 7);
    cr_assert_str_eq(c.name, "a");
    cr_assert_eq(c.bytes, 9);
    const char *helps[] = {"-h", "-help", "--h", "--help"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(parse(&go, &c, helps[i], NULL), FLAGS_HELP, "%s asks for help", helps[i]);
    expect_err(&go, "unknown flag '-help=1' (see --help)", "-help=1", NULL);
    expect_err(&go, "unknown flag '---count' (see --help)", "---count", NULL);
    expect_err(&go, "unexpected argument '-'", "-", NULL);
    expect_err(&go, "unexpected argument 'stray'", "stray", NULL);
    expect_err(&go, "flag -count needs a value", "--count", NULL);
}

Test(flags, lookup_is_exact)
{
    cr_assert_eq(flags_lookup(&gnu, "count", 5), &opts[1]);
    cr_assert_eq(flags_lookup(&gnu, "count=3", 5), &opts[1], "len bounds the name");
    cr_assert_null(flags_lookup(&gnu, "coun", 4));
    cr_assert_null(flags_lookup(&gnu, "counts", 6));
}

Test(flags, env_between_default_and_flag)
{
    tcfg_t c;
    setenv("TFLAGS_COUNT", "7", 1);
    setenv("TFLAGS_WORK_MS", "20", 1);
    memset(&c, 0, sizeof(c));
    cr_assert_eq(flags_defaults(&gnu, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(flags_env(&gnu, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.count, 7, "env beats the default");
    cr_assert_eq(c.work_ns, 20000000LL, "TFLAGS_WORK_MS: dashes become underscores");
    char *argv[] = {"prog", "--count=2", NULL};
    cr_assert_eq(flags_args(&gnu, &c, 2, argv, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.count, 2, "the flag beats env");
    cr_assert_eq(c.work_ns, 20000000LL, "env stays where no flag is given");

    /* Without a prefix the environment is not read. */
    memset(&c, 0, sizeof(c));
    cr_assert_eq(flags_defaults(&go, &c, err, sizeof(err)), 0);
    cr_assert_eq(flags_env(&go, &c, err, sizeof(err)), 0);
    cr_assert_eq(c.count, 3);

    setenv("TFLAGS_COUNT", "lots", 1);
    cr_assert_eq(flags_env(&gnu, &c, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "--count: expected an integer, got 'lots'");
    unsetenv("TFLAGS_COUNT");
    unsetenv("TFLAGS_WORK_MS");
}

static const char *name_default(const flags_opt_t *o, void *arg)
{
    return strcmp(o->name, "name") == 0 ? arg : o->def;
}

Test(flags, default_hook)
{
    flags_spec_t s = go;
    s.default_of = name_default;
    s.arg = "hooked";
    tcfg_t c;
    cr_assert_eq(parse(&s, &c, NULL), 0, "%s", err);
    cr_assert_str_eq(c.name, "hooked");
    cr_assert_str_eq(flags_default(&s, &opts[0]), "hooked");
    cr_assert_str_eq(flags_default(&s, &opts[1]), "3");
}

static char *usage_of(const flags_spec_t *s, size_t nopts)
{
    flags_spec_t one = *s;
    one.nopts = nopts;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    flags_usage(&one, f);
    fclose(f);
    return text;
}

Test(flags, usage_layouts)
{
    flags_spec_t s = gnu;
    s.opts = &opts[6]; /* work-ms, verbose */
    char *text = usage_of(&s, 2);
    cr_assert_str_eq(text, "  --work-ms VALUE                 a duration, bare = ms\n"
                           "                                  [TFLAGS_WORK_MS, default: 10]\n"
                           "  --verbose[=BOOL]                a bool\n"
                           "                                  [TFLAGS_VERBOSE, default: false]\n");
    free(text);
    s = go;
    s.default_of = name_default;
    s.arg = "";
    text = usage_of(&s, 2);
    cr_assert_str_eq(text, "  -name                  a name\n"
                           "  -count                 a count (default 3)\n");
    free(text);
}

Test(flags, table_size_mismatch_is_reported)
{
    const flags_opt_t bad = {"count", &big, offsetof(tcfg_t, count), sizeof(int), "1", ""};
    tcfg_t c;
    cr_assert_eq(flags_set(&gnu, &bad, &c, "1", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "--count: option table: field size does not match its type");
}
