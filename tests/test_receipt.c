/* Unit tests for cgi/receipt.c and cgi/jws.c: consent cookies and IDs,
 * UUIDs, key files and key sets, JWS signing and checking, the stored forms
 * of receipts and heads, and the canonical payload. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cgi/jws.h"
#include "../cgi/receipt.h"

static char keypath[64];
static const unsigned char cookie_key[32] = {1, 2, 3, 4, 5};

static void make_key(void)
{
    cr_assert_geq(sodium_init(), 0);
    snprintf(keypath, sizeof(keypath), "build/test-key-%d", (int)getpid());
    unlink(keypath);
    cr_assert_eq(jws_secret_create(keypath), 0);
}

static void remove_key(void)
{
    unlink(keypath);
}

TestSuite(receipt, .init = make_key, .fini = remove_key);

/* ---- consent cookies and IDs ---- */

Test(receipt, a_new_cookie_names_a_consent_id_that_it_does_not_contain)
{
    char c1[CONSENT_COOKIE_LEN + 1], c2[CONSENT_COOKIE_LEN + 1];
    char id1[CONSENT_ID_LEN + 1], id2[CONSENT_ID_LEN + 1];

    receipt_cookie_new(cookie_key, c1);
    receipt_cookie_new(cookie_key, c2);
    cr_assert_eq(strlen(c1), CONSENT_COOKIE_LEN);
    cr_assert_eq(receipt_cookie_id(cookie_key, c1, id1), 0);
    cr_assert_eq(receipt_cookie_id(cookie_key, c2, id2), 0);
    cr_assert(receipt_valid_consent_id(id1));
    cr_assert_str_neq(id1, id2);
    cr_assert_null(strstr(c1, id1));
    /* the same cookie always names the same ID */
    cr_assert_eq(receipt_cookie_id(cookie_key, c1, id2), 0);
    cr_assert_str_eq(id1, id2);
}

