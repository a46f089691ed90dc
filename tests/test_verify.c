/* Unit tests for cgi/verify.c, the one verifier: histories built in memory
 * the way consentd writes them (signed receipts, a sealed head), then
 * altered the way a database-level adversary or a forger would. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi/jws.h"
#include "../cgi/receipt.h"
#include "../cgi/verify.h"

#define ID "AAAAAAAAAAAAAAAAAAAAAQ"
#define MAXN 8

static struct jws_keyset keys;
static struct receipt_context ctx;
static struct verify_contexts ctxs;

/* A history of n receipts as the store hands it back, and the payloads. */
struct built {
    struct store_history h;
    struct store_item items[MAXN];
    unsigned char stored[MAXN][RECEIPT_MAX_STORED];
    unsigned char head[RECEIPT_MAX_HEAD];
    char *payload[MAXN];
    size_t len[MAXN];
    struct receipt_head hd;
};

static void setup(void)
{
    unsigned char seed[crypto_sign_SEEDBYTES] = {42};

    cr_assert_geq(sodium_init(), 0);
    memset(&keys, 0, sizeof(keys));
    crypto_sign_seed_keypair(keys.current.pk, keys.current.sk, seed);
    jws_kid(keys.current.pk, keys.current.kid);
    keys.has_current = 1;
    memcpy(keys.keys[0].pk, keys.current.pk, sizeof(keys.current.pk));
    memcpy(keys.keys[0].kid, keys.current.kid, sizeof(keys.current.kid));
    keys.nkeys = 1;
    {
        char text[1024];

        snprintf(text, sizeof(text),
                 "{\"site\":\"demo\",\"jurisdiction\":{\"region\":\"DE\",\"regime\":\"gdpr\","
                 "\"model\":\"opt-in\"},\"categories\":[\"necessary\",\"analytics\",\"ads\"],"
                 "\"purposes\":{\"necessary\":{\"name\":\"Necessary\",\"necessary\":true,"
                 "\"sale_sharing\":false},\"analytics\":{\"name\":\"Analytics\",\"necessary\":false,"
                 "\"sale_sharing\":false},\"ads\":{\"name\":\"Ads\",\"necessary\":false,"
                 "\"sale_sharing\":true}},\"banner\":{\"version\":\"v1\",\"consent_revision\":1,"
                 "\"texts_sha256\":\"00\",\"model\":\"opt-in\"},\"language\":\"en\","
                 "\"policy_url\":\"/p\",\"controller\":{\"name\":\"Demo Ltd.\"},"
                 "\"consent_days\":365,\"kid\":\"%s\"}", keys.current.kid);
        cr_assert_eq(receipt_context_make(&ctx, cJSON_Parse(text)), RECEIPT_OK);
    }
    ctxs.items = &ctx;
    ctxs.n = 1;
}

static void teardown(void)
{
    receipt_context_free(&ctx);
    jws_keyset_wipe(&keys);
}

TestSuite(verify, .init = setup, .fini = teardown);

/* Seals b->hd again with the real key (what only consentd can do) and
 * stores it. */
static void reseal(struct built *b, const char *id)
{
    cr_assert_eq(receipt_head_seal(&b->hd, id, &keys.current), JWS_OK);
    b->h.head.len = receipt_head_encode(&b->hd, b->head);
    b->h.head.data = (char *)b->head;
}

