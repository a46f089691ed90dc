/*
 * store.h - the receipt store in Redis.
 *
 * The whole API hands out domain types (blobs, histories, tombstones, audit
 * entries, statuses), never the client library's replies: no file outside
 * redis/ includes hiredis, and callers do not change with the topology.
 *
 * Topologies (struct store_options, README "Running at scale"):
 * - STORE_SINGLE: one server at an address.
 * - STORE_SENTINEL: a primary and its replicas watched by Redis Sentinel.
 *   The store asks the sentinels for the primary of master_name whenever it
 *   connects, checks with ROLE that the server it reached is a primary, and
 *   never writes to a replica: a READONLY answer (the server was demoted
 *   while connected) drops the connection and asks the sentinels again, so
 *   a failover is followed without a restart.
 * - STORE_CLUSTER: a Redis Cluster found from seed nodes. Each command goes
 *   to the primary serving its key's slot (redis/slot.h), per the Redis
 *   Cluster specification: the slot map comes from CLUSTER SLOTS and is
 *   asked again after MOVED and after a lost connection; ASK is followed
 *   once with ASKING; TRYAGAIN and CLUSTERDOWN are retried a bounded number
 *   of times (STORE_CLUSTER_TRIES, about a second in all) before the call
 *   is STORE_UNAVAILABLE. A connection per primary, opened when first
 *   needed, with the same timeouts. All keys of one consent ID share a
 *   slot, so a receipt is still written by one atomic script; the index
 *   entry and a new context, in other slots, are written (and, with
 *   min_replicas_acked, confirmed) before it.
 *
 * Authentication: with options.password, every connection to a Redis
 * server (not to a sentinel) starts with AUTH [username] password; a
 * refusal makes the store unavailable, with the reason, and it keeps
 * trying as for any failed connect.
 *
 * Durable acknowledgement: with min_replicas_acked > 0 every receipt write
 * and erasure is followed, in the same round trip, by WAIT: the call
 * returns STORE_OK only when that many replicas confirmed it within
 * ack_timeout_ms, else STORE_NOT_DURABLE (written on the primary, not yet
 * safe from its loss).
 *
 * One struct store per worker thread: a connection is not thread-safe.
 * Connections use connect and command timeouts; a lost connection is
 * re-established on a later call, with a backoff so that while Redis is down
 * requests fail at once instead of each waiting for a connect timeout. When
 * any store of the process connects again, the others stop backing off at
 * once (a process-wide atomic counter), so recovery is not delayed by up to
 * STORE_BACKOFF_MAX_MS per worker.
 *
 * Errors: every call that can fail returns an enum store_status (STORE_OK
 * is 0) and hands its data back through out-parameters; store_strerror()
 * names a status, last_error says what happened. Writes, erasures and the
 * audit are CONSENT_MUST_CHECK: no caller may drop their result.
 */
#ifndef CONSENT_STORE_H
#define CONSENT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/attrs.h"

#define STORE_BACKOFF_MIN_MS 50
#define STORE_BACKOFF_MAX_MS 2000

#define STORE_MAX_ADDRESS 128       /* "host:port" or "unix:/path", with NUL */
#define STORE_MAX_SENTINELS 9
#define STORE_MAX_SEEDS 16          /* cluster seed nodes */
#define STORE_CLUSTER_TRIES 10      /* redirections and retries per call */
#define STORE_MAX_MASTER_NAME 64    /* with NUL */
#define STORE_MAX_REPLICAS_ACKED 16
#define STORE_MAX_ERROR 160         /* last_error, with NUL */
#define STORE_MAX_USERNAME 128      /* with NUL */
#define STORE_MAX_PASSWORD 512      /* with NUL */

enum store_status {
    STORE_OK = 0,
    STORE_UNAVAILABLE,      /* cannot connect, timed out, or connection lost */
    STORE_ERROR,            /* Redis answered with an error */
    STORE_CONFLICT,         /* store_record: the head moved; re-chain */
    STORE_NOT_FOUND,        /* no such consent ID / state */
    STORE_RETRY,            /* internal: the connection had died; try again */
    STORE_ERASED,           /* store_record: the consent ID was erased */
    STORE_TIMEOUT,          /* store_purge: no rewrite finished in time */
    STORE_NOT_DURABLE,      /* written on the primary, but fewer replicas than
                             * min_replicas_acked confirmed it in time */
    STORE_INVALID,          /* a malformed address or options: nothing connects */
    STORE_NO_MEMORY         /* store_open: out of memory */
};

enum store_topology {
    STORE_SINGLE = 0,       /* one server: options.address */
    STORE_SENTINEL,         /* the primary of master_name, found via sentinels */
    STORE_CLUSTER           /* a Redis Cluster, found from options.seeds */
};

