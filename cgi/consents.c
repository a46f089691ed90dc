/*
 * consents.c - recording a choice as a signed, chained receipt, and the
 * visitor's own access to it (read, withdraw).
 *
 * A receipt is only acknowledged (201) after Redis confirmed the atomic
 * write; every rejected request leaves Redis untouched, because validation
 * finishes before the first write.
 */
#include "app.h"
#include "history.h"
#include "jcheck.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORD_MAX_TRIES 32     /* re-chain after a concurrent write */

enum action {
    ACTION_ACCEPT_ALL = 0,
    ACTION_REJECT_ALL,
    ACTION_CUSTOM,
    ACTION_GPC,
    ACTION_WITHDRAW,
    ACTION_COUNT
};

static const char *const action_names[ACTION_COUNT] = {
    "accept_all", "reject_all", "custom", "gpc", "withdraw"};

static const char *const body_keys[] = {
    "site", "banner_version", "texts_sha256", "action", "choices", NULL};

/* What a validated request asks to record. */
struct record {
    const struct config_site *site;
    enum action action;
    int on[CONSENT_MAX_CATEGORIES];
    const struct config_language *lang;
    int texts_model;
    const char *texts_sha256;
};

static int is_json_type(const char *ct)
{
    size_t n = strlen("application/json");

    return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void error_with(struct response *res, int status, const char *code,
                       const char *message, const char *key, const char *value)
{
    cJSON *err;

    response_error(res, status, code, message);
    err = cJSON_GetObjectItemCaseSensitive(res->body, "error");
    if (key != NULL)
        cJSON_AddStringToObject(err, key, value);
}

/* Resolves the final state of every category for an action, or answers
 * 422 (and returns -1). given[i] is -1 where the body said nothing. */
static int resolve_choices(struct response *res, const struct config_site *site,
                           const struct decision *d, enum action a,
                           const int *given, int *on)
{
    for (size_t i = 0; i < site->ncategories; i++) {
        const struct config_category *c = &site->categories[i];
        int locked_off = d->categories[i].lock == LOCK_GPC;
        int want;

        if (c->necessary) {
            on[i] = 1;
            continue;
        }
        switch (a) {
        case ACTION_ACCEPT_ALL:
            want = !locked_off;
            break;
        case ACTION_REJECT_ALL:
        case ACTION_WITHDRAW:
            want = 0;
            break;
        case ACTION_GPC:
            want = c->sale_sharing ? 0 : (given[i] >= 0 ? given[i] : d->categories[i].on);
            break;
        default: /* custom */
            if (given[i] < 0) {
                error_with(res, 422, "missing_category",
                           "\"custom\" must give every optional category",
                           "category", c->id);
                return -1;
            }
            want = given[i];
            break;
        }
        if (want && locked_off) {
            error_with(res, 422, "category_locked",
                       "Global Privacy Control keeps this category off",
                       "category", c->id);
            return -1;
        }
        if (given[i] >= 0 && given[i] != want) {
            if (want == 0 && (locked_off || (a == ACTION_GPC && c->sale_sharing)))
                error_with(res, 422, "category_locked",
                           "Global Privacy Control keeps this category off",
                           "category", c->id);
            else
                error_with(res, 422, "choices_mismatch",
                           "the choices contradict the action", "category", c->id);
            return -1;
        }
        on[i] = want;
    }
    return 0;
}

/* Validates the body of POST /consents into r, or answers the error. */
static int parse_record(const struct request *req, struct response *res,
                        const cJSON *root, struct record *r,
                        int *given)
{
    const struct app *app = req->app;
    const cJSON *site, *ver, *hash, *action, *choices, *item;

    for (item = root->child; item != NULL; item = item->next) {
        const char *const *k;

        for (k = body_keys; *k != NULL && strcmp(*k, item->string) != 0; k++)
            ;
        if (*k == NULL) {
            error_with(res, 400, "unknown_field", "the body has a field this API does not take",
                       "field", item->string);
            return -1;
        }
    }
    site = cJSON_GetObjectItemCaseSensitive(root, "site");
    ver = cJSON_GetObjectItemCaseSensitive(root, "banner_version");
    hash = cJSON_GetObjectItemCaseSensitive(root, "texts_sha256");
    action = cJSON_GetObjectItemCaseSensitive(root, "action");
    choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsString(site) || !jcheck_is_token(site->valuestring, CONSENT_MAX_SITE_ID_LEN)) {
        error_with(res, 400, "invalid_field", "\"site\" must be a site id", "field", "site");
        return -1;
    }
    if (!cJSON_IsString(ver) || strlen(ver->valuestring) > 64) {
        error_with(res, 400, "invalid_field", "\"banner_version\" must be a string",
                   "field", "banner_version");
        return -1;
    }
    if (!cJSON_IsString(hash) || strlen(hash->valuestring) != 64 ||
        strspn(hash->valuestring, "0123456789abcdef") != 64) {
        error_with(res, 400, "invalid_field",
                   "\"texts_sha256\" must be 64 lower-case hex digits", "field", "texts_sha256");
        return -1;
    }
    if (!cJSON_IsString(action)) {
        error_with(res, 400, "invalid_field", "\"action\" must be a string", "field", "action");
        return -1;
    }
    for (r->action = 0; r->action < ACTION_COUNT; r->action++)
        if (strcmp(action_names[r->action], action->valuestring) == 0)
            break;
    if (r->action == ACTION_COUNT) {
        error_with(res, 400, "invalid_field",
                   "\"action\" must be accept_all, reject_all, custom, gpc or withdraw",
                   "field", "action");
        return -1;
    }
    if (choices != NULL && !cJSON_IsObject(choices)) {
        error_with(res, 400, "invalid_field", "\"choices\" must be an object of booleans",
                   "field", "choices");
        return -1;
    }
    if (choices != NULL && cJSON_GetArraySize(choices) > CONSENT_MAX_CATEGORIES) {
        error_with(res, 400, "invalid_field", "too many choices", "field", "choices");
        return -1;
    }

    r->site = config_site_find(&app->cfg, site->valuestring);
    if (r->site == NULL) {
        response_error(res, 404, "unknown_site", "no site with that id");
        return -1;
    }
    for (size_t i = 0; i < r->site->ncategories; i++)
        given[i] = -1;
    if (choices != NULL) {
        cJSON_ArrayForEach(item, choices) {
            int idx = config_category_index(r->site, item->string);

            if (!cJSON_IsBool(item)) {
                error_with(res, 400, "invalid_field", "each choice must be true or false",
                           "field", "choices");
                return -1;
            }
            if (idx < 0) {
                error_with(res, 422, "unknown_category", "the site has no such category",
                           "category", item->string);
                return -1;
            }
            if (r->site->categories[idx].necessary && !cJSON_IsTrue(item)) {
                error_with(res, 422, "necessary_category",
                           "a strictly necessary category cannot be switched off",
                           "category", item->string);
                return -1;
            }
            given[idx] = cJSON_IsTrue(item);
        }
    }
    if (strcmp(ver->valuestring, r->site->banner_version) != 0) {
        error_with(res, 409, "stale_banner", "the banner changed; show the current one",
                   "current_version", r->site->banner_version);
        return -1;
    }
    r->lang = config_texts_by_hash(r->site, hash->valuestring, &r->texts_model);
    if (r->lang == NULL) {
        error_with(res, 409, "stale_banner", "those are not the site's current texts",
                   "current_version", r->site->banner_version);
        return -1;
    }
    /* Borrowed from the configuration, not from the request's JSON tree,
     * which the caller frees before the receipt is built. */
    r->texts_sha256 = r->lang->texts_sha256[r->texts_model];
    return 0;
}