Test(receipt, cookies_the_server_did_not_issue_name_no_consent_id)
{
    char c[CONSENT_COOKIE_LEN + 1], id[CONSENT_ID_LEN + 1];
    const unsigned char other[32] = {9};

    receipt_cookie_new(cookie_key, c);
    cr_assert_neq(receipt_cookie_id(other, c, id), 0, "another server's key");
    cr_assert_str_eq(id, "");
    for (size_t i = 0; i < CONSENT_COOKIE_LEN; i++) {
        char bad[CONSENT_COOKIE_LEN + 1];

        memcpy(bad, c, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        cr_expect_neq(receipt_cookie_id(cookie_key, bad, id), 0, "byte %zu", i);
    }
    cr_assert_neq(receipt_cookie_id(cookie_key, "", id), 0);
    cr_assert_neq(receipt_cookie_id(cookie_key, "AAAAAAAAAAAAAAAAAAAAAA", id), 0);
    c[10] = '+';
    cr_assert_neq(receipt_cookie_id(cookie_key, c, id), 0);
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

Test(receipt, the_audit_hash_of_an_id_is_keyed)
{
    const unsigned char other[32] = {9};
    char a[17], b[17], c[17];

    receipt_id_hash(cookie_key, "AAAAAAAAAAAAAAAAAAAAAQ", a);
    receipt_id_hash(cookie_key, "AAAAAAAAAAAAAAAAAAAAAQ", b);
    receipt_id_hash(other, "AAAAAAAAAAAAAAAAAAAAAQ", c);
    cr_assert_eq(strlen(a), 16);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
}

Test(receipt, uuids_are_version_4_and_round_trip)
{
    unsigned char b[16], back[16];
    char u[RECEIPT_UUID_LEN + 1];

    receipt_new_uuid_bytes(b);
    receipt_uuid_text(b, u);
    cr_assert(receipt_valid_uuid(u), "%s", u);
    cr_assert_eq(u[14], '4');
    cr_assert_eq(receipt_uuid_parse(u, back), 0);
    cr_assert_arr_eq(b, back, 16);
    cr_assert_not(receipt_valid_uuid("00000000-0000-0000-0000-000000000000"));
    cr_assert_not(receipt_valid_uuid("F6E9686E-9709-4947-B08E-70763477510C"));
    cr_assert_neq(receipt_uuid_parse("f6e9686e-9709-4947-b08e-70763477510", back), 0);
}

Test(receipt, a_receipt_id_is_a_version_8_uuid_derived_from_the_id_and_seq)
{
    unsigned char a[16], b[16], c[16];
    char u[RECEIPT_UUID_LEN + 1];

    receipt_id_of("AAAAAAAAAAAAAAAAAAAAAQ", 1, a);
    receipt_id_of("AAAAAAAAAAAAAAAAAAAAAQ", 1, b);
    receipt_id_of("AAAAAAAAAAAAAAAAAAAAAQ", 2, c);
    cr_assert_arr_eq(a, b, 16);
    cr_assert_arr_neq(a, c, 16);
    receipt_id_of("BAAAAAAAAAAAAAAAAAAAAQ", 1, c);
    cr_assert_arr_neq(a, c, 16);
    receipt_uuid_text(a, u);
    cr_assert(receipt_valid_uuid(u), "%s", u);
    cr_assert_eq(u[14], '8');
}

Test(receipt, a_consent_id_is_16_bytes_both_ways)
{
    unsigned char raw[16];
    char back[CONSENT_ID_LEN + 1];

    cr_assert_eq(receipt_consent_id_bytes("kah0dNd23VpIV4rY_d07fQ", raw), 0);
    receipt_consent_id_text(raw, back);
    cr_assert_str_eq(back, "kah0dNd23VpIV4rY_d07fQ");
    cr_assert_neq(receipt_consent_id_bytes("kah0dNd23VpIV4rY_d07fR", raw), 0);
}

/* ---- keys ---- */

Test(receipt, a_key_readable_by_others_is_refused)
{
    struct jws_key k;

    cr_assert_eq(chmod(keypath, 0644), 0);
    cr_assert_eq(jws_key_load(&k, keypath), JWS_KEY_INSECURE);
    cr_assert_eq(chmod(keypath, 0640), 0);
    cr_assert_eq(jws_key_load(&k, keypath), JWS_KEY_INSECURE);
    cr_assert_eq(chmod(keypath, 0600), 0);
    cr_assert_eq(jws_key_load(&k, keypath), JWS_OK);
    cr_assert_eq(strlen(k.kid), JWS_KID_LEN);
}

Test(receipt, missing_and_garbage_keys_are_refused_and_create_never_overwrites)
{
    struct jws_key k;
    FILE *f;

    cr_assert_eq(jws_key_load(&k, "build/no-such-key"), JWS_KEY_UNREADABLE);
    cr_assert_neq(jws_secret_create(keypath), 0);
    f = fopen(keypath, "w");
    fputs("not hex\n", f);
    fclose(f);
    cr_assert_eq(jws_key_load(&k, keypath), JWS_KEY_INVALID);
    cr_assert_str_neq(jws_strerror(JWS_KEY_INVALID), "unknown error");
    cr_assert_str_eq(jws_strerror(999), "unknown error");
}

Test(receipt, a_jws_verifies_with_the_key_its_kid_names)
{
    struct jws_keyset set;
    unsigned char sig[JWS_SIG_LEN];
    char *jws, *payload = NULL, kid[JWS_KID_LEN + 1];
    const char *p = "{\"a\":1}";
    size_t len = 0;

    cr_assert_eq(jws_keyset_load(&set, keypath, NULL), JWS_OK);
    cr_assert_eq(jws_sign(&set.current, p, strlen(p), sig), JWS_OK);
    jws = jws_compact(set.current.kid, p, strlen(p), sig);
    cr_assert_eq(jws_verify(&set, jws, &payload, &len, kid), JWS_OK);
    cr_assert_str_eq(payload, p);
    cr_assert_eq(len, strlen(p));
    cr_assert_str_eq(kid, set.current.kid);
    free(payload);
    cr_assert_eq(jws_check(&set, set.current.kid, p, strlen(p), sig), JWS_OK);
    cr_assert_eq(jws_check(&set, set.current.kid, "{\"a\":2}", 7, sig), JWS_BAD_SIGNATURE);
    cr_assert_eq(jws_check(&set, "0000000000000000", p, strlen(p), sig), JWS_UNKNOWN_KID);
    /* one changed payload character */
    jws[strchr(jws, '.') - jws + 2] ^= 1;
    cr_assert_neq(jws_verify(&set, jws, &payload, NULL, NULL), JWS_OK);
    free(payload);
    free(jws);
    jws_keyset_wipe(&set);
}

Test(receipt, a_jws_header_other_than_eddsa_with_a_kid_is_refused)
{
    struct jws_keyset set;
    unsigned char sig[JWS_SIG_LEN];
    char *payload = NULL, jws[512];
    const char *headers[] = {"{\"alg\":\"none\",\"kid\":\"%s\"}",
                             "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[]}",
                             "{\"kid\":\"%s\",\"alg\":\"EdDSA\"}",
                             "{\"alg\":\"EdDSA\"}%s"};

    cr_assert_eq(jws_keyset_load(&set, keypath, NULL), JWS_OK);
    cr_assert_eq(jws_sign(&set.current, "{}", 2, sig), JWS_OK);
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char h[128], hb[256], sb[128];

        snprintf(h, sizeof(h), headers[i], i == 3 ? "" : set.current.kid);
        sodium_bin2base64(hb, sizeof(hb), (const unsigned char *)h, strlen(h),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_bin2base64(sb, sizeof(sb), sig, sizeof(sig),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        snprintf(jws, sizeof(jws), "%s.e30.%s", hb, sb);
        cr_expect_eq(jws_verify(&set, jws, &payload, NULL, NULL), JWS_BAD_HEADER, "%s", h);
        cr_assert_null(payload);
    }
    cr_assert_eq(jws_verify(&set, "a.b", &payload, NULL, NULL), JWS_MALFORMED);
    cr_assert_eq(jws_verify(&set, "a.b.c.d", &payload, NULL, NULL), JWS_MALFORMED);
    jws_keyset_wipe(&set);
}

Test(receipt, a_key_set_holds_retired_keys_and_refuses_a_wrong_kid)
{
    struct jws_keyset set, old;
    char path[80], *text;
    cJSON *jwks, *bad;
    FILE *f;

    snprintf(path, sizeof(path), "%s.old", keypath);
    unlink(path);
    cr_assert_eq(jws_secret_create(path), 0);
    cr_assert_eq(jws_keyset_load(&old, path, NULL), JWS_OK);
    jwks = jws_keyset_jwks(&old);
    text = cJSON_PrintUnformatted(jwks);
    snprintf(path, sizeof(path), "%s.jwks", keypath);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    cr_assert_eq(jws_keyset_load(&set, keypath, path), JWS_OK);
    cr_assert_eq(set.nkeys, 2);
    cr_assert_str_eq(set.keys[0].kid, set.current.kid, "the current key first");
    cr_assert_not_null(jws_keyset_find(&set, old.current.kid));
    cJSON_free(text);
    /* a kid that is not the one of its key */
    bad = cJSON_Duplicate(jwks, 1);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "keys"), 0),
                              "kid", cJSON_CreateString("0123456789abcdef"));
    text = cJSON_PrintUnformatted(bad);
    cr_assert_eq(jws_keyset_add_jwks(&set, text, strlen(text)), JWS_KEYS_INVALID);
    cr_assert_eq(jws_keyset_add_jwks(&set, "{\"keys\":[{\"kty\":\"RSA\"}]}", 24), JWS_KEYS_INVALID);
    cr_assert_eq(jws_keyset_load(&set, keypath, "build/no-such-jwks"), JWS_KEYS_INVALID);
    cJSON_free(text);
    cJSON_Delete(bad);
    cJSON_Delete(jwks);
    unlink(path);
    snprintf(path, sizeof(path), "%s.old", keypath);
    unlink(path);
    jws_keyset_wipe(&old);
}