/* Writes n receipts the way consents.c does: seq, prev, signature, head. */
static void build(struct built *b, int n, const char *id)
{
    char prev[RECEIPT_HASH_HEX] = RECEIPT_ZERO_HASH, hash[RECEIPT_HASH_HEX];
    size_t bin = 0;

    memset(b, 0, sizeof(*b));
    b->hd.first = 1;
    for (int i = 0; i < n; i++) {
        struct receipt r;

        memset(&r, 0, sizeof(r));
        r.seq = (uint32_t)i + 1;
        sodium_hex2bin(r.prev, 32, prev, 64, NULL, &bin, NULL);
        sodium_hex2bin(r.ctx, RECEIPT_CTX_BYTES, ctx.ref, 16, NULL, &bin, NULL);
        r.time_ms = 1795380669000LL + i;
        r.action = i % 2 == 0 ? RECEIPT_ACCEPT_ALL : RECEIPT_REJECT_ALL;
        r.choices = i % 2 == 0 ? 7 : 1;
        r.opted_out = i % 2;
        r.net_family = 4;
        b->payload[i] = receipt_payload(&r, &ctx, id, &b->len[i]);
        cr_assert_eq(jws_sign(&keys.current, b->payload[i], b->len[i], r.sig), JWS_OK);
        b->items[i].seq = r.seq;
        b->items[i].blob.len = receipt_encode(&r, b->stored[i]);
        b->items[i].blob.data = (char *)b->stored[i];
        receipt_sha256_hex(b->payload[i], b->len[i], hash);
        memcpy(prev, hash, sizeof(prev));
        b->hd.count = r.seq;
        sodium_hex2bin(b->hd.head, 32, hash, 64, NULL, &bin, NULL);
        b->hd.nsites = 1;
        strcpy(b->hd.sites[0].site, "demo");
        b->hd.sites[0].seq = r.seq;
        b->hd.sites[0].time_ms = r.time_ms;
        memcpy(b->hd.sites[0].ctx, r.ctx, RECEIPT_CTX_BYTES);
        b->hd.sites[0].action = r.action;
        b->hd.sites[0].opted_out = r.opted_out;
        b->hd.sites[0].choices = r.choices;
    }
    reseal(b, id);
    b->h.items = b->items;
    b->h.nitems = (size_t)n;
    b->h.pttl_ms = -2;
}

static void release(struct built *b)
{
    for (int i = 0; i < MAXN; i++)
        cJSON_free(b->payload[i]);
}

static unsigned judge(struct built *b, const char *visitor, struct verify_result *r)
{
    verify_stored(&b->h, ID, &ctxs, &keys, visitor, r);
    return r->findings;
}

static void drop(struct built *b, size_t at)
{
    memmove(&b->items[at], &b->items[at + 1], (b->h.nitems - at - 1) * sizeof(b->items[0]));
    b->h.nitems--;
}

Test(verify, an_intact_history_passes_with_every_receipt_ok)
{
    struct built b;
    struct verify_result r;

    build(&b, 4, ID);
    cr_assert_eq(judge(&b, NULL, &r), 0);
    cr_assert(verify_passed(&r));
    cr_assert_eq(r.nitems, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(r.items[i].verdict, VERIFY_OK, "seq %u", r.items[i].seq);
        cr_assert_eq(r.items[i].len, b.len[i]);
        cr_assert_eq(memcmp(r.items[i].payload, b.payload[i], b.len[i]), 0,
                     "the payload is rebuilt byte for byte");
        cr_assert_not_null(r.items[i].jws);
    }
    cr_assert_eq(r.seal, JWS_OK);
    verify_result_free(&r);
    release(&b);
}

Test(verify, a_missing_newest_oldest_or_middle_receipt_is_named)
{
    const struct { size_t at; unsigned finding; } cases[] = {
        {3, VERIFY_F_MISSING_NEWEST}, {0, VERIFY_F_MISSING_OLDEST}, {1, VERIFY_F_GAP}};

    for (size_t c = 0; c < 3; c++) {
        struct built b;
        struct verify_result r;

        build(&b, 4, ID);
        drop(&b, cases[c].at);
        cr_assert(judge(&b, NULL, &r) & cases[c].finding, "case %zu: %x", c, r.findings);
        cr_assert_not(verify_passed(&r));
        verify_result_free(&r);
        release(&b);
    }
}

Test(verify, dropping_the_newest_and_resealing_without_the_key_fails_the_seal)
{
    struct built b;
    struct verify_result r;

    build(&b, 3, ID);
    drop(&b, 2);
    b.hd.count = 2;
    b.h.head.len = receipt_head_encode(&b.hd, b.head);   /* old seal kept */
    cr_assert(judge(&b, NULL, &r) & VERIFY_F_SEAL);
    verify_result_free(&r);
    release(&b);
}

