/*
 * app.h - consentd's shared state, per-thread state, routes and handlers.
 *
 * struct app is built once at start and then only read by the workers.
 * struct worker belongs to one thread: its Redis connection is never shared.
 */
#ifndef CONSENT_APP_H
#define CONSENT_APP_H

#include <stdint.h>

#include "config.h"
#include "decision.h"
#include "headcache.h"
#include "metrics.h"
#include "jws.h"
#include "receipt.h"
#include "request.h"
#include "response.h"
#include "tally.h"
#include "../geo/geo.h"
#include "../geo/rules.h"
#include "../redis/store.h"
#include "../redis/watch.h"

struct app {
    struct config cfg;
    struct rules rules;
    struct geo geo;
    struct jws_keyset keys;         /* current signing key + retired public keys */
    unsigned char cookie_key[32];   /* MAC key of consent cookies */
    /* The decision's categories array, printed at load for every site,
     * model, GPC received and GPC binding (decision_categories_json). */
    char *categories[CONSENT_MAX_SITES][MODEL_COUNT][2][2];
    /* Which load this is (1, 2, ... per process): the head cache serves a
     * head verified under one key set only to the same load. */
    uint64_t generation;
};

#define WORKER_CONTEXTS 16
#define WORKER_MADE 16
#define WORKER_SEALS 256

/* A receipt context this worker built for writes, and what it was built
 * from (a hash of site, language, banner model, texts hash, variant,
 * regime, region and GPP string, under one load). */
struct worker_made {
    unsigned char key[16];
    uint64_t generation;
    struct receipt_context ctx;
};

struct worker {
    int id;
    struct store store;
    struct metrics metrics;
    struct tally tally;             /* analytics counts, drained by the flusher */
    /* Receipt contexts read from Redis (each checked against the hash it is
     * stored under, so a cached one is as good as a fresh one) and the ones
     * this worker has stored: contexts never change, so neither goes stale. */
    struct receipt_context contexts[WORKER_CONTEXTS];
    unsigned next_context;
    char written[WORKER_CONTEXTS][RECEIPT_CTX_HEX];
    unsigned next_written;
    /* The contexts of recent writes: building one parses the language's
     * texts, the dearest part of a write after the two signatures, and
     * every visitor of a site, language and region shares it. */
    struct worker_made made[WORKER_MADE];
    unsigned next_made;
    /* Heads whose seal this worker verified (a 16-byte hash of the stored
     * head, and the state that verified it): a returning visitor's head
     * rarely changes, and an Ed25519 verification costs more than the
     * rest of the decision. A changed head has another hash; a reload
     * (another key set) another state. */
    unsigned char sealed[WORKER_SEALS][16];
    const struct app *sealed_by[WORKER_SEALS];
    /* The process's cache of verified heads and the watcher that keeps it
     * current (shared, thread-safe; NULL when head_cache.entries is 0). */
    struct headcache *heads;
    struct watch *watch;
};

/* Extra facts a handler leaves for the access log and the metrics. */
struct request_log {
    const char *regime;         /* static or from the rules */
    int gpc;
    int route;                  /* index of the matched route, -1 for none */
};

typedef void handler_fn(struct request *req, struct response *res,
                        struct request_log *log);

/*
 * Finds the handler for req's method and path and runs it. Unknown path:
 * 404; known path with another method: 405 with Allow; HEAD runs the GET
 * handler (the worker leaves the body out).
 */
void router_dispatch(struct request *req, struct response *res,
                     struct request_log *log);

handler_fn handle_banner;
handler_fn handle_health;
handler_fn handle_keys;
handler_fn handle_declaration;
handler_fn handle_preflight;
handler_fn handle_record;
handler_fn handle_me;
handler_fn handle_withdraw;
handler_fn handle_admin_consent;
handler_fn handle_admin_erase;
handler_fn handle_admin_receipt;
handler_fn handle_admin_audit;
handler_fn handle_admin_stats;
handler_fn handle_metrics;

/* Route names ("GET /consent/v1/banner") in table order, for the metrics. */
size_t router_route_names(const char *const **names);

/* Prometheus text of every worker's counters (malloc'd; caller frees). */
char *app_metrics_text(void);

/* Who is asking, worked out once per request by handler_visitor(). */
struct visitor {
    struct geo_location loc;
    struct jurisdiction j;
    char region[RULES_REGION_LEN];      /* "US-CA", "DE" or "" */
    char consent_id[CONSENT_ID_LEN + 1];/* "" until a cookie we issued is seen */
    char cookie[CONSENT_COOKIE_LEN + 1];/* the cookie a write (re)sets ("" none) */
    int id_from_cookie;                 /* the browser sent one of our cookies */
    int previewing;
};

/*
 * Shared by the handlers (handlers.c):
 * handler_site_param reads ?site= and answers 400/404 itself (NULL then);
 * handler_cors adds CORS headers for the site's own origins;
 * handler_visitor fills v from the address (or an allowed ?preview=) and the
 *   consent cookie (one the server did not issue is ignored: no ID then);
 *   answers 400/403 itself and returns -1 for a bad preview;
 * handler_issue_id gives a visitor without an ID a new cookie and ID (set by
 *   handler_set_cookie when the write succeeds);
 * handler_context finds a receipt context by reference in the worker's
 *   cache or Redis (NULL when missing or altered);
 * handler_language is the site's best language for Accept-Language;
 * handler_set_cookie sets the consent cookie for lifetime_days;
 * handler_store_unavailable answers 503 with Retry-After.
 */
const struct config_site *handler_site_param(const struct request *req,
                                             struct response *res);
void handler_cors(const struct request *req, struct response *res,
                  const struct config_site *site);
int handler_visitor(const struct request *req, struct response *res,
                    const struct config_site *site, struct visitor *v);
const struct config_language *handler_language(const struct request *req,
                                              const struct config_site *site);
void handler_issue_id(const struct request *req, struct visitor *v);
void handler_set_cookie(const struct request *req, struct response *res,
                        const char *cookie, int lifetime_days);
const struct receipt_context *handler_context(struct request *req,
                                              const unsigned char *ref);
void handler_store_unavailable(const struct request *req, struct response *res);

/* The head cache for health: 1 when on, 0 when off (not subscribed), -1
 * when configured out; where the watcher listens, hits, misses and entries. */
int app_head_cache(char *where, size_t len, unsigned long *hits, unsigned long *misses,
                   size_t *entries);

/*
 * Counts one analytics event (tally.h) for visitor v on site in language
 * (a tag), with variant ("" or NULL: none), in the worker's own table: no
 * Redis round trip. Requests whose user agent names a bot are not counted
 * (consent_stats_bots_total). Returns 0 when counted, -1 for a bot.
 */
int handler_count(struct request *req, const struct visitor *v,
                  const struct config_site *site, const char *language,
                  const char *variant, const char *event);

/* Wall-clock time in epoch milliseconds (tests can pin it: see main.c). */
int64_t app_now_ms(void);

#endif