/* GPC was honoured: it was sent and every sale/sharing category is off. */
static int gpc_honoured(const struct record *r, const struct decision *d)
{
    for (size_t i = 0; i < r->site->ncategories; i++)
        if (r->site->categories[i].sale_sharing && r->on[i])
            return 0;
    return d->gpc_received;
}

/* The payload: the exact bytes that are signed, hashed and chained. */
static char *build_payload(const struct request *req, const struct record *r,
                           const struct visitor *v, const struct decision *d,
                           const char *receipt_id, int64_t now,
                           int64_t expires, const char *prev)
{
    cJSON *p = cJSON_CreateObject(), *o;
    char net[64], ua[RECEIPT_HASH_HEX];
    int honoured = gpc_honoured(r, d);
    char *out;
    request_truncate_address(req->remote_addr, net, sizeof(net));
    receipt_sha256_hex(req->user_agent, strlen(req->user_agent), ua);

    cJSON_AddStringToObject(p, "receipt_version", "consent-receipt/1");
    cJSON_AddStringToObject(p, "receipt_id", receipt_id);
    cJSON_AddStringToObject(p, "consent_id", v->consent_id);
    cJSON_AddStringToObject(p, "site", r->site->id);
    cJSON_AddNumberToObject(p, "time_ms", (double)now);
    o = cJSON_AddObjectToObject(p, "jurisdiction");
    if (v->region[0] != '\0')
        cJSON_AddStringToObject(o, "region", v->region);
    else
        cJSON_AddNullToObject(o, "region");
    cJSON_AddStringToObject(o, "regime", v->j.regime->id);
    cJSON_AddStringToObject(o, "model", rules_model_name(v->j.regime->model));
    if (v->previewing)
        cJSON_AddBoolToObject(o, "preview", 1);
    o = cJSON_AddObjectToObject(p, "gpc");
    cJSON_AddBoolToObject(o, "sent", d->gpc_received);
    cJSON_AddBoolToObject(o, "honoured", honoured);
    cJSON_AddBoolToObject(o, "binding", d->gpc_binding);
    cJSON_AddStringToObject(p, "action", action_names[r->action]);
    o = cJSON_AddObjectToObject(p, "choices");
    for (size_t i = 0; i < r->site->ncategories; i++)
        cJSON_AddBoolToObject(o, r->site->categories[i].id, r->on[i]);
    o = cJSON_AddObjectToObject(p, "banner");
    cJSON_AddStringToObject(o, "version", r->site->banner_version);
    cJSON_AddNumberToObject(o, "consent_revision", r->site->consent_revision);
    cJSON_AddStringToObject(o, "texts_sha256", r->texts_sha256);
    cJSON_AddStringToObject(o, "model", rules_model_name((enum consent_model)r->texts_model));
    cJSON_AddStringToObject(p, "language", r->lang->tag);
    cJSON_AddStringToObject(p, "policy_url", r->site->policy_url);
    cJSON_AddNumberToObject(p, "expires_ms", (double)expires);
    if (net[0] != '\0')
        cJSON_AddStringToObject(p, "client_network", net);
    else
        cJSON_AddNullToObject(p, "client_network");
    cJSON_AddStringToObject(p, "user_agent_sha256", ua);
    cJSON_AddStringToObject(p, "prev_sha256", prev);
    cJSON_AddStringToObject(p, "kid", req->app->key.kid);
    out = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    return out;
}

