/*
 * headcache.c - see headcache.h.
 *
 * Each shard is a fixed table of slots allocated at init, chained hash
 * buckets indexing them, and a clock hand that picks the slot to reuse
 * when the shard is full (the one placed longest ago). A shard's epoch
 * counts its drops and clears: a ticket is the epoch of the key's shard,
 * and a put is refused when the epoch moved. A drop of another key of the
 * same shard also voids the ticket; that only costs one more Redis read.
 */
#include "headcache.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char key[HEADCACHE_MAX_KEY + 1];
    int used;
    int32_t next;               /* next slot in the bucket, -1 at the end */
    int64_t born_ms;
    uint64_t tag;
    size_t len, cap;
    unsigned char *value;       /* cap bytes, owned */
};

struct headcache_shard {
    pthread_rwlock_t lock;      /* readers share it; writers are preferred */
    uint64_t epoch;
    struct slot *slots;
    size_t nslots;
    int32_t *buckets;           /* nbuckets heads, -1 when empty */
    size_t nbuckets;            /* a power of two */
    size_t hand;                /* the next slot to (re)use */
    size_t used;
};

/* A reader-writer lock that prefers writers: the watcher's drops never
 * wait behind a stream of readers (they bypass the cache meanwhile anyway:
 * watch_settled()). Readers of one hot consent ID share the lock instead
 * of queueing on a mutex. */
static int init_lock(pthread_rwlock_t *l)
{
    pthread_rwlockattr_t a;
    int rc;

    if (pthread_rwlockattr_init(&a) != 0)
        return -1;
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
    return rc;
}

static uint64_t hash_of(const struct headcache *c, const char *key, size_t n)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v = 0;

    crypto_shorthash(h, (const unsigned char *)key, n, c->hash_key);
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v;
}

/* The shard of key and its bucket there; NULL for a key too long or empty. */
static struct headcache_shard *shard_of(const struct headcache *c, const char *key,
                                        size_t *bucket)
{
    size_t n = strnlen(key, HEADCACHE_MAX_KEY + 1);
    uint64_t h;
    struct headcache_shard *s;

    if (c->shards == NULL || n == 0 || n > HEADCACHE_MAX_KEY)
        return NULL;
    h = hash_of(c, key, n);
    s = &c->shards[h % c->nshards];
    *bucket = (size_t)(h >> 32) & (s->nbuckets - 1);
    return s;
}

/* The slot holding key in bucket b, and the link that points at it. */
static int32_t find(struct headcache_shard *s, size_t b, const char *key, int32_t **link)
{
    int32_t *at = &s->buckets[b];

    while (*at >= 0) {
        if (strcmp(s->slots[*at].key, key) == 0) {
            *link = at;
            return *at;
        }
        at = &s->slots[*at].next;
    }
    return -1;
}

/* Unlinks and empties a slot (its bytes stay allocated for reuse). */
static void unlink_slot(struct headcache_shard *s, int32_t *link, int32_t i)
{
    *link = s->slots[i].next;
    s->slots[i].used = 0;
    s->slots[i].next = -1;
    s->slots[i].key[0] = '\0';
    s->used--;
}

/* Removes slot i wherever it is chained (eviction by the clock hand). */
static void evict(struct headcache *c, struct headcache_shard *s, int32_t i)
{
    size_t b;
    int32_t *link = NULL;

    if (!s->slots[i].used || shard_of(c, s->slots[i].key, &b) != s ||
        find(s, b, s->slots[i].key, &link) != i)
        return;
    unlink_slot(s, link, i);
}

static void shard_clear(struct headcache_shard *s)
{
    for (size_t i = 0; i < s->nbuckets; i++)
        s->buckets[i] = -1;
    for (size_t i = 0; i < s->nslots; i++) {
        s->slots[i].used = 0;
        s->slots[i].next = -1;
        s->slots[i].key[0] = '\0';
    }
    s->used = 0;
    s->epoch++;
}

