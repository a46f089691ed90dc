/*
 * metrics.c - see metrics.h.
 */
#include "metrics.h"
#include "../common/textbuf.h"

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

char *metrics_render(const struct metrics *const *all, size_t n,
                     const char *const *route_names, size_t nroutes)
{
    struct textbuf b;
    int nreg = atomic_load(&regime_count);
    unsigned long sum;

    if (textbuf_init(&b, 16384) != 0)
        return NULL;
    textbuf_printf(&b, "# HELP consent_requests_total Requests by route and status.\n"
            "# TYPE consent_requests_total counter\n");
    for (size_t r = 0; r <= nroutes && r <= METRICS_MAX_ROUTES; r++) {
        size_t slot = r < nroutes ? r : METRICS_MAX_ROUTES;

        for (int s = 0; s < METRICS_STATUSES; s++) {
            sum = 0;
            for (size_t w = 0; w < n; w++)
                sum += get(&all[w]->requests[slot][s]);
            if (sum == 0)
                continue;
            if (s < METRICS_STATUSES - 1)
                textbuf_printf(&b, "consent_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
                    r < nroutes ? route_names[r] : "unmatched", statuses[s], sum);
            else
                textbuf_printf(&b, "consent_requests_total{route=\"%s\",status=\"other\"} %lu\n",
                    r < nroutes ? route_names[r] : "unmatched", sum);
        }
    }
    textbuf_printf(&b, "# HELP consent_admin_requests_total Support API answers by status, "
            "refusals included.\n# TYPE consent_admin_requests_total counter\n");
    for (int s = 0; s < METRICS_STATUSES; s++) {
        sum = 0;
        for (size_t w = 0; w < n; w++)
            sum += get(&all[w]->admin_requests[s]);
        if (sum == 0)
            continue;
        if (s < METRICS_STATUSES - 1)
            textbuf_printf(&b, "consent_admin_requests_total{status=\"%d\"} %lu\n", statuses[s], sum);
        else
            textbuf_printf(&b, "consent_admin_requests_total{status=\"other\"} %lu\n", sum);
    }
    textbuf_printf(&b, "# HELP consent_request_duration_seconds Time consentd spent on a request.\n"
            "# TYPE consent_request_duration_seconds histogram\n");
    for (int k = 0; k < METRICS_BUCKETS; k++) {
        sum = 0;
        for (size_t w = 0; w < n; w++)
            sum += get(&all[w]->latency[k]);
        if (k < METRICS_BUCKETS - 1)
            textbuf_printf(&b, "consent_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
                (double)buckets_us[k] / 1e6, sum);
        else
            textbuf_printf(&b, "consent_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", sum);
    }
    sum = 0;
    for (size_t w = 0; w < n; w++)
        sum += get(&all[w]->latency_sum_us);
    textbuf_printf(&b, "consent_request_duration_seconds_sum %.6f\n", (double)sum / 1e6);
    sum = 0;
    for (size_t w = 0; w < n; w++)
        sum += get(&all[w]->latency_count);
    textbuf_printf(&b, "consent_request_duration_seconds_count %lu\n", sum);

    textbuf_printf(&b, "# HELP consent_decisions_total Banner decisions by regime and model.\n"
            "# TYPE consent_decisions_total counter\n");
    for (int g = 0; g < nreg; g++)
        for (int m = 0; m < MODEL_COUNT; m++) {
            sum = 0;
            for (size_t w = 0; w < n; w++)
                sum += get(&all[w]->decisions[g][m]);
            if (sum > 0)
                textbuf_printf(&b, "consent_decisions_total{regime=\"%s\",model=\"%s\"} %lu\n",
                    regime_names[g], rules_model_name((enum consent_model)m), sum);
        }
#define SIMPLE(field, name, help)                                          \
    do {                                                                   \
        sum = 0;                                                           \
        for (size_t w = 0; w < n; w++)                                     \
            sum += get(&all[w]->field);                                    \
        textbuf_printf(&b, "# HELP " name " " help "\n# TYPE " name " counter\n"      \
                name " %lu\n", sum);                                       \
    } while (0)
    SIMPLE(gpc_seen, "consent_gpc_seen_total", "Requests that carried Sec-GPC: 1.");
    SIMPLE(gpc_honoured, "consent_gpc_honoured_total",
           "Receipts recorded with GPC honoured (sale/sharing off).");
    SIMPLE(receipts_written, "consent_receipts_written_total",
           "Receipts Redis confirmed.");
    SIMPLE(store_errors, "consent_store_errors_total",
           "Requests that failed because Redis was unavailable or erred.");
    SIMPLE(not_durable, "consent_not_durable_total",
           "Writes the primary took but fewer than redis.min_replicas_acked "
           "replicas confirmed in time (answered 503).");
    SIMPLE(state_mismatch, "consent_state_mismatch_total",
           "Decisions that found a stored state not sealed by a known key or "
           "not matching its receipt, and asked again.");
    SIMPLE(banners_shown, "consent_banners_shown_total",
           "Banner decisions that prompted (the analytics' shown).");
    SIMPLE(settings_opened, "consent_settings_opened_total",
           "Decisions asked for the settings panel (settings=1).");
    SIMPLE(bots, "consent_stats_bots_total",
           "Requests left out of the analytics: the user agent names a bot.");
    SIMPLE(stats_dropped, "consent_stats_dropped_total",
           "Analytics counts lost: a worker's table was full or memory ran out.");
    SIMPLE(stats_flush_failures, "consent_stats_flush_failures_total",
           "Analytics flushes Redis did not take (the counts are kept and sent again).");
#undef SIMPLE
    textbuf_printf(&b, "# HELP consent_answers_total Choices recorded, by action.\n"
            "# TYPE consent_answers_total counter\n");
    for (int k = 0; k < METRICS_ACTIONS; k++) {
        sum = 0;
        for (size_t w = 0; w < n; w++)
            sum += get(&all[w]->answers[k]);
        textbuf_printf(&b, "consent_answers_total{action=\"%s\"} %lu\n", metrics_action_names[k], sum);
    }
    return textbuf_take(&b);
}
