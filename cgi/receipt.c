/*
 * receipt.c - see receipt.h.
 */
#include "receipt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int fill_random(void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom((char *)buf + got, len - got, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

void receipt_kid(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                 char kid[RECEIPT_KID_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, pk, crypto_sign_PUBLICKEYBYTES);
    sodium_bin2hex(kid, RECEIPT_KID_LEN + 1, h, RECEIPT_KID_LEN / 2);
}

int receipt_key_load(struct receipt_key *key, const char *path)
{
    struct stat st;
    unsigned char seed[crypto_sign_SEEDBYTES];
    char text[2 * crypto_sign_SEEDBYTES + 8];
    size_t n, bin_len = 0;
    int fd, rc = RECEIPT_KEY_INVALID;

    memset(key, 0, sizeof(*key));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return RECEIPT_KEY_UNREADABLE;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return RECEIPT_KEY_UNREADABLE;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return RECEIPT_KEY_INSECURE;
    }
    n = (size_t)read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n == (size_t)-1)
        return RECEIPT_KEY_UNREADABLE;
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (n == 2 * crypto_sign_SEEDBYTES &&
        sodium_hex2bin(seed, sizeof(seed), text, n, NULL, &bin_len, NULL) == 0 &&
        bin_len == sizeof(seed)) {
        crypto_sign_seed_keypair(key->pk, key->sk, seed);
        receipt_kid(key->pk, key->kid);
        rc = RECEIPT_OK;
    }
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(text, sizeof(text));
    return rc;
}

int receipt_key_create(const char *path)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    char hex[2 * crypto_sign_SEEDBYTES + 2];
    int fd, rc = -1;

    if (fill_random(seed, sizeof(seed)) != 0)
        return -1;
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

void receipt_key_wipe(struct receipt_key *key)
{
    sodium_memzero(key, sizeof(*key));
}

cJSON *receipt_jwks(const struct receipt_key *key)
{
    char x[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES, B64URL)];
    cJSON *root = cJSON_CreateObject();
    cJSON *keys = cJSON_AddArrayToObject(root, "keys");
    cJSON *k = cJSON_CreateObject();

    sodium_bin2base64(x, sizeof(x), key->pk, sizeof(key->pk), B64URL);
    cJSON_AddStringToObject(k, "kty", "OKP");
    cJSON_AddStringToObject(k, "crv", "Ed25519");
    cJSON_AddStringToObject(k, "x", x);
    cJSON_AddStringToObject(k, "kid", key->kid);
    cJSON_AddStringToObject(k, "use", "sig");
    cJSON_AddStringToObject(k, "alg", "EdDSA");
    cJSON_AddItemToArray(keys, k);
    return root;
}

int receipt_new_consent_id(char id[CONSENT_ID_LEN + 1])
{
    unsigned char b[16];

    if (fill_random(b, sizeof(b)) != 0)
        return -1;
    sodium_bin2base64(id, CONSENT_ID_LEN + 1, b, sizeof(b), B64URL);
    return 0;
}

int receipt_valid_consent_id(const char *s)
{
    const char *last;

    if (strlen(s) != CONSENT_ID_LEN ||
        strspn(s, b64url_chars) != CONSENT_ID_LEN)
        return 0;
    /* 22 characters carry 132 bits: the last one's low 4 bits must be 0 */
    last = strchr(b64url_chars, s[CONSENT_ID_LEN - 1]);
    return ((last - b64url_chars) & 0x0f) == 0;
}

