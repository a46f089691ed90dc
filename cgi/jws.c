/*
 * jws.c - see jws.h.
 */
#include "jws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define JWS_MAX_KEYS_FILE (256 * 1024)
#define HEADER_FMT "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}"

int jws_secret_load(const char *path, unsigned char out[32])
{
    struct stat st;
    char text[80];
    size_t n, bin_len = 0;
    ssize_t got;
    int fd, rc = JWS_KEY_INVALID;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return JWS_KEY_UNREADABLE;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return JWS_KEY_UNREADABLE;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return JWS_KEY_INSECURE;
    }
    got = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (got < 0)
        return JWS_KEY_UNREADABLE;
    n = (size_t)got;
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (n == 64 && sodium_hex2bin(out, 32, text, n, NULL, &bin_len, NULL) == 0 &&
        bin_len == 32)
        rc = JWS_OK;
    sodium_memzero(text, sizeof(text));
    return rc;
}

int jws_secret_create(const char *path)
{
    unsigned char seed[32];
    char hex[66];
    int fd, rc = -1;

    randombytes_buf(seed, sizeof(seed));
    sodium_bin2hex(hex, sizeof(hex) - 1, seed, sizeof(seed));
    strcat(hex, "\n");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        rc = write(fd, hex, strlen(hex)) == (ssize_t)strlen(hex) ? 0 : -1;
        if (close(fd) != 0)
            rc = -1;
    }
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(hex, sizeof(hex));
    return rc;
}

void jws_kid(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
             char kid[JWS_KID_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, pk, crypto_sign_PUBLICKEYBYTES);
    sodium_bin2hex(kid, JWS_KID_LEN + 1, h, JWS_KID_BYTES);
}

int jws_key_load(struct jws_key *key, const char *path)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    int st;

    memset(key, 0, sizeof(*key));
    st = jws_secret_load(path, seed);
    if (st != JWS_OK)
        return st;
    crypto_sign_seed_keypair(key->pk, key->sk, seed);
    jws_kid(key->pk, key->kid);
    sodium_memzero(seed, sizeof(seed));
    return JWS_OK;
}

static int add_public(struct jws_keyset *set, const unsigned char *pk)
{
    char kid[JWS_KID_LEN + 1];

    jws_kid(pk, kid);
    if (jws_keyset_find(set, kid) != NULL)
        return JWS_OK;
    if (set->nkeys == JWS_MAX_KEYS)
        return JWS_KEYS_INVALID;
    memcpy(set->keys[set->nkeys].pk, pk, crypto_sign_PUBLICKEYBYTES);
    memcpy(set->keys[set->nkeys].kid, kid, sizeof(kid));
    set->nkeys++;
    return JWS_OK;
}

/* One JWK: OKP, Ed25519, x of 32 bytes, and a kid (when present) that is
 * the one derived from x, so a key cannot be published under another's kid. */
static int jwk_public(const cJSON *k, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(k, "kty");
    const cJSON *crv = cJSON_GetObjectItemCaseSensitive(k, "crv");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(k, "x");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
    char derived[JWS_KID_LEN + 1];
    size_t bin = 0;

    if (!cJSON_IsString(kty) || strcmp(kty->valuestring, "OKP") != 0 ||
        !cJSON_IsString(crv) || strcmp(crv->valuestring, "Ed25519") != 0 ||
        !cJSON_IsString(x) ||
        sodium_base642bin(pk, crypto_sign_PUBLICKEYBYTES, x->valuestring,
                          strlen(x->valuestring), NULL, &bin, NULL, B64URL) != 0 ||
        bin != crypto_sign_PUBLICKEYBYTES)
        return -1;
    jws_kid(pk, derived);
    if (kid != NULL && (!cJSON_IsString(kid) || strcmp(kid->valuestring, derived) != 0))
        return -1;
    return 0;
}

