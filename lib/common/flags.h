#ifndef COMMON_FLAGS_H
#define COMMON_FLAGS_H

/* Table-driven command-line flags, shared by orderd and the lab workers.
 *
 * A program describes each flag with one flags_opt_t row (name, type, the
 * offset and size of its field in the program's settings struct, a default
 * parsed like user input, a help line) and the table with a flags_spec_t
 * that says which dialect it speaks: GNU (orderd: --name value, --name=value,
 * -h/--help) or Go (the lab: -name and --name forms, the wording of the
 * seed's messages). Settings come from defaults, then the environment when
 * the spec names a prefix, then argv: each step overwrites the one before.
 *
 * Nothing here allocates, and nothing keeps state between calls; the tables
 * are read-only, so concurrent parses of different structs are safe. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a value parses into (the field's C type in brackets). */
typedef enum flags_kind {
    FLAGS_STR,         /* char[size], NUL-terminated; too long is an error */
    FLAGS_INT,         /* int, within [min, max] */
    FLAGS_INT64,       /* int64_t, within [min, max] */
    FLAGS_SIZE,        /* size_t, decimal, no sign, within [min, max] */
    FLAGS_DURATION,    /* int64_t ns, "30s", "500ms", "2m"; a bare number is s */
    FLAGS_DURATION_MS, /* the same, but a bare number is milliseconds */
    FLAGS_BOOL,        /* bool; the flag alone means true */
    FLAGS_CUSTOM,      /* whatever type->parse writes */
    FLAGS_NKINDS
} flags_kind_t;

/* A custom parser: reads v into field (size bytes). Returns 0, -EINVAL for
 * a bad value (the message then says type->bad) or -E2BIG for a value too
 * long for the field. */
typedef int (*flags_parse_fn)(const char *v, void *field, size_t size);

/* How to parse a flag's value. The predefined types below cover strings,
 * durations and booleans; a program defines its bounded numbers and its own
 * kinds (as static const, so tables stay read-only). */
typedef struct flags_type {
    flags_kind_t kind;
    int64_t min, max;     /* FLAGS_INT, FLAGS_INT64, FLAGS_SIZE: inclusive bounds */
    flags_parse_fn parse; /* FLAGS_CUSTOM */
    const char *bad;      /* FLAGS_CUSTOM: the error after "--name: "; "%v" = the value */
} flags_type_t;

extern const flags_type_t flags_str;
extern const flags_type_t flags_bool;
extern const flags_type_t flags_duration;
extern const flags_type_t flags_duration_ms;

/* One flag. off and size locate its field in the settings struct; def is
 * parsed like user input ("" for an empty string), so help shows exactly what
 * applies. def may be NULL when spec->default_of supplies it. */
typedef struct flags_opt {
    const char *name; /* without dashes: "work-ms" */
    const flags_type_t *type;
    size_t off;
    size_t size;
    const char *def;
    const char *help;
} flags_opt_t;

typedef enum flags_style {
    /* --name VALUE, --name=VALUE; -h, --help. Messages name flags "--name";
     * booleans also take yes/no/on/off. */
    FLAGS_GNU,
    /* -name and --name, each with " VALUE" or "=VALUE"; -h, -help, --h,
     * --help. Messages name flags "-name"; booleans are true/false/1/0. */
    FLAGS_GO,
} flags_style_t;

typedef struct flags_spec {
    const flags_opt_t *opts;
    size_t nopts;
    flags_style_t style;
    /* Environment variable prefix: "ORDERD_" reads ORDERD_WORK_MS for
     * work-ms. NULL: no environment. */
    const char *env_prefix;
    /* Optional: the default of o when it depends on the caller (arg). NULL:
     * always o->def. */
    const char *(*default_of)(const flags_opt_t *o, void *arg);
    void *arg;
} flags_spec_t;

/* flags_args returns this when -h/--help was given (nothing is printed). */
#define FLAGS_HELP 1

/* Parses v into o's field of cfg. Returns 0 or -EINVAL with a one-line
 * message in err ("--workers: expected an integer, got 'x'"). */
int flags_set(const flags_spec_t *s, const flags_opt_t *o, void *cfg, const char *v, char *err,
              size_t errlen);

/* The option named by the first len bytes of name, or NULL. */
const flags_opt_t *flags_lookup(const flags_spec_t *s, const char *name, size_t len);

/* The default of o (spec->default_of or o->def), never NULL. */
const char *flags_default(const flags_spec_t *s, const flags_opt_t *o);

/* Sets every field of cfg to its default. Returns 0 or -EINVAL with err. */
int flags_defaults(const flags_spec_t *s, void *cfg, char *err, size_t errlen);

/* Applies every set environment variable (no-op without env_prefix).
 * Returns 0 or -EINVAL with err. */
int flags_env(const flags_spec_t *s, void *cfg, char *err, size_t errlen);

/* Applies argv[1..argc-1]. Returns 0, FLAGS_HELP at the first -h/--help, or
 * -EINVAL with err (unknown flag, missing value, bad value, stray
 * argument). */
int flags_args(const flags_spec_t *s, void *cfg, int argc, char **argv, char *err,
               size_t errlen);

/* Prints one entry per option, in table order, in the style's layout (GNU:
 * "--name VALUE", help, then [ENV, default: x]; Go: "-name", help, then
 * (default x)). Headers and footers are the program's. */
void flags_usage(const flags_spec_t *s, FILE *out);

#endif
