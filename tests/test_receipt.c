/* Unit tests for cgi/receipt.c: consent IDs, UUIDs, key files, signing,
 * tamper detection and the JWS form. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cgi/receipt.h"

static char keypath[64];

static void make_key(void)
{
    cr_assert_geq(sodium_init(), 0);
    snprintf(keypath, sizeof(keypath), "build/test-key-%d", (int)getpid());
    unlink(keypath);
    cr_assert_eq(receipt_key_create(keypath), 0);
}

static void remove_key(void)
{
    unlink(keypath);
}

TestSuite(receipt, .init = make_key, .fini = remove_key);

Test(receipt, consent_ids_are_22_random_base64url_characters)
{
    char a[CONSENT_ID_LEN + 1], b[CONSENT_ID_LEN + 1];

    cr_assert_eq(receipt_new_consent_id(a), 0);
    cr_assert_eq(receipt_new_consent_id(b), 0);
    cr_assert_eq(strlen(a), 22);
    cr_assert(receipt_valid_consent_id(a));
    cr_assert_str_neq(a, b);
}

Test(receipt, malformed_consent_ids_are_refused)
{
    const char *bad[] = {"", "short", "AAAAAAAAAAAAAAAAAAAAAAA" /* 23 */,
                         "AAAAAAAAAAAAAAAAAAAA+A", "AAAAAAAAAAAAAAAAAAAA/A",
                         "AAAAAAAAAAAAAAAAAAAAAB" /* bits past 128 */,
                         "AAAAAAAAAAAAAAAAAAAA A", "{AAAAAAAAAAAAAAAAAAAA}",
                         "AAAAAAAAAAAAAAAAAAAA\nA"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_not(receipt_valid_consent_id(bad[i]), "%s", bad[i]);
    cr_assert(receipt_valid_consent_id("AAAAAAAAAAAAAAAAAAAAAQ"));
}

Test(receipt, uuids_are_version_4)
{
    char u[RECEIPT_UUID_LEN + 1];

    cr_assert_eq(receipt_new_uuid(u), 0);
    cr_assert(receipt_valid_uuid(u), "%s", u);
    cr_assert_eq(u[14], '4');
    cr_assert_not(receipt_valid_uuid("00000000-0000-0000-0000-000000000000"));
    cr_assert_not(receipt_valid_uuid("F6E9686E-9709-4947-B08E-70763477510C"));
}

Test(receipt, a_key_readable_by_others_is_refused)
{
    struct receipt_key k;

    cr_assert_eq(chmod(keypath, 0644), 0);
    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_KEY_INSECURE);
    cr_assert_eq(chmod(keypath, 0640), 0);
    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_KEY_INSECURE);
    cr_assert_eq(chmod(keypath, 0600), 0);
    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_OK);
    cr_assert_eq(strlen(k.kid), RECEIPT_KID_LEN);
}

Test(receipt, missing_and_garbage_keys_are_refused)
{
    struct receipt_key k;
    FILE *f;

    cr_assert_eq(receipt_key_load(&k, "build/no-such-key"), RECEIPT_KEY_UNREADABLE);
    unlink(keypath);
    f = fopen(keypath, "w");
    fputs("not hex at all\n", f);
    fclose(f);
    chmod(keypath, 0600);
    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_KEY_INVALID);
}

Test(receipt, create_refuses_to_overwrite_a_key)
{
    cr_assert_eq(receipt_key_create(keypath), -1);
}

Test(receipt, a_sealed_receipt_opens_and_one_changed_byte_is_detected)
{
    struct receipt_key k;
    const char *payload = "{\"receipt_id\":\"x\",\"action\":\"reject_all\"}";
    const char *p;
    char *stored;
    size_t len, plen;

    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_OK);
    cr_assert_eq(receipt_seal(&k, payload, strlen(payload), &stored, &len), RECEIPT_OK);
    cr_assert_eq(len, RECEIPT_SIG_LEN + strlen(payload));
    cr_assert_eq(receipt_open(k.pk, k.kid, stored, len, &p, &plen), RECEIPT_OK);
    cr_assert_eq(plen, strlen(payload));
    cr_assert_eq(memcmp(p, payload, plen), 0);
    for (size_t i = 0; i < len; i += 7) {
        stored[i] ^= 0x01;
        cr_expect_eq(receipt_open(k.pk, k.kid, stored, len, &p, &plen),
                     RECEIPT_BAD_SIGNATURE, "byte %zu", i);
        stored[i] ^= 0x01;
    }
    cr_assert_eq(receipt_open(k.pk, "0000000000000000", stored, len, &p, &plen),
                 RECEIPT_BAD_SIGNATURE, "another key id");
    cr_assert_eq(receipt_open(k.pk, k.kid, stored, 10, &p, &plen), RECEIPT_MALFORMED);
    free(stored);
}

Test(receipt, the_jws_form_verifies_and_carries_the_exact_payload)
{
    struct receipt_key k;
    const char *payload = "{\"a\":\"\xc3\xa9\",\"n\":1}";
    char *stored, *jws, *out;
    size_t len;

    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_OK);
    cr_assert_eq(receipt_seal(&k, payload, strlen(payload), &stored, &len), RECEIPT_OK);
    jws = receipt_jws(stored, len, k.kid);
    cr_assert_not_null(jws);
    cr_assert_eq(receipt_verify_jws(k.pk, jws, &out), RECEIPT_OK);
    cr_assert_str_eq(out, payload);
    free(out);
    /* change one character of the payload part */
    {
        char *dot = strchr(jws, '.');

        dot[3] = dot[3] == 'A' ? 'B' : 'A';
        cr_assert_eq(receipt_verify_jws(k.pk, jws, &out), RECEIPT_BAD_SIGNATURE);
    }
    cr_assert_eq(receipt_verify_jws(k.pk, "a.b", &out), RECEIPT_MALFORMED);
    free(jws);
    free(stored);
}

Test(receipt, the_jwks_names_the_key)
{
    struct receipt_key k;
    cJSON *j;
    const cJSON *key;

    cr_assert_eq(receipt_key_load(&k, keypath), RECEIPT_OK);
    j = receipt_jwks(&k);
    key = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "keys"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(key, "kty")->valuestring, "OKP");
    cr_assert_str_eq(cJSON_GetObjectItem(key, "crv")->valuestring, "Ed25519");
    cr_assert_str_eq(cJSON_GetObjectItem(key, "kid")->valuestring, k.kid);
    cr_assert_eq(strlen(cJSON_GetObjectItem(key, "x")->valuestring), 43);
    cJSON_Delete(j);
}
