/* Unit tests for the banner decision's head cache (cgi/headcache.c): what
 * it serves, what it refuses to store, its bounds, and that a value read
 * before a change is never served after the change's drop, also with
 * threads racing. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../cgi/headcache.h"

#define ID "kah0dNd23VpIV4rY_d07fQ"
#define TAG 7

static struct headcache c;

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    cr_assert_eq(headcache_init(&c, 1000, 5000), HEADCACHE_OK);
    headcache_live(&c, 1);
}

static void teardown(void)
{
    headcache_cleanup(&c);
}

/* put with a fresh ticket */
static int put(const char *id, int64_t now, const char *value)
{
    return headcache_put(&c, id, headcache_ticket(&c, id), TAG, now, value, strlen(value));
}

static int get(const char *id, int64_t now, char *out, size_t cap)
{
    size_t len = 0;
    int st = headcache_get(&c, id, TAG, now, out, cap - 1, &len);

    out[st == HEADCACHE_OK ? len : 0] = '\0';
    return st;
}

TestSuite(headcache, .init = setup, .fini = teardown);

Test(headcache, serves_what_was_stored_under_the_same_tag)
{
    char out[64];

    cr_assert_eq(put(ID, 100, "head-1"), HEADCACHE_OK);
    cr_assert_eq(get(ID, 101, out, sizeof(out)), HEADCACHE_OK);
    cr_assert_str_eq(out, "head-1");
    cr_assert_eq(put(ID, 102, "head-2"), HEADCACHE_OK);
    cr_assert_eq(get(ID, 103, out, sizeof(out)), HEADCACHE_OK);
    cr_assert_str_eq(out, "head-2");
    cr_assert_eq(headcache_count(&c), 1);
}

Test(headcache, misses_an_unknown_key_and_another_tag)
{
    char out[64];
    size_t len;

    cr_assert_eq(get(ID, 100, out, sizeof(out)), HEADCACHE_MISS);
    cr_assert_eq(put(ID, 100, "head-1"), HEADCACHE_OK);
    cr_assert_eq(headcache_get(&c, ID, TAG + 1, 101, out, sizeof(out), &len), HEADCACHE_MISS);
}

Test(headcache, an_empty_value_is_a_value)
{
    char out[8];
    size_t len = 99;

    cr_assert_eq(headcache_put(&c, ID, headcache_ticket(&c, ID), TAG, 100, NULL, 0),
                 HEADCACHE_OK);
    cr_assert_eq(headcache_get(&c, ID, TAG, 101, out, sizeof(out), &len), HEADCACHE_OK);
    cr_assert_eq(len, 0);
}

Test(headcache, does_not_serve_an_entry_older_than_max_age)
{
    char out[64];

    cr_assert_eq(put(ID, 1000, "head-1"), HEADCACHE_OK);
    cr_assert_eq(get(ID, 6000, out, sizeof(out)), HEADCACHE_OK);     /* exactly 5000 ms */
    cr_assert_eq(get(ID, 6001, out, sizeof(out)), HEADCACHE_MISS);
    cr_assert_eq(put(ID, 6002, "head-2"), HEADCACHE_OK);
    cr_assert_eq(get(ID, 6003, out, sizeof(out)), HEADCACHE_OK);
    cr_assert_str_eq(out, "head-2", "a fresh put replaces the old entry");
    cr_assert_eq(headcache_count(&c), 1);
}

Test(headcache, does_not_serve_an_entry_from_the_future)
{
    char out[64];

    cr_assert_eq(put(ID, 1000, "head-1"), HEADCACHE_OK);
    cr_assert_eq(get(ID, 999, out, sizeof(out)), HEADCACHE_MISS);
}

Test(headcache, a_drop_forgets_the_key)
{
    char out[64];

    cr_assert_eq(put(ID, 100, "head-1"), HEADCACHE_OK);
    headcache_drop(&c, ID);
    cr_assert_eq(get(ID, 101, out, sizeof(out)), HEADCACHE_MISS);
}