int receipt_new_uuid(char out[RECEIPT_UUID_LEN + 1])
{
    unsigned char b[16];

    if (fill_random(b, sizeof(b)) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, RECEIPT_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

int receipt_valid_uuid(const char *s)
{
    if (strlen(s) != RECEIPT_UUID_LEN)
        return 0;
    for (int i = 0; i < RECEIPT_UUID_LEN; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

void receipt_sha256_hex(const void *data, size_t len, char out[RECEIPT_HASH_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, RECEIPT_HASH_HEX, h, sizeof(h));
}

/* base64url(header) "." base64url(payload), malloc'd. */
static char *signing_input(const char *kid, const char *payload, size_t len)
{
    char header[64];
    size_t hlen, hb, pb;
    char *out;

    snprintf(header, sizeof(header), "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", kid);
    hlen = strlen(header);
    hb = sodium_base64_ENCODED_LEN(hlen, B64URL);
    pb = sodium_base64_ENCODED_LEN(len, B64URL);
    out = malloc(hb + pb + 1);
    if (out == NULL)
        return NULL;
    sodium_bin2base64(out, hb, (const unsigned char *)header, hlen, B64URL);
    hlen = strlen(out);
    out[hlen++] = '.';
    sodium_bin2base64(out + hlen, pb, (const unsigned char *)payload, len,
                      B64URL);
    return out;
}

int receipt_seal(const struct receipt_key *key, const char *payload,
                 size_t len, char **stored, size_t *stored_len)
{
    char *input = signing_input(key->kid, payload, len);
    char *out;

    if (input == NULL)
        return -1;
    out = malloc(RECEIPT_SIG_LEN + len);
    if (out == NULL) {
        free(input);
        return -1;
    }
    crypto_sign_detached((unsigned char *)out, NULL,
                         (const unsigned char *)input, strlen(input), key->sk);
    memcpy(out + RECEIPT_SIG_LEN, payload, len);
    free(input);
    *stored = out;
    *stored_len = RECEIPT_SIG_LEN + len;
    return RECEIPT_OK;
}

int receipt_open(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                 const char *kid, const char *stored, size_t stored_len,
                 const char **payload, size_t *len)
{
    char *input;
    int ok;

    if (stored_len <= RECEIPT_SIG_LEN ||
        stored_len > RECEIPT_SIG_LEN + RECEIPT_MAX_PAYLOAD)
        return RECEIPT_MALFORMED;
    *payload = stored + RECEIPT_SIG_LEN;
    *len = stored_len - RECEIPT_SIG_LEN;
    input = signing_input(kid, *payload, *len);
    if (input == NULL)
        return RECEIPT_MALFORMED;
    ok = crypto_sign_verify_detached((const unsigned char *)stored,
                                     (const unsigned char *)input,
                                     strlen(input), pk) == 0;
    free(input);
    return ok ? RECEIPT_OK : RECEIPT_BAD_SIGNATURE;
}

char *receipt_jws(const char *stored, size_t stored_len, const char *kid)
{
    char *input, *out;
    size_t ilen, sb = sodium_base64_ENCODED_LEN(RECEIPT_SIG_LEN, B64URL);

    if (stored_len <= RECEIPT_SIG_LEN)
        return NULL;
    input = signing_input(kid, stored + RECEIPT_SIG_LEN,
                          stored_len - RECEIPT_SIG_LEN);
    if (input == NULL)
        return NULL;
    ilen = strlen(input);
    out = realloc(input, ilen + 1 + sb);
    if (out == NULL) {
        free(input);
        return NULL;
    }
    out[ilen] = '.';
    sodium_bin2base64(out + ilen + 1, sb, (const unsigned char *)stored,
                      RECEIPT_SIG_LEN, B64URL);
    return out;
}

int receipt_verify_jws(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                       const char *jws, char **payload)
{
    const char *dot1 = strchr(jws, '.'), *dot2;
    unsigned char sig[RECEIPT_SIG_LEN];
    size_t sig_len = 0, plen = 0, b64len;
    char *out;

    *payload = NULL;
    if (dot1 == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
        strchr(dot2 + 1, '.') != NULL)
        return RECEIPT_MALFORMED;
    if (sodium_base642bin(sig, sizeof(sig), dot2 + 1, strlen(dot2 + 1), NULL,
                          &sig_len, NULL, B64URL) != 0 ||
        sig_len != sizeof(sig))
        return RECEIPT_MALFORMED;
    b64len = (size_t)(dot2 - dot1 - 1);
    out = malloc(b64len + 1);
    if (out == NULL)
        return RECEIPT_MALFORMED;
    if (sodium_base642bin((unsigned char *)out, b64len, dot1 + 1, b64len, NULL,
                          &plen, NULL, B64URL) != 0) {
        free(out);
        return RECEIPT_MALFORMED;
    }
    out[plen] = '\0';
    if (crypto_sign_verify_detached(sig, (const unsigned char *)jws,
                                    (size_t)(dot2 - jws), pk) != 0) {
        free(out);
        return RECEIPT_BAD_SIGNATURE;
    }
    *payload = out;
    return RECEIPT_OK;
}

const char *receipt_strerror(int status)
{
    switch (status) {
    case RECEIPT_OK:
        return "success";
    case RECEIPT_KEY_UNREADABLE:
        return "cannot read the signing key file";
    case RECEIPT_KEY_INSECURE:
        return "the signing key file is readable by group or others (chmod 600)";
    case RECEIPT_KEY_INVALID:
        return "the signing key file must hold 64 hex digits (an Ed25519 seed)";
    case RECEIPT_BAD_SIGNATURE:
        return "signature does not verify";
    case RECEIPT_MALFORMED:
        return "malformed receipt";
    default:
        return "unknown error";
    }
}
