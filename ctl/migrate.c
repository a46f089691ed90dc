/*
 * migrate.c - see migrate.h.
 */
#include "migrate.h"
#include "../cgi/receipt.h"
#include "../common/jcheck.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_SCAN 256
#define MIGRATE_MAX_RECEIPTS 10000

/* One v1 receipt: the payload (owned), its hash and the original JWS. */
struct v1_item {
    cJSON *payload;
    char *jws;
    char sha256[RECEIPT_HASH_HEX];
};

/* A payload's string member ("" when absent), number member (-1). */
static const char *jstr(const cJSON *o, const char *k) { return jcheck_get_string(o, k, ""); }
static double jnum(const cJSON *o, const char *k) { return jcheck_get_number(o, k, -1); }

const char *migrate_strerror(int status)
{
    switch (status) {
    case MIGRATE_OK:
        return "ok";
    case MIGRATE_V1_COUNT:
        return "the receipts kept are not the count written minus the count trimmed";
    case MIGRATE_V1_SHORT:
        return "a stored receipt is too short";
    case MIGRATE_V1_NOT_V1:
        return "a stored receipt is not a consent-receipt/1";
    case MIGRATE_V1_SIGNATURE:
        return "a signature does not verify with the key its kid names";
    case MIGRATE_V1_CHAIN:
        return "the chain is broken (a receipt is missing or changed)";
    case MIGRATE_V1_OLDEST:
        return "the oldest receipt is missing";
    case MIGRATE_V1_FIELDS:
        return "a receipt's action or time is unreadable";
    default:
        return "unknown error";
    }
}

static void free_items(struct v1_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON_Delete(items[i].payload);
        free(items[i].jws);
    }
    free(items);
}

/*
 * The v1 rules, as v1 verified (newest first): every signature with the key
 * its payload's kid names; each payload's hash is what the newer one (or
 * the head, for the newest) names; the oldest names zeros unless the
 * history bound trimmed older ones, and exactly count - trimmed are kept.
 * Fills items oldest first. Returns MIGRATE_OK when the history holds up,
 * else the rule it breaks.
 */
static int v1_verify(const struct store_v1 *h, const struct jws_keyset *keys,
                     struct v1_item *items)
{
    char expect[RECEIPT_HASH_HEX];

    snprintf(expect, sizeof(expect), "%s", h->head);
    if (h->nreceipts == 0 || (long)h->nreceipts != h->count - h->trimmed) {
        return MIGRATE_V1_COUNT;
    }
    for (size_t i = 0; i < h->nreceipts; i++) {
        const struct store_blob *b = &h->receipts[i];
        struct v1_item *it = &items[h->nreceipts - 1 - i];
        const char *payload;
        size_t len;
        cJSON *p;

        if (b->len <= JWS_SIG_LEN) {
            return MIGRATE_V1_SHORT;
        }
        payload = b->data + JWS_SIG_LEN;
        len = b->len - JWS_SIG_LEN;
        p = cJSON_ParseWithLength(payload, len);
        it->payload = p;
        if (p == NULL || strcmp(jstr(p, "receipt_version"), "consent-receipt/1") != 0) {
            return MIGRATE_V1_NOT_V1;
        }
        if (jws_check(keys, jstr(p, "kid"), payload, len,
                      (const unsigned char *)b->data) != JWS_OK) {
            return MIGRATE_V1_SIGNATURE;
        }
        it->jws = jws_compact(jstr(p, "kid"), payload, len, (const unsigned char *)b->data);
        receipt_sha256_hex(payload, len, it->sha256);
        if (strcmp(it->sha256, expect) != 0) {
            return MIGRATE_V1_CHAIN;
        }
        snprintf(expect, sizeof(expect), "%s", jstr(p, "prev_sha256"));
    }
    if ((strcmp(expect, RECEIPT_ZERO_HASH) == 0) != (h->trimmed == 0)) {
        return MIGRATE_V1_OLDEST;
    }
    return MIGRATE_OK;
}

