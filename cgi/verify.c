/*
 * verify.c - see verify.h.
 */
#include "verify.h"
#include "../common/jcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const verdict_names[VERIFY_VERDICT_COUNT] = {
    "ok", "bad_signature", "chain_broken", "unknown_kid", "bad_header",
    "malformed", "no_context", "wrong_consent_id", "wrong_seq",
    "copy_differs", "unsigned"};

static const char *const finding_names[] = {
    "receipt_failed", "no_head", "seal_invalid", "gap", "missing_newest",
    "missing_oldest", "unexpected_receipt", "head_hash", "state_mismatch",
    "extra_data", "rolled_back", "visitor_receipt_differs", "mixed_consent_ids",
    "empty", "newer_receipts_follow"};

const char *verify_verdict_name(int verdict)
{
    return verdict >= 0 && verdict < VERIFY_VERDICT_COUNT ? verdict_names[verdict]
                                                          : "unknown";
}

const char *verify_finding_name(unsigned finding)
{
    for (size_t i = 0; i < sizeof(finding_names) / sizeof(finding_names[0]); i++)
        if (finding == 1u << i)
            return finding_names[i];
    return "unknown";
}

cJSON *verify_findings_json(unsigned findings)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < sizeof(finding_names) / sizeof(finding_names[0]); i++)
        if (findings & (1u << i))
            cJSON_AddItemToArray(a, cJSON_CreateString(finding_names[i]));
    return a;
}

const char *verify_strerror(int status)
{
    switch (status) {
    case VERIFY_PASSED:
        return "passed";
    case VERIFY_FAILED:
        return "failed";
    case VERIFY_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}

int verify_passed(const struct verify_result *r)
{
    return (r->findings & VERIFY_FAILURES) == 0;
}

void verify_result_free(struct verify_result *r)
{
    for (size_t i = 0; i < r->nitems; i++)
        verify_item_free(&r->items[i]);
    free(r->items);
    free(r->head_jws);
    memset(r, 0, sizeof(*r));
}

/* A payload's string member ("" when absent), number member (-1). */
static const char *jstr(const cJSON *o, const char *k) { return jcheck_get_string(o, k, ""); }
static double jnum(const cJSON *o, const char *k) { return jcheck_get_number(o, k, -1); }

static void parse_item(struct verify_item *it)
{
    it->parsed = cJSON_ParseWithLength(it->payload, it->len);
    receipt_sha256_hex(it->payload, it->len, it->sha256);
    it->site = jstr(it->parsed, "site");
}

/*
 * The checks both kinds of history share, on items in ascending seq with
 * their payloads parsed: the signed consent ID and seq, the chain links,
 * and the sealed head's sequence (first..count), newest hash and states.
 */
static void check_sequence(struct verify_result *r)
{
    const struct receipt_head *h = &r->head;
    char prev[RECEIPT_HASH_HEX] = "";

    for (size_t i = 0; i < r->nitems; i++) {
        struct verify_item *it = &r->items[i];
        const char *p = jstr(it->parsed, "prev_sha256");

        if (it->verdict == VERIFY_OK && strcmp(jstr(it->parsed, "consent_id"),
                                               r->consent_id) != 0)
            it->verdict = VERIFY_WRONG_ID;
        if (it->verdict == VERIFY_OK && jnum(it->parsed, "seq") != (double)it->seq)
            it->verdict = VERIFY_WRONG_SEQ;
        /* The link to the receipt before: the one just before in sequence,
         * or for the oldest kept, the anchor the head names. */
        if (i > 0 && r->items[i - 1].seq + 1 == it->seq) {
            if (strcmp(p, r->items[i - 1].sha256) != 0 && it->verdict == VERIFY_OK)
                it->verdict = VERIFY_CHAIN_BROKEN;
        } else if (it->seq == 1) {
            if (strcmp(p, RECEIPT_ZERO_HASH) != 0 && it->verdict == VERIFY_OK)
                it->verdict = VERIFY_CHAIN_BROKEN;
        } else if (r->has_head && it->seq == h->first) {
            sodium_bin2hex(prev, sizeof(prev), h->anchor, 32);
            if (strcmp(p, prev) != 0 && it->verdict == VERIFY_OK)
                it->verdict = VERIFY_CHAIN_BROKEN;
        } else if (it->verdict == VERIFY_OK) {
            it->verdict = VERIFY_CHAIN_BROKEN;     /* its predecessor is missing */
        }
        if (it->verdict != VERIFY_OK)
            r->findings |= VERIFY_F_RECEIPT;
        if (r->has_head && (it->seq < h->first || it->seq > h->count))
            r->findings |= VERIFY_F_UNEXPECTED;
    }
    if (!r->has_head) {
        if (r->nitems > 0)
            r->findings |= VERIFY_F_NO_HEAD;
        return;
    }
    for (uint32_t seq = h->first; seq <= h->count && seq != 0; seq++) {
        int found = 0;

        for (size_t i = 0; i < r->nitems && !found; i++)
            found = r->items[i].seq == seq;
        if (!found)
            r->findings |= seq == h->count ? VERIFY_F_MISSING_NEWEST
                         : seq == h->first ? VERIFY_F_MISSING_OLDEST : VERIFY_F_GAP;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        char hh[RECEIPT_HASH_HEX];

        if (r->items[i].seq != h->count)
            continue;
        sodium_bin2hex(hh, sizeof(hh), h->head, 32);
        if (strcmp(hh, r->items[i].sha256) != 0)
            r->findings |= VERIFY_F_HEAD_HASH;
    }
}

/* A site's state in the head says what its newest receipt says. */
static int state_matches(const struct receipt_state *s, const struct verify_item *it,
                         const struct receipt *rc)
{
    if (rc != NULL)
        return s->seq == it->seq && s->time_ms == rc->time_ms &&
               memcmp(s->ctx, rc->ctx, RECEIPT_CTX_BYTES) == 0 &&
               s->action == rc->action && s->opted_out == rc->opted_out &&
               s->choices == rc->choices;
    /* An export: compare with the payload's own fields. */
    return s->seq == it->seq &&
           (double)s->time_ms == jnum(it->parsed, "time_ms") &&
           s->action == receipt_action_parse(jstr(it->parsed, "action")) &&
           s->opted_out == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it->parsed, "opted_out"));
}

