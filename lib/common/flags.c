/* Flags from one table, for orderd and the lab workers.
 *
 * Data flow: flags_defaults, flags_env and flags_args each turn strings into
 * fields through flags_set, so a default, an environment variable and a flag
 * are parsed by the same code and fail with the same message; the last one
 * applied wins (flag > env > default). flags_set dispatches on the option's
 * type: the built-in kinds are parsed here, custom kinds through the type's
 * parse function. Each style carries its own wording of bad-value messages
 * (a template per kind, "%v" standing for the value) because both programs
 * promise their existing messages byte for byte. Nothing is allocated and no
 * state is kept; the caller's struct is the only thing written. */

#include "common/flags.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

const flags_type_t flags_str = {.kind = FLAGS_STR};
const flags_type_t flags_bool = {.kind = FLAGS_BOOL};
const flags_type_t flags_duration = {.kind = FLAGS_DURATION};
const flags_type_t flags_duration_ms = {.kind = FLAGS_DURATION_MS};

/* What follows "--name: " when a value does not parse, per style and kind. */
static const char *const bad_gnu[FLAGS_NKINDS] = {
    [FLAGS_INT] = "expected an integer, got '%v'",
    [FLAGS_INT64] = "expected an integer, got '%v'",
    [FLAGS_SIZE] = "expected a positive integer, got '%v'",
    [FLAGS_DURATION] = "expected a duration like 30s, 500ms or 2m, got '%v'",
    [FLAGS_DURATION_MS] = "expected a duration like 30s, 500ms or 2m, got '%v'",
    [FLAGS_BOOL] = "expected true or false, got '%v'",
};
static const char *const bad_go[FLAGS_NKINDS] = {
    [FLAGS_INT] = "'%v' is not a valid count",
    [FLAGS_INT64] = "'%v' is not a valid count",
    [FLAGS_SIZE] = "'%v' is not a valid size",
    [FLAGS_DURATION] = "'%v' is not a duration (e.g. 30s, 500ms, 2m)",
    [FLAGS_DURATION_MS] = "'%v' is not a duration (e.g. 30s, 500ms, 2m)",
    [FLAGS_BOOL] = "'%v' is not true or false",
};

static const char *dash(const flags_spec_t *s)
{
    return s->style == FLAGS_GO ? "-" : "--";
}

/* Writes "<dash><name>: <tmpl with %v replaced by v>" to err. */
static void bad_value(const flags_spec_t *s, const flags_opt_t *o, const char *tmpl, const char *v,
                      char *err, size_t errlen)
{
    const char *at = strstr(tmpl, "%v");
    if (!at)
        snprintf(err, errlen, "%s%s: %s", dash(s), o->name, tmpl);
    else
        snprintf(err, errlen, "%s%s: %.*s%s%s", dash(s), o->name, (int)(at - tmpl), tmpl, v,
                 at + 2);
}

static int parse_int64(const char *v, const flags_type_t *t, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < t->min || n > t->max)
        return -EINVAL;
    *out = n;
    return 0;
}

static int parse_size(const char *v, const flags_type_t *t, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || *v == '-' || n < (unsigned long long)t->min ||
        n > (unsigned long long)t->max || n > SIZE_MAX)
        return -EINVAL;
    *out = (size_t)n;
    return 0;
}

static int parse_bool(flags_style_t style, const char *v, bool *out)
{
    bool gnu = style == FLAGS_GNU;
    if (!strcmp(v, "true") || !strcmp(v, "1") || (gnu && (!strcmp(v, "yes") || !strcmp(v, "on"))))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") ||
             (gnu && (!strcmp(v, "no") || !strcmp(v, "off"))))
        *out = false;
    else
        return -EINVAL;
    return 0;
}

/* The C size a kind writes, or 0 when the table's size is the field's. */
static size_t width_of(flags_kind_t kind)
{
    switch (kind) {
    case FLAGS_INT:
        return sizeof(int);
    case FLAGS_INT64:
    case FLAGS_DURATION:
    case FLAGS_DURATION_MS:
        return sizeof(int64_t);
    case FLAGS_SIZE:
        return sizeof(size_t);
    case FLAGS_BOOL:
        return sizeof(bool);
    default:
        return 0;
    }
}

