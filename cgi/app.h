/*
 * app.h - consentd's state: the loaded configuration every worker shares
 * (struct app), each worker thread's own state (struct worker), and what
 * main.c answers about the process (the clock, metrics, the head cache).
 *
 * struct app is built once at start and then only read by the workers.
 * struct worker belongs to one thread: its Redis connection is never shared.
 * Routes and handlers: router.h; the visitor: visitor.h.
 */
#ifndef CONSENT_APP_H
#define CONSENT_APP_H

#include <stdint.h>

#include "config.h"
#include "headcache.h"
#include "metrics.h"
#include "jws.h"
#include "receipt.h"
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
    /* The consent cookie's full name: "__Host-" + cookie_name where
     * cookies are Secure, so that no sibling subdomain can plant one
     * (browsers refuse a __Host- cookie with a Domain, a Path other than /
     * or without Secure). */
    char cookie_name[CONSENT_MAX_COOKIE_NAME + 8];
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

/* The head cache for health: 1 when on, 0 when off (not subscribed), -1
 * when configured out; where the watcher listens, hits, misses and entries. */
int app_head_cache(char *where, size_t len, unsigned long *hits, unsigned long *misses,
                   size_t *entries);

/* Prometheus text of every worker's counters (malloc'd; caller frees). */
char *app_metrics_text(void);

/* Wall-clock time in epoch milliseconds (tests can pin it: see main.c). */
int64_t app_now_ms(void);

#endif