static void check_states(struct verify_result *r, const struct receipt *decoded)
{
    const struct receipt_head *h = &r->head;

    if (!r->has_head || r->seal != JWS_OK)
        return;
    /* Every site with receipts has a state, naming its newest receipt. */
    for (size_t i = r->nitems; i-- > 0; ) {
        const struct verify_item *it = &r->items[i];
        const struct receipt_state *s;
        int newer = 0;

        if (it->parsed == NULL || it->seq > h->count)
            continue;
        for (size_t k = i + 1; k < r->nitems && !newer; k++)
            newer = r->items[k].seq <= h->count && strcmp(r->items[k].site, it->site) == 0;
        if (newer)
            continue;
        s = receipt_head_site(h, it->site);
        if (s == NULL || !state_matches(s, it, decoded != NULL ? &decoded[i] : NULL))
            r->findings |= VERIFY_F_STATE;
    }
    for (size_t k = 0; k < h->nsites; k++) {
        int found = 0;

        for (size_t i = 0; i < r->nitems && !found; i++)
            found = r->items[i].seq == h->sites[k].seq;
        if (!found)
            r->findings |= VERIFY_F_STATE;
    }
}

/* A visitor-held receipt against the history (rollback evidence); the
 * receipt itself is held to the rule of every signed receipt. */
static void check_visitor(struct verify_result *r, const struct jws_keyset *keys,
                          const char *jws)
{
    struct verify_item v;

    r->visitor = verify_receipt_jws(jws, keys, &v);
    r->visitor_seq = v.seq;
    if (r->visitor != VERIFY_OK || strcmp(jstr(v.parsed, "consent_id"), r->consent_id) != 0) {
        r->findings |= VERIFY_F_VISITOR_MISMATCH;
    } else if (!r->has_head || r->visitor_seq > r->head.count) {
        r->findings |= VERIFY_F_ROLLED_BACK;
    } else {
        for (size_t i = 0; i < r->nitems; i++)
            if (r->items[i].seq == r->visitor_seq && strcmp(r->items[i].sha256, v.sha256) != 0)
                r->findings |= VERIFY_F_VISITOR_MISMATCH;
        if (r->visitor_seq < r->head.count)
            r->findings |= VERIFY_F_NEWER_FOLLOWS;
    }
    verify_item_free(&v);
}

