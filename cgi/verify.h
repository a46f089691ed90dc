/*
 * verify.h - the one verifier of consent histories.
 *
 * Pure functions: no Redis, no files, no clock. consentd's admin API and
 * /consents/me, consentctl lookup and consentctl verify all call them, so a
 * history is judged the same way wherever it is looked at.
 *
 * A history is judged receipt by receipt (verdicts below) and as a whole
 * (findings): the sealed head says which sequence numbers must be there
 * (first..count), the hash of the newest payload, and each site's state;
 * anything missing, extra, edited, re-ordered, moved between consent IDs or
 * rolled back shows as a finding. A visitor-held receipt (the JWS the 201
 * answer gave them) shows a rollback that left the store consistent.
 */
#ifndef CONSENT_VERIFY_H
#define CONSENT_VERIFY_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "jws.h"
#include "receipt.h"
#include "../common/attrs.h"
#include "../redis/store.h"

/* What verify_stored and verify_export return: whether the history as a
 * whole passed (the details are in the result either way). */
enum verify_status {
    VERIFY_PASSED = 0,
    VERIFY_FAILED,              /* a verdict or finding failed it */
    VERIFY_NO_MEMORY            /* could not judge (finding receipt_failed) */
};

/* "passed", "failed", ...; "unknown error" for anything else. */
const char *verify_strerror(int status);

/* Per receipt. */
enum verify_verdict {
    VERIFY_OK = 0,
    VERIFY_BAD_SIGNATURE,       /* the signature does not verify */
    VERIFY_CHAIN_BROKEN,        /* prev_sha256 is not the previous receipt's
                                   hash, or the previous one is missing/bad */
    VERIFY_UNKNOWN_KID,         /* signed with a key the key set lacks */
    VERIFY_BAD_HEADER,          /* JWS header other than alg EdDSA + kid */
    VERIFY_MALFORMED,           /* stored form, JWS or payload unreadable */
    VERIFY_NO_CONTEXT,          /* its context is missing or was altered */
    VERIFY_WRONG_ID,            /* signed for another consent ID */
    VERIFY_WRONG_SEQ,           /* signed with another sequence number */
    VERIFY_COPY_DIFFERS,        /* export: readable copy / Kantara fields differ */
    VERIFY_UNSIGNED,            /* export: an item without a signature */
    VERIFY_VERDICT_COUNT
};

/* For the whole history: bits of verify_result.findings. */
enum verify_finding {
    VERIFY_F_RECEIPT = 1 << 0,          /* a receipt failed (see verdicts) */
    VERIFY_F_NO_HEAD = 1 << 1,          /* receipts without a sealed head */
    VERIFY_F_SEAL = 1 << 2,             /* the head's seal is invalid/unknown */
    VERIFY_F_GAP = 1 << 3,              /* a receipt between first and count is missing */
    VERIFY_F_MISSING_NEWEST = 1 << 4,   /* receipt `count` is missing */
    VERIFY_F_MISSING_OLDEST = 1 << 5,   /* receipt `first` is missing */
    VERIFY_F_UNEXPECTED = 1 << 6,       /* a receipt outside first..count */
    VERIFY_F_HEAD_HASH = 1 << 7,        /* head_sha256 is not the newest's hash */
    VERIFY_F_STATE = 1 << 8,            /* a site's state is not its newest receipt */
    VERIFY_F_EXTRA = 1 << 9,            /* stored data that is no receipt */
    VERIFY_F_ROLLED_BACK = 1 << 10,     /* the visitor holds a newer receipt */
    VERIFY_F_VISITOR_MISMATCH = 1 << 11,/* the visitor's receipt differs from the stored one */
    VERIFY_F_MIXED_IDS = 1 << 12,       /* export: receipts of several consent IDs */
    VERIFY_F_EMPTY = 1 << 13,           /* export: no signed receipt at all */
    VERIFY_F_NEWER_FOLLOWS = 1 << 14    /* information, not a failure: receipts
                                           follow the visitor's */
};

#define VERIFY_FAILURES (~(unsigned)VERIFY_F_NEWER_FOLLOWS)