Test(headcache, refuses_a_value_read_before_a_drop)
{
    char out[64];
    uint64_t ticket = headcache_ticket(&c, ID);     /* then Redis is asked */

    headcache_drop(&c, ID);                         /* a change was heard meanwhile */
    cr_assert_eq(headcache_put(&c, ID, ticket, TAG, 100, "old", 3), HEADCACHE_STALE);
    cr_assert_eq(get(ID, 101, out, sizeof(out)), HEADCACHE_MISS);
    /* a ticket taken after the drop stores */
    cr_assert_eq(put(ID, 102, "new"), HEADCACHE_OK);
    cr_assert_eq(get(ID, 103, out, sizeof(out)), HEADCACHE_OK);
    cr_assert_str_eq(out, "new");
}

Test(headcache, starts_off_and_stores_nothing_until_live)
{
    struct headcache d;
    char out[8];
    size_t len;

    cr_assert_eq(headcache_init(&d, 10, 1000), HEADCACHE_OK);
    cr_assert_eq(headcache_put(&d, ID, headcache_ticket(&d, ID), TAG, 1, "x", 1),
                 HEADCACHE_OFF);
    cr_assert_eq(headcache_get(&d, ID, TAG, 1, out, sizeof(out), &len), HEADCACHE_OFF);
    headcache_live(&d, 1);
    cr_assert_eq(headcache_put(&d, ID, headcache_ticket(&d, ID), TAG, 1, "x", 1),
                 HEADCACHE_OK);
    headcache_cleanup(&d);
}

Test(headcache, going_off_empties_it_and_stops_serving)
{
    char out[64];

    cr_assert_eq(put(ID, 100, "head-1"), HEADCACHE_OK);
    headcache_live(&c, 0);
    cr_assert_eq(get(ID, 101, out, sizeof(out)), HEADCACHE_OFF);
    cr_assert_eq(put(ID, 101, "head-2"), HEADCACHE_OFF);
    cr_assert_eq(headcache_count(&c), 0);
    headcache_live(&c, 1);
    cr_assert_eq(get(ID, 102, out, sizeof(out)), HEADCACHE_MISS,
                 "what was there before it went off is gone");
}

Test(headcache, a_ticket_taken_while_off_is_void_once_live_again)
{
    char out[64];
    uint64_t ticket;

    headcache_live(&c, 0);
    ticket = headcache_ticket(&c, ID);          /* Redis read while not subscribed */
    headcache_live(&c, 1);
    cr_assert_eq(headcache_put(&c, ID, ticket, TAG, 100, "maybe-old", 9), HEADCACHE_STALE);
    cr_assert_eq(get(ID, 101, out, sizeof(out)), HEADCACHE_MISS);
}

Test(headcache, a_ticket_taken_before_an_outage_is_void_after_it)
{
    uint64_t ticket = headcache_ticket(&c, ID);

    headcache_live(&c, 0);
    headcache_live(&c, 1);
    cr_assert_eq(headcache_put(&c, ID, ticket, TAG, 100, "old", 3), HEADCACHE_STALE);
}

Test(headcache, holds_at_most_its_entries_and_keeps_the_newest)
{
    char id[32], out[64];

    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        cr_assert_eq(put(id, 100, id), HEADCACHE_OK);
    }
    cr_assert_leq(headcache_count(&c), 1000 + HEADCACHE_SHARDS);
    cr_assert_gt(headcache_count(&c), 500);
    cr_assert_eq(get("id-4999", 101, out, sizeof(out)), HEADCACHE_OK);
    cr_assert_str_eq(out, "id-4999");
    cr_assert_eq(get("id-0", 101, out, sizeof(out)), HEADCACHE_MISS);
}

Test(headcache, an_evicted_key_is_unlinked_from_its_bucket)
{
    struct headcache d;
    char id[32], out[16];
    size_t len;
    int hits = 0;

    /* one slot per shard: every put evicts what its shard held */
    cr_assert_eq(headcache_init(&d, 1, 1000), HEADCACHE_OK);
    headcache_live(&d, 1);
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        cr_assert_eq(headcache_put(&d, id, headcache_ticket(&d, id), TAG, 1, id, strlen(id)),
                     HEADCACHE_OK);
    }
    cr_assert_eq(headcache_count(&d), 1);
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        if (headcache_get(&d, id, TAG, 2, out, sizeof(out), &len) == HEADCACHE_OK) {
            hits++;
            cr_assert_eq(len, strlen(id));
            cr_assert_eq(memcmp(out, id, len), 0);
        }
    }
    cr_assert_eq(hits, 1);
    headcache_cleanup(&d);
}

