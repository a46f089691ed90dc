/*
 * fuzz_receipt.c - receipt format v2 (cgi/receipt.c, cgi/jws.c,
 * cgi/verify.c).
 *
 * The input is read as stored bytes an adversary with database access could
 * have written: a stored receipt, a sealed head, a cookie value, a compact
 * JWS, and a whole history (a head and receipts split from the input).
 * Invariants: nothing crashes; a stored receipt or head that decodes
 * encodes back to exactly the same bytes (one stored form per value);
 * the verifier never passes a history the fixed key did not sign (the input
 * cannot carry a valid signature of that key) unless it is empty; a cookie
 * value only names a consent ID when its MAC checks.
 */
#include "fuzz.h"
#include "../../cgi/jws.h"
#include "../../cgi/receipt.h"
#include "../../cgi/verify.h"

#include <string.h>

static struct jws_keyset keys;
static unsigned char cookie_key[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char seed[crypto_sign_SEEDBYTES];

    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    memset(seed, 0x42, sizeof(seed));
    crypto_sign_seed_keypair(keys.current.pk, keys.current.sk, seed);
    jws_kid(keys.current.pk, keys.current.kid);
    keys.has_current = 1;
    memcpy(keys.keys[0].pk, keys.current.pk, sizeof(keys.current.pk));
    memcpy(keys.keys[0].kid, keys.current.kid, sizeof(keys.current.kid));
    keys.nkeys = 1;
    memset(cookie_key, 0x17, sizeof(cookie_key));
    return 0;
}

static void stored_forms(const uint8_t *data, size_t size)
{
    unsigned char out[RECEIPT_MAX_HEAD];
    struct receipt r = {.seq = 1};
    struct receipt_head *h = malloc(sizeof(*h));

    if (receipt_decode(data, size, &r) == RECEIPT_OK) {
        size_t n = receipt_encode(&r, out);

        FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);
    }
    if (h != NULL && receipt_head_decode(data, size, h) == RECEIPT_OK) {
        size_t n = receipt_head_encode(h, out);

        FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);
        FUZZ_CHECK(receipt_head_check(h, "AAAAAAAAAAAAAAAAAAAAAA", &keys) != JWS_OK);
    }
    free(h);
}

static void texts(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), id[CONSENT_ID_LEN + 1], *payload = NULL;
    size_t len = 0;

    if (s == NULL)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (receipt_cookie_id(cookie_key, s, id) == 0) {
        FUZZ_CHECK(receipt_valid_consent_id(id));
        FUZZ_CHECK(strlen(s) == CONSENT_COOKIE_LEN);
    }
    FUZZ_CHECK(jws_verify(&keys, s, &payload, &len, NULL) != JWS_OK);
    free(payload);
    receipt_valid_uuid(s);
    free(s);
}

/* The input as a stored history: [head length byte][head][items, each
 * [length byte][bytes]], checked by the one verifier. */
static void history(const uint8_t *data, size_t size)
{
    struct store_history h;
    struct verify_result r;
    struct store_item items[16];
    size_t at = 0;

    memset(&h, 0, sizeof(h));
    h.pttl_ms = -2;
    if (size > 0) {
        size_t n = data[0];

        at = 1;
        if (n > 0 && at + n <= size) {
            h.head.data = (char *)data + at;
            h.head.len = n;
            at += n;
        }
    }
    h.items = items;
    while (at < size && h.nitems < 16) {
        size_t n = data[at++];

        if (at + n > size)
            break;
        items[h.nitems].seq = (uint32_t)h.nitems + 1;
        items[h.nitems].blob.data = (char *)data + at;
        items[h.nitems].blob.len = n;
        h.nitems++;
        at += n;
    }
    verify_stored(&h, "AAAAAAAAAAAAAAAAAAAAAA", NULL, &keys, NULL, &r);
    FUZZ_CHECK(!verify_passed(&r) || (h.nitems == 0 && h.head.data == NULL));
    verify_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stored_forms(data, size);
    texts(data, size);
    history(data, size);
    return 0;
}