/* ---- stored forms and the payload ---- */

static cJSON *context_tree(void)
{
    return cJSON_Parse("{\"site\":\"demo\",\"jurisdiction\":{\"region\":\"DE\",\"regime\":\"gdpr\","
                       "\"model\":\"opt-in\"},\"categories\":[\"necessary\",\"analytics\"],"
                       "\"purposes\":{},\"banner\":{\"version\":\"v1\"},\"language\":\"en\","
                       "\"policy_url\":\"/p\",\"controller\":{},\"consent_days\":365,"
                       "\"kid\":\"0123456789abcdef\"}");
}

static void sample(struct receipt *r, int family)
{
    memset(r, 0, sizeof(*r));
    r->seq = 7;
    memset(r->sig, 0x5a, sizeof(r->sig));
    memset(r->prev, 0xab, sizeof(r->prev));
    memset(r->ctx, 0x11, sizeof(r->ctx));
    r->time_ms = 1795380669671LL;
    r->action = RECEIPT_CUSTOM;
    r->gpc_sent = 1;
    r->gpc_binding = 1;
    r->opted_out = 1;
    r->choices = 0x5;
    r->net_family = family;
    if (family != 0)
        memset(r->net, 0x2a, family == 4 ? 3 : 6);
    memset(r->ua, 0x33, sizeof(r->ua));
}

