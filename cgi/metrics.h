/*
 * metrics.h - counters for GET /consent/v1/metrics (Prometheus text format).
 *
 * Each worker thread owns one struct metrics and is its only writer (relaxed
 * atomic adds, uncontended); the metrics handler sums all workers' structs.
 * Regime names are registered by the main thread when rules are (re)loaded.
 */
#ifndef CONSENT_METRICS_H
#define CONSENT_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "../geo/rules.h"

#define METRICS_MAX_ROUTES 16
#define METRICS_STATUSES 19         /* tracked codes + "other" */
#define METRICS_BUCKETS 12
#define METRICS_MAX_REGIMES 256
#define METRICS_ACTIONS 5           /* as enum choice_action: accept_all, reject_all,
                                     * custom, gpc, withdraw */

struct metrics {
    atomic_ulong requests[METRICS_MAX_ROUTES + 1][METRICS_STATUSES];
    atomic_ulong admin_requests[METRICS_STATUSES];  /* support API answers */
    atomic_ulong latency[METRICS_BUCKETS];  /* cumulative le buckets */
    atomic_ulong latency_sum_us;
    atomic_ulong latency_count;
    atomic_ulong decisions[METRICS_MAX_REGIMES][MODEL_COUNT];
    atomic_ulong gpc_seen;
    atomic_ulong gpc_honoured;
    atomic_ulong receipts_written;
    atomic_ulong store_errors;
    atomic_ulong not_durable;       /* writes too few replicas confirmed */
    atomic_ulong state_mismatch;
    /* analytics totals (the breakdown is in Redis: GET .../admin/stats) */
    atomic_ulong banners_shown;
    atomic_ulong settings_opened;
    atomic_ulong answers[METRICS_ACTIONS];  /* by metrics_action_names */
    atomic_ulong bots;              /* requests not counted: a bot's user agent */
    atomic_ulong stats_dropped;     /* counts lost (full table, no memory) */
    atomic_ulong stats_flush_failures;  /* flushes Redis did not take */
};

/* The answers counted, in the order of receipt actions. */
extern const char *const metrics_action_names[METRICS_ACTIONS];

/* Counts one request: route index (-1 when no route matched), status,
 * time taken. */
void metrics_request(struct metrics *m, int route, int status, long us);

/* Counts one answer on the support API (/consent/v1/admin/...), whoever
 * gave it: an admin handler, the router (404, 405) or request parsing (431,
 * 400). Refusals for want of a token (401) are counted here, not audited. */
void metrics_admin_request(struct metrics *m, int status);

/* Counts one banner decision for a regime (slot from metrics_regime_slot). */
void metrics_decision(struct metrics *m, int regime_slot, enum consent_model model);

/* The slot of a regime id, registering it if new (main thread only, before
 * the rules that name it are published). -1 when the table is full. */
int metrics_regime_slot(const char *regime_id);

/*
 * Renders every worker's counters summed, with route names, into a malloc'd
 * NUL-terminated string (caller frees). NULL when out of memory.
 */
char *metrics_render(const struct metrics *const *all, size_t n,
                     const char *const *route_names, size_t nroutes);

#endif
