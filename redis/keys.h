/*
 * keys.h - the store's pure rules, for the files of redis/ and their unit
 * tests (never included elsewhere): the names of its keys, the receipt
 * index bucket of a receipt ID, the analytics key of a count, which hash
 * fields are sequence numbers, what a Redis Cluster error answer asks of a
 * client, and one field of INFO. No connection and no hiredis: each is
 * tested alone (tests/test_store.c) and store.c only sends what they name.
 */
#ifndef CONSENT_STORE_KEYS_H
#define CONSENT_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* "c:{ID}" followed by suffix ("" for the history, ":t" for the tombstone). */
void store_key_of(char *out, size_t len, const char *consent_id, const char *suffix);

/* The receipt index bucket of a receipt ID, "r:<3 hex>" (with NUL, 7 bytes
 * of key's 16): 4096 hashes, so that no one key takes every write, and few
 * enough that each holds many entries in one compact listpack (about 36
 * bytes a receipt; redis.conf lets a listpack grow to 512 entries: 2
 * million receipts before buckets turn into larger hashtables). */
void store_bucket_of(const unsigned char id[16], char key[16]);

/* Whether a hash field (len bytes) is a sequence number: 1-10 digits, no
 * leading zero, at most UINT32_MAX. STORE_OK with *seq, else STORE_INVALID. */
int store_seq_of(const char *s, size_t len, uint32_t *seq);

/* FNV-1a of a field, for its shard: the same field always lands in the
 * same key, so a day's counts are spread over STORE_STATS_SHARDS keys (and
 * Cluster slots) without duplicates. Below STORE_STATS_SHARDS. */
unsigned store_stats_shard(const char *field);

/* "a:{SITE:YYYY-MM-DD:SHARD}" of a day (days since 1970-01-01, UTC): the
 * whole name is the hash tag, so each key is one slot of its own and one
 * pipeline of commands on it never crosses slots. STORE_OK, or
 * STORE_INVALID when the day is negative or the name does not fit. */
int store_stats_key(char *out, size_t len, const char *site, long day, unsigned shard);

/* "host:port" as the slot map names a node (IPv6 hosts bracketed); ""
 * when it does not fit (slot_map_set refuses it then). */
void store_node_address(char *out, size_t len, const char *host, long long port);

/* What to do about an error answer of a Redis server, per the Redis
 * Cluster specification (and NOSCRIPT, under every topology). */
enum store_redirect {
    STORE_ANSWER = 0,       /* not one of these: the answer stands */
    STORE_MOVED,            /* the slot lives elsewhere now: *slot, to */
    STORE_ASK,              /* one command to another node, ASKING first */
    STORE_WAIT_AND_RETRY,   /* TRYAGAIN, LOADING */
    STORE_REFRESH,          /* CLUSTERDOWN, READONLY, MASTERDOWN: ask for the map */
    STORE_LOAD_SCRIPT       /* NOSCRIPT: the node lost its scripts */
};

/* Whether an error answer's text is NOSCRIPT: the server has no script of
 * that SHA1 (what store.c's reload_script() answers). */
int store_is_noscript(const char *err);

/* The redirect an error answer's text err asks for; for MOVED and ASK the
 * slot into *slot and the node's "host:port" into to (tolen bytes). */
enum store_redirect store_redirect_of(const char *err, unsigned *slot, char *to,
                                      size_t tolen);

/* One "name:value" line of an INFO answer as a number; -1 when absent. */
long long store_info_field(const char *info, const char *name);

#endif