/* The current state kept beside the history: what the banner decision needs
 * without reading the receipts. */
static char *build_state(const struct record *r,
                         const char *receipt_id, int64_t now, int64_t expires)
{
    cJSON *s = cJSON_CreateObject(), *c;
    int sale = 0, sale_on = 0;
    char *out;

    cJSON_AddStringToObject(s, "r", receipt_id);
    cJSON_AddNumberToObject(s, "t", (double)now);
    cJSON_AddNumberToObject(s, "exp", (double)expires);
    cJSON_AddStringToObject(s, "a", action_names[r->action]);
    c = cJSON_AddObjectToObject(s, "c");
    for (size_t i = 0; i < r->site->ncategories; i++) {
        cJSON_AddBoolToObject(c, r->site->categories[i].id, r->on[i]);
        if (r->site->categories[i].sale_sharing) {
            sale = 1;
            sale_on |= r->on[i];
        }
    }
    cJSON_AddStringToObject(s, "v", r->site->banner_version);
    cJSON_AddNumberToObject(s, "rev", r->site->consent_revision);
    cJSON_AddStringToObject(s, "m", rules_model_name((enum consent_model)r->texts_model));
    cJSON_AddBoolToObject(s, "oo", (sale && !sale_on) || r->action == ACTION_REJECT_ALL ||
                                   r->action == ACTION_WITHDRAW);
    out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return out;
}

