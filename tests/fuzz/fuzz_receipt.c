/*
 * fuzz_receipt.c - consent receipts (cgi/receipt.c).
 *
 * With a fixed Ed25519 key: the input as a payload must survive
 * receipt_seal -> receipt_open and receipt_jws -> receipt_verify_jws; any
 * one flipped byte of the stored form must fail to open; and the raw input
 * fed to receipt_open, receipt_verify_jws, receipt_valid_consent_id and
 * receipt_valid_uuid must not crash.
 *
 * JWS and embedded NUL bytes: receipt_verify_jws hands back a NUL-terminated
 * C string and no length, so a payload holding a NUL comes back verified but
 * cut at its first NUL (checked below). Real payloads are JSON and hold none.
 * An empty payload seals but never opens (a stored form must be longer than
 * the signature), and receipt_jws gives NULL for it.
 */
#include "fuzz.h"
#include "../../cgi/receipt.h"

#include <string.h>

static struct receipt_key key, other;

static void make_key(struct receipt_key *k, unsigned char fill)
{
    unsigned char seed[crypto_sign_SEEDBYTES];

    memset(seed, fill, sizeof(seed));
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (unsigned char)(seed[i] ^ i);
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    receipt_kid(k->pk, k->kid);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    make_key(&key, 0x42);
    make_key(&other, 0x17);
    return 0;
}

static void round_trip(const char *payload, size_t len, size_t flip)
{
    char *stored = NULL, *jws, *back = NULL;
    size_t stored_len = 0, got_len = 0;
    const char *got = NULL;
    int rc;

    rc = receipt_seal(&key, payload, len, &stored, &stored_len);
    FUZZ_CHECK(rc == RECEIPT_OK && stored != NULL);
    FUZZ_CHECK(stored_len == RECEIPT_SIG_LEN + len);

    rc = receipt_open(key.pk, key.kid, stored, stored_len, &got, &got_len);
    if (len == 0) {
        FUZZ_CHECK(rc == RECEIPT_MALFORMED);
        FUZZ_CHECK(receipt_jws(stored, stored_len, key.kid) == NULL);
        free(stored);
        return;
    }
    FUZZ_CHECK(rc == RECEIPT_OK);
    FUZZ_CHECK(got_len == len && memcmp(got, payload, len) == 0);
    /* another key or another key id must not verify */
    FUZZ_CHECK(receipt_open(other.pk, key.kid, stored, stored_len, &got,
                            &got_len) == RECEIPT_BAD_SIGNATURE);
    FUZZ_CHECK(receipt_open(key.pk, other.kid, stored, stored_len, &got,
                            &got_len) == RECEIPT_BAD_SIGNATURE);

    jws = receipt_jws(stored, stored_len, key.kid);
    FUZZ_CHECK(jws != NULL);
    rc = receipt_verify_jws(key.pk, jws, &back);
    FUZZ_CHECK(rc == RECEIPT_OK && back != NULL);
    {
        const char *nul = memchr(payload, '\0', len);
        size_t upto = nul != NULL ? (size_t)(nul - payload) : len;

        FUZZ_CHECK(strlen(back) == upto && memcmp(back, payload, upto) == 0);
    }
    free(back);
    back = NULL;
    FUZZ_CHECK(receipt_verify_jws(other.pk, jws, &back) == RECEIPT_BAD_SIGNATURE &&
               back == NULL);
    free(jws);

    /* one flipped byte anywhere in the stored form */
    flip %= stored_len;
    stored[flip] = (char)(stored[flip] ^ 0x01);
    rc = receipt_open(key.pk, key.kid, stored, stored_len, &got, &got_len);
    FUZZ_CHECK(rc == RECEIPT_BAD_SIGNATURE);
    free(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = size < RECEIPT_MAX_PAYLOAD ? size : RECEIPT_MAX_PAYLOAD;
    size_t flip = 0;
    char *copy, *back = NULL;
    const char *got;
    size_t got_len;
    int rc;

    for (size_t i = 0; i < size && i < 8; i++)
        flip = flip * 131 + data[i];
    round_trip((const char *)data, len, flip);

    /* arbitrary bytes as a stored form */
    rc = receipt_open(key.pk, key.kid, (const char *)data, size, &got, &got_len);
    FUZZ_CHECK(rc == RECEIPT_OK || rc == RECEIPT_BAD_SIGNATURE ||
               rc == RECEIPT_MALFORMED);
    if (rc != RECEIPT_MALFORMED)
        FUZZ_CHECK(got == (const char *)data + RECEIPT_SIG_LEN &&
                   got_len == size - RECEIPT_SIG_LEN);

    /* and as a string: JWS, consent ID, UUID */
    copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    rc = receipt_verify_jws(key.pk, copy, &back);
    FUZZ_CHECK(rc == RECEIPT_OK || rc == RECEIPT_BAD_SIGNATURE ||
               rc == RECEIPT_MALFORMED);
    FUZZ_CHECK((rc == RECEIPT_OK) == (back != NULL));
    free(back);
    rc = receipt_valid_consent_id(copy);
    FUZZ_CHECK(rc == 0 || rc == 1);
    if (rc == 1)
        FUZZ_CHECK(strlen(copy) == CONSENT_ID_LEN);
    rc = receipt_valid_uuid(copy);
    FUZZ_CHECK(rc == 0 || rc == 1);
    if (rc == 1)
        FUZZ_CHECK(strlen(copy) == RECEIPT_UUID_LEN);
    free(copy);
    return 0;
}