struct verify_item {
    uint32_t seq;
    int verdict;                        /* enum verify_verdict */
    char sha256[RECEIPT_HASH_HEX];      /* of the payload ("" when none) */
    char kid[JWS_KID_LEN + 1];
    char *payload;                      /* signed bytes (owned), or NULL */
    size_t len;
    cJSON *parsed;                      /* payload as a tree (owned), or NULL */
    char *jws;                          /* compact JWS (owned), or NULL */
    const char *site;                   /* borrowed from parsed */
};

struct verify_result {
    struct verify_item *items;          /* ascending seq */
    size_t nitems;
    unsigned findings;
    int has_head;
    struct receipt_head head;           /* valid when has_head */
    int seal;                           /* jws_status of the seal; -1 none */
    char *head_jws;                     /* the head statement as a JWS (owned) */
    int visitor;                        /* -1 none given, else the verdict of
                                           the visitor's receipt (VERIFY_OK) */
    uint32_t visitor_seq;
    char consent_id[CONSENT_ID_LEN + 1];
};

/* A context the stored receipts may name (borrowed). */
struct verify_contexts {
    const struct receipt_context *items;
    size_t n;
};

/*
 * Judges a stored history of consent_id: rebuilds every payload from its
 * stored form and context, checks signatures with keys (each with the key
 * its kid names), the chain, the sealed head and each site's state, and
 * visitor_jws when given (may be NULL). out is filled (free with
 * verify_result_free) even when the history fails; returns VERIFY_PASSED
 * when every check passed, VERIFY_FAILED when something failed (a caller
 * that reads out->findings may ignore the status).
 */
int verify_stored(const struct store_history *h, const char *consent_id,
                  const struct verify_contexts *ctxs, const struct jws_keyset *keys,
                  const char *visitor_jws, struct verify_result *out);

/*
 * Judges an export (a consentctl/API lookup or export, native or Kantara,
 * or a single receipt object holding "jws"/"x-jws"): every item must be
 * signed, its readable copy or Kantara fields must say exactly what the
 * signed payload says, and with a "head" the sequence must be complete.
 * Returns VERIFY_PASSED when every check passed, else VERIFY_FAILED (or
 * VERIFY_NO_MEMORY); out is filled either way.
 */
CONSENT_MUST_CHECK
int verify_export(const cJSON *root, const struct jws_keyset *keys,
                  struct verify_result *out);

/*
 * One receipt as a compact JWS, on its own: the rule every signed receipt
 * is held to wherever it turns up (an export's items, a bare JWS handed to
 * consentctl verify): the header names a known kid with alg EdDSA, the
 * signature verifies, the payload is a receipt (JSON with seq >= 1) and
 * names the kid that signed it. A signed JWS that is no receipt (a head
 * statement, say) is VERIFY_MALFORMED. Fills it (free with
 * verify_item_free) on every path and returns its verdict.
 */
CONSENT_MUST_CHECK
int verify_receipt_jws(const char *jws, const struct jws_keyset *keys,
                       struct verify_item *it);

/* Frees what one item owns. Safe on a zeroed struct. */
void verify_item_free(struct verify_item *it);

/* Frees what a result owns. Safe on a zeroed struct. */
void verify_result_free(struct verify_result *r);

/* Whether the whole history passed. */
int verify_passed(const struct verify_result *r);

/* Short names for verdicts ("ok", "bad_signature", ...) and findings
 * ("gap", ...), as the API and consentctl print them. */
const char *verify_verdict_name(int verdict);
const char *verify_finding_name(unsigned finding);

/* The findings as a JSON array of names. Caller owns it. */
cJSON *verify_findings_json(unsigned findings);

/*
 * The Kantara Consent Receipt v1.1 form of a signed payload, built from the
 * payload alone (and the public key of its kid), so that an export can be
 * checked against its signature field by field. NULL when the payload is
 * not a receipt. Caller owns the result.
 */
cJSON *verify_kantara(const cJSON *payload, const struct jws_keyset *keys);

#endif
