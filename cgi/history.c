/*
 * history.c - see history.h.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void history_free(struct history *h)
{
    store_history_free(&h->stored);
    for (size_t i = 0; i < h->ncontexts; i++)
        receipt_context_free(&h->contexts[i]);
    free(h->contexts);
    verify_result_free(&h->result);
    memset(h, 0, sizeof(*h));
}

/* The loaded context whose reference is ref (hex), or NULL. */
static const struct receipt_context *find_ref(const struct history *h, const char *ref)
{
    for (size_t i = 0; i < h->ncontexts; i++)
        if (strcmp(h->contexts[i].ref, ref) == 0)
            return &h->contexts[i];
    return NULL;
}

/* Adds the context reference ctx (as hex) to refs[0..*n) unless there. */
static void add_ref(char (*refs)[RECEIPT_CTX_HEX], size_t *n,
                    const unsigned char ctx[RECEIPT_CTX_BYTES])
{
    char ref[RECEIPT_CTX_HEX];

    sodium_bin2hex(ref, sizeof(ref), ctx, RECEIPT_CTX_BYTES);
    for (size_t k = 0; k < *n; k++)
        if (strcmp(refs[k], ref) == 0)
            return;
    memcpy(refs[(*n)++], ref, sizeof(ref));
}

/* Fetches the contexts the stored receipts and states name (one MGET). A
 * missing or altered context is simply absent: the verifier says so. */
static int load_contexts(struct store *s, struct history *h)
{
    size_t max = h->stored.nitems + RECEIPT_MAX_SITES, n = 0;
    char (*refs)[RECEIPT_CTX_HEX] = calloc(max + 1, sizeof(*refs));
    const char **argv = calloc(max + 1, sizeof(*argv));
    struct store_blob *blobs = calloc(max + 1, sizeof(*blobs));
    struct receipt_head head;
    int st = STORE_ERROR;

    h->contexts = calloc(max + 1, sizeof(*h->contexts));
    if (refs == NULL || argv == NULL || blobs == NULL || h->contexts == NULL)
        goto cleanup;
    for (size_t i = 0; i < h->stored.nitems; i++) {
        const struct store_blob *b = &h->stored.items[i].blob;

        if (b->len >= RECEIPT_AT_CTX + RECEIPT_CTX_BYTES)
            add_ref(refs, &n, (const unsigned char *)b->data + RECEIPT_AT_CTX);
    }
    if (h->stored.head.data != NULL &&
        receipt_head_decode((const unsigned char *)h->stored.head.data,
                            h->stored.head.len, &head) == RECEIPT_OK)
        for (size_t i = 0; i < head.nsites && n < max; i++)
            add_ref(refs, &n, head.sites[i].ctx);
    for (size_t i = 0; i < n; i++)
        argv[i] = refs[i];
    st = n > 0 ? store_contexts(s, argv, n, blobs) : STORE_OK;
    for (size_t i = 0; st == STORE_OK && i < n; i++) {
        if (blobs[i].data != NULL && find_ref(h, refs[i]) == NULL &&
            receipt_context_parse(&h->contexts[h->ncontexts], refs[i], blobs[i].data,
                                  blobs[i].len) == RECEIPT_OK)
            h->ncontexts++;
        store_blob_free(&blobs[i]);
    }
cleanup:
    free(refs);
    free(argv);
    free(blobs);
    return st;
}

void history_judge(struct history *h, const char *consent_id, const struct jws_keyset *keys,
                   const char *visitor_jws)
{
    struct verify_contexts ctxs = {h->contexts, h->ncontexts};

    verify_result_free(&h->result);
    /* The status is in h->result (verify_passed): nothing else to report. */
    (void)verify_stored(&h->stored, consent_id, &ctxs, keys, visitor_jws, &h->result);
}

int history_load(struct store *s, const struct jws_keyset *keys,
                 const char *consent_id, const char *visitor_jws,
                 struct history *h)
{
    int st;