int jws_keyset_add_jwks(struct jws_keyset *set, const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys"), *k;
    int st = cJSON_IsArray(keys) ? JWS_OK : JWS_KEYS_INVALID;

    cJSON_ArrayForEach(k, keys) {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];

        if (st != JWS_OK)
            break;
        if (jwk_public(k, pk) != 0)
            st = JWS_KEYS_INVALID;
        else
            st = add_public(set, pk);
    }
    cJSON_Delete(root);
    return st;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;

    if (f == NULL)
        return NULL;
    buf = malloc(JWS_MAX_KEYS_FILE + 1);
    if (buf != NULL) {
        *len = fread(buf, 1, JWS_MAX_KEYS_FILE, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

int jws_keyset_load(struct jws_keyset *set, const char *key_path,
                    const char *retired_path)
{
    char *text;
    size_t len = 0;
    int st;

    memset(set, 0, sizeof(*set));
    if (key_path != NULL) {
        st = jws_key_load(&set->current, key_path);
        if (st != JWS_OK)
            return st;
        set->has_current = 1;
        add_public(set, set->current.pk);
    }
    if (retired_path == NULL)
        return JWS_OK;
    text = read_file(retired_path, &len);
    if (text == NULL) {
        jws_keyset_wipe(set);
        return JWS_KEYS_INVALID;
    }
    st = jws_keyset_add_jwks(set, text, len);
    free(text);
    if (st != JWS_OK)
        jws_keyset_wipe(set);
    return st;
}

void jws_keyset_wipe(struct jws_keyset *set)
{
    sodium_memzero(set, sizeof(*set));
}

const struct jws_public *jws_keyset_find(const struct jws_keyset *set,
                                         const char *kid)
{
    for (size_t i = 0; i < set->nkeys; i++)
        if (strcmp(set->keys[i].kid, kid) == 0)
            return &set->keys[i];
    return NULL;
}

cJSON *jws_public_jwk(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                      const char *kid)
{
    char x[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES, B64URL)];
    cJSON *k = cJSON_CreateObject();

    sodium_bin2base64(x, sizeof(x), pk, crypto_sign_PUBLICKEYBYTES, B64URL);
    cJSON_AddStringToObject(k, "kty", "OKP");
    cJSON_AddStringToObject(k, "crv", "Ed25519");
    cJSON_AddStringToObject(k, "x", x);
    cJSON_AddStringToObject(k, "kid", kid);
    cJSON_AddStringToObject(k, "use", "sig");
    cJSON_AddStringToObject(k, "alg", "EdDSA");
    return k;
}

cJSON *jws_keyset_jwks(const struct jws_keyset *set)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *keys = cJSON_AddArrayToObject(root, "keys");

    for (size_t i = 0; i < set->nkeys; i++)
        cJSON_AddItemToArray(keys, jws_public_jwk(set->keys[i].pk, set->keys[i].kid));
    return root;
}

/* base64url(header) "." base64url(payload), malloc'd; *n its length. */
static char *signing_input(const char *kid, const char *payload, size_t len,
                           size_t *n)
{
    char header[64];
    size_t hlen, hb, pb;
    char *out;

    snprintf(header, sizeof(header), HEADER_FMT, kid);
    hlen = strlen(header);
    hb = sodium_base64_ENCODED_LEN(hlen, B64URL);
    pb = sodium_base64_ENCODED_LEN(len, B64URL);
    out = malloc(hb + pb + 1 + sodium_base64_ENCODED_LEN(JWS_SIG_LEN, B64URL) + 1);
    if (out == NULL)
        return NULL;
    sodium_bin2base64(out, hb, (const unsigned char *)header, hlen, B64URL);
    hlen = strlen(out);
    out[hlen++] = '.';
    sodium_bin2base64(out + hlen, pb, (const unsigned char *)payload, len, B64URL);
    *n = hlen + strlen(out + hlen);
    return out;
}

int jws_sign(const struct jws_key *key, const char *payload, size_t len,
             unsigned char sig[JWS_SIG_LEN])
{
    size_t n;
    char *input = signing_input(key->kid, payload, len, &n);

    if (input == NULL)
        return JWS_NO_MEMORY;
    crypto_sign_detached(sig, NULL, (const unsigned char *)input, n, key->sk);
    free(input);
    return JWS_OK;
}

int jws_sign_compact(const struct jws_key *key, const char *payload, size_t len,
                     unsigned char sig[JWS_SIG_LEN], char **compact)
{
    size_t n;
    char *out = signing_input(key->kid, payload, len, &n);

    *compact = NULL;
    if (out == NULL)
        return JWS_NO_MEMORY;
    crypto_sign_detached(sig, NULL, (const unsigned char *)out, n, key->sk);
    /* signing_input left room for "." and the signature */
    out[n] = '.';
    sodium_bin2base64(out + n + 1, sodium_base64_ENCODED_LEN(JWS_SIG_LEN, B64URL),
                      sig, JWS_SIG_LEN, B64URL);
    *compact = out;
    return JWS_OK;
}

int jws_check(const struct jws_keyset *set, const char *kid, const char *payload,
              size_t len, const unsigned char sig[JWS_SIG_LEN])
{
    const struct jws_public *k = jws_keyset_find(set, kid);
    size_t n;
    char *input;
    int ok;

    if (k == NULL)
        return JWS_UNKNOWN_KID;
    input = signing_input(kid, payload, len, &n);
    if (input == NULL)
        return JWS_NO_MEMORY;
    ok = crypto_sign_verify_detached(sig, (const unsigned char *)input, n, k->pk) == 0;
    free(input);
    return ok ? JWS_OK : JWS_BAD_SIGNATURE;
}

