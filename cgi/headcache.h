/*
 * headcache.h - a process-wide, bounded, thread-safe cache of verified
 * sealed heads (consent ID -> the stored head bytes whose seal verified),
 * so that a returning visitor's banner decision needs no Redis round trip
 * and no signature check.
 *
 * Why it cannot serve a superseded state (README "Head cache"):
 * - Every write and erasure of a consent ID publishes the ID (redis/watch.h);
 *   the watcher drops it here (headcache_drop). The process's own writes
 *   drop it too, at once.
 * - While the watcher is not subscribed (starting, connection lost, Redis
 *   restarted) a message could be missed: the cache is then emptied and
 *   switched off (headcache_live(c, 0)) until it is subscribed again.
 * - A reader that fills the cache after a miss takes a ticket before it
 *   asks Redis; headcache_put refuses the bytes when the consent ID was
 *   dropped (or the cache emptied) since the ticket, so an answer Redis gave
 *   before a change can never be stored after the change's drop.
 * - Entries older than max_age_ms are not served (changes that bypass the
 *   scripts: a manual edit, an expiry).
 *
 * The cache holds opaque bytes; what they mean (a sealed head) and whether
 * they verified is the caller's (cgi/handlers.c). tag is the caller's name
 * for what verified them (the loaded key set): an entry is served only to
 * the same tag.
 *
 * Thread safety: every function may be called from any thread at once,
 * except init and cleanup. The table is split into shards, each with its
 * own reader-writer lock (gets share it, writers are preferred); no call
 * holds a lock while doing I/O.
 */
#ifndef CONSENT_HEADCACHE_H
#define CONSENT_HEADCACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/attrs.h"

#define HEADCACHE_MAX_KEY 32            /* bytes of a key (consent IDs: 22) */
#define HEADCACHE_MAX_VALUE 2048        /* bytes of a value (RECEIPT_MAX_HEAD) */
#define HEADCACHE_MAX_ENTRIES 1000000
#define HEADCACHE_MAX_AGE_MS 3600000    /* the largest max_age_ms accepted */
#define HEADCACHE_DEFAULT_ENTRIES 10000
#define HEADCACHE_DEFAULT_MAX_AGE_MS 10000
#define HEADCACHE_CLUSTER_MAX_AGE_MS 1000   /* the default under Redis Cluster */
#define HEADCACHE_SHARDS 64

enum headcache_status {
    HEADCACHE_OK = 0,
    HEADCACHE_MISS,         /* not there, too old, or stored under another tag */
    HEADCACHE_OFF,          /* the cache is not live (or has no entries) */
    HEADCACHE_STALE,        /* put: the key was dropped since the ticket */
    HEADCACHE_INVALID,      /* key or value too long, or out too small */
    HEADCACHE_NO_MEMORY
};

struct headcache_shard;

/* Safe to clean up when zeroed; a zeroed cache is off. */
struct headcache {
    struct headcache_shard *shards;
    size_t nshards;
    int64_t max_age_ms;
    unsigned char hash_key[16];     /* SipHash key: keys spread unpredictably */
    atomic_int live;
    atomic_ulong hits, misses, refused;
};

/*
 * Prepares a cache of at most entries entries (0: a cache that is always
 * off), each served for at most max_age_ms. The cache starts off: nothing
 * is served or stored before headcache_live(c, 1). Returns HEADCACHE_OK,
 * HEADCACHE_INVALID for values out of range, HEADCACHE_NO_MEMORY.
 */
CONSENT_MUST_CHECK
int headcache_init(struct headcache *c, size_t entries, int64_t max_age_ms);

/* Frees everything. Safe on a zeroed struct; no other call may run. */
void headcache_cleanup(struct headcache *c);

/*
 * Switches the cache on (1) or off (0). Either way it is emptied and every
 * ticket taken before is void, so bytes read from Redis while invalidations
 * could be missed are never stored.
 */
void headcache_live(struct headcache *c, int on);

/* A ticket for key: take it before asking Redis, hand it to headcache_put. */
uint64_t headcache_ticket(struct headcache *c, const char *key);

/*
 * The value stored for key under tag, copied into out (cap bytes; *len set).
 * HEADCACHE_OK on a hit; HEADCACHE_MISS when there is none, it is older
 * than max_age_ms at now_ms (a monotonic clock in ms; the next put replaces
 * it) or it was stored under another tag; HEADCACHE_OFF when the cache is off;
 * HEADCACHE_INVALID when the key is too long or out too small.
 */
int headcache_get(struct headcache *c, const char *key, uint64_t tag, int64_t now_ms,
                  void *out, size_t cap, size_t *len);

/*
 * Stores len bytes of value (0 is a value: "nothing stored") for key under
 * tag, at now_ms, replacing what was there and evicting the oldest-placed
 * entry of its shard when full. HEADCACHE_STALE when key was dropped or the
 * cache emptied since ticket (nothing stored), HEADCACHE_OFF when off.
 * Its result may be ignored: a put refused only means a later miss.
 */
int headcache_put(struct headcache *c, const char *key, uint64_t ticket, uint64_t tag,
                  int64_t now_ms, const void *value, size_t len);

/* Forgets key (present or not) and voids the tickets taken for it. */
void headcache_drop(struct headcache *c, const char *key);

/* Entries held now (for tests and health). */
size_t headcache_count(struct headcache *c);

/* Static message for a headcache_status ("unknown error" for anything else). */
const char *headcache_strerror(int status);

#endif
