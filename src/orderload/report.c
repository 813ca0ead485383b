/* orderload's output. The progress line shows the running phase's counts,
 * the response rate over the last interval and the percentiles so far; on a
 * terminal it rewrites itself in place, elsewhere it prints one line per
 * interval so logs stay readable. The summary is a per-phase table plus the
 * totals, or one JSON object with the same numbers for scripts. */
#include "orderload/report.h"

#include <inttypes.h>
#include <stdlib.h>

#include "common/buf.h"

static double ms(uint64_t ns) { return (double)ns / 1e6; }

void report_progress_phase(report_progress_t *p, const char *phase)
{
    report_progress_end(p);
    p->phase = phase;
    p->last_responses = 0;
    p->last_elapsed_ns = 0;
}

void report_progress_end(report_progress_t *p)
{
    if (p->line_open)
        fputc('\n', p->out);
    p->line_open = false;
    fflush(p->out);
}

void report_progress_cb(void *ctx, const loadgen_stats_t *st, int64_t elapsed_ns)
{
    report_progress_t *p = ctx;
    int64_t dt = elapsed_ns - p->last_elapsed_ns;
    double rate = dt > 0 ? (double)(st->responses - p->last_responses) * 1e9 / (double)dt : 0;
    p->last_responses = st->responses;
    p->last_elapsed_ns = elapsed_ns;
    uint64_t p50 = hist_quantile(&st->latency, 0.5), p99 = hist_quantile(&st->latency, 0.99);
    fprintf(p->out,
            "%s[%s %5.1fs] sent %" PRIu64 "  2xx %" PRIu64 "  4xx %" PRIu64 "  5xx %" PRIu64
            "  err %" PRIu64 "  rate %.1f/s  p50 %.2fms  p99 %.2fms%s",
            p->tty ? "\r" : "", p->phase ? p->phase : "load", (double)elapsed_ns / 1e9, st->sent,
            st->by_class[2], st->by_class[4], st->by_class[5], st->errors, rate, ms(p50), ms(p99),
            p->tty ? "\033[K" : "\n");
    p->line_open = p->tty;
    fflush(p->out);
}

bool report_ok(const report_t *r)
{
    loadgen_summary_t s;
    loadgen_summarize(&r->total, &s);
    return !r->total.aborted && r->total.sent > 0 && s.error_rate <= r->max_error_rate;
}

/* target: orders/s, 0 for the closed loop, < 0 for none (the total row). */
static void row(FILE *out, const char *name, double target, const loadgen_stats_t *st)
{
    loadgen_summary_t s;
    loadgen_summarize(st, &s);
    char tgt[16];
    if (target > 0)
        snprintf(tgt, sizeof(tgt), "%.1f", target);
    else
        snprintf(tgt, sizeof(tgt), "%s", target < 0 ? "-" : "max");
    fprintf(out,
            "  %-8s %9s %8" PRIu64 " %8" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
            " %9.1f %8.2f %8.2f\n",
            name, tgt, st->sent, st->by_class[2], st->by_class[4], st->by_class[5], st->errors,
            s.rate, ms(s.p50_ns), ms(s.p99_ns));
}

void report_text(const report_t *r, FILE *out)
{
    const loadgen_stats_t *t = &r->total;
    loadgen_summary_t s;
    loadgen_summarize(t, &s);

    fprintf(out, "orderload: %s", r->url);
    if (r->scenario)
        fprintf(out, ", scenario %s", r->scenario);
    fprintf(out, ", %d connection%s, %.1f s\n", r->connections, r->connections == 1 ? "" : "s",
            (double)r->wall_ns / 1e9);
    fprintf(out, "  %-8s %9s %8s %8s %6s %6s %6s %9s %8s %8s\n", "phase", "target/s", "sent", "2xx",
            "4xx", "5xx", "errors", "rate/s", "p50 ms", "p99 ms");
    for (int i = 0; i < r->nphases; i++)
        row(out, r->phases[i].name, r->phases[i].target_rate, &r->phases[i].stats);
    if (r->nphases > 1)
        row(out, "total", -1, t);

    fprintf(out, "status codes:");
    for (int c = 0; c < LOADGEN_CODES; c++)
        if (t->by_code[c])
            fprintf(out, "  %d: %" PRIu64, c, t->by_code[c]);
    if (t->errors)
        fprintf(out, "  transport errors: %" PRIu64 " (connect %" PRIu64 ", timeout %" PRIu64 ")",
                t->errors, t->connect_errors, t->timeouts);
    fputc('\n', out);
    if (t->unsent)
        fprintf(out,
                "behind schedule: %" PRIu64 " orders were due but never sent "
                "(all connections busy; try more --connections)\n",
                t->unsent);
    fprintf(out, "achieved rate: %.1f responses/s over %.2f s of sending\n", s.rate,
            (double)t->elapsed_ns / 1e9);
    fprintf(out, "latency (ms):  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
            ms(s.p50_ns), ms(s.p90_ns), ms(s.p99_ns), ms(s.p999_ns), ms(s.max_ns), s.mean_ns / 1e6);
    fprintf(out, "error rate:    %.2f%% (limit %.2f%%): %s\n", s.error_rate * 100,
            r->max_error_rate * 100, report_ok(r) ? "ok" : "FAILED");
}

void report_json(const report_t *r, FILE *out)
{
    buf_t b;
    buf_init(&b, 4096);
    bool first = true;
    buf_putc(&b, '{');
    buf_json_key(&b, "url", &first);
    buf_json_str(&b, r->url);
    buf_json_key(&b, "scenario", &first);
    buf_json_str(&b, r->scenario);
    buf_json_key(&b, "connections", &first);
    buf_json_i64(&b, r->connections);
    buf_json_key(&b, "wall_s", &first);
    buf_json_f64(&b, (double)r->wall_ns / 1e9, 3);
    buf_json_key(&b, "max_error_rate", &first);
    buf_json_f64(&b, r->max_error_rate, 6);
    buf_json_key(&b, "ok", &first);
    buf_puts(&b, report_ok(r) ? "true" : "false");
    loadgen_json_fields(&b, &r->total, &first);
    buf_json_key(&b, "phases", &first);
    buf_putc(&b, '[');
    for (int i = 0; i < r->nphases; i++) {
        const report_phase_t *p = &r->phases[i];
        bool f = true;
        buf_puts(&b, i ? ",{" : "{");
        buf_json_key(&b, "name", &f);
        buf_json_str(&b, p->name);
        buf_json_key(&b, "target_rate", &f);
        buf_json_f64(&b, p->target_rate, 3);
        buf_json_key(&b, "duration_s", &f);
        buf_json_f64(&b, (double)p->duration_ns / 1e9, 3);
        loadgen_json_fields(&b, &p->stats, &f);
        buf_putc(&b, '}');
    }
    buf_puts(&b, "]}\n");
    fwrite(b.data, 1, b.len, out);
    fflush(out);
    buf_destroy(&b);
}