Test(receipt, a_stored_receipt_decodes_to_what_was_encoded_for_every_network_kind)
{
    const int families[] = {0, 4, 6};

    for (size_t i = 0; i < 3; i++) {
        struct receipt r, back = {.seq = 7};
        unsigned char buf[RECEIPT_MAX_STORED];
        size_t n;

        sample(&r, families[i]);
        n = receipt_encode(&r, buf);
        cr_assert_leq(n, 129, "a receipt is small");
        cr_assert_eq(receipt_decode(buf, n, &back), RECEIPT_OK);
        cr_assert_eq(memcmp(&r, &back, sizeof(r)), 0, "family %d", families[i]);
        cr_assert_eq(receipt_decode(buf, n - 1, &back), RECEIPT_MALFORMED);
        buf[0] = 1;
        cr_assert_eq(receipt_decode(buf, n, &back), RECEIPT_MALFORMED, "version");
    }
}

Test(receipt, the_payload_is_canonical_and_names_seq_prev_and_kid)
{
    struct receipt_context ctx;
    struct receipt r;
    char *a, *b;
    size_t la = 0, lb = 0;
    cJSON *p;

    cr_assert_eq(receipt_context_make(&ctx, context_tree()), RECEIPT_OK);
    sample(&r, 4);
    memset(r.prev, 0, sizeof(r.prev));
    a = receipt_payload(&r, &ctx, "AAAAAAAAAAAAAAAAAAAAAQ", &la);
    b = receipt_payload(&r, &ctx, "AAAAAAAAAAAAAAAAAAAAAQ", &lb);
    cr_assert_eq(la, lb);
    cr_assert_str_eq(a, b, "printed the same way every time");
    p = cJSON_Parse(a);
    cr_assert_eq(cJSON_GetObjectItem(p, "seq")->valueint, 7);
    cr_assert_str_eq(cJSON_GetObjectItem(p, "prev_sha256")->valuestring, RECEIPT_ZERO_HASH);
    cr_assert_str_eq(cJSON_GetObjectItem(p, "kid")->valuestring, "0123456789abcdef");
    cr_assert_str_eq(cJSON_GetObjectItem(p, "client_network")->valuestring, "42.42.42.0/24");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "choices"), "necessary")));
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "choices"), "analytics")));
    cr_assert_eq((long long)cJSON_GetObjectItem(p, "expires_ms")->valuedouble,
                 1795380669671LL + 365LL * 86400000);
    cr_assert_str_eq(cJSON_GetObjectItem(p, "action")->valuestring, "custom");
    cJSON_Delete(p);
    cJSON_free(a);
    cJSON_free(b);
    receipt_context_free(&ctx);
}

