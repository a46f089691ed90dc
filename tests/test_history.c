/* Unit tests for cgi/history.c, the pure part: a history built in memory
 * (built_history.h) judged by history_judge (the one verifier, as
 * history_load does after fetching), then shown as the API's JSON, the
 * Kantara export and the tombstone, and each export read back by
 * verify_export as consentctl verify reads it. Loading and erasing need
 * Redis: the integration suites (receipts, proof, admin, cli) cover them. */
#include "built_history.h"
#include "../cgi/history.h"

TestSuite(history, .init = built_setup, .fini = built_teardown);

/* h as history_load leaves it, over b's stored receipts and the one
 * context; free with unjudge (b owns the stored data). */
static void judged(struct history *h, struct built *b, const char *visitor)
{
    memset(h, 0, sizeof(*h));
    h->stored = b->h;
    h->contexts = &ctx;
    h->ncontexts = 1;
    history_judge(h, ID, &keys, visitor);
}

static void unjudge(struct history *h)
{
    verify_result_free(&h->result);
}

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    cr_assert_not_null(v, "no \"%s\"", k);
    return v;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);

    cr_assert(cJSON_IsString(v), "\"%s\" is no string", k);
    return v->valuestring;
}

/* The receipts of a history's JSON (newest first) as the seq, signature
 * and chain flags they show, e.g. "3sc 2s- 1sc". */
static void flags(const cJSON *json, char *out, size_t len)
{
    const cJSON *it;
    size_t o = 0;

    out[0] = '\0';
    cJSON_ArrayForEach(it, get(json, "receipts"))
        o += (size_t)snprintf(out + o, len - o, "%s%d%c%c", o > 0 ? " " : "",
                              get(it, "seq")->valueint,
                              cJSON_IsTrue(get(it, "signature_valid")) ? 's' : '-',
                              cJSON_IsTrue(get(it, "chain_valid")) ? 'c' : '-');
}

/* Whether findings (a JSON array of names) holds name. */
static int has_finding(const cJSON *json, const char *name)
{
    const cJSON *f;

    cJSON_ArrayForEach(f, get(json, "findings"))
        if (strcmp(f->valuestring, name) == 0)
            return 1;
    return 0;
}

Test(history, an_intact_history_shows_every_receipt_newest_first_and_the_state)
{
    struct built b;
    struct history h;
    cJSON *j;
    const cJSON *state;
    char f[64];

    build(&b, 3, ID);
    judged(&h, &b, NULL);
    j = history_json(&h, 1000, 1);
    cr_assert_str_eq(str(j, "consent_id"), ID);
    cr_assert_eq(get(j, "receipts_written")->valueint, 3);
    cr_assert_str_eq(str(j, "verdict"), "verified");
    cr_assert(cJSON_IsTrue(get(j, "all_valid")));
    cr_assert_eq(cJSON_GetArraySize(get(j, "findings")), 0);
    flags(j, f, sizeof(f));
    cr_assert_str_eq(f, "3sc 2sc 1sc");
    cr_assert_str_eq(str(get(j, "head"), "jws"), h.result.head_jws);
    cr_assert(cJSON_IsTrue(get(get(j, "head"), "seal_valid")));
    cr_assert_eq(get(get(j, "head"), "count")->valueint, 3);
    cr_assert(cJSON_IsNull(get(j, "expires_ms")), "nothing stored has no TTL");
    /* seq 3 is accept_all (7: every category on) */
    state = get(get(j, "state"), "demo");
    cr_assert_eq(get(state, "seq")->valueint, 3);
    cr_assert_str_eq(str(state, "action"), "accept_all");
    cr_assert(cJSON_IsTrue(get(get(state, "choices"), "ads")));
    cr_assert_eq(get(state, "expires_ms")->valuedouble,
                 (double)(1795380669002LL + 365LL * 86400000));
    cr_assert_null(cJSON_GetObjectItem(j, "tombstone"), "no erasure, no tombstone");
    cr_assert_null(cJSON_GetObjectItem(j, "visitor_receipt"));
    cJSON_Delete(j);
    unjudge(&h);
    release(&b);
}