    memset(h, 0, sizeof(*h));
    st = store_history(s, consent_id, &h->stored);
    if (st == STORE_OK)
        st = load_contexts(s, h);
    if (st == STORE_OK)
        st = store_tombstone(s, consent_id, &h->tombstone);
    if (st != STORE_OK) {
        history_free(h);
        return st;
    }
    history_judge(h, consent_id, keys, visitor_jws);
    return STORE_OK;
}

static int signature_ok(int verdict)
{
    return verdict == VERIFY_OK || verdict == VERIFY_CHAIN_BROKEN ||
           verdict == VERIFY_WRONG_ID || verdict == VERIFY_WRONG_SEQ;
}

static cJSON *item_json(const struct verify_item *it)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "seq", (double)it->seq);
    cJSON_AddItemToObject(o, "receipt", it->parsed != NULL ? cJSON_Duplicate(it->parsed, 1)
                                                           : cJSON_CreateNull());
    if (it->jws != NULL)
        cJSON_AddStringToObject(o, "jws", it->jws);
    if (it->sha256[0] != '\0')
        cJSON_AddStringToObject(o, "sha256", it->sha256);
    cJSON_AddStringToObject(o, "verdict", verify_verdict_name(it->verdict));
    cJSON_AddBoolToObject(o, "signature_valid", signature_ok(it->verdict));
    cJSON_AddBoolToObject(o, "chain_valid", it->verdict == VERIFY_OK);
    return o;
}

static const struct receipt_context *context_of(const struct history *h,
                                                const unsigned char *ref)
{
    char hex[RECEIPT_CTX_HEX];

    sodium_bin2hex(hex, sizeof(hex), ref, RECEIPT_CTX_BYTES);
    return find_ref(h, hex);
}

/* The sites' states as the head states them, readable. */
static cJSON *state_json(const struct history *h)
{
    const struct receipt_head *hd = &h->result.head;
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; h->result.has_head && i < hd->nsites; i++) {
        const struct receipt_state *st = &hd->sites[i];
        const struct receipt_context *ctx = context_of(h, st->ctx);
        char uuid[RECEIPT_UUID_LEN + 1];
        unsigned char id[16];
        cJSON *s = cJSON_AddObjectToObject(o, st->site), *c;
        const cJSON *cat;
        int k = 0;

        receipt_id_of(h->result.consent_id, st->seq, id);
        receipt_uuid_text(id, uuid);
        cJSON_AddStringToObject(s, "receipt_id", uuid);
        cJSON_AddNumberToObject(s, "seq", (double)st->seq);
        cJSON_AddStringToObject(s, "action", receipt_action_names[st->action]);
        cJSON_AddNumberToObject(s, "time_ms", (double)st->time_ms);
        if (ctx == NULL)
            continue;
        cJSON_AddNumberToObject(s, "expires_ms",
                                (double)(st->time_ms + (int64_t)ctx->consent_days * 86400000));
        c = cJSON_AddObjectToObject(s, "choices");
        cJSON_ArrayForEach(cat, cJSON_GetObjectItemCaseSensitive(ctx->tree, "categories"))
            cJSON_AddBoolToObject(c, cat->valuestring, (st->choices >> k++) & 1);
    }
    return o;
}

static cJSON *head_json(const struct history *h)
{
    const struct verify_result *r = &h->result;
    char hex[RECEIPT_HASH_HEX];
    cJSON *o;

    if (!r->has_head)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)r->head.count);
    cJSON_AddNumberToObject(o, "first", (double)r->head.first);
    sodium_bin2hex(hex, sizeof(hex), r->head.head, 32);
    cJSON_AddStringToObject(o, "head_sha256", hex);
    cJSON_AddBoolToObject(o, "seal_valid", r->seal == JWS_OK);
    if (r->head_jws != NULL)
        cJSON_AddStringToObject(o, "jws", r->head_jws);
    return o;
}

