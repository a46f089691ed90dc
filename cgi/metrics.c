/*
 * metrics.c - see metrics.h.
 */
#include "metrics.h"
#include "../common/textbuf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[METRICS_STATUSES - 1] = {
    200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 431,
    500, 502, 503};
static const long buckets_us[METRICS_BUCKETS - 1] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000};

const char *const metrics_action_names[METRICS_ACTIONS] = {
    "accept_all", "reject_all", "custom", "gpc", "withdraw"};

static char regime_names[METRICS_MAX_REGIMES][RULES_MAX_ID_LEN + 1];
static atomic_int regime_count;

static int status_slot(int status)
{
    for (int i = 0; i < METRICS_STATUSES - 1; i++)
        if (statuses[i] == status)
            return i;
    return METRICS_STATUSES - 1;
}

static void inc(atomic_ulong *c, unsigned long by)
{
    atomic_fetch_add_explicit(c, by, memory_order_relaxed);
}

static unsigned long get(const atomic_ulong *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_request(struct metrics *m, int route, int status, long us)
{
    int r = route >= 0 && route < METRICS_MAX_ROUTES ? route : METRICS_MAX_ROUTES;

    inc(&m->requests[r][status_slot(status)], 1);
    for (int b = 0; b < METRICS_BUCKETS; b++)
        if (b == METRICS_BUCKETS - 1 || us <= buckets_us[b])
            inc(&m->latency[b], 1);
    inc(&m->latency_sum_us, us > 0 ? (unsigned long)us : 0);
    inc(&m->latency_count, 1);
}

void metrics_admin_request(struct metrics *m, int status)
{
    inc(&m->admin_requests[status_slot(status)], 1);
}

void metrics_decision(struct metrics *m, int regime_slot, enum consent_model model)
{
    if (regime_slot >= 0 && regime_slot < METRICS_MAX_REGIMES)
        inc(&m->decisions[regime_slot][model], 1);
}

int metrics_regime_slot(const char *regime_id)
{
    int n = atomic_load(&regime_count);

    for (int i = 0; i < n; i++)
        if (strcmp(regime_names[i], regime_id) == 0)
            return i;
    if (n >= METRICS_MAX_REGIMES)
        return -1;
    snprintf(regime_names[n], sizeof(regime_names[n]), "%s", regime_id);
    atomic_store(&regime_count, n + 1);    /* publish after the name */
    return n;
}

/* The sum over every worker of the counter at byte offset off of struct
 * metrics (offsetof a member). */
static unsigned long sum_at(const struct metrics *const *all, size_t n, size_t off)
{
    unsigned long sum = 0;

    for (size_t w = 0; w < n; w++)
        sum += get((const atomic_ulong *)(const void *)((const char *)all[w] + off));
    return sum;
}

/* A status slot's label: the code, or "other". */
static void status_label(int s, char *out, size_t len)
{
    if (s < METRICS_STATUSES - 1)
        snprintf(out, len, "%d", statuses[s]);
    else
        snprintf(out, len, "other");
}

static void render_requests(struct textbuf *b, const struct metrics *const *all, size_t n,
                            const char *const *route_names, size_t nroutes)
{
    char st[8];

    textbuf_printf(b, "# HELP consent_requests_total Requests by route and status.\n"
            "# TYPE consent_requests_total counter\n");
    for (size_t r = 0; r <= nroutes && r <= METRICS_MAX_ROUTES; r++) {
        size_t slot = r < nroutes ? r : METRICS_MAX_ROUTES;

        for (int s = 0; s < METRICS_STATUSES; s++) {
            unsigned long sum = sum_at(all, n, offsetof(struct metrics, requests[slot][s]));

            if (sum == 0)
                continue;
            status_label(s, st, sizeof(st));
            textbuf_printf(b, "consent_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
                           r < nroutes ? route_names[r] : "unmatched", st, sum);
        }
    }
    textbuf_printf(b, "# HELP consent_admin_requests_total Support API answers by status, "
            "refusals included.\n# TYPE consent_admin_requests_total counter\n");
    for (int s = 0; s < METRICS_STATUSES; s++) {
        unsigned long sum = sum_at(all, n, offsetof(struct metrics, admin_requests[s]));

        if (sum == 0)
            continue;
        status_label(s, st, sizeof(st));
        textbuf_printf(b, "consent_admin_requests_total{status=\"%s\"} %lu\n", st, sum);
    }
}

static void render_latency(struct textbuf *b, const struct metrics *const *all, size_t n)
{
    textbuf_printf(b, "# HELP consent_request_duration_seconds Time consentd spent on a request.\n"
            "# TYPE consent_request_duration_seconds histogram\n");
    for (int k = 0; k < METRICS_BUCKETS; k++) {
        unsigned long sum = sum_at(all, n, offsetof(struct metrics, latency[k]));

        if (k < METRICS_BUCKETS - 1)
            textbuf_printf(b, "consent_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
                (double)buckets_us[k] / 1e6, sum);
        else
            textbuf_printf(b, "consent_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", sum);
    }
    textbuf_printf(b, "consent_request_duration_seconds_sum %.6f\n",
                   (double)sum_at(all, n, offsetof(struct metrics, latency_sum_us)) / 1e6);
    textbuf_printf(b, "consent_request_duration_seconds_count %lu\n",
                   sum_at(all, n, offsetof(struct metrics, latency_count)));
}

static void render_decisions(struct textbuf *b, const struct metrics *const *all, size_t n)
{
    int nreg = atomic_load(&regime_count);

    textbuf_printf(b, "# HELP consent_decisions_total Banner decisions by regime and model.\n"
            "# TYPE consent_decisions_total counter\n");
    for (int g = 0; g < nreg; g++)
        for (int m = 0; m < MODEL_COUNT; m++) {
            unsigned long sum = sum_at(all, n, offsetof(struct metrics, decisions[g][m]));

            if (sum > 0)
                textbuf_printf(b, "consent_decisions_total{regime=\"%s\",model=\"%s\"} %lu\n",
                    regime_names[g], rules_model_name((enum consent_model)m), sum);
        }
}

/* The plain counters: one line each, under its name and help. */
static const struct {
    size_t off;
    const char *name, *help;
} simple[] = {
    {offsetof(struct metrics, gpc_seen), "consent_gpc_seen_total",
     "Requests that carried Sec-GPC: 1."},
    {offsetof(struct metrics, gpc_honoured), "consent_gpc_honoured_total",
     "Receipts recorded with GPC honoured (sale/sharing off)."},
    {offsetof(struct metrics, receipts_written), "consent_receipts_written_total",
     "Receipts Redis confirmed."},
    {offsetof(struct metrics, store_errors), "consent_store_errors_total",
     "Requests that failed because Redis was unavailable or erred."},
    {offsetof(struct metrics, not_durable), "consent_not_durable_total",
     "Writes the primary took but fewer than redis.min_replicas_acked "
     "replicas confirmed in time (answered 503)."},
    {offsetof(struct metrics, state_mismatch), "consent_state_mismatch_total",
     "Decisions that found a stored state not sealed by a known key or "
     "not matching its receipt, and asked again."},
    {offsetof(struct metrics, banners_shown), "consent_banners_shown_total",
     "Banner decisions that prompted (the analytics' shown)."},
    {offsetof(struct metrics, settings_opened), "consent_settings_opened_total",
     "Decisions asked for the settings panel (settings=1)."},
    {offsetof(struct metrics, bots), "consent_stats_bots_total",
     "Requests left out of the analytics: the user agent names a bot."},
    {offsetof(struct metrics, stats_dropped), "consent_stats_dropped_total",
     "Analytics counts lost: a worker's table was full or memory ran out."},
    {offsetof(struct metrics, stats_flush_failures), "consent_stats_flush_failures_total",
     "Analytics flushes Redis did not take (the counts are kept and sent again)."},
};

static void render_counters(struct textbuf *b, const struct metrics *const *all, size_t n)
{
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
        textbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", simple[i].name,
                       simple[i].help, simple[i].name, simple[i].name,
                       sum_at(all, n, simple[i].off));
    textbuf_printf(b, "# HELP consent_answers_total Choices recorded, by action.\n"
            "# TYPE consent_answers_total counter\n");
    for (int k = 0; k < METRICS_ACTIONS; k++)
        textbuf_printf(b, "consent_answers_total{action=\"%s\"} %lu\n", metrics_action_names[k],
                       sum_at(all, n, offsetof(struct metrics, answers[k])));
}

char *metrics_render(const struct metrics *const *all, size_t n,
                     const char *const *route_names, size_t nroutes)
{
    struct textbuf b;

    if (textbuf_init(&b, 16384) != 0)
        return NULL;
    render_requests(&b, all, n, route_names, nroutes);
    render_latency(&b, all, n);
    render_decisions(&b, all, n);
    render_counters(&b, all, n);
    return textbuf_take(&b);
}
