/*
 * receipt.h - consent IDs and signed, chained consent receipts.
 *
 * A receipt is a JSON object (the payload) whose exact bytes are signed with
 * Ed25519 as a JWS (compact serialisation, {"alg":"EdDSA","kid":...}), so
 * anyone holding the public key from GET /consent/v1/keys can verify it with
 * any JOSE library. Each payload names the SHA-256 of the previous payload of
 * the same consent ID ("prev_sha256"; zeros for the first), so a receipt
 * removed from the middle of a history breaks the chain.
 *
 * Stored form (what Redis holds): 64 bytes of signature followed by the
 * payload bytes. The JWS is rebuilt from it exactly: the protected header is
 * fixed apart from the key id, which the payload carries too.
 */
#ifndef CONSENT_RECEIPT_H
#define CONSENT_RECEIPT_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include <cjson/cJSON.h>

#define CONSENT_ID_LEN 22           /* 128 bits, base64url, no padding */
#define RECEIPT_UUID_LEN 36
#define RECEIPT_KID_LEN 16          /* hex of the first 8 bytes of SHA-256(pk) */
#define RECEIPT_SIG_LEN crypto_sign_BYTES
#define RECEIPT_HASH_HEX 65
#define RECEIPT_MAX_PAYLOAD 4096
#define RECEIPT_ZERO_HASH \
    "0000000000000000000000000000000000000000000000000000000000000000"

enum receipt_status {
    RECEIPT_OK = 0,
    RECEIPT_KEY_UNREADABLE,     /* key file missing or unreadable */
    RECEIPT_KEY_INSECURE,       /* readable by group or others */
    RECEIPT_KEY_INVALID,        /* not 64 hex digits */
    RECEIPT_BAD_SIGNATURE,
    RECEIPT_MALFORMED           /* stored form or JWS not parseable */
};

struct receipt_key {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char kid[RECEIPT_KID_LEN + 1];
};

/*
 * Loads a signing key: a file holding the 32-byte Ed25519 seed as 64 hex
 * digits. Refuses a file that group or others may read. The secret stays in
 * key until receipt_key_wipe().
 */
int receipt_key_load(struct receipt_key *key, const char *path);

/* Creates a new key file (mode 0600, must not exist). 0 or -1 (errno). */
int receipt_key_create(const char *path);

/* Zeroes the secret. */
void receipt_key_wipe(struct receipt_key *key);

/* Public key as a JWK set: {"keys":[{"kty":"OKP","crv":"Ed25519",...}]}.
 * Caller owns the result (cJSON_Delete). */
cJSON *receipt_jwks(const struct receipt_key *key);

/* Derives the key id from a public key (hex of SHA-256(pk)[0..8]). */
void receipt_kid(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                 char kid[RECEIPT_KID_LEN + 1]);

/* A new consent ID from getrandom(): 22 base64url characters + NUL. */
int receipt_new_consent_id(char id[CONSENT_ID_LEN + 1]);

/* 1 when s is a well-formed consent ID: exactly 22 base64url characters
 * whose last one carries no bits beyond the 128 (canonical encoding). */
int receipt_valid_consent_id(const char *s);

/* A random UUID v4, lower-case, 36 characters + NUL. */
int receipt_new_uuid(char out[RECEIPT_UUID_LEN + 1]);

/* 1 when s is a lower-case UUID v4. */
int receipt_valid_uuid(const char *s);

/* Hex SHA-256 of len bytes. */
void receipt_sha256_hex(const void *data, size_t len, char out[RECEIPT_HASH_HEX]);

/*
 * Signs payload (len bytes) and writes the stored form (signature then
 * payload) into a malloc'd buffer the caller frees; *stored_len its size.
 * Returns RECEIPT_OK or -1 when out of memory.
 */
int receipt_seal(const struct receipt_key *key, const char *payload,
                 size_t len, char **stored, size_t *stored_len);

/*
 * Splits a stored form into payload and signature (borrowed pointers into
 * stored) and checks the JWS signature against pk and its key id. Returns RECEIPT_OK,
 * RECEIPT_BAD_SIGNATURE or RECEIPT_MALFORMED; payload/len are set in the
 * first two cases.
 */
int receipt_open(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                 const char *kid, const char *stored, size_t stored_len,
                 const char **payload, size_t *len);

/* The JWS compact string for a stored form (malloc'd, NUL-terminated;
 * caller frees). NULL when malformed or out of memory. */
char *receipt_jws(const char *stored, size_t stored_len, const char *kid);

/* Verifies a JWS compact string with pk; on success *payload (malloc'd,
 * NUL-terminated, caller frees) holds the decoded payload. */
int receipt_verify_jws(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                       const char *jws, char **payload);

/* Static message for a receipt_status. */
const char *receipt_strerror(int status);

#endif