static cJSON *tombstone_json(const struct store_tombstone *t)
{
    cJSON *o = cJSON_CreateObject(), *list;

    cJSON_AddNumberToObject(o, "erasures", (double)t->count);
    list = cJSON_AddArrayToObject(o, "entries");
    for (size_t i = 0; i < t->nerasures; i++) {
        cJSON *e = cJSON_CreateObject();

        cJSON_AddNumberToObject(e, "erased_ms", (double)t->erasures[i].erased_ms);
        cJSON_AddStringToObject(e, "by", t->erasures[i].by);
        cJSON_AddNumberToObject(e, "receipts", (double)t->erasures[i].receipts);
        cJSON_AddNumberToObject(e, "receipts_written", (double)t->erasures[i].written);
        cJSON_AddItemToArray(list, e);
    }
    /* The first erasure's facts at the top, as one tombstone reads. */
    if (t->nerasures > 0) {
        cJSON_AddNumberToObject(o, "erased_ms", (double)t->erasures[0].erased_ms);
        cJSON_AddStringToObject(o, "by", t->erasures[0].by);
        cJSON_AddNumberToObject(o, "receipts", (double)t->erasures[0].receipts);
    }
    return o;
}

cJSON *history_json(const struct history *h, int64_t now_ms, int with_private)
{
    const struct verify_result *r = &h->result;
    cJSON *root = cJSON_CreateObject(), *arr;

    cJSON_AddStringToObject(root, "consent_id", r->consent_id);
    cJSON_AddNumberToObject(root, "receipts_written", r->has_head ? (double)r->head.count : 0);
    cJSON_AddStringToObject(root, "verdict", verify_passed(r) ? "verified" : "failed");
    cJSON_AddBoolToObject(root, "all_valid", verify_passed(r) && r->nitems > 0);
    cJSON_AddItemToObject(root, "findings", verify_findings_json(r->findings));
    cJSON_AddItemToObject(root, "head", head_json(h));
    arr = cJSON_AddArrayToObject(root, "receipts");
    for (size_t i = r->nitems; i-- > 0; )
        cJSON_AddItemToArray(arr, item_json(&r->items[i]));
    cJSON_AddItemToObject(root, "state", state_json(h));
    if (h->stored.pttl_ms >= 0)
        cJSON_AddNumberToObject(root, "expires_ms", (double)(now_ms + h->stored.pttl_ms));
    else
        cJSON_AddNullToObject(root, "expires_ms");
    if (r->visitor >= 0) {
        cJSON *v = cJSON_AddObjectToObject(root, "visitor_receipt");

        cJSON_AddBoolToObject(v, "signature_valid", r->visitor == VERIFY_OK);
        cJSON_AddNumberToObject(v, "seq", (double)r->visitor_seq);
        cJSON_AddBoolToObject(v, "newer_follow", (r->findings & VERIFY_F_NEWER_FOLLOWS) != 0);
        cJSON_AddBoolToObject(v, "rolled_back", (r->findings & VERIFY_F_ROLLED_BACK) != 0);
    }
    if (with_private && h->tombstone.count > 0)
        cJSON_AddItemToObject(root, "tombstone", tombstone_json(&h->tombstone));
    return root;
}

cJSON *history_kantara(const struct history *h, const struct jws_keyset *keys)
{
    const struct verify_result *r = &h->result;
    cJSON *out = cJSON_CreateObject(), *arr;

    cJSON_AddStringToObject(out, "consent_id", r->consent_id);
    cJSON_AddItemToObject(out, "head", head_json(h));
    arr = cJSON_AddArrayToObject(out, "receipts");
    for (size_t i = r->nitems; i-- > 0; ) {
        cJSON *k = r->items[i].parsed != NULL ? verify_kantara(r->items[i].parsed, keys) : NULL;

        if (k == NULL)
            continue;
        /* the JWS makes the export verifiable offline */
        cJSON_AddStringToObject(k, "x-jws", r->items[i].jws != NULL ? r->items[i].jws : "");
        cJSON_AddItemToArray(arr, k);
    }
    return out;
}