/* The v2 context of a v1 receipt: its own facts, and what v1 did not
 * record (category names and kinds, the controller) from the current
 * configuration of its site. */
static int v1_context(const cJSON *p, const struct config *cfg, const struct jws_keyset *keys,
                      struct receipt_context *ctx)
{
    const struct config_site *site = config_site_find(cfg, jstr(p, "site"));
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(p, "choices"), *c;
    double t = jnum(p, "time_ms"), e = jnum(p, "expires_ms");
    cJSON *tree = cJSON_CreateObject(), *cats, *purposes, *o;

    cJSON_AddStringToObject(tree, "site", jstr(p, "site"));
    cJSON_AddItemToObject(tree, "jurisdiction", cJSON_Duplicate(
        cJSON_GetObjectItemCaseSensitive(p, "jurisdiction"), 1));
    cats = cJSON_AddArrayToObject(tree, "categories");
    purposes = cJSON_AddObjectToObject(tree, "purposes");
    cJSON_ArrayForEach(c, choices) {
        int k = site != NULL ? config_category_index(site, c->string) : -1;

        cJSON_AddItemToArray(cats, cJSON_CreateString(c->string));
        o = cJSON_AddObjectToObject(purposes, c->string);
        cJSON_AddStringToObject(o, "name", c->string);
        cJSON_AddBoolToObject(o, "necessary", k >= 0 && site->categories[k].necessary);
        cJSON_AddBoolToObject(o, "sale_sharing", k >= 0 && site->categories[k].sale_sharing);
    }
    cJSON_AddItemToObject(tree, "banner", cJSON_Duplicate(
        cJSON_GetObjectItemCaseSensitive(p, "banner"), 1));
    cJSON_AddStringToObject(tree, "language", jstr(p, "language"));
    cJSON_AddStringToObject(tree, "policy_url", jstr(p, "policy_url"));
    o = cJSON_AddObjectToObject(tree, "controller");
    cJSON_AddStringToObject(o, "name", site != NULL ? site->controller.name : "");
    cJSON_AddStringToObject(o, "contact", site != NULL ? site->controller.contact : "");
    cJSON_AddStringToObject(o, "address", site != NULL ? site->controller.address : "");
    cJSON_AddStringToObject(o, "email", site != NULL ? site->controller.email : "");
    cJSON_AddStringToObject(o, "phone", site != NULL ? site->controller.phone : "");
    cJSON_AddNumberToObject(tree, "consent_days", e > t ? (double)(long long)((e - t) / 86400000 + 0.5) : 0);
    cJSON_AddStringToObject(tree, "kid", keys->current.kid);
    cJSON_AddStringToObject(tree, "migrated_from", "consent-receipt/1");
    return receipt_context_make(ctx, tree);
}

