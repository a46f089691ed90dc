/*
 * history.h - what support staff and visitors see of a consent ID: its
 * history as judged by the one verifier (verify.h), one receipt by ID, the
 * Kantara Consent Receipt v1.1 form, and erasure.
 *
 * Shared by consentd's handlers and consentctl, so the API, the command line
 * and the support page load, judge and erase the same way. This module does
 * the I/O (through the store); the judging is verify.c's.
 */
#ifndef CONSENT_HISTORY_H
#define CONSENT_HISTORY_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "jws.h"
#include "receipt.h"
#include "verify.h"
#include "../common/attrs.h"
#include "../redis/store.h"

#define HISTORY_TOMBSTONE_DAYS 3650     /* proof of erasure, kept 10 years */
#define HISTORY_PURGE_TIMEOUT_MS 60000  /* longest wait for Redis's rewrite */

/* A loaded, judged history. Free with history_free. */
struct history {
    struct store_history stored;
    struct receipt_context *contexts;
    size_t ncontexts;
    struct verify_result result;
    struct store_tombstone tombstone;
};

/*
 * The module's status is the store's (enum store_status, store_strerror):
 * every failure here is the store's; a history that does not verify is a
 * loaded history whose result says so, not an error.
 */

/*
 * Loads and judges a consent ID (with visitor_jws, a receipt the visitor
 * holds, or NULL). Returns STORE_OK with h filled, or the store's status.
 */
CONSENT_MUST_CHECK
int history_load(struct store *s, const struct jws_keyset *keys,
                 const char *consent_id, const char *visitor_jws,
                 struct history *h);

void history_free(struct history *h);

/*
 * The pure half of history_load: judges h->stored with h->contexts by the
 * one verifier (verify_stored) into h->result (replacing an earlier
 * result). No I/O: what history_load fetched, or a history built in
 * memory, is judged the same way.
 */
void history_judge(struct history *h, const char *consent_id, const struct jws_keyset *keys,
                   const char *visitor_jws);

/*
 * The API's JSON for a loaded history: {consent_id, receipts_written,
 * verdict, all_valid, findings, head, receipts (newest first, each with
 * seq, receipt, jws, sha256, verdict, signature_valid, chain_valid),
 * state, expires_ms, tombstone}. with_private 0 leaves out what only
 * support staff see (tombstone). Caller owns the result.
 */
cJSON *history_json(const struct history *h, int64_t now_ms, int with_private);

/* The Kantara export of a loaded history: {consent_id, head, receipts:
 * [Kantara receipt + x-jws]}. Caller owns the result. */
cJSON *history_kantara(const struct history *h, const struct jws_keyset *keys);

/*
 * One receipt by its receipt ID (via the index): the history's JSON item
 * plus consent_id and the history's verdict. STORE_NOT_FOUND when the index
 * or the history no longer has it (a stale index entry is removed).
 */
CONSENT_MUST_CHECK
int history_receipt(struct store *s, const struct jws_keyset *keys,
                    const char *receipt_id, struct history *h, cJSON **out);

/*
 * Erases a consent ID (head, receipts, index), adds an erasure to its
 * tombstone, then has Redis rewrite its data files so that no copy of the
 * erased receipts remains (store_purge). *out: {consent_id, erased: true,
 * receipts_erased, erasure, purged, tombstone}. Returns the store's status;
 * STORE_TIMEOUT means erased but the rewrite had not finished in time;
 * STORE_NOT_DURABLE (with *out set) erased on the primary but not confirmed
 * by redis.min_replicas_acked replicas in time.
 */
CONSENT_MUST_CHECK
int history_erase(struct store *s, const char *consent_id, const char *who,
                  int64_t now_ms, cJSON **out);

#endif
