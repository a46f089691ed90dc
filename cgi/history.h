/*
 * history.h - what support staff and visitors see of a consent ID: its
 * receipts verified one by one (signature and chain), its current state, one
 * receipt by ID, the Kantara Consent Receipt v1.1 form, and erasure.
 *
 * Shared by consentd's handlers and consentctl, so the API, the command line
 * and the support page verify the same way.
 */
#ifndef CONSENT_HISTORY_H
#define CONSENT_HISTORY_H

#include <cjson/cJSON.h>

#include "config.h"
#include "receipt.h"
#include "../redis/store.h"

/*
 * Loads a consent ID: {consent_id, receipts_written, receipts: [{receipt,
 * jws, sha256, signature_valid, chain_valid}] (newest first), all_valid,
 * state: {site: {...}}, expires_ms (null when nothing is stored)} and, when it
 * was erased, tombstone: {erased_ms, by, receipts}. with_state 0 leaves out
 * state, expiry and tombstone (one round trip less).
 * Returns STORE_OK with *out owned by the caller, or the store's status.
 */
int history_load(struct store *s, const struct receipt_key *key,
                 const char *consent_id, int with_state, int64_t now_ms,
                 cJSON **out);

/*
 * One receipt by its receipt ID (via the index): {receipt, jws, sha256,
 * signature_valid, chain_valid, consent_id}. STORE_NOT_FOUND when the index
 * or the history no longer has it.
 */
int history_receipt(struct store *s, const struct receipt_key *key,
                    const char *receipt_id, cJSON **out);

/*
 * One receipt (the payload object) as a Kantara Consent Receipt v1.1 object,
 * using the site's configuration for controller and purpose texts. Caller
 * owns the result. NULL when the payload is not a receipt.
 */
cJSON *history_kantara(const cJSON *receipt, const struct config *cfg,
                       const struct receipt_key *key);

/*
 * Erases a consent ID (receipts, states, index) and leaves a tombstone
 * naming who asked and when. *out: {consent_id, erased: true,
 * receipts_erased, tombstone}. Returns the store's status.
 */
int history_erase(struct store *s, const char *consent_id, const char *who,
                  int64_t now_ms, long tombstone_ttl_s, cJSON **out);

#endif