int headcache_init(struct headcache *c, size_t entries, int64_t max_age_ms)
{
    size_t per;

    memset(c, 0, sizeof(*c));
    if (entries > HEADCACHE_MAX_ENTRIES || max_age_ms < 1 || max_age_ms > HEADCACHE_MAX_AGE_MS)
        return HEADCACHE_INVALID;
    c->max_age_ms = max_age_ms;
    if (entries == 0)
        return HEADCACHE_OK;
    randombytes_buf(c->hash_key, sizeof(c->hash_key));
    c->nshards = entries < HEADCACHE_SHARDS ? entries : HEADCACHE_SHARDS;
    per = (entries + c->nshards - 1) / c->nshards;
    c->shards = calloc(c->nshards, sizeof(*c->shards));
    if (c->shards == NULL)
        return HEADCACHE_NO_MEMORY;
    for (size_t i = 0; i < c->nshards; i++) {
        struct headcache_shard *s = &c->shards[i];

        s->nbuckets = 1;
        while (s->nbuckets < per)
            s->nbuckets <<= 1;
        s->nslots = per;
        s->slots = calloc(per, sizeof(*s->slots));
        s->buckets = malloc(s->nbuckets * sizeof(*s->buckets));
        if (s->slots == NULL || s->buckets == NULL ||
            init_lock(&s->lock) != 0) {
            free(s->slots);
            free(s->buckets);
            s->slots = NULL;
            s->buckets = NULL;
            c->nshards = i;
            headcache_cleanup(c);
            return HEADCACHE_NO_MEMORY;
        }
        shard_clear(s);
    }
    return HEADCACHE_OK;
}

void headcache_cleanup(struct headcache *c)
{
    for (size_t i = 0; c->shards != NULL && i < c->nshards; i++) {
        struct headcache_shard *s = &c->shards[i];

        for (size_t k = 0; k < s->nslots; k++)
            free(s->slots[k].value);
        free(s->slots);
        free(s->buckets);
        pthread_rwlock_destroy(&s->lock);
    }
    free(c->shards);
    sodium_memzero(c, sizeof(*c));
}

void headcache_live(struct headcache *c, int on)
{
    /* Off: stop serving first, then empty. On: empty (voiding tickets
     * taken while off) before anything is stored again. */
    if (!on)
        atomic_store(&c->live, 0);
    for (size_t i = 0; c->shards != NULL && i < c->nshards; i++) {
        pthread_rwlock_wrlock(&c->shards[i].lock);
        shard_clear(&c->shards[i]);
        pthread_rwlock_unlock(&c->shards[i].lock);
    }
    if (on && c->shards != NULL)
        atomic_store(&c->live, 1);
}

uint64_t headcache_ticket(struct headcache *c, const char *key)
{
    size_t b;
    struct headcache_shard *s = shard_of(c, key, &b);
    uint64_t t;

    if (s == NULL)
        return 0;
    pthread_rwlock_rdlock(&s->lock);
    t = s->epoch;
    pthread_rwlock_unlock(&s->lock);
    return t;
}

/* The shard of key and its bucket in *b, for get and put: HEADCACHE_OFF
 * while the cache is off, HEADCACHE_INVALID for a key too long or empty. */
static int live_shard(struct headcache *c, const char *key, struct headcache_shard **s,
                      size_t *b)
{
    if (!atomic_load(&c->live))
        return HEADCACHE_OFF;
    *s = shard_of(c, key, b);
    return *s != NULL ? HEADCACHE_OK : HEADCACHE_INVALID;
}