Test(history, a_dropped_receipt_fails_the_history_and_breaks_the_link_above_it)
{
    struct built b;
    struct history h;
    cJSON *j;
    char f[64];

    build(&b, 3, ID);
    drop(&b, 1);
    judged(&h, &b, NULL);
    j = history_json(&h, 0, 0);
    cr_assert_str_eq(str(j, "verdict"), "failed");
    cr_assert(cJSON_IsFalse(get(j, "all_valid")));
    cr_assert(has_finding(j, "gap"));
    flags(j, f, sizeof(f));
    cr_assert_str_eq(f, "3s- 1sc", "seq 3 still signed, its predecessor gone");
    cJSON_Delete(j);
    unjudge(&h);
    release(&b);
}

Test(history, an_edited_receipt_shows_a_bad_signature_and_the_next_one_unchained)
{
    struct built b;
    struct history h;
    cJSON *j;
    char f[64];

    build(&b, 3, ID);
    b.stored[0][RECEIPT_AT_CHOICES + 1] ^= 2;
    judged(&h, &b, NULL);
    j = history_json(&h, 0, 0);
    cr_assert_str_eq(str(j, "verdict"), "failed");
    cr_assert(has_finding(j, "receipt_failed"));
    flags(j, f, sizeof(f));
    cr_assert_str_eq(f, "3sc 2s- 1--");
    cJSON_Delete(j);
    unjudge(&h);
    release(&b);
}

Test(history, a_replayed_receipt_in_another_place_fails)
{
    struct built b;
    struct history h;
    cJSON *j;

    build(&b, 3, ID);
    /* seq 1's stored receipt written again as seq 3 */
    memcpy(b.stored[2], b.stored[0], sizeof(b.stored[0]));
    b.items[2].blob.len = b.items[0].blob.len;
    judged(&h, &b, NULL);
    j = history_json(&h, 0, 0);
    cr_assert_str_eq(str(j, "verdict"), "failed");
    cr_assert(cJSON_IsFalse(get(cJSON_GetArrayItem(get(j, "receipts"), 0), "chain_valid")));
    cr_assert_str_neq(str(cJSON_GetArrayItem(get(j, "receipts"), 0), "verdict"), "ok");
    cJSON_Delete(j);
    unjudge(&h);
    release(&b);
}

Test(history, a_visitor_receipt_shows_a_rollback_or_newer_receipts)
{
    struct built b, older;
    struct history h;
    struct receipt rc = {.seq = 3};
    char *jws;
    cJSON *j;
    const cJSON *v;

    build(&b, 3, ID);
    cr_assert_eq(receipt_decode(b.stored[2], b.items[2].blob.len, &rc), RECEIPT_OK);
    jws = jws_compact(keys.current.kid, b.payload[2], b.len[2], rc.sig);
    /* the store rolled back to a consistent history of two receipts */
    build(&older, 2, ID);
    judged(&h, &older, jws);
    j = history_json(&h, 0, 0);
    v = get(j, "visitor_receipt");
    cr_assert(cJSON_IsTrue(get(v, "signature_valid")));
    cr_assert(cJSON_IsTrue(get(v, "rolled_back")));
    cr_assert_eq(get(v, "seq")->valueint, 3);
    cr_assert_str_eq(str(j, "verdict"), "failed");
    cJSON_Delete(j);
    unjudge(&h);
    free(jws);
    /* the visitor kept seq 1 of the full history: newer ones follow */
    cr_assert_eq(receipt_decode(b.stored[0], b.items[0].blob.len, &rc), RECEIPT_OK);
    jws = jws_compact(keys.current.kid, b.payload[0], b.len[0], rc.sig);
    judged(&h, &b, jws);
    j = history_json(&h, 0, 0);
    v = get(j, "visitor_receipt");
    cr_assert(cJSON_IsTrue(get(v, "newer_follow")));
    cr_assert(cJSON_IsFalse(get(v, "rolled_back")));
    cr_assert_str_eq(str(j, "verdict"), "verified");
    cJSON_Delete(j);
    unjudge(&h);
    free(jws);
    release(&older);
    release(&b);
}