Test(verify, an_edited_receipt_fails_its_signature_and_breaks_the_next_link)
{
    struct built b;
    struct verify_result r;

    build(&b, 4, ID);
    b.stored[1][RECEIPT_AT_CHOICES + 1] ^= 2;   /* a choice */
    judge(&b, NULL, &r);
    cr_assert_eq(r.items[0].verdict, VERIFY_OK);
    cr_assert_eq(r.items[1].verdict, VERIFY_BAD_SIGNATURE);
    cr_assert_eq(r.items[2].verdict, VERIFY_CHAIN_BROKEN);
    cr_assert_eq(r.items[3].verdict, VERIFY_OK, "no cascade past the broken link");
    cr_assert(r.findings & VERIFY_F_RECEIPT);
    cr_assert_not(r.findings & VERIFY_F_HEAD_HASH);
    verify_result_free(&r);
    release(&b);
}

Test(verify, receipts_of_another_consent_id_fail)
{
    struct built b;
    struct verify_result r;

    build(&b, 2, "BAAAAAAAAAAAAAAAAAAAAQ");
    judge(&b, NULL, &r);
    cr_assert(r.findings & VERIFY_F_SEAL);
    cr_assert_neq(r.items[0].verdict, VERIFY_OK);
    verify_result_free(&r);
    release(&b);
}

Test(verify, a_state_that_is_not_the_newest_receipt_is_a_mismatch_even_when_sealed)
{
    struct built b;
    struct verify_result r;

    build(&b, 3, ID);
    b.hd.sites[0].seq = 2;          /* an older receipt's place, resealed */
    reseal(&b, ID);
    cr_assert(judge(&b, NULL, &r) & VERIFY_F_STATE);
    verify_result_free(&r);
    release(&b);
}

Test(verify, an_unknown_kid_and_a_missing_context_are_verdicts)
{
    struct built b;
    struct verify_result r;
    struct jws_keyset empty;
    struct verify_contexts none = {NULL, 0};

    build(&b, 2, ID);
    memset(&empty, 0, sizeof(empty));
    verify_stored(&b.h, ID, &ctxs, &empty, NULL, &r);
    cr_assert_eq(r.items[0].verdict, VERIFY_UNKNOWN_KID);
    cr_assert(r.findings & VERIFY_F_SEAL);
    verify_result_free(&r);
    verify_stored(&b.h, ID, &none, &keys, NULL, &r);
    cr_assert_eq(r.items[0].verdict, VERIFY_NO_CONTEXT);
    cr_assert_not(verify_passed(&r));
    verify_result_free(&r);
    release(&b);
}

Test(verify, a_visitor_receipt_shows_a_rollback_and_newer_receipts)
{
    struct built b;
    struct verify_result r;
    char *jws;
    unsigned char sig[JWS_SIG_LEN];
    struct receipt rc = {.seq = 3};

    build(&b, 3, ID);
    receipt_decode(b.stored[2], b.items[2].blob.len, &rc);
    memcpy(sig, rc.sig, sizeof(sig));
    jws = jws_compact(keys.current.kid, b.payload[2], b.len[2], sig);
    /* the newest: fine */
    cr_assert_eq(judge(&b, jws, &r) & VERIFY_FAILURES, 0);
    cr_assert_eq(r.visitor_seq, 3);
    verify_result_free(&r);
    /* a whole-history rollback: another, consistent, sealed history of
     * two receipts for the same ID does not hold the visitor's seq 3 */
    {
        struct built rb;

        build(&rb, 2, ID);
        cr_assert(judge(&rb, jws, &r) & VERIFY_F_ROLLED_BACK);
        verify_result_free(&r);
        release(&rb);
    }
    free(jws);
    /* an older receipt the visitor kept: newer ones follow, not a failure */
    receipt_decode(b.stored[0], b.items[0].blob.len, &rc);
    jws = jws_compact(keys.current.kid, b.payload[0], b.len[0], rc.sig);
    judge(&b, jws, &r);
    cr_assert(r.findings & VERIFY_F_NEWER_FOLLOWS);
    cr_assert(verify_passed(&r));
    verify_result_free(&r);
    free(jws);
    release(&b);
}