/* Builds, signs and stores one receipt; answers 201 or the error. */
static void record(struct request *req, struct response *res,
                   struct request_log *log, const struct record *r,
                   const struct visitor *v, const struct decision *d)
{
    const struct app *app = req->app;
    struct store *store = &req->worker->store;
    char receipt_id[RECEIPT_UUID_LEN + 1], head[STORE_HASH_HEX];
    char new_head[RECEIPT_HASH_HEX], conflict[STORE_HASH_HEX];
    int64_t now = app_now_ms();
    int64_t expires = now + (int64_t)v->j.regime->consent_days * 86400000;
    char *payload = NULL, *stored = NULL, *state = NULL, *jws = NULL;
    size_t stored_len = 0;
    int st = STORE_ERROR, tries;
    cJSON *root;

    log->regime = v->j.regime->id;
    log->gpc = req->gpc;
    if (receipt_new_uuid(receipt_id) != 0) {
        response_error(res, 503, "no_randomness", "cannot create a receipt ID");
        return;
    }
    st = store_head(store, v->consent_id, head);
    for (tries = 0; st == STORE_OK && tries < RECORD_MAX_TRIES; tries++) {
        struct store_write w;

        free(payload);
        free(stored);
        payload = build_payload(req, r, v, d, receipt_id, now, expires,
                                head[0] != '\0' ? head : RECEIPT_ZERO_HASH);
        if (payload == NULL || receipt_seal(&app->key, payload, strlen(payload),
                                            &stored, &stored_len) != RECEIPT_OK) {
            st = STORE_ERROR;
            break;
        }
        if (state == NULL)
            state = build_state(r, receipt_id, now, expires);
        receipt_sha256_hex(payload, strlen(payload), new_head);
        w.consent_id = v->consent_id;
        w.receipt_id = receipt_id;
        w.expected_head = head;
        w.receipt = stored;
        w.receipt_len = stored_len;
        w.site = r->site->id;
        w.state = state;
        w.new_head = new_head;
        w.max_history = app->cfg.max_history;
        w.ttl_seconds = (long)app->cfg.retention_days * 86400;
        st = store_record(store, &w, conflict);
        if (st != STORE_CONFLICT)
            break;
        /* Another write to this ID came first: chain to it and sign again. */
        memcpy(head, conflict, sizeof(head));
        st = STORE_OK;
    }
    if (tries == RECORD_MAX_TRIES)
        st = STORE_CONFLICT;
    if (st != STORE_OK) {
        if (st == STORE_CONFLICT) {
            response_header(res, "Retry-After", "1");
            response_error(res, 503, "busy", "too many simultaneous writes for this consent ID");
        } else {
            handler_store_unavailable(req, res);
        }
        goto cleanup;
    }
    atomic_fetch_add_explicit(&req->worker->metrics.receipts_written, 1,
                              memory_order_relaxed);
    if (gpc_honoured(r, d))
        atomic_fetch_add_explicit(&req->worker->metrics.gpc_honoured, 1,
                                  memory_order_relaxed);
    jws = receipt_jws(stored, stored_len, app->key.kid);
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "consent_id", v->consent_id);
    cJSON_AddItemToObject(root, "receipt", cJSON_Parse(payload));
    cJSON_AddStringToObject(root, "sha256", new_head);
    cJSON_AddStringToObject(root, "jws", jws != NULL ? jws : "");
    handler_set_cookie(req, res, v->consent_id, v->j.regime->consent_days);
    response_header(res, "Cache-Control", "no-store");
    response_json(res, 201, root);
cleanup:
    free(jws);
    free(payload);
    free(stored);
    free(state);
}

void handle_record(struct request *req, struct response *res,
                   struct request_log *log)
{
    struct record r;
    struct visitor v;
    struct decision d;
    int given[CONSENT_MAX_CATEGORIES];
    const char *end = NULL;
    cJSON *root;