Test(history, judging_again_replaces_the_earlier_result)
{
    struct built b;
    struct history h;

    build(&b, 2, ID);
    judged(&h, &b, NULL);
    cr_assert(verify_passed(&h.result));
    drop(&b, 0);
    h.stored = b.h;
    history_judge(&h, ID, &keys, NULL);
    cr_assert_not(verify_passed(&h.result));
    cr_assert_eq(h.result.nitems, 1);
    unjudge(&h);
    release(&b);
}

/* What history exports, consentctl verify accepts: the native JSON and the
 * Kantara export both verify offline; an edited copy does not. */
Test(history, both_exports_verify_offline_and_an_edited_one_does_not)
{
    struct built b;
    struct history h;
    struct verify_result r;
    cJSON *native, *kantara, *first;

    build(&b, 3, ID);
    judged(&h, &b, NULL);
    native = history_json(&h, 0, 1);
    kantara = history_kantara(&h, &keys);
    cr_assert_str_eq(str(kantara, "consent_id"), ID);
    cr_assert_eq(cJSON_GetArraySize(get(kantara, "receipts")), 3);
    first = cJSON_GetArrayItem(get(kantara, "receipts"), 0);
    cr_assert_str_eq(str(first, "x-jws"), h.result.items[2].jws, "newest first, with its JWS");
    cr_assert_str_eq(str(first, "piiPrincipalId"), ID);
    cr_assert_eq(verify_export(native, &keys, &r), VERIFY_PASSED);
    cr_assert_eq(r.nitems, 3);
    verify_result_free(&r);
    cr_assert_eq(verify_export(kantara, &keys, &r), VERIFY_PASSED);
    verify_result_free(&r);
    cJSON_ReplaceItemInObject(first, "x-action", cJSON_CreateString("reject_all"));
    cr_assert_eq(verify_export(kantara, &keys, &r), VERIFY_FAILED);
    cr_assert_eq(r.items[2].verdict, VERIFY_COPY_DIFFERS);
    verify_result_free(&r);
    cJSON_Delete(native);
    cJSON_Delete(kantara);
    unjudge(&h);
    release(&b);
}

Test(history, the_tombstone_is_shown_to_support_staff_only_first_erasure_on_top)
{
    struct built b;
    struct history h;
    cJSON *pub, *priv;
    const cJSON *t, *e;

    build(&b, 1, ID);
    judged(&h, &b, NULL);
    h.tombstone.count = 2;
    h.tombstone.nerasures = 2;
    h.tombstone.erasures[0] = (struct store_erasure){1000, 4, 5, "alice"};
    h.tombstone.erasures[1] = (struct store_erasure){2000, 1, 6, "cli:bob"};
    pub = history_json(&h, 0, 0);
    priv = history_json(&h, 0, 1);
    cr_assert_null(cJSON_GetObjectItem(pub, "tombstone"), "the visitor's view has none");
    t = get(priv, "tombstone");
    cr_assert_eq(get(t, "erasures")->valueint, 2);
    cr_assert_str_eq(str(t, "by"), "alice");
    cr_assert_eq(get(t, "erased_ms")->valueint, 1000);
    cr_assert_eq(get(t, "receipts")->valueint, 4);
    cr_assert_eq(cJSON_GetArraySize(get(t, "entries")), 2);
    e = cJSON_GetArrayItem(get(t, "entries"), 1);
    cr_assert_str_eq(str(e, "by"), "cli:bob");
    cr_assert_eq(get(e, "receipts_written")->valueint, 6);
    cJSON_Delete(pub);
    cJSON_Delete(priv);
    unjudge(&h);
    release(&b);
}

Test(history, an_empty_history_is_no_receipt_and_not_all_valid)
{
    struct built b;
    struct history h;
    cJSON *j;

    build(&b, 0, ID);
    b.h.head.data = NULL;
    b.h.head.len = 0;
    judged(&h, &b, NULL);
    j = history_json(&h, 0, 0);
    cr_assert_eq(cJSON_GetArraySize(get(j, "receipts")), 0);
    cr_assert_eq(get(j, "receipts_written")->valueint, 0);
    cr_assert(cJSON_IsNull(get(j, "head")));
    cr_assert(cJSON_IsFalse(get(j, "all_valid")), "nothing to vouch for");
    cJSON_Delete(j);
    unjudge(&h);
    release(&b);
}