/* The v2 facts of a v1 receipt. */
static int v1_receipt(const cJSON *p, const struct receipt_context *ctx, uint32_t seq,
                      const unsigned char prev[32], struct receipt *r)
{
    const cJSON *gpc = cJSON_GetObjectItemCaseSensitive(p, "gpc");
    const cJSON *purposes = cJSON_GetObjectItemCaseSensitive(ctx->tree, "purposes");
    const cJSON *c;
    const char *net = jstr(p, "client_network"), *ua = jstr(p, "user_agent_sha256");
    char addr[64];
    unsigned char a[16];
    size_t bin = 0;
    int i = 0, sale = 0, sale_on = 0;

    memset(r, 0, sizeof(*r));
    r->seq = seq;
    memcpy(r->prev, prev, 32);
    sodium_hex2bin(r->ctx, RECEIPT_CTX_BYTES, ctx->ref, 16, NULL, &bin, NULL);
    r->time_ms = (int64_t)jnum(p, "time_ms");
    r->action = receipt_action_parse(jstr(p, "action"));
    if (r->action < 0 || r->time_ms < 0)
        return MIGRATE_V1_FIELDS;
    r->gpc_sent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpc, "sent"));
    r->gpc_honoured = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpc, "honoured"));
    r->gpc_binding = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpc, "binding"));
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(p, "choices")) {
        int on = cJSON_IsTrue(c);

        if (on)
            r->choices |= 1u << i;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(purposes, c->string), "sale_sharing"))) {
            sale = 1;
            sale_on |= on;
        }
        i++;
    }
    r->opted_out = (sale && !sale_on) || r->action == RECEIPT_REJECT_ALL ||
                   r->action == RECEIPT_WITHDRAW;
    snprintf(addr, sizeof(addr), "%s", net);
    if (strchr(addr, '/') != NULL)
        *strchr(addr, '/') = '\0';
    if (inet_pton(AF_INET, addr, a) == 1) {
        r->net_family = 4;
        memcpy(r->net, a, 3);
    } else if (inet_pton(AF_INET6, addr, a) == 1) {
        r->net_family = 6;
        memcpy(r->net, a, 6);
    }
    if (strlen(ua) >= 16)
        sodium_hex2bin(r->ua, sizeof(r->ua), ua, 16, NULL, &bin, NULL);
    return MIGRATE_OK;
}

/* Writes the v1 receipts (oldest first) as a v2 history, one receipt at a
 * time, each chained and sealed as consentd writes them. */
static int write_v2(struct store *s, const struct config *cfg, const struct jws_keyset *keys,
                    const char *id, const struct v1_item *items, size_t n, FILE *report)
{
    struct receipt_head head;
    unsigned char prev[32] = {0}, raw[16], hblob[RECEIPT_MAX_HEAD], stored[RECEIPT_MAX_STORED];
    struct store_blob expected = {0}, current = {0};
    int st = STORE_OK;

    memset(&head, 0, sizeof(head));
    if (receipt_consent_id_bytes(id, raw) != 0)
        return STORE_ERROR;
    for (size_t i = 0; i < n && st == STORE_OK; i++) {
        struct receipt_context ctx;
        struct receipt r;
        struct store_write w;
        unsigned char rid[16], sha[32];
        char *payload;
        size_t len = 0, hlen;

        if (v1_context(items[i].payload, cfg, keys, &ctx) != RECEIPT_OK)
            return STORE_ERROR;
        if (v1_receipt(items[i].payload, &ctx, (uint32_t)i + 1, prev, &r) != MIGRATE_OK ||
            (payload = receipt_payload(&r, &ctx, id, &len)) == NULL) {
            receipt_context_free(&ctx);
            return STORE_ERROR;
        }
        jws_sign(&keys->current, payload, len, r.sig);
        crypto_hash_sha256(sha, (const unsigned char *)payload, len);
        cJSON_free(payload);
        receipt_head_append(&head, &r, jstr(items[i].payload, "site"), sha);
        receipt_head_seal(&head, id, &keys->current);
        hlen = receipt_head_encode(&head, hblob);
        receipt_id_of(id, r.seq, rid);
        memset(&w, 0, sizeof(w));
        w.consent_id = id;
        w.consent_id_bytes = raw;
        w.receipt_id = rid;
        w.expected_head = expected;
        w.new_head = (struct store_blob){(char *)hblob, hlen};
        w.seq = r.seq;
        w.receipt = (struct store_blob){(char *)stored, receipt_encode(&r, stored)};
        w.context_ref = ctx.ref;
        w.context = (struct store_blob){ctx.json, ctx.len};
        w.ttl_seconds = (long)cfg->retention_days * 86400;
        st = store_record(s, &w, &current);
        store_blob_free(&current);
        receipt_context_free(&ctx);
        if (st == STORE_CONFLICT || st == STORE_ERASED) {
            fprintf(report, "%s: a v2 history or tombstone exists already: not migrated\n", id);
            st = STORE_CONFLICT;
        }
        store_blob_free(&expected);
        expected.data = malloc(hlen);
        if (expected.data == NULL)
            return STORE_ERROR;
        memcpy(expected.data, hblob, hlen);
        expected.len = hlen;
        memcpy(prev, sha, 32);
    }
    store_blob_free(&expected);
    return st;
}