    memset(&r, 0, sizeof(r));
    /* So that a browser on a site's own origin can read every error. */
    if (req->origin != NULL && config_origin_known(&req->app->cfg, req->origin)) {
        response_header(res, "Vary", "Origin");
        response_header(res, "Access-Control-Allow-Origin", req->origin);
        response_header(res, "Access-Control-Allow-Credentials", "true");
    }
    if (!is_json_type(req->content_type)) {
        response_error(res, 415, "unsupported_media_type",
                       "send the body as Content-Type: application/json");
        return;
    }
    if (req->body_len == 0) {
        response_error(res, 400, "invalid_json", "the body is empty");
        return;
    }
    root = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (root != NULL) {
        while (end < req->body + req->body_len && isspace((unsigned char)*end))
            end++;
    }
    if (root == NULL || end != req->body + req->body_len || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        response_error(res, 400, "invalid_json", "the body must be one JSON object");
        return;
    }
    if (parse_record(req, res, root, &r, given) != 0) {
        cJSON_Delete(root);
        return;
    }
    cJSON_Delete(root);
    if (req->origin != NULL && !config_origin_allowed(r.site, req->origin)) {
        response_error(res, 403, "origin_not_allowed", "this origin is not one of the site's");
        return;
    }
    if (handler_visitor(req, res, r.site, &v) != 0)
        return;
    /* The texts must be the banner this visitor's region gets: a dismissed
     * notice recorded from an opt-in region would pass for consent. */
    if ((enum consent_model)r.texts_model != v.j.regime->model) {
        error_with(res, 409, "stale_banner",
                   "those texts are not the banner for this visitor's region",
                   "current_version", r.site->banner_version);
        return;
    }
    decision_make(r.site, v.j.regime, req->gpc, app_now_ms() / 1000, &d);
    if (resolve_choices(res, r.site, &d, r.action, given, r.on) != 0)
        return;
    record(req, res, log, &r, &v, &d);
}

void handle_withdraw(struct request *req, struct response *res,
                     struct request_log *log)
{
    const struct config_site *site = handler_site_param(req, res);
    const char *tags[CONSENT_MAX_LANGUAGES];
    struct record r;
    struct visitor v;
    struct decision d;
    int given[CONSENT_MAX_CATEGORIES];

    if (site == NULL)
        return;
    handler_cors(req, res, site);
    if (req->origin != NULL && !config_origin_allowed(site, req->origin)) {
        response_error(res, 403, "origin_not_allowed", "this origin is not one of the site's");
        return;
    }
    if (handler_visitor(req, res, site, &v) != 0)
        return;
    if (!v.id_from_cookie) {
        response_error(res, 404, "no_consent", "this browser has no consent ID");
        return;
    }
    memset(&r, 0, sizeof(r));
    r.site = site;
    r.action = ACTION_WITHDRAW;
    for (size_t i = 0; i < site->nlanguages; i++)
        tags[i] = site->languages[i].tag;
    /* Recorded as shown by the settings panel: the visitor's model's texts. */
    r.lang = &site->languages[request_negotiate_language(
        req->accept_language, tags, site->nlanguages)];
    r.texts_model = v.j.regime->model;
    r.texts_sha256 = r.lang->texts_sha256[r.texts_model];
    for (size_t i = 0; i < site->ncategories; i++)
        given[i] = -1;
    decision_make(site, v.j.regime, req->gpc, app_now_ms() / 1000, &d);
    resolve_choices(res, site, &d, r.action, given, r.on);
    record(req, res, log, &r, &v, &d);
}

void handle_me(struct request *req, struct response *res,
               struct request_log *log)
{
    char id[CONSENT_ID_LEN + 2];
    cJSON *root;

    (void)log;
    response_header(res, "Cache-Control", "no-store");
    if (request_cookie(req->cookie, req->app->cfg.cookie_name, id, sizeof(id)) != 0 ||
        !receipt_valid_consent_id(id)) {
        response_error(res, 404, "no_consent", "this browser has no consent ID");
        return;
    }
    if (req->origin != NULL && !config_origin_known(&req->app->cfg, req->origin)) {
        response_error(res, 403, "origin_not_allowed", "this origin is not configured");
        return;
    }
    if (req->origin != NULL) {
        response_header(res, "Vary", "Origin");
        response_header(res, "Access-Control-Allow-Origin", req->origin);
        response_header(res, "Access-Control-Allow-Credentials", "true");
    }
    if (history_load(&req->worker->store, &req->app->key, id, 0, 0, &root) != STORE_OK) {
        handler_store_unavailable(req, res);
        return;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "receipts")) == 0) {
        cJSON_Delete(root);
        response_error(res, 404, "no_consent", "nothing is stored for this consent ID");
        return;
    }
    response_json(res, 200, root);
}