/* An export as the API prints it: {consent_id, head: {jws}, receipts: [...]}. */
static cJSON *export_of(struct built *b, int kantara)
{
    struct verify_result r;
    cJSON *root = cJSON_CreateObject(), *list, *head;

    judge(b, NULL, &r);
    cJSON_AddStringToObject(root, "consent_id", ID);
    head = cJSON_AddObjectToObject(root, "head");
    cJSON_AddStringToObject(head, "jws", r.head_jws);
    list = cJSON_AddArrayToObject(root, "receipts");
    for (size_t i = r.nitems; i-- > 0; ) {
        cJSON *item = kantara ? verify_kantara(r.items[i].parsed, &keys) : cJSON_CreateObject();

        if (!kantara)
            cJSON_AddItemToObject(item, "receipt", cJSON_Duplicate(r.items[i].parsed, 1));
        cJSON_AddStringToObject(item, kantara ? "x-jws" : "jws", r.items[i].jws);
        cJSON_AddItemToArray(list, item);
    }
    verify_result_free(&r);
    return root;
}

Test(verify, a_genuine_export_passes_and_each_forgery_fails)
{
    struct built b;
    struct verify_result r;
    cJSON *e, *k;

    build(&b, 3, ID);
    e = export_of(&b, 0);
    k = export_of(&b, 1);
    cr_assert_eq(verify_export(e, &keys, &r), 0);
    verify_result_free(&r);
    cr_assert_eq(verify_export(k, &keys, &r), 0);
    verify_result_free(&r);
    {
        cJSON *x = cJSON_Duplicate(e, 1);       /* unsigned item */

        cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "receipts"), 1), "jws");
        cr_assert_eq(verify_export(x, &keys, &r), 1);
        cr_assert_eq(r.items[0].verdict, VERIFY_UNSIGNED, "an unsigned item has no seq: first");
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    {
        cJSON *x = cJSON_Duplicate(e, 1);       /* newest removed */

        cJSON_DeleteItemFromArray(cJSON_GetObjectItem(x, "receipts"), 0);
        cr_assert_eq(verify_export(x, &keys, &r), 1);
        cr_assert(r.findings & VERIFY_F_MISSING_NEWEST);
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    {
        cJSON *x = cJSON_Duplicate(e, 1);       /* no head */

        cJSON_DeleteItemFromObject(x, "head");
        cr_assert_eq(verify_export(x, &keys, &r), 1);
        cr_assert(r.findings & VERIFY_F_NO_HEAD);
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    {
        cJSON *x = cJSON_Duplicate(k, 1);       /* Kantara controller edited */
        cJSON *ctl = cJSON_GetArrayItem(cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(x, "receipts"), 0), "piiControllers"), 0);

        cJSON_ReplaceItemInObject(ctl, "piiController", cJSON_CreateString("Other"));
        cr_assert_eq(verify_export(x, &keys, &r), 1);
        cr_assert_eq(r.items[2].verdict, VERIFY_COPY_DIFFERS);
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    cJSON_Delete(e);
    cJSON_Delete(k);
    release(&b);
}

Test(verify, kantara_is_built_from_the_signed_payload_alone)
{
    struct built b;
    cJSON *p, *k, *purposes;

    build(&b, 1, ID);
    p = cJSON_Parse(b.payload[0]);
    k = verify_kantara(p, &keys);
    cr_assert_str_eq(cJSON_GetObjectItem(k, "jurisdiction")->valuestring, "gdpr");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(k, "piiControllers"), 0),
                                         "piiController")->valuestring, "Demo Ltd.");
    purposes = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(k, "services"), 0), "purposes");
    cr_assert_eq(cJSON_GetArraySize(purposes), 3, "accept_all: every category");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(purposes, 0), "consentType")->valuestring,
                     "NOT_REQUIRED");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(purposes, 1), "consentType")->valuestring,
                     "EXPLICIT");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(purposes, 2), "thirdPartyDisclosure")));
    cr_assert_null(verify_kantara(cJSON_GetObjectItem(p, "site"), &keys));
    cJSON_Delete(k);
    cJSON_Delete(p);
    release(&b);
}

Test(verify, names_exist_for_every_verdict_and_finding)
{
    for (int v = 0; v < VERIFY_VERDICT_COUNT; v++)
        cr_assert_str_neq(verify_verdict_name(v), "unknown");
    cr_assert_str_eq(verify_verdict_name(99), "unknown");
    for (unsigned f = 1; f <= VERIFY_F_NEWER_FOLLOWS; f <<= 1)
        cr_assert_str_neq(verify_finding_name(f), "unknown", "%x", f);
}
