/*
 * history.c - see history.h.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Verifies the list (newest first): each receipt's signature; each link from
 * the newer receipt (or the head, for the newest) to this one; the oldest
 * must point at zeros unless the history bound trimmed older receipts. */
static cJSON *verify_list(const struct receipt_key *key, const redisReply *list,
                          const char *head, long written, long trimmed,
                          int *all_ok)
{
    cJSON *arr = cJSON_CreateArray();
    char expect[RECEIPT_HASH_HEX];

    snprintf(expect, sizeof(expect), "%s", head);
    *all_ok = list->elements > 0;
    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];
        const char *payload = NULL;
        size_t plen = 0;
        char h[RECEIPT_HASH_HEX] = "";
        int sig = RECEIPT_MALFORMED, linked;
        cJSON *item = cJSON_CreateObject(), *p = NULL;
        const cJSON *prev;
        char *jws = NULL;

        if (e->type == REDIS_REPLY_STRING) {
            sig = receipt_open(key->pk, key->kid, e->str, e->len, &payload, &plen);
            jws = receipt_jws(e->str, e->len, key->kid);
        }
        if (payload != NULL) {
            p = cJSON_ParseWithLength(payload, plen);
            receipt_sha256_hex(payload, plen, h);
        }
        cJSON_AddItemToObject(item, "receipt", p != NULL ? p : cJSON_CreateNull());
        cJSON_AddBoolToObject(item, "signature_valid", sig == RECEIPT_OK);
        if (jws != NULL)
            cJSON_AddStringToObject(item, "jws", jws);
        free(jws);
        if (h[0] != '\0')
            cJSON_AddStringToObject(item, "sha256", h);
        linked = h[0] != '\0' && strcmp(expect, h) == 0;
        prev = p != NULL ? cJSON_GetObjectItemCaseSensitive(p, "prev_sha256") : NULL;
        if (cJSON_IsString(prev) && strlen(prev->valuestring) < sizeof(expect))
            strcpy(expect, prev->valuestring);
        else
            expect[0] = '\0';
        /* The oldest kept: the first ever (prev zeros, nothing trimmed), or
         * exactly the bound's cut (every receipt not trimmed is here). */
        if (i + 1 == list->elements && linked)
            linked = (long)list->elements == written - trimmed &&
                     (strcmp(expect, RECEIPT_ZERO_HASH) == 0) == (trimmed == 0);
        cJSON_AddBoolToObject(item, "chain_valid", linked);
        *all_ok &= linked && sig == RECEIPT_OK;
        cJSON_AddItemToArray(arr, item);
    }
    return arr;
}

int history_load(struct store *s, const struct receipt_key *key,
                 const char *consent_id, int with_state, int64_t now_ms,
                 cJSON **out)
{
    redisReply *list = NULL, *hash = NULL, *tomb = NULL;
    char head[STORE_HASH_HEX] = "";
    long written = 0, trimmed = 0;
    long long pttl = -2;
    int st, all_ok;
    cJSON *root, *o;

    *out = NULL;
    st = with_state ? store_consent(s, consent_id, &hash, &pttl)
                    : store_head(s, consent_id, head);
    if (st == STORE_OK)
        st = store_history(s, consent_id, &list, &written, &trimmed);
    if (st == STORE_OK && with_state)
        st = store_tombstone(s, consent_id, &tomb);
    if (st != STORE_OK)
        goto cleanup;

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "consent_id", consent_id);
    cJSON_AddNumberToObject(root, "receipts_written", (double)written);
    o = NULL;
    if (with_state) {
        o = cJSON_CreateObject();
        for (size_t i = 0; i + 1 < hash->elements; i += 2) {
            const redisReply *k = hash->element[i], *v = hash->element[i + 1];

            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "head") == 0 && v->len < sizeof(head))
                memcpy(head, v->str, v->len + 1);
            else if (strncmp(k->str, "site:", 5) == 0)
                cJSON_AddItemToObject(o, k->str + 5, cJSON_ParseWithLength(v->str, v->len));
        }
    }
    cJSON_AddItemToObject(root, "receipts", verify_list(key, list, head, written, trimmed, &all_ok));
    cJSON_AddBoolToObject(root, "all_valid", all_ok);
    if (with_state) {
        cJSON_AddItemToObject(root, "state", o);
        if (pttl >= 0)
            cJSON_AddNumberToObject(root, "expires_ms", (double)(now_ms + pttl));
        else
            cJSON_AddNullToObject(root, "expires_ms");
        if (tomb->elements > 0) {
            cJSON *t = cJSON_AddObjectToObject(root, "tombstone");

            for (size_t i = 0; i + 1 < tomb->elements; i += 2) {
                const redisReply *k = tomb->element[i], *v = tomb->element[i + 1];

                if (strcmp(k->str, "by") == 0)
                    cJSON_AddStringToObject(t, "by", v->str);
                else
                    cJSON_AddNumberToObject(t, k->str, strtod(v->str, NULL));
            }
        }
    }
    *out = root;
