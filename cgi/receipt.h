/*
 * receipt.h - consent receipt format v2: consent IDs, receipts, contexts and
 * the sealed head of a history.
 *
 * What is signed. A receipt is a JSON object (the payload) signed as a JWS
 * (jws.h). Its payload names the receipt's sequence number within its
 * consent ID ("seq", 1, 2, ...), the SHA-256 of the previous receipt's
 * payload ("prev_sha256", zeros for seq 1) and the kid of the key that
 * signed it. The head of a history - the newest sequence number, the oldest
 * one kept, the newest payload's hash, and per site the state the banner
 * decision applies - is a second signed statement ("consent-head/2"), the
 * seal, re-signed on every write. So count, first and head are caches that
 * verification checks, never trusts, and a state cannot be edited without
 * breaking the seal.
 *
 * What is stored (why it is small). The payload is never stored as text: a
 * receipt is kept as about 126 bytes (signature, prev_sha256, time, flags,
 * choices bitmask, network, user-agent hash, and the 8-byte reference of a
 * context). A context is what many receipts share - site, region, regime,
 * categories, banner version and texts hash, language, policy URL,
 * controller, kid - stored once under the SHA-256 of its canonical JSON.
 * The consent ID and seq come from the key and field the receipt is stored
 * under, and the receipt ID is derived from both (a UUID of version 8,
 * receipt_id_of). prev_sha256 is stored, so every receipt verifies on its
 * own: one altered receipt breaks its own signature and the next link, not
 * the receipts after it. The payload is printed from these, byte for byte
 * the one that was signed (receipt_payload).
 *
 * Consent IDs. The browser holds a secret (the cookie): 16 random bytes and
 * a keyed MAC, so the server only accepts values it issued. The consent ID
 * support staff and receipts use is a one-way hash of the secret: knowing
 * it does not let anyone act as the visitor.
 */
#ifndef CONSENT_RECEIPT_H
#define CONSENT_RECEIPT_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include <cjson/cJSON.h>

#include "jws.h"

#define CONSENT_ID_LEN 22           /* 128 bits, base64url, no padding */
#define CONSENT_COOKIE_LEN 43       /* 32 bytes (secret + MAC), base64url */
#define RECEIPT_UUID_LEN 36
#define RECEIPT_HASH_HEX 65
#define RECEIPT_CTX_BYTES 8
#define RECEIPT_CTX_HEX (2 * RECEIPT_CTX_BYTES + 1)
#define RECEIPT_MAX_STORED 160
#define RECEIPT_MAX_CONTEXT 8192
#define RECEIPT_MAX_CATEGORIES 16
#define RECEIPT_MAX_SITES 16        /* sites with a state in one head */
#define RECEIPT_MAX_HEAD 2048
#define RECEIPT_VERSION "consent-receipt/2"
#define RECEIPT_HEAD_STATEMENT "consent-head/2"
#define RECEIPT_ZERO_HASH \
    "0000000000000000000000000000000000000000000000000000000000000000"

enum receipt_status {
    RECEIPT_OK = 0,
    RECEIPT_MALFORMED,          /* stored bytes or statement not parseable */
    RECEIPT_BAD_CONTEXT,        /* context missing or not matching its hash */
    RECEIPT_NO_MEMORY
};

/* The actions a receipt records (names in receipt_action_names). */
enum receipt_action {
    RECEIPT_ACCEPT_ALL = 0,
    RECEIPT_REJECT_ALL,
    RECEIPT_CUSTOM,
    RECEIPT_GPC,
    RECEIPT_WITHDRAW,
    RECEIPT_ACTION_COUNT
};

extern const char *const receipt_action_names[RECEIPT_ACTION_COUNT];

/* A context: its canonical JSON (owned), the reference it is stored under,
 * and the parsed tree (owned) the payload is printed from. */
struct receipt_context {
    char ref[RECEIPT_CTX_HEX];
    char *json;
    size_t len;
    cJSON *tree;
    size_t ncategories;         /* categories[] of the tree, in order */
    int consent_days;
};

/*
 * The stored form of a receipt, byte offsets (tests and tools that read raw
 * stored receipts use these):
 *   0 version (2) | 1 signature (64) | 65 prev_sha256 (32) | 97 context (8)
 *   | 105 time ms (6) | 111 flags | 112 choices (2) | 114 network family
 *   | 115 network (0, 3 or 6) | then user-agent hash (8)
 */
#define RECEIPT_AT_SIG 1
#define RECEIPT_AT_PREV 65
#define RECEIPT_AT_CTX 97
#define RECEIPT_AT_TIME 105
#define RECEIPT_AT_FLAGS 111
#define RECEIPT_AT_CHOICES 112
#define RECEIPT_AT_NET 114

/* The per-receipt facts (everything but the context). */
struct receipt {
    uint32_t seq;                           /* from the field it is stored under */
    unsigned char sig[JWS_SIG_LEN];
    unsigned char prev[32];                 /* SHA-256 of the previous payload */
    unsigned char ctx[RECEIPT_CTX_BYTES];
    int64_t time_ms;
    int action;                             /* enum receipt_action */
    int gpc_sent, gpc_honoured, gpc_binding;
    int opted_out;                          /* of sale/sharing */
    uint32_t choices;                       /* bit i: context category i on */
    int net_family;                         /* 0 none, 4, 6 */
    unsigned char net[6];                   /* /24 or /48 */
    unsigned char ua[8];                    /* first 8 bytes of SHA-256(UA) */
};

/* One site's state in the head: what the banner decision applies (its
 * receipt ID is receipt_id_of(consent ID, seq)). */