int headcache_get(struct headcache *c, const char *key, uint64_t tag, int64_t now_ms,
                  void *out, size_t cap, size_t *len)
{
    size_t b;
    struct headcache_shard *s;
    int32_t i, *link = NULL;
    int st;

    *len = 0;
    st = live_shard(c, key, &s, &b);
    if (st != HEADCACHE_OK)
        return st;
    st = HEADCACHE_MISS;
    pthread_rwlock_rdlock(&s->lock);
    i = find(s, b, key, &link);
    if (i >= 0) {
        struct slot *e = &s->slots[i];

        if (now_ms - e->born_ms > c->max_age_ms || now_ms < e->born_ms) {
            st = HEADCACHE_MISS;    /* too old: the next put replaces it */
        } else if (e->tag != tag) {
            st = HEADCACHE_MISS;
        } else if (e->len > cap) {
            st = HEADCACHE_INVALID;
        } else {
            if (e->len > 0)
                memcpy(out, e->value, e->len);
            *len = e->len;
            st = HEADCACHE_OK;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    if (st == HEADCACHE_OK)
        atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
    return st;
}

/* A slot for key in bucket b of s (under the write lock), found by the
 * clock hand: a free one, or the one placed longest ago (evicted). */
static int32_t place(struct headcache *c, struct headcache_shard *s, size_t b,
                     const char *key)
{
    size_t tries = 0;
    struct slot *e;
    int32_t i;

    while (s->slots[s->hand].used && s->used < s->nslots && tries++ < s->nslots)
        s->hand = (s->hand + 1) % s->nslots;
    i = (int32_t)s->hand;
    s->hand = (s->hand + 1) % s->nslots;
    if (s->slots[i].used)
        evict(c, s, i);
    e = &s->slots[i];
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->used = 1;
    e->next = s->buckets[b];
    s->buckets[b] = i;
    s->used++;
    return i;
}

int headcache_put(struct headcache *c, const char *key, uint64_t ticket, uint64_t tag,
                  int64_t now_ms, const void *value, size_t len)
{
    size_t b;
    struct headcache_shard *s;
    struct slot *e;
    int32_t i, *link = NULL;
    int st;

    if (len > HEADCACHE_MAX_VALUE)
        return HEADCACHE_INVALID;
    st = live_shard(c, key, &s, &b);
    if (st != HEADCACHE_OK)
        return st;
    pthread_rwlock_wrlock(&s->lock);
    if (s->epoch != ticket || !atomic_load(&c->live)) {
        st = s->epoch != ticket ? HEADCACHE_STALE : HEADCACHE_OFF;
        goto done;
    }
    i = find(s, b, key, &link);
    if (i < 0)
        i = place(c, s, b, key);
    e = &s->slots[i];
    if (len > e->cap) {
        unsigned char *v = realloc(e->value, len);

        if (v == NULL) {
            find(s, b, key, &link);
            unlink_slot(s, link, i);
            st = HEADCACHE_NO_MEMORY;
            goto done;
        }
        e->value = v;
        e->cap = len;
    }
    if (len > 0)
        memcpy(e->value, value, len);
    e->len = len;
    e->tag = tag;
    e->born_ms = now_ms;
done:
    pthread_rwlock_unlock(&s->lock);
    if (st != HEADCACHE_OK)
        atomic_fetch_add_explicit(&c->refused, 1, memory_order_relaxed);
    return st;
}

void headcache_drop(struct headcache *c, const char *key)
{
    size_t b;
    struct headcache_shard *s = shard_of(c, key, &b);
    int32_t i, *link = NULL;

    if (s == NULL)
        return;
    pthread_rwlock_wrlock(&s->lock);
    i = find(s, b, key, &link);
    if (i >= 0)
        unlink_slot(s, link, i);
    s->epoch++;
    pthread_rwlock_unlock(&s->lock);
}

size_t headcache_count(struct headcache *c)
{
    size_t n = 0;

    for (size_t i = 0; c->shards != NULL && i < c->nshards; i++) {
        pthread_rwlock_rdlock(&c->shards[i].lock);
        n += c->shards[i].used;
        pthread_rwlock_unlock(&c->shards[i].lock);
    }
    return n;
}

const char *headcache_strerror(int status)
{
    switch (status) {
    case HEADCACHE_OK:
        return "success";
    case HEADCACHE_MISS:
        return "not cached";
    case HEADCACHE_OFF:
        return "the head cache is off";
    case HEADCACHE_STALE:
        return "the consent ID changed since the ticket";
    case HEADCACHE_INVALID:
        return "key or value too long, or buffer too small";
    case HEADCACHE_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}