cleanup:
    if (list != NULL)
        freeReplyObject(list);
    if (hash != NULL)
        freeReplyObject(hash);
    if (tomb != NULL)
        freeReplyObject(tomb);
    return st;
}

int history_receipt(struct store *s, const struct receipt_key *key,
                    const char *receipt_id, cJSON **out)
{
    char cid[CONSENT_ID_LEN + 2];
    cJSON *h = NULL, *found = NULL, *item;
    int st;

    *out = NULL;
    st = store_receipt_owner(s, receipt_id, cid, sizeof(cid));
    if (st != STORE_OK)
        return st;
    st = history_load(s, key, cid, 0, 0, &h);
    if (st != STORE_OK)
        return st;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(h, "receipts")) {
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(item, "receipt"), "receipt_id");

        if (cJSON_IsString(rid) && strcmp(rid->valuestring, receipt_id) == 0) {
            found = cJSON_Duplicate(item, 1);
            break;
        }
    }
    cJSON_Delete(h);
    if (found == NULL)
        return STORE_NOT_FOUND;
    cJSON_AddStringToObject(found, "consent_id", cid);
    *out = found;
    return STORE_OK;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Category name and purpose in the receipt's language, from the site's
 * current texts (the receipt's own texts are identified by their hash). */
static void category_texts(const struct config_site *site, const char *lang,
                           const char *id, cJSON **name, cJSON **purpose)
{
    const struct config_language *l = &site->languages[0];
    cJSON *t, *c;

    for (size_t i = 0; i < site->nlanguages; i++)
        if (strcmp(site->languages[i].tag, lang) == 0)
            l = &site->languages[i];
    t = cJSON_Parse(l->texts[MODEL_NOTICE]);
    c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "categories"), id);
    *name = cJSON_CreateString(c != NULL ? str(c, "name") : id);
    *purpose = cJSON_CreateString(c != NULL ? str(c, "purpose") : id);
    cJSON_Delete(t);
}

cJSON *history_kantara(const cJSON *receipt, const struct config *cfg,
                       const struct receipt_key *key)
{
    const struct config_site *site;
    const cJSON *choices, *time_ms, *exp, *c;
    char x[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    char termination[64];
    time_t e;
    struct tm tm;
    cJSON *k, *ctl, *services, *svc, *purposes;
    int explicit_consent;

    if (!cJSON_IsObject(receipt))
        return NULL;
    choices = cJSON_GetObjectItemCaseSensitive(receipt, "choices");
    time_ms = cJSON_GetObjectItemCaseSensitive(receipt, "time_ms");
    exp = cJSON_GetObjectItemCaseSensitive(receipt, "expires_ms");
    if (!cJSON_IsObject(choices) || !cJSON_IsNumber(time_ms) || !cJSON_IsNumber(exp))
        return NULL;
    site = config_site_find(cfg, str(receipt, "site"));
    explicit_consent = strcmp(str(cJSON_GetObjectItemCaseSensitive(receipt, "jurisdiction"),
                                  "model"), "opt-in") == 0;
    e = (time_t)(exp->valuedouble / 1000);
    gmtime_r(&e, &tm);
    strftime(termination, sizeof(termination), "expires %Y-%m-%dT%H:%M:%SZ or on withdrawal", &tm);
    sodium_bin2base64(x, sizeof(x), key->pk, sizeof(key->pk),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);

    k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "version", "KI-CR-v1.1.0");
    cJSON_AddStringToObject(k, "jurisdiction", str(cJSON_GetObjectItemCaseSensitive(receipt, "jurisdiction"), "regime"));
    cJSON_AddNumberToObject(k, "consentTimestamp", (double)(long long)(time_ms->valuedouble / 1000));
    cJSON_AddStringToObject(k, "collectionMethod", "web consent banner");
    cJSON_AddStringToObject(k, "consentReceiptID", str(receipt, "receipt_id"));
    cJSON_AddStringToObject(k, "publicKey", x);
    cJSON_AddStringToObject(k, "language", str(receipt, "language"));
    cJSON_AddStringToObject(k, "piiPrincipalId", str(receipt, "consent_id"));
    ctl = cJSON_CreateObject();
    cJSON_AddStringToObject(ctl, "piiController", site != NULL ? site->controller.name : "");
    cJSON_AddStringToObject(ctl, "contact", site != NULL ? site->controller.contact : "");
    cJSON_AddStringToObject(ctl, "address", site != NULL ? site->controller.address : "");
    cJSON_AddStringToObject(ctl, "email", site != NULL ? site->controller.email : "");
    cJSON_AddStringToObject(ctl, "phone", site != NULL ? site->controller.phone : "");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(k, "piiControllers"), ctl);
    cJSON_AddStringToObject(k, "policyUrl", str(receipt, "policy_url"));
    services = cJSON_AddArrayToObject(k, "services");
    svc = cJSON_CreateObject();
    cJSON_AddStringToObject(svc, "service", str(receipt, "site"));
    purposes = cJSON_AddArrayToObject(svc, "purposes");
    /* Kantara lists the purposes consented to: the categories that are on. */
    cJSON_ArrayForEach(c, choices) {
        int idx = site != NULL ? config_category_index(site, c->string) : -1;
        const struct config_category *cat = idx >= 0 ? &site->categories[idx] : NULL;
        cJSON *p, *name, *purpose, *cats;

        if (!cJSON_IsTrue(c))
            continue;
        p = cJSON_CreateObject();
        if (site != NULL) {
            category_texts(site, str(receipt, "language"), c->string, &name, &purpose);
        } else {
            name = cJSON_CreateString(c->string);
            purpose = cJSON_CreateString(c->string);
        }
        cJSON_AddItemToObject(p, "purpose", purpose);
        cats = cJSON_AddArrayToObject(p, "purposeCategory");
        cJSON_AddItemToArray(cats, name);
        cJSON_AddStringToObject(p, "consentType",
                                cat != NULL && cat->necessary ? "NOT_REQUIRED"
                                : explicit_consent ? "EXPLICIT" : "IMPLICIT");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "piiCategory"),
                             cJSON_CreateString("online identifiers (cookie IDs)"));
        cJSON_AddBoolToObject(p, "primaryPurpose", cat != NULL && cat->necessary);
        cJSON_AddStringToObject(p, "termination", termination);
        cJSON_AddBoolToObject(p, "thirdPartyDisclosure", cat != NULL && cat->sale_sharing);
        if (cat != NULL && cat->sale_sharing)
            cJSON_AddStringToObject(p, "thirdPartyName",
                                    "the advertising partners named in the privacy notice");
        cJSON_AddItemToArray(purposes, p);
    }
    cJSON_AddItemToArray(services, svc);
    cJSON_AddBoolToObject(k, "sensitive", 0);
    cJSON_AddArrayToObject(k, "spiCat");
    /* Our own fields, for what Kantara has no place for. */
    cJSON_AddStringToObject(k, "x-action", str(receipt, "action"));
    cJSON_AddItemToObject(k, "x-choices", cJSON_Duplicate(choices, 1));
    return k;
}