static const struct receipt_context *find_context(const struct verify_contexts *ctxs,
                                                  const unsigned char ref[RECEIPT_CTX_BYTES])
{
    char hex[RECEIPT_CTX_HEX];

    sodium_bin2hex(hex, sizeof(hex), ref, RECEIPT_CTX_BYTES);
    for (size_t i = 0; ctxs != NULL && i < ctxs->n; i++)
        if (strcmp(ctxs->items[i].ref, hex) == 0)
            return &ctxs->items[i];
    return NULL;
}

static char *head_jws(const struct receipt_head *h, const char *consent_id)
{
    size_t len = 0;
    char *st = receipt_head_statement(h, consent_id, &len), *out;

    if (st == NULL)
        return NULL;
    out = jws_compact(h->kid, st, len, h->seal);
    cJSON_free(st);
    return out;
}

/* Rebuilds one stored receipt's payload and checks its signature with the
 * kid its context names. */
static void rebuild(struct verify_item *it, const struct receipt *rc,
                    const struct receipt_context *ctx, const char *consent_id,
                    const struct jws_keyset *keys)
{
    int st;

    snprintf(it->kid, sizeof(it->kid), "%s", jstr(ctx->tree, "kid"));
    it->payload = receipt_payload(rc, ctx, consent_id, &it->len);
    if (it->payload == NULL) {
        it->verdict = VERIFY_MALFORMED;
        return;
    }
    parse_item(it);
    it->jws = jws_compact(it->kid, it->payload, it->len, rc->sig);
    st = jws_check(keys, it->kid, it->payload, it->len, rc->sig);
    it->verdict = st == JWS_OK ? VERIFY_OK
                : st == JWS_UNKNOWN_KID ? VERIFY_UNKNOWN_KID : VERIFY_BAD_SIGNATURE;
}

int verify_stored(const struct store_history *h, const char *consent_id,
                  const struct verify_contexts *ctxs, const struct jws_keyset *keys,
                  const char *visitor_jws, struct verify_result *out)
{
    struct receipt *decoded;

    memset(out, 0, sizeof(*out));
    out->seal = -1;
    out->visitor = -1;
    snprintf(out->consent_id, sizeof(out->consent_id), "%s", consent_id);
    out->items = calloc(h->nitems + 1, sizeof(*out->items));
    decoded = calloc(h->nitems + 1, sizeof(*decoded));
    if (out->items == NULL || decoded == NULL) {
        free(decoded);
        out->findings |= VERIFY_F_RECEIPT;
        return VERIFY_NO_MEMORY;
    }
    if (h->head.data != NULL) {
        out->has_head = receipt_head_decode((const unsigned char *)h->head.data,
                                            h->head.len, &out->head) == RECEIPT_OK;
        out->seal = out->has_head ? receipt_head_check(&out->head, consent_id, keys)
                                  : JWS_MALFORMED;
        if (out->seal != JWS_OK)
            out->findings |= VERIFY_F_SEAL;
        if (out->has_head)
            out->head_jws = head_jws(&out->head, consent_id);
    }
    for (size_t i = 0; i < h->nitems; i++) {
        struct verify_item *it = &out->items[out->nitems++];
        const struct receipt_context *ctx;

        it->seq = decoded[i].seq = h->items[i].seq;
        if (receipt_decode((const unsigned char *)h->items[i].blob.data,
                           h->items[i].blob.len, &decoded[i]) != RECEIPT_OK) {
            it->verdict = VERIFY_MALFORMED;
            continue;
        }
        ctx = find_context(ctxs, decoded[i].ctx);
        if (ctx == NULL) {
            it->verdict = VERIFY_NO_CONTEXT;
            continue;
        }
        rebuild(it, &decoded[i], ctx, consent_id, keys);
    }
    check_sequence(out);
    check_states(out, decoded);
    if (h->nother > 0)
        out->findings |= VERIFY_F_EXTRA;
    if (visitor_jws != NULL)
        check_visitor(out, keys, visitor_jws);
    free(decoded);
    return verify_passed(out) ? VERIFY_PASSED : VERIFY_FAILED;
}

