/*
 * jws.h - Ed25519 keys, the key history, and compact JWS (RFC 7515, alg
 * EdDSA) signing and verification.
 *
 * A key set holds the current signing key (with its secret) and every
 * retired key still needed to verify stored receipts (public keys only).
 * Every JWS names its key in the protected header, which is always exactly
 * {"alg":"EdDSA","kid":"<kid>"}: a verifier looks the kid up in the set and
 * refuses any other algorithm, any extra header member and any unknown kid,
 * so a receipt signed before a rotation verifies with the key that signed it.
 */
#ifndef CONSENT_JWS_H
#define CONSENT_JWS_H

#include <stddef.h>
#include <sodium.h>
#include <cjson/cJSON.h>

#define JWS_KID_LEN 16              /* hex of the first 8 bytes of SHA-256(pk) */
#define JWS_KID_BYTES 8
#define JWS_SIG_LEN crypto_sign_BYTES
#define JWS_MAX_KEYS 32             /* current + retired */
#define JWS_MAX_PAYLOAD 16384

enum jws_status {
    JWS_OK = 0,
    JWS_KEY_UNREADABLE,         /* key file missing or unreadable */
    JWS_KEY_INSECURE,           /* readable by group or others */
    JWS_KEY_INVALID,            /* not 64 hex digits */
    JWS_KEYS_INVALID,           /* retired keys file: not a JWKS of Ed25519 keys */
    JWS_BAD_SIGNATURE,
    JWS_UNKNOWN_KID,            /* no key of the set has that kid */
    JWS_BAD_HEADER,             /* not exactly {"alg":"EdDSA","kid":...} */
    JWS_MALFORMED,              /* not three base64url parts */
    JWS_NO_MEMORY
};

struct jws_public {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char kid[JWS_KID_LEN + 1];
};

struct jws_key {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char kid[JWS_KID_LEN + 1];
};

/* The current key (secret) and the public keys verification accepts: the
 * current one first, then the retired ones. Safe to wipe when zeroed. */
struct jws_keyset {
    struct jws_key current;
    int has_current;
    struct jws_public keys[JWS_MAX_KEYS];
    size_t nkeys;
};

/*
 * Loads a secret from a file holding 32 bytes as 64 hex digits (a signing
 * key seed, or any other 256-bit secret). Refuses a file that group or
 * others may read. Returns JWS_OK or a key status.
 */
int jws_secret_load(const char *path, unsigned char out[32]);

/* Creates a new secret file (mode 0600, must not exist). 0 or -1 (errno). */
int jws_secret_create(const char *path);

/* Loads the signing key from a seed file (jws_secret_load's rules). */
int jws_key_load(struct jws_key *key, const char *path);

/*
 * Builds a key set: the signing key at key_path (required unless NULL, for
 * a verify-only set) and the public keys of the JWKS file at retired_path
 * (optional). Returns JWS_OK or a status; on failure nothing is held.
 */
int jws_keyset_load(struct jws_keyset *set, const char *key_path,
                    const char *retired_path);

/*
 * Adds the Ed25519 keys of a JWKS text (len bytes) to a set (duplicates are
 * skipped). JWS_KEYS_INVALID when it is not a JWKS whose keys are all OKP /
 * Ed25519 with a kid matching their x.
 */
int jws_keyset_add_jwks(struct jws_keyset *set, const char *text, size_t len);

/* Zeroes the secret. */
void jws_keyset_wipe(struct jws_keyset *set);

/* The public key with this kid (borrowed), or NULL. */
const struct jws_public *jws_keyset_find(const struct jws_keyset *set,
                                         const char *kid);

/* Every public key of the set as a JWK set. Caller owns the result. */
cJSON *jws_keyset_jwks(const struct jws_keyset *set);

/* One public key as a JWK. Caller owns the result. */
cJSON *jws_public_jwk(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                      const char *kid);

/* Derives the key id from a public key. */
void jws_kid(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
             char kid[JWS_KID_LEN + 1]);

/* Signs payload (len bytes) as the JWS signing input for key; sig gets the
 * 64-byte signature. */
int jws_sign(const struct jws_key *key, const char *payload, size_t len,
             unsigned char sig[JWS_SIG_LEN]);

/* jws_sign, and the compact JWS of the result built from the same signing
 * input (*compact malloc'd, NUL-terminated; caller frees), so a writer that
 * answers with the JWS encodes the payload once. */
int jws_sign_compact(const struct jws_key *key, const char *payload, size_t len,
                     unsigned char sig[JWS_SIG_LEN], char **compact);

/* Checks a detached signature over payload with the key named kid.
 * JWS_OK, JWS_UNKNOWN_KID or JWS_BAD_SIGNATURE. */
int jws_check(const struct jws_keyset *set, const char *kid, const char *payload,
              size_t len, const unsigned char sig[JWS_SIG_LEN]);

/* The compact JWS for payload, kid and sig (malloc'd, NUL-terminated;
 * caller frees). NULL when out of memory. */
char *jws_compact(const char *kid, const char *payload, size_t len,
                  const unsigned char sig[JWS_SIG_LEN]);

/*
 * Parses and verifies a compact JWS: the header must be exactly
 * {"alg":"EdDSA","kid":KID} with a kid of the set, the signature must
 * verify. On JWS_OK and JWS_BAD_SIGNATURE, *payload (malloc'd,
 * NUL-terminated, caller frees) holds the decoded payload and kid (may be
 * NULL) the kid; on other statuses *payload is NULL.
 */
int jws_verify(const struct jws_keyset *set, const char *jws, char **payload,
               size_t *len, char kid[JWS_KID_LEN + 1]);

/* Static message for a jws_status. */
const char *jws_strerror(int status);

#endif
