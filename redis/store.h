/*
 * store.h - the receipt store in Redis (hiredis).
 *
 * One struct store per worker thread: a redisContext is not thread-safe.
 * Connections use connect and command timeouts; a lost connection is
 * re-established on a later call, with a backoff so that while Redis is down
 * requests fail at once instead of each waiting for a connect timeout. When
 * any store of the process connects again, the others stop backing off at
 * once (a process-wide atomic counter), so recovery is not delayed by up to
 * STORE_BACKOFF_MAX_MS per worker.
 */
#ifndef CONSENT_STORE_H
#define CONSENT_STORE_H

#include <stdint.h>
#include <hiredis/hiredis.h>

#define STORE_BACKOFF_MIN_MS 50
#define STORE_BACKOFF_MAX_MS 2000
#define STORE_HASH_HEX 65
#define STORE_MAX_STATE 2048

enum store_status {
    STORE_OK = 0,
    STORE_UNAVAILABLE,      /* cannot connect, timed out, or connection lost */
    STORE_ERROR,            /* Redis answered with an error */
    STORE_CONFLICT,         /* store_record: the head moved; re-chain */
    STORE_NOT_FOUND,        /* no such consent ID / state */
    STORE_RETRY             /* internal: the connection had died; try again */
};

struct store {
    redisContext *ctx;          /* NULL while disconnected */
    char *host;                 /* host, or unix socket path */
    int port;                   /* 0 for a unix socket */
    int connect_timeout_ms;
    int command_timeout_ms;
    int64_t next_attempt_ms;    /* no reconnect before this (monotonic) ... */
    unsigned long seen_up;      /* ... unless another store connected since */
    int backoff_ms;
    char last_error[128];       /* why it is unavailable, for health/logs */
    char script_sha[2][41];     /* SCRIPT LOAD of record.lua, erase.lua */
};

/*
 * Key layout (documented in redis/README.md). Every key of one consent ID
 * carries the hash tag {ID} so that they share one Redis Cluster slot:
 *   consent:{ID}           hash: head, count, site:<site> -> current state
 *   consent:{ID}:receipts  list of stored receipts, newest first
 *   consent:{ID}:tombstone hash left by an erasure
 *   receipt:<receipt id>   the consent ID of a receipt (index; own TTL)
 *   consent:audit          stream of admin requests
 */

/* What one record call writes. */
struct store_write {
    const char *consent_id;
    const char *receipt_id;     /* required; indexed as receipt:<id> -> consent_id */
    const char *expected_head;  /* "" for the first receipt of the ID */
    const char *receipt;        /* stored form, receipt_len bytes */
    size_t receipt_len;
    const char *site;
    const char *state;          /* JSON */
    const char *new_head;
    int max_history;
    long ttl_seconds;
};

/*
 * Prepares a store for address ("host:port" or "unix:/path") and tries to
 * connect once. Returns STORE_OK, or STORE_UNAVAILABLE when the first
 * connection failed (the store stays usable: later calls reconnect), or -1
 * when address is malformed / out of memory. Close with store_close().
 */
int store_open(struct store *s, const char *address, int connect_timeout_ms,
               int command_timeout_ms);

/* Disconnects and frees. Safe on a zeroed struct. */
void store_close(struct store *s);

/* PING. STORE_OK when Redis answered PONG. */
int store_ping(struct store *s);

/*
 * Runs one command (argv form) and hands back the reply, owned by the caller
 * (freeReplyObject), or NULL on STORE_UNAVAILABLE / STORE_ERROR. A reply of
 * type REDIS_REPLY_ERROR is freed and reported as STORE_ERROR with its text
 * in s->last_error.
 */
int store_command(struct store *s, redisReply **reply, int argc,
                  const char **argv, const size_t *argvlen);

/*
 * The chain head of a consent ID into head (STORE_HASH_HEX bytes): "" when the
 * ID has no receipts yet. STORE_OK or STORE_UNAVAILABLE / STORE_ERROR.
 */
int store_head(struct store *s, const char *consent_id, char *head);

/*
 * The current state of a consent ID for one site as a malloc'd JSON string
 * (caller frees) or NULL when there is none (still STORE_OK).
 */
int store_state(struct store *s, const char *consent_id, const char *site,
                char **state);

/*
 * Appends a receipt and sets the state and head in one atomic script.
 * STORE_OK when Redis confirmed the write; STORE_CONFLICT (nothing written,
 * current head in conflict_head) when the head was no longer expected_head.
 */
int store_record(struct store *s, const struct store_write *w,
                 char *conflict_head);

/*
 * The stored receipts of a consent ID, newest first, as a reply (caller
 * frees with freeReplyObject): an array of strings, empty when none; the
 * number of receipts ever written (*count) and how many of them the history
 * bound dropped (*trimmed).
 */
int store_history(struct store *s, const char *consent_id, redisReply **list,
                  long *count, long *trimmed);

/*
 * Everything kept for a consent ID besides the receipts: *hash is the
 * HGETALL reply of consent:{ID} (caller frees; empty array when none) and
 * *pttl_ms the time left before it expires (-2 when it does not exist).
 */
int store_consent(struct store *s, const char *consent_id, redisReply **hash,
                  long long *pttl_ms);

/* The tombstone of an erased consent ID (HGETALL reply; empty when none). */
int store_tombstone(struct store *s, const char *consent_id, redisReply **hash);

/* The consent ID a receipt belongs to, via the receipt index.
 * STORE_NOT_FOUND when the index has no such receipt. */
int store_receipt_owner(struct store *s, const char *receipt_id, char *consent_id,
                        size_t len);

/*
 * Erases a consent ID atomically (receipts, states, head) leaving a
 * tombstone {erased_ms, by, receipts, receipts_written}, then removes the
 * receipt index entries of receipt_ids. *erased gets the number of receipts
 * erased.
 */
int store_erase(struct store *s, const char *consent_id,
                const char *const *receipt_ids, size_t nids, const char *who,
                long long now_ms, long tombstone_ttl_s, long long *erased);

/* Appends fields (name, value pairs, at most 50) to the audit stream,
 * dropping entries older than retention_ms and the oldest beyond
 * max_entries (both approximately: whole stream nodes of up to 100
 * entries). Returns the status of the append. */
int store_audit(struct store *s, const char *const *fields, size_t nfields,
                long long now_ms, long long retention_ms, long long max_entries);

/* The newest count audit entries (XREVRANGE reply; caller frees). */
int store_audit_read(struct store *s, long count, redisReply **reply);

/* Static message for a store_status. */
const char *store_strerror(int status);

#endif