int history_receipt(struct store *s, const struct jws_keyset *keys,
                    const char *receipt_id, struct history *h, cJSON **out)
{
    char cid[CONSENT_ID_LEN + 1];
    unsigned char rid[16], raw[16];
    int st;

    *out = NULL;
    memset(h, 0, sizeof(*h));
    if (receipt_uuid_parse(receipt_id, rid) != 0)
        return STORE_NOT_FOUND;
    st = store_receipt_owner(s, rid, raw);
    if (st != STORE_OK)
        return st;
    receipt_consent_id_text(raw, cid);
    st = history_load(s, keys, cid, NULL, h);
    if (st != STORE_OK)
        return st;
    for (size_t i = 0; i < h->result.nitems; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(h->result.items[i].parsed,
                                                          "receipt_id");

        if (cJSON_IsString(v) && strcmp(v->valuestring, receipt_id) == 0) {
            *out = item_json(&h->result.items[i]);
            cJSON_AddStringToObject(*out, "consent_id", cid);
            cJSON_AddStringToObject(*out, "history_verdict",
                                    verify_passed(&h->result) ? "verified" : "failed");
            cJSON_AddItemToObject(*out, "findings", verify_findings_json(h->result.findings));
            return STORE_OK;
        }
    }
    store_unindex(s, (const unsigned char (*)[16])rid, 1);   /* stale entry */
    history_free(h);
    return STORE_NOT_FOUND;
}

int history_erase(struct store *s, const char *consent_id, const char *who,
                  int64_t now_ms, cJSON **out)
{
    struct store_history sh;
    unsigned char (*ids)[16] = NULL;
    long long erased = 0, number = 0;
    size_t n = 0;
    int st, purge, durable;
    cJSON *root, *t;

    *out = NULL;
    st = store_history(s, consent_id, &sh);
    if (st != STORE_OK)
        return st;
    ids = calloc(sh.nitems + 1, sizeof(*ids));
    if (ids == NULL) {
        store_history_free(&sh);
        return STORE_ERROR;
    }
    /* The receipt IDs, for the index entries: derived from the sequence
     * numbers stored (an erasure removes tampered receipts too). */
    for (size_t i = 0; i < sh.nitems; i++)
        receipt_id_of(consent_id, sh.items[i].seq, ids[n++]);
    store_history_free(&sh);
    st = store_erase(s, consent_id, (const unsigned char (*)[16])ids, n, who, now_ms,
                     (long)HISTORY_TOMBSTONE_DAYS * 86400, &erased, &number);
    free(ids);
    if (st != STORE_OK && st != STORE_NOT_DURABLE)
        return st;
    durable = st == STORE_OK;
    purge = store_purge(s, HISTORY_PURGE_TIMEOUT_MS);
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "consent_id", consent_id);
    cJSON_AddBoolToObject(root, "erased", 1);
    cJSON_AddNumberToObject(root, "receipts_erased", (double)erased);
    cJSON_AddNumberToObject(root, "erasure", (double)number);
    cJSON_AddBoolToObject(root, "purged", purge == STORE_OK);
    t = cJSON_AddObjectToObject(root, "tombstone");
    cJSON_AddNumberToObject(t, "erased_ms", (double)now_ms);
    cJSON_AddStringToObject(t, "by", who);
    cJSON_AddNumberToObject(t, "receipts", (double)erased);
    cJSON_AddNumberToObject(t, "erasures", (double)number);
    *out = root;
    if (!durable)
        return STORE_NOT_DURABLE;
    return purge == STORE_TIMEOUT ? STORE_TIMEOUT : STORE_OK;
}
