/* orderd's CPU profiling endpoints over real HTTP: the index, cmdline,
 * symbol, a CPU profile taken while orders are posted (other requests keep
 * being answered while it runs, a second one gets 409 at once), the seed's
 * /profile/cpu alias, bad parameters, and a clean SIGTERM during a
 * profile. Profiles are decoded with cprof's own decoder. */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "harness.h"

static const char *const args[] = {"--work", "none", NULL};
static const char order[] =
    "{\"customer\":\"c\",\"amount\":10,\"items\":[\"a\"],\"address\":\"x\",\"status\":\"pending\"}";

/* Starts a profile of `seconds` in a background fetch and returns once the
 * index shows it running, with what a second profile request got. */
static void start_background_profile(server_t *s, http_fetch_t *f, int seconds, http_resp_t *second)
{
    http_fetch_start(f, harness_fmt("%s/debug/pprof/profile?seconds=%d", s->base, seconds));
    /* 10 s at most (a sanitizer build on a busy machine starts slowly). */
    for (int i = 0; i < 2000 && !http_fetch_done(f); i++) {
        if (harness_cpu_profile_running(s->base)) {
            *second = http_get(harness_fmt("%s/debug/pprof/profile?seconds=0.05", s->base));
            return;
        }
        harness_sleep_ms(5);
    }
    cr_assert_fail("the background profile never showed on the index (status %ld)", f->status);
}

static bool has_function(const cprof_profile_t *d, const char *name)
{
    for (size_t i = 0; i < d->nfunctions; i++)
        if (strcmp(d->functions[i].name, name) == 0)
            return true;
    return false;
}

Test(cprof_http, index_cmdline_symbol_and_errors, .timeout = 60)
{
    server_t *s = server_start(args);
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/", s->base));
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "<tr><td>0</td><td><a href='profile?seconds=30'>"),
              "index lists the CPU profile, not running:\n%s", r.body);
    cr_assert(
        strstr(r.body, "'/debug/pprof/ui/#profileURL=%2Fdebug%2Fpprof%2Fprofile%3Fseconds%3D30"),
        "index links the CPU profile to the flame-graph viewer:\n%s", r.body);
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/cmdline", s->base));
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "orderd") && memchr(r.body, '\0', r.len),
              "NUL-separated argv with orderd expected");
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/symbol", s->base));
    cr_assert_str_eq(r.body, "num_symbols: 1\n");
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/nosuch", s->base));
    cr_assert_eq(r.status, 404);
    http_free(&r);
    static const char *bad[] = {"/debug/pprof/profile?seconds=x", "/debug/pprof/profile?hz=9999",
                                "/profile/cpu?duration=3", "/debug/pprof/profile?seconds=-2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = http_get(harness_fmt("%s%s", s->base, bad[i]));
        cr_assert_eq(r.status, 400, "%s: %ld", bad[i], r.status);
        char *x = http_header(&r, "X-Go-Pprof");
        cr_assert(x && strcmp(x, "1") == 0);
        free(x);
        http_free(&r);
    }
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(cprof_http, profile_under_load_does_not_block, .timeout = 120)
{
    server_t *s = server_start(args);
    http_fetch_t f;
    http_resp_t r = {0};
    /* While it runs, a second profile is refused at once. */
    start_background_profile(s, &f, 3, &r);
    cr_assert_eq(r.status, 409, "second profile: %ld", r.status);
    char *x = http_header(&r, "X-Go-Pprof");
    cr_assert(x && strcmp(x, "1") == 0, "X-Go-Pprof: 1 on 409");
    free(x);
    cr_assert(strchr(r.body, '\n') == r.body + r.len - 1, "one-line reason: %s", r.body);
    http_free(&r);

    /* Orders and health are served while the profile is pending. */
    int posted = 0;
    while (!http_fetch_done(&f) && posted < 20000) {
        r = http_post_json(harness_fmt("%s/orders", s->base), order);
        cr_assert_eq(r.status, 201, "POST /orders during a profile: %ld", r.status);
        http_free(&r);
        posted++;
    }
    cr_assert_gt(posted, 10, "requests were served while the profile ran");
    http_fetch_join(&f);
    cr_assert_eq(f.status, 200);
    cprof_profile_t *d = NULL;
    cr_assert_eq(cprof_profile_decode(f.body, f.len, &d), 0);
    cr_assert_gt(d->nsamples, 0);
    cr_assert(strstr(d->mappings[0].filename, "orderd"), "main mapping: %s",
              d->mappings[0].filename);
    cr_assert_gt(strlen(d->mappings[0].build_id), 0);
    if (!harness_signal_stacks_exact())
        cr_log_info("SANITIZE=thread: stacks not checked (TSan delays signal handlers)");
    else
        cr_assert(has_function(d, "post_order") || has_function(d, "on_request"),
                  "orderd's request handling in the profile");
    /* /debug/pprof/symbol resolves an address of the profile. */
    const cprof_pp_location_t *loc = NULL;
    for (size_t i = 0; i < d->nlocations && !loc; i++)
        if (d->locations[i].mapping_id == d->mappings[0].id)
            loc = &d->locations[i];
    cr_assert_not_null(loc);
    char q[64];
    snprintf(q, sizeof(q), "%#llx", (unsigned long long)loc->address);
    r = http_do("POST", harness_fmt("%s/debug/pprof/symbol", s->base), q, strlen(q), NULL);
    cr_assert(strstr(r.body, q), "symbol answer for %s: %s", q, r.body);
    http_free(&r);
    cprof_profile_free(d);
    free(f.body);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(cprof_http, seed_alias_and_sigterm_during_profile, .timeout = 60)
{
    server_t *s = server_start(args);
    http_resp_t r = http_get(harness_fmt("%s/profile/cpu?duration=500ms", s->base));
    cr_assert_eq(r.status, 200);
    char *cd = http_header(&r, "Content-Disposition");
    cr_assert(cd && strstr(cd, "attachment; filename=") && strstr(cd, "cpu_profile_"),
              "Content-Disposition: %s", cd ? cd : "(none)");
    free(cd);
    cprof_profile_t *d = NULL;
    cr_assert_eq(cprof_profile_decode(r.body, r.len, &d), 0);
    cr_assert_geq(d->duration_nanos, 500000000);
    cprof_profile_free(d);
    http_free(&r);

    /* A 30 s profile pending at SIGTERM: the server still exits cleanly. */
    http_fetch_t f;
    start_background_profile(s, &f, 30, &r);
    http_free(&r);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0, "clean exit with a profile pending");
    http_fetch_join(&f);
    free(f.body);
}
