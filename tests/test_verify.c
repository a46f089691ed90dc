/* Unit tests for cgi/verify.c, the one verifier: histories built in memory
 * the way consentd writes them (signed receipts, a sealed head), then
 * altered the way a database-level adversary or a forger would. */
#include "built_history.h"

TestSuite(verify, .init = built_setup, .fini = built_teardown);

static unsigned judge(struct built *b, const char *visitor, struct verify_result *r)
{
    verify_stored(&b->h, ID, &ctxs, &keys, visitor, r);
    return r->findings;
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
    cr_assert_eq(verify_export(e, &keys, &r), VERIFY_PASSED);
    verify_result_free(&r);
    cr_assert_eq(verify_export(k, &keys, &r), VERIFY_PASSED);
    verify_result_free(&r);
    {
        cJSON *x = cJSON_Duplicate(e, 1);       /* unsigned item */

        cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "receipts"), 1), "jws");
        cr_assert_eq(verify_export(x, &keys, &r), VERIFY_FAILED);
        cr_assert_eq(r.items[0].verdict, VERIFY_UNSIGNED, "an unsigned item has no seq: first");
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    {
        cJSON *x = cJSON_Duplicate(e, 1);       /* newest removed */

        cJSON_DeleteItemFromArray(cJSON_GetObjectItem(x, "receipts"), 0);
        cr_assert_eq(verify_export(x, &keys, &r), VERIFY_FAILED);
        cr_assert(r.findings & VERIFY_F_MISSING_NEWEST);
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    {
        cJSON *x = cJSON_Duplicate(e, 1);       /* no head */

        cJSON_DeleteItemFromObject(x, "head");
        cr_assert_eq(verify_export(x, &keys, &r), VERIFY_FAILED);
        cr_assert(r.findings & VERIFY_F_NO_HEAD);
        verify_result_free(&r);
        cJSON_Delete(x);
    }
    {
        cJSON *x = cJSON_Duplicate(k, 1);       /* Kantara controller edited */
        cJSON *ctl = cJSON_GetArrayItem(cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(x, "receipts"), 0), "piiControllers"), 0);

        cJSON_ReplaceItemInObject(ctl, "piiController", cJSON_CreateString("Other"));
        cr_assert_eq(verify_export(x, &keys, &r), VERIFY_FAILED);
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

/* ---- one receipt on its own: the rule every path shares ---- */

/* A JWS's verdict on the two paths consentctl verify takes (a bare JWS, and
 * the same JWS as a one-receipt export with its readable copy): they must
 * agree. Returns the bare verdict. */
static int both_paths(const char *jws)
{
    struct verify_item it;
    struct verify_result r;
    cJSON *one = cJSON_CreateObject();
    int bare = verify_receipt_jws(jws, &keys, &it), as_export;

    if (it.parsed != NULL)
        cJSON_AddItemToObject(one, "receipt", cJSON_Duplicate(it.parsed, 1));
    cJSON_AddStringToObject(one, "jws", jws);
    as_export = verify_export(one, &keys, &r);
    cr_assert_eq(bare == VERIFY_OK, as_export == VERIFY_PASSED,
                 "bare %s, export %s", verify_verdict_name(bare), verify_strerror(as_export));
    cr_assert_eq(r.items[0].verdict, bare, "the export item's verdict is the bare one");
    verify_result_free(&r);
    verify_item_free(&it);
    cJSON_Delete(one);
    return bare;
}

/* What a signature check alone (the old bare path) says of jws. */
static int signature_alone(const char *jws)
{
    char *payload = NULL;
    int st = jws_verify(&keys, jws, &payload, NULL, NULL);

    free(payload);
    return st;
}

/* The receipt at index i of b as the JWS the 201 answer gave. */
static char *jws_of(struct built *b, size_t i)
{
    struct receipt rc = {.seq = b->items[i].seq};

    cr_assert_eq(receipt_decode(b->stored[i], b->items[i].blob.len, &rc), RECEIPT_OK);
    return jws_compact(keys.current.kid, b->payload[i], b->len[i], rc.sig);
}

Test(verify, a_genuine_receipt_passes_bare_and_as_an_export_alike)
{
    struct built b;
    char *jws;

    build(&b, 2, ID);
    jws = jws_of(&b, 1);
    cr_assert_eq(both_paths(jws), VERIFY_OK);
    free(jws);
    release(&b);
}

Test(verify, a_signed_head_statement_is_no_receipt_bare_as_an_export_or_held)
{
    struct built b;
    struct verify_result r;
    char *head;

    build(&b, 2, ID);
    judge(&b, NULL, &r);
    head = strdup(r.head_jws);
    verify_result_free(&r);
    /* signed with the real key: a signature check alone passes it */
    cr_assert_eq(signature_alone(head), JWS_OK);
    cr_assert_eq(both_paths(head), VERIFY_MALFORMED);
    cr_assert(judge(&b, head, &r) & VERIFY_F_VISITOR_MISMATCH);
    cr_assert_neq(r.visitor, VERIFY_OK);
    verify_result_free(&r);
    free(head);
    release(&b);
}

Test(verify, a_receipt_signed_by_another_key_than_its_payload_names_is_a_bad_header)
{
    struct built b;
    struct jws_key other;
    unsigned char seed[crypto_sign_SEEDBYTES] = {7}, sig[JWS_SIG_LEN];
    char *jws;

    crypto_sign_seed_keypair(other.pk, other.sk, seed);
    jws_kid(other.pk, other.kid);
    memcpy(keys.keys[1].pk, other.pk, sizeof(other.pk));
    memcpy(keys.keys[1].kid, other.kid, sizeof(other.kid));
    keys.nkeys = 2;                 /* a retired key, still accepted */
    build(&b, 1, ID);
    cr_assert_eq(jws_sign(&other, b.payload[0], b.len[0], sig), JWS_OK);
    jws = jws_compact(other.kid, b.payload[0], b.len[0], sig);
    cr_assert_eq(signature_alone(jws), JWS_OK);
    cr_assert_eq(both_paths(jws), VERIFY_BAD_HEADER);
    free(jws);
    sodium_memzero(&other, sizeof(other));
    release(&b);
}

Test(verify, an_edited_or_truncated_jws_fails_bare_and_as_an_export_alike)
{
    struct built b;
    char *jws, *dot;

    build(&b, 1, ID);
    jws = jws_of(&b, 0);
    dot = strrchr(jws, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';         /* a signature byte */
    cr_assert_eq(both_paths(jws), VERIFY_BAD_SIGNATURE);
    *dot = '\0';                                /* no signature part */
    cr_assert_eq(both_paths(jws), VERIFY_MALFORMED);
    cr_assert_eq(both_paths("not a jws"), VERIFY_MALFORMED);
    free(jws);
    release(&b);
}

Test(verify, statuses_have_messages)
{
    cr_assert_str_eq(verify_strerror(VERIFY_PASSED), "passed");
    cr_assert_str_eq(verify_strerror(VERIFY_FAILED), "failed");
    cr_assert_str_eq(verify_strerror(VERIFY_NO_MEMORY), "out of memory");
    cr_assert_str_eq(verify_strerror(42), "unknown error");
}