char *jws_compact(const char *kid, const char *payload, size_t len,
                  const unsigned char sig[JWS_SIG_LEN])
{
    size_t n;
    char *out = signing_input(kid, payload, len, &n);

    if (out == NULL)
        return NULL;
    out[n] = '.';
    sodium_bin2base64(out + n + 1, sodium_base64_ENCODED_LEN(JWS_SIG_LEN, B64URL),
                      sig, JWS_SIG_LEN, B64URL);
    return out;
}

/* Decodes one base64url part into a malloc'd, NUL-terminated buffer. */
static char *part(const char *s, size_t n, size_t *len)
{
    char *out = malloc(n + 1);

    if (out == NULL)
        return NULL;
    if (sodium_base642bin((unsigned char *)out, n, s, n, NULL, len, NULL, B64URL) != 0) {
        free(out);
        return NULL;
    }
    out[*len] = '\0';
    return out;
}

int jws_verify(const struct jws_keyset *set, const char *jws, char **payload,
               size_t *len, char kid[JWS_KID_LEN + 1])
{
    const char *dot1 = strchr(jws, '.'), *dot2;
    unsigned char sig[JWS_SIG_LEN];
    char expect[64], *header, *body;
    size_t sig_len = 0, hlen = 0, blen = 0;
    const cJSON *k;
    cJSON *h;
    int st;

    *payload = NULL;
    if (kid != NULL)
        kid[0] = '\0';
    if (dot1 == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
        strchr(dot2 + 1, '.') != NULL || (size_t)(dot2 - jws) > 2 * JWS_MAX_PAYLOAD)
        return JWS_MALFORMED;
    if (sodium_base642bin(sig, sizeof(sig), dot2 + 1, strlen(dot2 + 1), NULL,
                          &sig_len, NULL, B64URL) != 0 || sig_len != sizeof(sig))
        return JWS_MALFORMED;
    header = part(jws, (size_t)(dot1 - jws), &hlen);
    if (header == NULL)
        return JWS_MALFORMED;
    /* The header must be byte for byte the one we write: alg EdDSA, a kid,
     * nothing else ("alg":"none", "jwk", "crit" ... are refused). */
    h = cJSON_ParseWithLength(header, hlen);
    k = cJSON_GetObjectItemCaseSensitive(h, "kid");
    st = JWS_BAD_HEADER;
    if (cJSON_IsString(k) && strlen(k->valuestring) == JWS_KID_LEN) {
        snprintf(expect, sizeof(expect), HEADER_FMT, k->valuestring);
        if (strlen(expect) == hlen && memcmp(expect, header, hlen) == 0)
            st = JWS_OK;
    }
    if (st == JWS_OK && kid != NULL)
        memcpy(kid, k->valuestring, JWS_KID_LEN + 1);
    if (st == JWS_OK && jws_keyset_find(set, k->valuestring) == NULL)
        st = JWS_UNKNOWN_KID;
    if (st == JWS_OK) {
        const struct jws_public *pk = jws_keyset_find(set, k->valuestring);

        if (crypto_sign_verify_detached(sig, (const unsigned char *)jws,
                                        (size_t)(dot2 - jws), pk->pk) != 0)
            st = JWS_BAD_SIGNATURE;
    }
    cJSON_Delete(h);
    free(header);
    if (st != JWS_OK && st != JWS_BAD_SIGNATURE)
        return st;
    body = part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &blen);
    if (body == NULL)
        return JWS_MALFORMED;
    *payload = body;
    if (len != NULL)
        *len = blen;
    return st;
}

const char *jws_strerror(int status)
{
    switch (status) {
    case JWS_OK:
        return "success";
    case JWS_KEY_UNREADABLE:
        return "cannot read the key file";
    case JWS_KEY_INSECURE:
        return "the key file is readable by group or others (chmod 600)";
    case JWS_KEY_INVALID:
        return "the key file must hold 64 hex digits (32 bytes)";
    case JWS_KEYS_INVALID:
        return "not a JWK set of Ed25519 public keys whose kid matches the key";
    case JWS_BAD_SIGNATURE:
        return "signature does not verify";
    case JWS_UNKNOWN_KID:
        return "signed with a key that is not in the key set (unknown kid)";
    case JWS_BAD_HEADER:
        return "the JWS header is not {\"alg\":\"EdDSA\",\"kid\":...}";
    case JWS_MALFORMED:
        return "not a compact JWS";
    case JWS_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}