/* ---- exports ---- */

/* The signed head of an export, parsed back into a head (and checked to be
 * the canonical statement of that head). */
static int export_head(struct verify_result *r, const cJSON *head,
                       const struct jws_keyset *keys)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(head, "jws"), *sites, *s;
    char *payload = NULL, *again = NULL, kid[JWS_KID_LEN + 1];
    size_t len = 0, alen = 0, bin = 0;
    struct receipt_head *h = &r->head;
    cJSON *p;
    int st;

    if (!cJSON_IsString(j))
        return JWS_MALFORMED;
    st = jws_verify(keys, j->valuestring, &payload, &len, kid);
    if (st != JWS_OK) {
        free(payload);
        return st;
    }
    p = cJSON_ParseWithLength(payload, len);
    memset(h, 0, sizeof(*h));
    h->count = (uint32_t)jnum(p, "count");
    h->first = (uint32_t)jnum(p, "first");
    sodium_hex2bin(h->head, 32, jstr(p, "head_sha256"), 64, NULL, &bin, NULL);
    sodium_hex2bin(h->anchor, 32, jstr(p, "anchor_sha256"), 64, NULL, &bin, NULL);
    memcpy(h->kid, kid, sizeof(h->kid));
    sites = cJSON_GetObjectItemCaseSensitive(p, "sites");
    cJSON_ArrayForEach(s, sites) {
        struct receipt_state *x = &h->sites[h->nsites];

        if (h->nsites == RECEIPT_MAX_SITES)
            break;
        snprintf(x->site, sizeof(x->site), "%s", s->string);
        x->seq = (uint32_t)jnum(s, "seq");
        x->time_ms = (int64_t)jnum(s, "time_ms");
        sodium_hex2bin(x->ctx, RECEIPT_CTX_BYTES, jstr(s, "context"), 16, NULL, &bin, NULL);
        x->action = receipt_action_parse(jstr(s, "action"));
        x->choices = (uint32_t)jnum(s, "choices");
        x->opted_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "opted_out"));
        h->nsites++;
    }
    snprintf(r->consent_id, sizeof(r->consent_id), "%s", jstr(p, "consent_id"));
    again = receipt_head_statement(h, r->consent_id, &alen);
    st = again != NULL && alen == len && memcmp(again, payload, len) == 0 &&
         strcmp(jstr(p, "statement"), RECEIPT_HEAD_STATEMENT) == 0 ? JWS_OK : JWS_MALFORMED;
    cJSON_free(again);
    cJSON_Delete(p);
    free(payload);
    return st;
}

