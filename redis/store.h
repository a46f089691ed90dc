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

enum store_status {
    STORE_OK = 0,
    STORE_UNAVAILABLE,      /* cannot connect, timed out, or connection lost */
    STORE_ERROR,            /* Redis answered with an error */
    STORE_CONFLICT,         /* store_record: the head moved; re-chain */
    STORE_NOT_FOUND,        /* no such consent ID / state */
    STORE_RETRY,            /* internal: the connection had died; try again */
    STORE_ERASED,           /* store_record: the consent ID was erased */
    STORE_TIMEOUT           /* store_purge: no rewrite finished in time */
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
 * carries the hash tag {ID} so that they share one Redis Cluster slot and
 * one script writes them together:
 *   c:{ID}          hash: "m" -> the sealed head; "<seq>" -> stored receipt
 *   c:{ID}:t        hash: the tombstone erasures leave ("n", "e1", "e2"...)
 *   x:<ref>         string: a receipt context (JSON), immutable, shared
 *   r:<3 hex>       hash: receipt index bucket, 16-byte receipt ID -> 16-byte consent ID
 *   consent:audit   stream of admin requests
 */

/* Bytes the store hands back (malloc'd; free with store_blob_free). */
struct store_blob {
    char *data;                 /* NULL when there is nothing */
    size_t len;
};

struct store_item {
    uint32_t seq;
    struct store_blob blob;
};

/* What the store keeps for a consent ID: the sealed head and the stored
 * receipts, ordered by sequence number. Fields that are not a sequence
 * number are counted in nother, never returned (verification flags them). */
struct store_history {
    struct store_blob head;
    struct store_item *items;
    size_t nitems;
    size_t nother;
    long long pttl_ms;          /* -2 when nothing is stored */
};

/* One erasure of a tombstone. */
struct store_erasure {
    long long erased_ms;
    long receipts;              /* receipts erased */
    long written;               /* receipts ever written, per the head */
    char by[96];
};

#define STORE_MAX_ERASURES 16   /* the newest ones a lookup shows */

struct store_tombstone {
    long count;                 /* erasures so far (0: none) */
    struct store_erasure erasures[STORE_MAX_ERASURES];
    size_t nerasures;
};

/* What one record call writes. */
struct store_write {
    const char *consent_id;
    const unsigned char *consent_id_bytes;  /* the 16 bytes it stands for */
    const unsigned char *receipt_id;    /* 16 bytes; indexed -> consent ID bytes */
    struct store_blob expected_head;    /* data NULL for the first receipt */
    struct store_blob new_head;
    uint32_t seq;
    struct store_blob receipt;
    const uint32_t *trim;               /* sequence numbers to drop */
    const unsigned char (*trim_ids)[16];/* and their receipt IDs */
    size_t ntrim;
    const char *context_ref;            /* hex; NULL when already stored */
    struct store_blob context;
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

/* Frees a blob's bytes (safe on a zeroed blob). */
void store_blob_free(struct store_blob *b);

/* The sealed head of a consent ID (what the banner decision reads): one
 * HGET. b->data is NULL when there is none (still STORE_OK). */
int store_head(struct store *s, const char *consent_id, struct store_blob *b);

/* Everything kept for a consent ID. Free with store_history_free. */
int store_history(struct store *s, const char *consent_id, struct store_history *h);
void store_history_free(struct store_history *h);

/* Some receipts of a consent ID by sequence number (for trimming):
 * out[i].blob.data is NULL where there is none. */
int store_receipts(struct store *s, const char *consent_id, const uint32_t *seqs,
                   size_t n, struct store_item *out);

/* Contexts by reference (hex); out[i].data NULL where missing. */
int store_contexts(struct store *s, const char *const *refs, size_t n,
                   struct store_blob *out);

/*
 * Appends a receipt and the new sealed head in one atomic script, with the
 * receipt index and a new context pipelined in the same round trip.
 * STORE_OK when Redis confirmed the write; STORE_CONFLICT (nothing
 * written; the current head in *current, caller frees) when the head was
 * no longer expected_head; STORE_ERASED when the consent ID was erased.
 */
int store_record(struct store *s, const struct store_write *w,
                 struct store_blob *current);

/* The tombstone of a consent ID (count 0 when it was never erased). */
int store_tombstone(struct store *s, const char *consent_id,
                    struct store_tombstone *t);

/* The consent ID (its 16 bytes) a receipt belongs to, via the receipt
 * index. STORE_NOT_FOUND when the index has no such receipt. */
int store_receipt_owner(struct store *s, const unsigned char receipt_id[16],
                        unsigned char consent_id[16]);

/* Removes receipt index entries (after a lookup found them stale). */
int store_unindex(struct store *s, const unsigned char (*ids)[16], size_t n);

/*
 * Erases a consent ID atomically (head and receipts), adding an erasure to
 * its tombstone (never overwriting earlier ones), then removes the receipt
 * index entries of receipt_ids. *erased: receipts erased; *number: which
 * erasure of this ID it was.
 */
int store_erase(struct store *s, const char *consent_id,
                const unsigned char (*receipt_ids)[16], size_t nids,
                const char *who, long long now_ms, long tombstone_ttl_s,
                long long *erased, long long *number);

/*
 * Makes Redis rewrite its append-only file so that no data file still holds
 * what was erased before this call: waits for a rewrite that started after
 * the call (one already running may predate the erasure) and finished
 * successfully. Erasures that wait at the same time share one rewrite.
 * STORE_OK when done (or when AOF is off), STORE_TIMEOUT when no such
 * rewrite finished within timeout_ms, STORE_ERROR when it failed.
 */
int store_purge(struct store *s, int timeout_ms);

/* ---- format v1, read only by `consentctl migrate` ----
 * v1 kept consent:{ID} (hash: head, count, trimmed, site:<site>),
 * consent:{ID}:receipts (list, newest first, 64-byte signature + payload
 * JSON) and receipt:<uuid> -> ID. */
struct store_v1 {
    struct store_blob *receipts;    /* newest first */
    size_t nreceipts;
    long count, trimmed;
    char head[65];
};

/* Up to max v1 consent IDs from a SCAN at *cursor ("0" to start; "0" again
 * when done; cursor holds 32 bytes). */
int store_v1_scan(struct store *s, char *cursor, char (*ids)[23], size_t max, size_t *n);
int store_v1_history(struct store *s, const char *consent_id, struct store_v1 *h);
void store_v1_free(struct store_v1 *h);
/* Deletes a v1 history and the index entries of its receipts. */
int store_v1_delete(struct store *s, const char *consent_id,
                    const char *const *receipt_ids, size_t n);

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