/* Where the store is and what it promises; plain data (no pointers), so it
 * can be copied and compared with memcmp when zeroed before filling. */
struct store_options {
    enum store_topology topology;
    char address[STORE_MAX_ADDRESS];                        /* STORE_SINGLE */
    char sentinels[STORE_MAX_SENTINELS][STORE_MAX_ADDRESS]; /* STORE_SENTINEL */
    size_t nsentinels;
    char master_name[STORE_MAX_MASTER_NAME];
    char seeds[STORE_MAX_SEEDS][STORE_MAX_ADDRESS];         /* STORE_CLUSTER */
    size_t nseeds;
    int connect_timeout_ms;
    int command_timeout_ms;
    int min_replicas_acked;     /* 0: answer once the primary has it */
    int ack_timeout_ms;         /* WAIT's timeout; < command_timeout_ms */
    /* AUTH on every connection to a Redis server (not to the sentinels):
     * password "" for none; username "" for the default user. */
    char username[STORE_MAX_USERNAME];
    char password[STORE_MAX_PASSWORD];
};

struct store_link;              /* the connection (redis/store.c) */

/* Safe to close when zeroed. last_error says why the store is unavailable
 * or what Redis last refused (for health and logs; no client data). */
struct store {
    struct store_options opt;
    struct store_link *link;
    char last_error[STORE_MAX_ERROR];
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
 * Under Cluster nothing needs two slots at once: a script touches one
 * consent ID's keys; the index, contexts and the audit stream are written
 * by single-key commands, each to the primary of its own slot.
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
 * Checks an address: "host:port" (port 1-65535, host not empty) or
 * "unix:/absolute/path" (shorter than a socket path may be). Returns
 * STORE_OK and fills host (hostlen bytes) and *port (0 for a unix socket),
 * or STORE_INVALID. The configuration loader and the store share this one
 * rule.
 */
CONSENT_MUST_CHECK
int store_address_parse(const char *address, char *host, size_t hostlen, int *port);

/*
 * Prepares a store for opt (copied) and tries to connect once. Returns
 * STORE_OK, or STORE_UNAVAILABLE when the first connection failed (the
 * store stays usable: later calls reconnect), STORE_INVALID when an
 * address or option is malformed, STORE_NO_MEMORY. Close with store_close()
 * whatever it returned.
 */
CONSENT_MUST_CHECK
int store_open(struct store *s, const struct store_options *opt);

/* Whether store_open's status st left a store later calls may use:
 * STORE_OK, or STORE_UNAVAILABLE (they reconnect). */
int store_usable(int st);

/* Disconnects, wipes the password and frees. Safe on a zeroed struct. */
void store_close(struct store *s);

/* PING. STORE_OK when Redis answered PONG. */
int store_ping(struct store *s);

/* Where the store is connected now ("host:port" of the primary it uses,
 * or the unix socket path; under Cluster "N primaries" of the slot map)
 * into buf; "" while disconnected. */
void store_where(const struct store *s, char *buf, size_t len);

/* "single", "sentinel" or "cluster". */
const char *store_topology_name(enum store_topology t);

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
 * STORE_OK when Redis confirmed the write (and, with min_replicas_acked,
 * that many replicas did); STORE_NOT_DURABLE when the primary wrote it but
 * too few replicas confirmed it in time (it may survive, or be lost with
 * the primary; a retry that finds it at the head counts as written);
 * STORE_CONFLICT (nothing written; the current head in *current, caller
 * frees) when the head was no longer expected_head; STORE_ERASED when the
 * consent ID was erased.
 */
CONSENT_MUST_CHECK
int store_record(struct store *s, const struct store_write *w,
                 struct store_blob *current);

/* The tombstone of a consent ID (count 0 when it was never erased). */
int store_tombstone(struct store *s, const char *consent_id,
                    struct store_tombstone *t);

/* The consent ID (its 16 bytes) a receipt belongs to, via the receipt
 * index. STORE_NOT_FOUND when the index has no such receipt. */
int store_receipt_owner(struct store *s, const unsigned char receipt_id[16],
                        unsigned char consent_id[16]);

/* Removes receipt index entries (after a lookup found them stale). Its
 * result may be ignored: an entry left behind points at a history without
 * that receipt, which a lookup answers with 404 (and removes again). */
int store_unindex(struct store *s, const unsigned char (*ids)[16], size_t n);

/*
 * Erases a consent ID atomically (head and receipts), adding an erasure to
 * its tombstone (never overwriting earlier ones), then removes the receipt
 * index entries of receipt_ids. *erased: receipts erased; *number: which
 * erasure of this ID it was. STORE_NOT_DURABLE as for store_record: erased
 * on the primary, not confirmed by min_replicas_acked replicas in time.
 */
CONSENT_MUST_CHECK
int store_erase(struct store *s, const char *consent_id,
                const unsigned char (*receipt_ids)[16], size_t nids,
                const char *who, long long now_ms, long tombstone_ttl_s,
                long long *erased, long long *number);

/*
 * Makes Redis rewrite its append-only file (under Cluster: every primary's,
 * one after another) so that no data file still holds what was erased
 * before this call: waits for a rewrite that started after
 * the call (one already running may predate the erasure) and finished
 * successfully. Erasures that wait at the same time share one rewrite.
 * STORE_OK when done (or when AOF is off), STORE_TIMEOUT when no such
 * rewrite finished within timeout_ms, STORE_ERROR when it failed.
 */
CONSENT_MUST_CHECK
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
 * when done; cursor holds 32 bytes). STORE_ERROR under Cluster: format v1
 * predates it, so there is nothing to migrate there. */