static void archive_line(FILE *archive, const char *id, const struct v1_item *items, size_t n)
{
    cJSON *line = cJSON_CreateObject(), *list;
    char *text;

    cJSON_AddStringToObject(line, "consent_id", id);
    cJSON_AddStringToObject(line, "format", "consent-receipt/1");
    list = cJSON_AddArrayToObject(line, "receipts");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "jws", items[i].jws);
        cJSON_AddStringToObject(o, "sha256", items[i].sha256);
        cJSON_AddItemToArray(list, o);
    }
    text = cJSON_PrintUnformatted(line);
    if (text != NULL)
        fprintf(archive, "%s\n", text);
    cJSON_free(text);
    cJSON_Delete(line);
}

/* One v1 history: verify, archive, write as v2, delete v1. */
static int migrate_one(struct store *s, const struct config *cfg, const struct jws_keyset *keys,
                       const char *id, FILE *archive, FILE *report, int dry_run,
                       struct migrate_counts *counts)
{
    struct store_v1 h;
    struct v1_item *items;
    const char **rids = NULL;
    int st = store_v1_history(s, id, &h), v1;

    if (st != STORE_OK)
        return st;
    items = calloc(h.nreceipts + 1, sizeof(*items));
    if (items == NULL || h.nreceipts > MIGRATE_MAX_RECEIPTS) {
        store_v1_free(&h);
        free(items);
        return STORE_ERROR;
    }
    v1 = v1_verify(&h, keys, items);
    if (v1 != MIGRATE_OK) {
        fprintf(report, "%s: FAILED v1 verification (%s): left as it is\n", id,
                migrate_strerror(v1));
        counts->failed++;
        goto done;
    }
    archive_line(archive, id, items, h.nreceipts);
    if (fflush(archive) != 0) {
        st = STORE_ERROR;       /* never delete what could not be archived */
        goto done;
    }
    if (!dry_run) {
        st = write_v2(s, cfg, keys, id, items, h.nreceipts, report);
        if (st == STORE_CONFLICT) {
            counts->failed++;
            st = STORE_OK;
            goto done;
        }
        rids = calloc(h.nreceipts + 1, sizeof(*rids));
        for (size_t i = 0; rids != NULL && i < h.nreceipts; i++)
            rids[i] = jstr(items[i].payload, "receipt_id");
        if (st == STORE_OK)
            st = rids != NULL ? store_v1_delete(s, id, rids, h.nreceipts) : STORE_ERROR;
    }
    if (st == STORE_OK) {
        counts->migrated++;
        counts->receipts += (long)h.nreceipts;
        fprintf(report, "%s: %zu receipt(s) %s\n", id, h.nreceipts,
                dry_run ? "verified (dry run)" : "migrated");
    }
done:
    free(rids);
    free_items(items, h.nreceipts);
    store_v1_free(&h);
    return st;
}

int migrate_run(struct store *s, const struct config *cfg, const struct jws_keyset *keys,
                FILE *archive, FILE *report, int dry_run, struct migrate_counts *counts)
{
    char cursor[32] = "0", (*ids)[23] = calloc(MIGRATE_SCAN, sizeof(*ids));
    int st = STORE_OK;

    memset(counts, 0, sizeof(*counts));
    if (ids == NULL)
        return STORE_ERROR;
    do {
        size_t n = 0;

        st = store_v1_scan(s, cursor, ids, MIGRATE_SCAN, &n);
        for (size_t i = 0; st == STORE_OK && i < n; i++)
            if (receipt_valid_consent_id(ids[i]))
                st = migrate_one(s, cfg, keys, ids[i], archive, report, dry_run, counts);
    } while (st == STORE_OK && strcmp(cursor, "0") != 0);
    free(ids);
    return st;
}