int history_erase(struct store *s, const char *consent_id, const char *who,
                  int64_t now_ms, long tombstone_ttl_s, cJSON **out)
{
    redisReply *list = NULL;
    long written = 0, trimmed = 0;
    long long erased = 0;
    const char **ids = NULL;
    char (*idbuf)[RECEIPT_UUID_LEN + 1] = NULL;
    size_t n = 0;
    int st;
    cJSON *root, *t;

    *out = NULL;
    st = store_history(s, consent_id, &list, &written, &trimmed);
    if (st != STORE_OK)
        return st;
    ids = calloc(list->elements + 1, sizeof(*ids));
    idbuf = calloc(list->elements + 1, sizeof(*idbuf));
    if (ids == NULL || idbuf == NULL) {
        st = STORE_ERROR;
        goto cleanup;
    }
    /* The receipt IDs, for the index entries (read without verifying: an
     * erasure removes tampered receipts too). */
    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];
        cJSON *p;
        const cJSON *rid;

        if (e->type != REDIS_REPLY_STRING || e->len <= RECEIPT_SIG_LEN)
            continue;
        p = cJSON_ParseWithLength(e->str + RECEIPT_SIG_LEN, e->len - RECEIPT_SIG_LEN);
        rid = cJSON_GetObjectItemCaseSensitive(p, "receipt_id");
        if (cJSON_IsString(rid) && receipt_valid_uuid(rid->valuestring)) {
            strcpy(idbuf[n], rid->valuestring);
            ids[n] = idbuf[n];
            n++;
        }
        cJSON_Delete(p);
    }
    st = store_erase(s, consent_id, ids, n, who, now_ms, tombstone_ttl_s, &erased);
    if (st != STORE_OK)
        goto cleanup;
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "consent_id", consent_id);
    cJSON_AddBoolToObject(root, "erased", 1);
    cJSON_AddNumberToObject(root, "receipts_erased", (double)erased);
    t = cJSON_AddObjectToObject(root, "tombstone");
    cJSON_AddNumberToObject(t, "erased_ms", (double)now_ms);
    cJSON_AddStringToObject(t, "by", who);
    cJSON_AddNumberToObject(t, "receipts", (double)erased);
    *out = root;
cleanup:
    free(ids);
    free(idbuf);
    freeReplyObject(list);
    return st;
}