int store_v1_scan(struct store *s, char *cursor, char (*ids)[23], size_t max, size_t *n);
int store_v1_history(struct store *s, const char *consent_id, struct store_v1 *h);
void store_v1_free(struct store_v1 *h);
/* Deletes a v1 history and the index entries of its receipts. */
CONSENT_MUST_CHECK
int store_v1_delete(struct store *s, const char *consent_id,
                    const char *const *receipt_ids, size_t n);

/* Appends fields (name, value pairs, at most 50) to the audit stream,
 * dropping entries older than retention_ms and the oldest beyond
 * max_entries (both approximately: whole stream nodes of up to 100
 * entries). Returns the status of the append: an audit entry that was
 * not written must be said, so no caller may ignore it. */
CONSENT_MUST_CHECK
int store_audit(struct store *s, const char *const *fields, size_t nfields,
                long long now_ms, long long retention_ms, long long max_entries);

/* One audit stream entry: its stream ID and its fields in order. */
#define STORE_MAX_AUDIT_FIELDS 25   /* name, value pairs an entry may hold */
struct store_audit_entry {
    char id[48];                /* "<ms>-<seq>" */
    size_t nfields;
    char *names[STORE_MAX_AUDIT_FIELDS];
    char *values[STORE_MAX_AUDIT_FIELDS];
};

/* The newest count audit entries, newest first, into *entries (caller
 * frees with store_audit_free) and *n. */
int store_audit_read(struct store *s, long count, struct store_audit_entry **entries,
                     size_t *n);
void store_audit_free(struct store_audit_entry *entries, size_t n);

/* ---- consent analytics: counts only ----
 * Counts per site and UTC day, in hashes a:{SITE:YYYY-MM-DD:SHARD}
 * (STORE_STATS_SHARDS per day, the field's hash picks the shard; each key
 * is its own hash tag, so its commands stay in one Cluster slot). Fields
 * are what the caller names (cgi/tally.h builds them); values are counts.
 * Nothing identifying is ever passed here. */
#define STORE_STATS_SHARDS 8
#define STORE_MAX_STATS_KEY 64      /* "a:{" + site + ":YYYY-MM-DD:S}" with NUL */

struct store_counter {
    const char *site;
    long day;                   /* days since 1970-01-01 (UTC) */
    const char *field;
    long long by;
    int written;                /* out: 1 once Redis confirmed this count */
};

/*
 * Adds every counter (HINCRBY) and sets the TTL of each key touched to
 * ttl_s (EXPIRE after the key's last HINCRBY), one key at a time, its
 * commands pipelined in batches (64 on one server; 7 under Cluster, each
 * batch to the primary of the key's slot, following redirections). Sets
 * written on the counters of each batch Redis confirmed; stops at the first
 * failure and returns its status (STORE_OK when all were written). A
 * connection lost after Redis applied a batch but before its answers
 * arrived leaves written 0 (and under Cluster the batch is sent again):
 * that batch may be counted twice.
 */
CONSENT_MUST_CHECK
int store_stats_add(struct store *s, struct store_counter *c, size_t n, long ttl_s);

/* One stored count: its day, field (malloc'd) and value. */
struct store_stat {
    long day;
    char *field;
    long long count;
};

/* Every count of site from from_day to to_day (inclusive) into *rows
 * (caller frees with store_stats_free) and *n. */
int store_stats_read(struct store *s, const char *site, long from_day, long to_day,
                     struct store_stat **rows, size_t *n);
void store_stats_free(struct store_stat *rows, size_t n);

/* Static message for a store_status ("unknown error" for anything else). */
const char *store_strerror(int status);

#endif