/* The export item's readable part says what the signed payload says. */
static int copy_matches(const cJSON *item, const struct verify_item *it,
                        const struct jws_keyset *keys)
{
    const cJSON *copy = cJSON_GetObjectItemCaseSensitive(item, "receipt");
    cJSON *k, *mine;
    int same;

    if (copy != NULL)
        return cJSON_Compare(copy, it->parsed, 1);
    /* Kantara: everything but x-jws must be what the payload gives. */
    k = cJSON_Duplicate(item, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(k, "x-jws");
    cJSON_DeleteItemFromObjectCaseSensitive(k, "jws");
    cJSON_DeleteItemFromObjectCaseSensitive(k, "verdict");
    mine = verify_kantara(it->parsed, keys);
    same = mine != NULL && cJSON_Compare(k, mine, 1);
    cJSON_Delete(mine);
    cJSON_Delete(k);
    return same;
}

static int by_item_seq(const void *a, const void *b)
{
    const struct verify_item *x = a, *y = b;

    return (x->seq > y->seq) - (x->seq < y->seq);
}

int verify_receipt_jws(const char *jws, const struct jws_keyset *keys,
                       struct verify_item *it)
{
    int st;
    double seq;

    memset(it, 0, sizeof(*it));
    it->site = "";
    it->jws = strdup(jws);
    st = jws_verify(keys, jws, &it->payload, &it->len, it->kid);
    if (it->payload == NULL) {
        it->verdict = st == JWS_UNKNOWN_KID ? VERIFY_UNKNOWN_KID
                    : st == JWS_BAD_HEADER ? VERIFY_BAD_HEADER : VERIFY_MALFORMED;
        return it->verdict;
    }
    parse_item(it);
    seq = jnum(it->parsed, "seq");
    it->seq = seq > 0 ? (uint32_t)seq : 0;
    if (it->parsed == NULL || seq < 1)
        it->verdict = VERIFY_MALFORMED;
    else if (st != JWS_OK)
        it->verdict = VERIFY_BAD_SIGNATURE;
    else if (strcmp(jstr(it->parsed, "kid"), it->kid) != 0)
        it->verdict = VERIFY_BAD_HEADER;
    return it->verdict;
}

void verify_item_free(struct verify_item *it)
{
    free(it->payload);
    free(it->jws);
    cJSON_Delete(it->parsed);
    memset(it, 0, sizeof(*it));
}

static void export_item(struct verify_result *r, const cJSON *item,
                        const struct jws_keyset *keys)
{
    const cJSON *jws = cJSON_GetObjectItemCaseSensitive(item, "jws");
    struct verify_item *it = &r->items[r->nitems++];

    if (!cJSON_IsString(jws))
        jws = cJSON_GetObjectItemCaseSensitive(item, "x-jws");
    if (!cJSON_IsString(jws)) {
        it->verdict = VERIFY_UNSIGNED;
        return;
    }
    if (verify_receipt_jws(jws->valuestring, keys, it) == VERIFY_OK &&
        !copy_matches(item, it, keys))
        it->verdict = VERIFY_COPY_DIFFERS;
}

int verify_export(const cJSON *root, const struct jws_keyset *keys,
                  struct verify_result *out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "receipts");
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(root, "head"), *item;
    size_t n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 1;

    memset(out, 0, sizeof(*out));
    out->seal = -1;
    out->visitor = -1;
    out->items = calloc(n + 1, sizeof(*out->items));
    if (out->items == NULL) {
        out->findings |= VERIFY_F_RECEIPT;
        return VERIFY_NO_MEMORY;
    }
    if (cJSON_IsArray(list)) {
        cJSON_ArrayForEach(item, list)
            export_item(out, item, keys);
    } else {
        export_item(out, root, keys);
    }
    if (head != NULL) {
        out->seal = export_head(out, head, keys);
        out->has_head = out->seal == JWS_OK;
        if (out->seal != JWS_OK)
            out->findings |= VERIFY_F_SEAL;
    } else if (cJSON_IsArray(list)) {
        out->findings |= VERIFY_F_NO_HEAD;  /* a list must say how long it is */
    }
    qsort(out->items, out->nitems, sizeof(*out->items), by_item_seq);
    if (out->consent_id[0] == '\0' && out->nitems > 0)
        snprintf(out->consent_id, sizeof(out->consent_id), "%s",
                 jstr(out->items[out->nitems - 1].parsed, "consent_id"));
    for (size_t i = 0; i < out->nitems; i++)
        if (out->items[i].parsed != NULL &&
            strcmp(jstr(out->items[i].parsed, "consent_id"), out->consent_id) != 0)
            out->findings |= VERIFY_F_MIXED_IDS;
    if (out->nitems == 0)
        out->findings |= VERIFY_F_EMPTY;
    if (!cJSON_IsArray(list) && head == NULL) {
        /* One receipt on its own: its signature and copy are all there is. */
        if (out->items[0].verdict != VERIFY_OK)
            out->findings |= VERIFY_F_RECEIPT;
        return verify_passed(out) ? VERIFY_PASSED : VERIFY_FAILED;
    }
    check_sequence(out);
    check_states(out, NULL);
    return verify_passed(out) ? VERIFY_PASSED : VERIFY_FAILED;
}

/* ---- Kantara ---- */