Test(headcache, refuses_oversized_keys_and_values_and_small_buffers)
{
    char big[HEADCACHE_MAX_VALUE + 1], key[HEADCACHE_MAX_KEY + 2], out[4];
    size_t len;

    memset(big, 'x', sizeof(big));
    memset(key, 'k', sizeof(key));
    key[sizeof(key) - 1] = '\0';
    cr_assert_eq(headcache_put(&c, ID, headcache_ticket(&c, ID), TAG, 1, big, sizeof(big)),
                 HEADCACHE_INVALID);
    cr_assert_eq(headcache_put(&c, key, 0, TAG, 1, "x", 1), HEADCACHE_INVALID);
    cr_assert_eq(headcache_put(&c, "", 0, TAG, 1, "x", 1), HEADCACHE_INVALID);
    cr_assert_eq(put(ID, 1, "longer than four"), HEADCACHE_OK);
    cr_assert_eq(headcache_get(&c, ID, TAG, 2, out, sizeof(out), &len), HEADCACHE_INVALID);
}

Test(headcache, init_refuses_values_out_of_range)
{
    struct headcache d;

    cr_assert_eq(headcache_init(&d, HEADCACHE_MAX_ENTRIES + 1, 1000), HEADCACHE_INVALID);
    cr_assert_eq(headcache_init(&d, 10, 0), HEADCACHE_INVALID);
    cr_assert_eq(headcache_init(&d, 10, HEADCACHE_MAX_AGE_MS + 1), HEADCACHE_INVALID);
}

Test(headcache, with_no_entries_it_is_always_off)
{
    struct headcache d;
    char out[8];
    size_t len;

    cr_assert_eq(headcache_init(&d, 0, 1000), HEADCACHE_OK);
    headcache_live(&d, 1);
    cr_assert_eq(headcache_get(&d, ID, TAG, 1, out, sizeof(out), &len), HEADCACHE_OFF);
    cr_assert_eq(headcache_put(&d, ID, 0, TAG, 1, "x", 1), HEADCACHE_OFF);
    headcache_drop(&d, ID);
    headcache_cleanup(&d);
}

/* ---- threads: a reader never gets a value older than a completed drop ----
 *
 * "Redis" is version[k]. A writer bumps it, then drops k (record.lua's
 * PUBLISH, heard by the watcher) and then publishes the version as
 * dropped[k]. Readers load dropped[k] first; a hit must be at least that
 * version. On a miss they take a ticket, read version[k] and put it. */

#define KEYS 8
#define ROUNDS 20000

static atomic_uint version[KEYS], dropped[KEYS];
static atomic_int failures;

static void *writer(void *arg)
{
    char id[8];

    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int k = i % KEYS;
        unsigned v = atomic_fetch_add(&version[k], 1) + 1;

        snprintf(id, sizeof(id), "k%d", k);
        headcache_drop(&c, id);
        atomic_store(&dropped[k], v);
    }
    return NULL;
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char id[8];

    for (int i = 0; i < ROUNDS; i++) {
        int k = (int)((seed = seed * 1103515245u + 12345u) >> 16) % KEYS;
        unsigned floor = atomic_load(&dropped[k]), got;
        size_t len;

        snprintf(id, sizeof(id), "k%d", k);
        if (headcache_get(&c, id, TAG, 1, &got, sizeof(got), &len) == HEADCACHE_OK) {
            if (len != sizeof(got) || got < floor)
                atomic_fetch_add(&failures, 1);
        } else {
            uint64_t t = headcache_ticket(&c, id);
            unsigned v = atomic_load(&version[k]);

            headcache_put(&c, id, t, TAG, 1, &v, sizeof(v));
        }
    }
    return NULL;
}

Test(headcache, racing_threads_never_see_a_value_a_completed_drop_replaced)
{
    pthread_t w, r[3];

    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 1)), 0);
    cr_assert_eq(pthread_create(&w, NULL, writer, NULL), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    cr_assert_eq(atomic_load(&failures), 0);
    cr_assert_gt(atomic_load(&c.hits), 0, "the cache was used at all");
}

Test(headcache, every_status_has_a_message)
{
    for (int st = HEADCACHE_OK; st <= HEADCACHE_NO_MEMORY; st++)
        cr_assert_str_neq(headcache_strerror(st), "unknown error", "status %d", st);
    cr_assert_str_eq(headcache_strerror(-1), "unknown error");
}
