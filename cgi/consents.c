/*
 * consents.c - recording a choice as a signed, chained receipt, and the
 * visitor's own access to it (read, withdraw).
 *
 * A receipt is only acknowledged (201) after Redis confirmed the atomic
 * write; every rejected request leaves Redis untouched, because validation
 * finishes before the first write.
 */
#include "app.h"
#include "choice.h"
#include "history.h"
#include "jcheck.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORD_MAX_TRIES 32     /* re-chain after a concurrent write */

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

static void choice_error_response(struct response *res, const struct choice_error *e)
{
    error_with(res, e->status, e->code, e->message, e->key, e->value);
}

/* GPC was honoured: it was sent and every sale/sharing category is off. */
static int gpc_honoured(const struct choice *r, const struct decision *d)
{
    for (size_t i = 0; i < r->site->ncategories; i++)
        if (r->site->categories[i].sale_sharing && r->on[i])
            return 0;
    return d->gpc_received;
}

/* The payload as a tree (caller owns it); printed compactly, its bytes are
 * what is signed, hashed and chained. */
static cJSON *build_payload(const struct request *req, const struct choice *r,
                           const struct visitor *v, const struct decision *d,
                           const char *receipt_id, int64_t now,
                           int64_t expires, const char *prev)
{
    cJSON *p = cJSON_CreateObject(), *o;
    char net[64], ua[RECEIPT_HASH_HEX];
    int honoured = gpc_honoured(r, d);

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
    cJSON_AddStringToObject(p, "action", choice_action_names[r->action]);
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
    return p;
}

/* The current state kept beside the history: what the banner decision needs
 * without reading the receipts. */
static char *build_state(const struct choice *r,
                         const char *receipt_id, int64_t now, int64_t expires)
{
    cJSON *s = cJSON_CreateObject(), *c;
    int sale = 0, sale_on = 0;
    char *out;

    cJSON_AddStringToObject(s, "r", receipt_id);
    cJSON_AddNumberToObject(s, "t", (double)now);
    cJSON_AddNumberToObject(s, "exp", (double)expires);
    cJSON_AddStringToObject(s, "a", choice_action_names[r->action]);
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
    cJSON_AddBoolToObject(s, "oo", (sale && !sale_on) || r->action == CHOICE_REJECT_ALL ||
                                   r->action == CHOICE_WITHDRAW);
    out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return out;
}

/* Builds, signs and stores one receipt; answers 201 or the error. */
static void record(struct request *req, struct response *res,
                   struct request_log *log, const struct choice *r,
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
    cJSON *root, *tree = NULL;

    log->regime = v->j.regime->id;
    log->gpc = req->gpc;
    if (receipt_new_uuid(receipt_id) != 0) {
        response_error(res, 503, "no_randomness", "cannot create a receipt ID");
        return;
    }
    /* Optimistic: most writes are a visitor's first, with no chain yet, so
     * chain to nothing and let the script say otherwise (it answers with the
     * current head, and the loop re-chains): one round trip instead of two
     * for a first choice, the same two for a later one. */
    head[0] = '\0';
    st = STORE_OK;
    for (tries = 0; st == STORE_OK && tries < RECORD_MAX_TRIES; tries++) {
        struct store_write w;

        cJSON_free(payload);
        free(stored);
        cJSON_Delete(tree);
        stored = NULL;
        tree = build_payload(req, r, v, d, receipt_id, now, expires,
                             head[0] != '\0' ? head : RECEIPT_ZERO_HASH);
        payload = tree != NULL ? cJSON_PrintUnformatted(tree) : NULL;
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
    cJSON_AddItemToObject(root, "receipt", tree);     /* the tree just signed */
    tree = NULL;
    cJSON_AddStringToObject(root, "sha256", new_head);
    cJSON_AddStringToObject(root, "jws", jws != NULL ? jws : "");
    handler_set_cookie(req, res, v->consent_id, v->j.regime->consent_days);
    response_header(res, "Cache-Control", "no-store");
    response_json(res, 201, root);
cleanup:
    free(jws);
    cJSON_free(payload);
    cJSON_Delete(tree);
    free(stored);
    cJSON_free(state);
}

void handle_record(struct request *req, struct response *res,
                   struct request_log *log)
{
    struct choice r;
    struct choice_error err;
    struct visitor v;
    struct decision d;

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
    if (choice_parse(&req->app->cfg, req->body, req->body_len, &r, &err) != 0) {
        choice_error_response(res, &err);
        return;
    }
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
    if (choice_resolve(&r, &d, &err) != 0) {
        choice_error_response(res, &err);
        return;
    }
    record(req, res, log, &r, &v, &d);
}

void handle_withdraw(struct request *req, struct response *res,
                     struct request_log *log)
{
    const struct config_site *site = handler_site_param(req, res);
    struct choice r;
    struct choice_error err;
    struct visitor v;
    struct decision d;

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
    r.action = CHOICE_WITHDRAW;
    /* Recorded as shown by the settings panel: the visitor's model's texts. */
    r.lang = handler_language(req, site);
    r.texts_model = v.j.regime->model;
    r.texts_sha256 = r.lang->texts_sha256[r.texts_model];
    for (size_t i = 0; i < site->ncategories; i++)
        r.given[i] = -1;
    decision_make(site, v.j.regime, req->gpc, app_now_ms() / 1000, &d);
    if (choice_resolve(&r, &d, &err) != 0) {   /* withdraw always resolves */
        choice_error_response(res, &err);
        return;
    }
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