Test(receipt, a_context_must_hash_to_its_reference)
{
    struct receipt_context ctx, back;
    char *edited;

    cr_assert_eq(receipt_context_make(&ctx, context_tree()), RECEIPT_OK);
    cr_assert_eq(strlen(ctx.ref), 16);
    cr_assert_eq(receipt_context_parse(&back, ctx.ref, ctx.json, ctx.len), RECEIPT_OK);
    cr_assert_eq(back.ncategories, 2);
    cr_assert_eq(back.consent_days, 365);
    cr_assert_eq(receipt_context_category(&back, "analytics"), 1);
    cr_assert_eq(receipt_context_category(&back, "ads"), -1);
    receipt_context_free(&back);
    edited = strdup(ctx.json);
    edited[strlen(edited) - 3] ^= 1;
    cr_assert_eq(receipt_context_parse(&back, ctx.ref, edited, strlen(edited)),
                 RECEIPT_BAD_CONTEXT);
    free(edited);
    receipt_context_free(&ctx);
}

Test(receipt, a_sealed_head_round_trips_and_any_change_breaks_the_seal)
{
    struct jws_keyset set;
    struct receipt_head h, back;
    unsigned char buf[RECEIPT_MAX_HEAD];
    size_t n;

    cr_assert_eq(jws_keyset_load(&set, keypath, NULL), JWS_OK);
    memset(&h, 0, sizeof(h));
    h.count = 5;
    h.first = 2;
    memset(h.head, 7, 32);
    memset(h.anchor, 8, 32);
    h.nsites = 2;
    strcpy(h.sites[0].site, "demo");
    h.sites[0].seq = 5;
    h.sites[0].time_ms = 1795380669671LL;
    h.sites[0].action = RECEIPT_WITHDRAW;
    h.sites[0].opted_out = 1;
    strcpy(h.sites[1].site, "shop");
    h.sites[1].seq = 3;
    h.sites[1].choices = 3;
    cr_assert_eq(receipt_head_seal(&h, "AAAAAAAAAAAAAAAAAAAAAQ", &set.current), JWS_OK);
    n = receipt_head_encode(&h, buf);
    cr_assert_eq(receipt_head_decode(buf, n, &back), RECEIPT_OK);
    cr_assert_eq(receipt_head_check(&back, "AAAAAAAAAAAAAAAAAAAAAQ", &set), JWS_OK);
    cr_assert_str_eq(receipt_head_site(&back, "shop")->site, "shop");
    cr_assert_null(receipt_head_site(&back, "other"));
    cr_assert_neq(receipt_head_check(&back, "BAAAAAAAAAAAAAAAAAAAAQ", &set), JWS_OK,
                  "sealed for one consent ID only");
    back.count = 4;
    cr_assert_eq(receipt_head_check(&back, "AAAAAAAAAAAAAAAAAAAAAQ", &set), JWS_BAD_SIGNATURE);
    cr_assert_eq(receipt_head_decode(buf, n, &back), RECEIPT_OK);
    back.sites[0].action = RECEIPT_ACCEPT_ALL;
    cr_assert_eq(receipt_head_check(&back, "AAAAAAAAAAAAAAAAAAAAAQ", &set), JWS_BAD_SIGNATURE);
    cr_assert_eq(receipt_head_decode(buf, n - 1, &back), RECEIPT_MALFORMED);
    buf[n - 3] |= 0x80;         /* a flag bit that has no meaning */
    cr_assert_eq(receipt_head_decode(buf, n, &back), RECEIPT_MALFORMED);
    jws_keyset_wipe(&set);
}