int flags_set(const flags_spec_t *s, const flags_opt_t *o, void *cfg, const char *v, char *err,
              size_t errlen)
{
    const flags_type_t *t = o->type;
    void *field = (char *)cfg + o->off;
    char tmp[64];
    int64_t n;
    int rc = -EINVAL;

    if (width_of(t->kind) && o->size != width_of(t->kind)) {
        snprintf(err, errlen, "%s%s: option table: field size does not match its type", dash(s),
                 o->name);
        return -EINVAL;
    }
    switch (t->kind) {
    case FLAGS_STR:
        rc = strlen(v) < o->size ? 0 : -E2BIG;
        if (rc == 0)
            memcpy(field, v, strlen(v) + 1);
        break;
    case FLAGS_INT:
        rc = parse_int64(v, t, &n);
        if (rc == 0 && (n < INT_MIN || n > INT_MAX))
            rc = -EINVAL;
        if (rc == 0)
            *(int *)field = (int)n;
        break;
    case FLAGS_INT64:
        rc = parse_int64(v, t, field);
        break;
    case FLAGS_SIZE:
        rc = parse_size(v, t, field);
        break;
    case FLAGS_DURATION_MS:
        /* A bare number is milliseconds; the message shows what was parsed. */
        if (*v && strspn(v, "0123456789.") == strlen(v)) {
            snprintf(tmp, sizeof(tmp), "%sms", v);
            v = tmp;
        }
        /* fall through */
    case FLAGS_DURATION:
        rc = clock_parse_duration(v, field) == 0 ? 0 : -EINVAL;
        break;
    case FLAGS_BOOL:
        rc = parse_bool(s->style, v, field);
        break;
    case FLAGS_CUSTOM:
        rc = t->parse ? t->parse(v, field, o->size) : -EINVAL;
        break;
    case FLAGS_NKINDS:
        break;
    }
    if (rc == 0)
        return 0;
    if (rc == -E2BIG)
        snprintf(err, errlen, "%s%s: value too long", dash(s), o->name);
    else if (t->kind == FLAGS_CUSTOM || t->kind >= FLAGS_NKINDS)
        bad_value(s, o, t->bad ? t->bad : "invalid value '%v'", v, err, errlen);
    else
        bad_value(s, o, (s->style == FLAGS_GO ? bad_go : bad_gnu)[t->kind], v, err, errlen);
    return -EINVAL;
}

const flags_opt_t *flags_lookup(const flags_spec_t *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->nopts; i++)
        if (strlen(s->opts[i].name) == len && strncmp(s->opts[i].name, name, len) == 0)
            return &s->opts[i];
    return NULL;
}

const char *flags_default(const flags_spec_t *s, const flags_opt_t *o)
{
    const char *def = s->default_of ? s->default_of(o, s->arg) : o->def;
    return def ? def : "";
}

int flags_defaults(const flags_spec_t *s, void *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nopts; i++)
        if (flags_set(s, &s->opts[i], cfg, flags_default(s, &s->opts[i]), err, errlen) != 0)
            return -EINVAL;
    return 0;
}

/* PREFIX plus the name upper-cased with '-' -> '_': ORDERD_WORK_MS. */
static void env_name(const flags_spec_t *s, const flags_opt_t *o, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s", s->env_prefix);
    if (n >= size)
        return;
    for (const char *p = o->name; *p && n + 1 < size; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

int flags_env(const flags_spec_t *s, void *cfg, char *err, size_t errlen)
{
    if (!s->env_prefix)
        return 0;
    for (size_t i = 0; i < s->nopts; i++) {
        char env[128];
        env_name(s, &s->opts[i], env, sizeof(env));
        const char *v = getenv(env);
        if (v && flags_set(s, &s->opts[i], cfg, v, err, errlen) != 0)
            return -EINVAL;
    }
    return 0;
}

/* The flag name in argument a (dashes stripped) or NULL when a is no flag;
 * *help tells whether a asks for help. */
static const char *flag_name(const flags_spec_t *s, const char *a, bool *help)
{
    *help = false;
    if (s->style == FLAGS_GNU) {
        *help = !strcmp(a, "-h") || !strcmp(a, "--help");
        return strncmp(a, "--", 2) == 0 ? a + 2 : NULL;
    }
    if (a[0] != '-' || !a[1])
        return NULL;
    a += a[1] == '-' ? 2 : 1;
    *help = !strcmp(a, "h") || !strcmp(a, "help");
    return a;
}

int flags_args(const flags_spec_t *s, void *cfg, int argc, char **argv, char *err,
               size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool help;
        const char *name = flag_name(s, a, &help);
        if (help)
            return FLAGS_HELP;
        if (!name) {
            snprintf(err, errlen, "unexpected argument '%s'%s", a,
                     s->style == FLAGS_GNU ? " (see --help)" : "");
            return -EINVAL;
        }
        const char *eq = strchr(name, '=');
        const flags_opt_t *o = flags_lookup(s, name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o) {
            snprintf(err, errlen, "unknown flag '%s' (see --help)", a);
            return -EINVAL;
        }
        const char *v;
        if (eq)
            v = eq + 1;
        else if (o->type->kind == FLAGS_BOOL)
            v = "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            snprintf(err, errlen, "%s%s%s needs a value", s->style == FLAGS_GO ? "flag " : "",
                     dash(s), o->name);
            return -EINVAL;
        }
        if (flags_set(s, o, cfg, v, err, errlen) != 0)
            return -EINVAL;
    }
    return 0;
}

void flags_usage(const flags_spec_t *s, FILE *out)
{
    for (size_t i = 0; i < s->nopts; i++) {
        const flags_opt_t *o = &s->opts[i];
        const char *def = flags_default(s, o);
        if (s->style == FLAGS_GO) {
            fprintf(out, "  -%-21s %s%s%s%s\n", o->name, o->help, *def ? " (default " : "", def,
                    *def ? ")" : "");
            continue;
        }
        char left[64], env[128];
        snprintf(left, sizeof(left), "--%s%s", o->name,
                 o->type->kind == FLAGS_BOOL ? "[=BOOL]" : " VALUE");
        fprintf(out, "  %-31s %s\n", left, o->help);
        if (s->env_prefix) {
            env_name(s, o, env, sizeof(env));
            fprintf(out, "  %-31s [%s, default: %s]\n", "", env, *def ? def : "none");
        } else {
            fprintf(out, "  %-31s [default: %s]\n", "", *def ? def : "none");
        }
    }
}