static cJSON *purpose(const char *id, const cJSON *info, int explicit_consent,
                      const char *termination)
{
    cJSON *p = cJSON_CreateObject();
    int necessary = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "necessary"));
    int sale = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "sale_sharing"));
    const char *name = jstr(info, "name");

    cJSON_AddStringToObject(p, "purpose", name[0] != '\0' ? name : id);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "purposeCategory"),
                         cJSON_CreateString(id));
    cJSON_AddStringToObject(p, "consentType", necessary ? "NOT_REQUIRED"
                            : explicit_consent ? "EXPLICIT" : "IMPLICIT");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "piiCategory"),
                         cJSON_CreateString("online identifiers (cookie IDs)"));
    cJSON_AddBoolToObject(p, "primaryPurpose", necessary);
    cJSON_AddStringToObject(p, "termination", termination);
    cJSON_AddBoolToObject(p, "thirdPartyDisclosure", sale);
    if (sale)
        cJSON_AddStringToObject(p, "thirdPartyName",
                                "the advertising partners named in the privacy notice");
    return p;
}

cJSON *verify_kantara(const cJSON *payload, const struct jws_keyset *keys)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(payload, "choices");
    const cJSON *purposes = cJSON_GetObjectItemCaseSensitive(payload, "purposes");
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(payload, "jurisdiction");
    const cJSON *ctl = cJSON_GetObjectItemCaseSensitive(payload, "controller"), *c;
    const struct jws_public *pk = jws_keyset_find(keys, jstr(payload, "kid"));
    char x[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING)] = "";
    char termination[64];
    double t = jnum(payload, "time_ms"), e = jnum(payload, "expires_ms");
    time_t secs;
    struct tm tm;
    cJSON *k, *o, *svc, *list;

    if (!cJSON_IsObject(choices) || t < 0 || e < 0)
        return NULL;
    secs = (time_t)(e / 1000);
    gmtime_r(&secs, &tm);
    strftime(termination, sizeof(termination), "expires %Y-%m-%dT%H:%M:%SZ or on withdrawal", &tm);
    if (pk != NULL)
        sodium_bin2base64(x, sizeof(x), pk->pk, sizeof(pk->pk),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "version", "KI-CR-v1.1.0");
    cJSON_AddStringToObject(k, "jurisdiction", jstr(j, "regime"));
    cJSON_AddNumberToObject(k, "consentTimestamp", (double)(long long)(t / 1000));
    cJSON_AddStringToObject(k, "collectionMethod", "web consent banner");
    cJSON_AddStringToObject(k, "consentReceiptID", jstr(payload, "receipt_id"));
    cJSON_AddStringToObject(k, "publicKey", x);
    cJSON_AddStringToObject(k, "language", jstr(payload, "language"));
    cJSON_AddStringToObject(k, "piiPrincipalId", jstr(payload, "consent_id"));
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "piiController", jstr(ctl, "name"));
    cJSON_AddStringToObject(o, "contact", jstr(ctl, "contact"));
    cJSON_AddStringToObject(o, "address", jstr(ctl, "address"));
    cJSON_AddStringToObject(o, "email", jstr(ctl, "email"));
    cJSON_AddStringToObject(o, "phone", jstr(ctl, "phone"));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(k, "piiControllers"), o);
    cJSON_AddStringToObject(k, "policyUrl", jstr(payload, "policy_url"));
    svc = cJSON_CreateObject();
    cJSON_AddStringToObject(svc, "service", jstr(payload, "site"));
    list = cJSON_AddArrayToObject(svc, "purposes");
    /* Kantara lists the purposes consented to: the categories that are on. */
    cJSON_ArrayForEach(c, choices)
        if (cJSON_IsTrue(c))
            cJSON_AddItemToArray(list, purpose(c->string,
                cJSON_GetObjectItemCaseSensitive(purposes, c->string),
                strcmp(jstr(j, "model"), "opt-in") == 0, termination));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(k, "services"), svc);
    cJSON_AddBoolToObject(k, "sensitive", 0);
    cJSON_AddArrayToObject(k, "spiCat");
    cJSON_AddStringToObject(k, "x-action", jstr(payload, "action"));
    cJSON_AddItemToObject(k, "x-choices", cJSON_Duplicate(choices, 1));
    return k;
}