struct receipt_state {
    char site[33];
    uint32_t seq;
    int64_t time_ms;
    unsigned char ctx[RECEIPT_CTX_BYTES];
    int action;
    int opted_out;
    uint32_t choices;
};

/* The head of a history, sealed. */
struct receipt_head {
    uint32_t count;                         /* newest seq */
    uint32_t first;                         /* oldest seq kept */
    unsigned char head[32];                 /* SHA-256 of the newest payload */
    unsigned char anchor[32];               /* prev_sha256 of seq first */
    char kid[JWS_KID_LEN + 1];              /* of the seal */
    unsigned char seal[JWS_SIG_LEN];
    struct receipt_state sites[RECEIPT_MAX_SITES];
    size_t nsites;
};

/* ---- consent IDs ---- */

/* A new cookie value (secret + MAC under cookie_key), NUL-terminated. */
void receipt_cookie_new(const unsigned char cookie_key[32],
                        char cookie[CONSENT_COOKIE_LEN + 1]);

/*
 * The consent ID of a cookie value the server issued. -1 when the value is
 * not exactly one of ours (wrong length, alphabet or MAC): such a cookie is
 * treated as absent, never used as a key.
 */
int receipt_cookie_id(const unsigned char cookie_key[32], const char *cookie,
                      char id[CONSENT_ID_LEN + 1]);

/* The 16 bytes a consent ID stands for (the receipt index stores these).
 * -1 when s is not a well-formed consent ID. */
int receipt_consent_id_bytes(const char *s, unsigned char out[16]);
void receipt_consent_id_text(const unsigned char in[16], char out[CONSENT_ID_LEN + 1]);

/* 1 when s is a well-formed consent ID: exactly 22 base64url characters
 * whose last one carries no bits beyond the 128 (canonical encoding). */
int receipt_valid_consent_id(const char *s);

/* A keyed 16-hex-digit hash of a consent ID, for the audit stream. */
void receipt_id_hash(const unsigned char cookie_key[32], const char *consent_id,
                     char out[17]);

/* ---- small pieces ---- */

/* The receipt ID of receipt seq of a consent ID: a UUID of version 8
 * (RFC 9562) from a hash of both, so it need not be stored. */
void receipt_id_of(const char *consent_id, uint32_t seq, unsigned char id[16]);
void receipt_new_uuid_bytes(unsigned char id[16]);
void receipt_uuid_text(const unsigned char id[16], char out[RECEIPT_UUID_LEN + 1]);
int receipt_uuid_parse(const char *s, unsigned char id[16]);
int receipt_valid_uuid(const char *s);
void receipt_sha256_hex(const void *data, size_t len, char out[RECEIPT_HASH_HEX]);
int receipt_action_parse(const char *name);

/* ---- contexts ---- */

/*
 * Makes a context from its tree (taken over: freed on failure too): prints
 * the canonical JSON and its reference. The tree must hold "categories"
 * (array of ids) and "consent_days". Returns RECEIPT_OK or a status.
 */
int receipt_context_make(struct receipt_context *ctx, cJSON *tree);

/* Parses a stored context and checks that it matches ref (hex). */
int receipt_context_parse(struct receipt_context *ctx, const char *ref,
                          const char *json, size_t len);

/* Frees a context. Safe on a zeroed struct. */
void receipt_context_free(struct receipt_context *ctx);

/* Index of a category id in the context, or -1. */
int receipt_context_category(const struct receipt_context *ctx, const char *id);

/* ---- receipts ---- */

/*
 * The signed payload of a receipt as canonical compact JSON (malloc'd,
 * NUL-terminated; caller frees), *len its length. NULL when out of memory.
 */
char *receipt_payload(const struct receipt *r, const struct receipt_context *ctx,
                      const char *consent_id, size_t *len);

/* Stored form of a receipt (out must hold RECEIPT_MAX_STORED); its length. */
size_t receipt_encode(const struct receipt *r, unsigned char *out);

/* Parses a stored receipt; seq is set by the caller. */
int receipt_decode(const unsigned char *in, size_t len, struct receipt *r);

/* ---- the head ---- */

/* The head statement's canonical JSON (malloc'd; caller frees), *len. */
char *receipt_head_statement(const struct receipt_head *h, const char *consent_id,
                             size_t *len);

/* Stored form of a sealed head (out must hold RECEIPT_MAX_HEAD); length. */
size_t receipt_head_encode(const struct receipt_head *h, unsigned char *out);

/* Parses a stored head (the seal is not checked here). */
int receipt_head_decode(const unsigned char *in, size_t len, struct receipt_head *h);

/*
 * Moves a head on to receipt r of site (whose payload hashes to sha256):
 * count and the newest hash become r's, the site's state r's; a head with
 * no receipts yet starts at first = 1. The caller trims (first, anchor) and
 * seals. -1 when the head holds RECEIPT_MAX_SITES other sites already.
 */
int receipt_head_append(struct receipt_head *h, const struct receipt *r,
                        const char *site, const unsigned char sha256[32]);

/* Signs the head's statement with key (sets kid and seal). */
int receipt_head_seal(struct receipt_head *h, const char *consent_id,
                      const struct jws_key *key);

/* Checks the seal with the key set: a jws_status. */
int receipt_head_check(const struct receipt_head *h, const char *consent_id,
                       const struct jws_keyset *set);

/* The state of site in h (borrowed), or NULL. */
const struct receipt_state *receipt_head_site(const struct receipt_head *h,
                                              const char *site);

/* Static message for a receipt_status. */
const char *receipt_strerror(int status);

#endif
