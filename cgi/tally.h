/*
 * tally.h - consent analytics, counted privately: each worker adds events
 * (banner shown, settings opened, answers by action, per-category results)
 * to its own in-memory table; a flusher thread drains every worker's table
 * now and then and adds the sums to Redis in batches (store_stats_add). So
 * the banner decision and the receipt write gain no Redis round trip.
 *
 * What a count is keyed by: site, UTC day and the dimensions of struct
 * tally_where (region, regime, banner version, variant, device class,
 * language). Nothing else: no consent ID, address, user agent or time finer
 * than the day is ever part of a key or a field.
 *
 * Threads: tally_add is called by the worker that owns the struct tally;
 * tally_drain by the flusher. A per-worker mutex guards the live table and
 * is held only for an insert or for swapping two pointers, never across
 * I/O, so the worker never waits for Redis.
 */
#ifndef CONSENT_TALLY_H
#define CONSENT_TALLY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "../redis/store.h"

#define TALLY_MAX_FIELD 384         /* one Redis field, with NUL */
#define TALLY_MAX_PART 200          /* one decoded dimension, with NUL */
#define TALLY_MAX_SITE 33           /* a site id with NUL */
#define TALLY_MAX_ENTRIES 1024      /* distinct counts a table holds; past it,
                                     * counts are dropped (and counted) */
#define TALLY_NONE "-"              /* a dimension with no value */

/* The dimensions of a field, in the order they are written. */
enum tally_dim {
    TALLY_REGION = 0,   /* "DE", "US-CA" (subdivision where the rules use it), "-" */
    TALLY_REGIME,       /* "gdpr", "ccpa", ... */
    TALLY_VERSION,      /* the site's banner_version */
    TALLY_VARIANT,      /* the banner variant, "-" without experiments */
    TALLY_DEVICE,       /* "mobile" or "desktop" */
    TALLY_LANGUAGE,     /* the language shown, "en", "pt-br" */
    TALLY_NDIMS
};

/* Where one count belongs. Strings are borrowed for the call. */
struct tally_where {
    const char *site;
    long day;                       /* days since 1970-01-01 (UTC) */
    const char *dims[TALLY_NDIMS];  /* NULL or "" is written as TALLY_NONE */
};

/* Events (the last part of a field). Per category: "on:<id>", "off:<id>". */
#define TALLY_SHOWN "shown"             /* a decision that prompts */
#define TALLY_SHOWN_GPC "shown_gpc"     /* ... to a browser sending GPC */
#define TALLY_SETTINGS "settings"       /* a decision for the settings panel */
#define TALLY_ANSWER_PREFIX "a:"        /* "a:accept_all", ..., "a:gpc" */
#define TALLY_OPTED_OUT "opted_out"     /* an answer by hand that opted out of
                                         * sale/sharing */

struct tally_table;

struct tally {
    pthread_mutex_t lock;
    struct tally_table *live;       /* the worker adds here (under lock) */
    struct tally_table *spare;      /* swapped in by tally_drain */
    atomic_ulong dropped;           /* counts lost to a full table */
    int ready;
};

/*
 * The Redis field of one count: the dimensions, each with '%', '|' and
 * control bytes written as %HH, joined by '|', then '|' and event. Returns
 * 0, or -1 when it would not fit in len (nothing is counted then).
 */
int tally_field(const struct tally_where *w, const char *event, char *out, size_t len);

/* The reverse: dims[i] (decoded) and event from a field. -1 when the
 * field is not one tally_field writes. */
int tally_field_parse(const char *field, char dims[TALLY_NDIMS][TALLY_MAX_PART],
                      char *event, size_t evlen);

/* "mobile" when the user agent says so (Mobi, Android, iPhone, iPad,
 * iPod), else "desktop". Static strings. */
const char *tally_device(const char *user_agent);

/* 1 for a user agent that names itself a bot (bot, crawl, spider, slurp,
 * preview fetchers) or is empty: such requests are not counted. */
int tally_is_bot(const char *user_agent);

/* Prepares a worker's tally (empty tables). 0, or -1 out of memory. */
int tally_init(struct tally *t);

/* Frees both tables. Safe on a zeroed struct. */
void tally_cleanup(struct tally *t);

/* Adds by to the count of event at w. A full table drops it (dropped). */
void tally_add(struct tally *t, const struct tally_where *w, const char *event,
               long long by);

/* A table of counts (the flusher's pending batch). Free with
 * tally_table_free. NULL when out of memory. */
struct tally_table *tally_table_new(void);
void tally_table_free(struct tally_table *tt);

/* Distinct counts in a table, and one of them (0 when absent). */
size_t tally_table_size(const struct tally_table *tt);
long long tally_table_get(const struct tally_table *tt, const char *site, long day,
                          const char *field);

/* Moves everything t counted so far into into (summing), leaving t empty.
 * Counts that do not fit in into are dropped and added to *dropped. */
void tally_drain(struct tally *t, struct tally_table *into, unsigned long *dropped);

/*
 * Adds pending's counts to the store (store_stats_add, TTL ttl_s) and
 * removes what Redis confirmed; what failed stays in pending for the next
 * flush (what no longer fits is added to *dropped). Returns the store's
 * status.
 */
int tally_flush(struct tally_table *pending, struct store *s, long ttl_s,
                unsigned long *dropped);

#endif
