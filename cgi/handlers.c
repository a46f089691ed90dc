/*
 * handlers.c - the banner decision, health, keys and CORS preflight, and the
 * helpers every handler shares. Each handler checks its input first, answers
 * the error and returns early, and only then does the work.
 */
#include "app.h"
#include "jcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void handler_cors(const struct request *req, struct response *res,
                  const struct config_site *site)
{
    response_header(res, "Vary", "Origin");
    if (req->origin != NULL && site != NULL &&
        config_origin_allowed(site, req->origin)) {
        response_header(res, "Access-Control-Allow-Origin", req->origin);
        response_header(res, "Access-Control-Allow-Credentials", "true");
    }
}

const struct config_site *handler_site_param(const struct request *req,
                                             struct response *res)
{
    char id[CONSENT_MAX_SITE_ID_LEN + 2];
    const struct config_site *site;
    int st = request_query_param(req->query, "site", id, sizeof(id));

    if (st == 1) {
        response_error(res, 400, "missing_parameter",
                       "the query parameter \"site\" is required");
        return NULL;
    }
    if (st != 0 || !jcheck_is_token(id, CONSENT_MAX_SITE_ID_LEN)) {
        response_error(res, 400, "invalid_parameter",
                       "\"site\" must be 1-32 characters of a-z, 0-9, - and _");
        return NULL;
    }
    site = config_site_find(&req->app->cfg, id);
    if (site == NULL)
        response_error(res, 404, "unknown_site", "no site with that id");
    return site;
}

/* "US-CA" or "DE" -> country, subdivision. -1 when not of that form. */
static int split_region(const char *s, char *country, char *subdivision)
{
    size_t n = strlen(s);

    if (n < 2 || n > 6 || !(s[0] >= 'A' && s[0] <= 'Z') ||
        !(s[1] >= 'A' && s[1] <= 'Z'))
        return -1;
    if (n > 2 && (n < 4 || s[2] != '-' ||
                  strspn(s + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n - 3))
        return -1;
    memcpy(country, s, 2);
    country[2] = '\0';
    strcpy(subdivision, n > 2 ? s + 3 : "");
    return 0;
}

int handler_visitor(const struct request *req, struct response *res,
                    const struct config_site *site, struct visitor *v)
{
    const struct app *app = req->app;
    char preview[16], cookie[CONSENT_ID_LEN + 2];
    int st;

    memset(v, 0, sizeof(*v));
    st = request_query_param(req->query, "preview", preview, sizeof(preview));
    if (st == 0 && !site->preview) {
        response_error(res, 403, "preview_disabled",
                       "this site does not allow region previews");
        return -1;
    }
    if (st < 0 || (st == 0 && split_region(preview, v->loc.country,
                                           v->loc.subdivision) != 0)) {
        response_error(res, 400, "invalid_parameter",
                       "\"preview\" must be a region like \"DE\" or \"US-CA\"");
        return -1;
    }
    if (st == 0)
        v->previewing = 1;
    else
        geo_lookup(&app->geo, req->remote_addr, &v->loc);
    rules_match(&app->rules, v->loc.country, v->loc.subdivision, &v->j);
    if (v->loc.country[0] == '\0')
        v->region[0] = '\0';
    else if (v->loc.subdivision[0] == '\0')
        snprintf(v->region, sizeof(v->region), "%s", v->loc.country);
    else
        snprintf(v->region, sizeof(v->region), "%s-%s", v->loc.country,
                 v->loc.subdivision);

    /* A cookie that is not a well-formed ID is ignored, never used as a key. */
    if (request_cookie(req->cookie, app->cfg.cookie_name, cookie,
                       sizeof(cookie)) == 0 &&
        receipt_valid_consent_id(cookie)) {
        strcpy(v->consent_id, cookie);
        v->id_from_cookie = 1;
    } else if (receipt_new_consent_id(v->consent_id) != 0) {
        response_error(res, 503, "no_randomness", "cannot create a consent ID");
        return -1;
    }
    return 0;
}

const struct config_language *handler_language(const struct request *req,
                                              const struct config_site *site)
{
    const char *tags[CONSENT_MAX_LANGUAGES];

    for (size_t i = 0; i < site->nlanguages; i++)
        tags[i] = site->languages[i].tag;
    return &site->languages[request_negotiate_language(req->accept_language,
                                                       tags, site->nlanguages)];
}

void handler_set_cookie(const struct request *req, struct response *res,
                        const char *consent_id, int lifetime_days)
{
    char value[256];

    snprintf(value, sizeof(value), "%s=%s; Max-Age=%ld; Path=/; HttpOnly; "
             "SameSite=Lax%s", req->app->cfg.cookie_name, consent_id,
             (long)lifetime_days * 86400,
             req->app->cfg.cookie_secure ? "; Secure" : "");
    response_header(res, "Set-Cookie", value);
}

void handler_store_unavailable(const struct request *req, struct response *res)
{
    atomic_fetch_add_explicit(&req->worker->metrics.store_errors, 1,
                              memory_order_relaxed);
    response_header(res, "Retry-After", "5");
    response_error(res, 503, "store_unavailable",
                   "the consent store is unavailable; nothing was recorded, try again");
}

/* Reads a stored state JSON into what the prompt rules need and the site's
 * choices. Returns 0, or -1 when the state is unusable (treated as none). */
static int parse_state(const char *json, const struct config_site *site,
                       struct decision_stored *st, int *choices, int *known,
                       cJSON **root_out)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *t, *exp, *rev, *m, *oo, *c;

    *root_out = NULL;
    memset(st, 0, sizeof(*st));
    if (root == NULL)
        return -1;
    t = cJSON_GetObjectItemCaseSensitive(root, "t");
    exp = cJSON_GetObjectItemCaseSensitive(root, "exp");
    rev = cJSON_GetObjectItemCaseSensitive(root, "rev");
    m = cJSON_GetObjectItemCaseSensitive(root, "m");
    oo = cJSON_GetObjectItemCaseSensitive(root, "oo");
    c = cJSON_GetObjectItemCaseSensitive(root, "c");
    if (!cJSON_IsNumber(t) || !cJSON_IsNumber(exp) || !cJSON_IsNumber(rev) ||
        !cJSON_IsString(m) || !cJSON_IsObject(c) ||
        rules_model_parse(m->valuestring, &st->model) != 0) {
        cJSON_Delete(root);
        return -1;
    }
    st->present = 1;
    st->time_ms = (int64_t)t->valuedouble;
    st->expires_ms = (int64_t)exp->valuedouble;
    st->revision = (int)rev->valuedouble;
    st->opted_out = cJSON_IsTrue(oo);
    for (size_t i = 0; i < site->ncategories; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(c, site->categories[i].id);

        known[i] = cJSON_IsBool(b);
        choices[i] = cJSON_IsTrue(b);
    }
    *root_out = root;
    return 0;
}

void handle_banner(struct request *req, struct response *res,
                   struct request_log *log)
{
    const struct app *app = req->app;
    const struct config_site *site;
    struct visitor v;
    struct decision d;
    struct decision_stored stored = {0};
    const struct config_language *lang;
    int choices[CONSENT_MAX_CATEGORIES], known[CONSENT_MAX_CATEGORIES] = {0};
    int64_t now = app_now_ms();
    int prompt, settings = 0, store_ok = 1;
    char flag[8];
    char *state = NULL;
    cJSON *root, *o, *arr, *state_root = NULL;

    site = handler_site_param(req, res);
    if (site == NULL)
        return;
    handler_cors(req, res, site);
    if (handler_visitor(req, res, site, &v) != 0)
        return;
    if (request_query_param(req->query, "settings", flag, sizeof(flag)) == 0)
        settings = strcmp(flag, "0") != 0;

    decision_make(site, v.j.regime, req->gpc, now / 1000, &d);
    metrics_decision(&req->worker->metrics, v.j.regime->metric_slot, v.j.regime->model);
    log->regime = v.j.regime->id;
    log->gpc = req->gpc;
    if (v.id_from_cookie) {
        int st = store_state(&req->worker->store, v.consent_id, site->id, &state);

        if (st != STORE_OK) {
            store_ok = 0;
            atomic_fetch_add_explicit(&req->worker->metrics.store_errors, 1,
                                      memory_order_relaxed);
        }
        else if (state != NULL &&
                 parse_state(state, site, &stored, choices, known, &state_root) != 0)
            stored.present = 0;
        free(state);
    }
    prompt = decision_prompt(&stored, v.j.regime, site->consent_revision, now,
                             settings);

    lang = handler_language(req, site);

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "site", site->id);
    cJSON_AddStringToObject(root, "consent_id", v.consent_id);
    cJSON_AddBoolToObject(root, "prompt", prompt);
    cJSON_AddStringToObject(root, "store", store_ok ? "ok" : "unavailable");
    o = cJSON_AddObjectToObject(root, "jurisdiction");
    if (v.region[0] != '\0')
        cJSON_AddStringToObject(o, "region", v.region);
    else
        cJSON_AddNullToObject(o, "region");
    cJSON_AddStringToObject(o, "matched", v.j.region[0] ? v.j.region : "default");
    cJSON_AddStringToObject(o, "regime", v.j.regime->id);
    cJSON_AddStringToObject(o, "name", v.j.regime->name);
    cJSON_AddStringToObject(o, "model", rules_model_name(v.j.regime->model));
    cJSON_AddBoolToObject(o, "gpc_binding", rules_gpc_binding(v.j.regime, now / 1000));
    if (v.previewing)
        cJSON_AddBoolToObject(root, "preview", 1);

    o = cJSON_AddObjectToObject(root, "gpc");
    cJSON_AddBoolToObject(o, "received", d.gpc_received);
    cJSON_AddBoolToObject(o, "honoured", d.gpc_received);
    cJSON_AddBoolToObject(o, "binding", d.gpc_binding);
    arr = cJSON_AddArrayToObject(o, "changed");
    for (size_t i = 0; i < site->ncategories; i++)
        if (d.categories[i].gpc_changed)
            cJSON_AddItemToArray(arr, cJSON_CreateString(site->categories[i].id));

    cJSON_AddItemToObject(root, "categories", cJSON_CreateRaw(
        app->categories[site - app->cfg.sites][v.j.regime->model]
                       [d.gpc_received][d.gpc_binding]));

    /* What applies now: the stored choice while it counts (and the visitor
     * is not being asked again), else the defaults; GPC always wins over a
     * stored "on" for sale/sharing. */
    o = cJSON_AddObjectToObject(root, "choices");
    for (size_t i = 0; i < site->ncategories; i++) {
        int on = d.categories[i].on;

        if (stored.present && known[i] && (!prompt || settings))
            on = choices[i];
        if (site->categories[i].necessary)
            on = 1;
        if (req->gpc && site->categories[i].sale_sharing)
            on = 0;
        cJSON_AddBoolToObject(o, site->categories[i].id, on);
    }
    if (stored.present) {
        o = cJSON_AddObjectToObject(root, "stored");
        cJSON_AddItemToObject(o, "receipt_id", cJSON_Duplicate(
            cJSON_GetObjectItemCaseSensitive(state_root, "r"), 0));
        cJSON_AddItemToObject(o, "action", cJSON_Duplicate(
            cJSON_GetObjectItemCaseSensitive(state_root, "a"), 0));
        cJSON_AddItemToObject(o, "banner_version", cJSON_Duplicate(
            cJSON_GetObjectItemCaseSensitive(state_root, "v"), 0));
        cJSON_AddNumberToObject(o, "time_ms", (double)stored.time_ms);
        cJSON_AddNumberToObject(o, "expires_ms", (double)stored.expires_ms);
    } else {
        cJSON_AddNullToObject(root, "stored");
    }
    cJSON_Delete(state_root);

    cJSON_AddStringToObject(root, "language", lang->tag);
    cJSON_AddItemToObject(root, "texts",
                          cJSON_CreateRaw(lang->texts[v.j.regime->model]));
    cJSON_AddStringToObject(root, "texts_sha256",
                            lang->texts_sha256[v.j.regime->model]);
    cJSON_AddStringToObject(root, "banner_version", site->banner_version);
    cJSON_AddNumberToObject(root, "consent_revision", site->consent_revision);
    cJSON_AddStringToObject(root, "policy_url", site->policy_url);
    cJSON_AddNumberToObject(root, "consent_days", v.j.regime->consent_days);
    if (site->consent_mode != NULL)
        cJSON_AddItemToObject(root, "consent_mode", cJSON_CreateRaw(site->consent_mode));

    if (!v.id_from_cookie)
        handler_set_cookie(req, res, v.consent_id, v.j.regime->consent_days);
    response_header(res, "Cache-Control", "no-store");
    response_json(res, 200, root);
}

void handle_health(struct request *req, struct response *res,
                   struct request_log *log)
{
    const struct app *app = req->app;
    struct store *store = &req->worker->store;
    int redis = store_ping(store);
    cJSON *root = cJSON_CreateObject(), *o;

    (void)log;
    cJSON_AddStringToObject(root, "status", redis == STORE_OK ? "ok" : "unavailable");
    o = cJSON_AddObjectToObject(root, "geoip");
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "type", app->geo.mmdb.metadata.database_type);
    cJSON_AddNumberToObject(o, "build_epoch",
                            (double)app->geo.mmdb.metadata.build_epoch);
    o = cJSON_AddObjectToObject(root, "redis");
    cJSON_AddStringToObject(o, "status", redis == STORE_OK ? "ok" : "unavailable");
    if (redis != STORE_OK)
        cJSON_AddStringToObject(o, "reason", store->last_error[0]
                                ? store->last_error : store_strerror(redis));
    cJSON_AddStringToObject(root, "rules_version", app->rules.version);
    cJSON_AddStringToObject(root, "signing_key", app->key.kid);
    response_header(res, "Cache-Control", "no-store");
    response_json(res, redis == STORE_OK ? 200 : 503, root);
}

void handle_keys(struct request *req, struct response *res,
                 struct request_log *log)
{
    (void)log;
    /* Public and stable: anyone may fetch it to verify receipts offline. */
    response_header(res, "Cache-Control", "public, max-age=3600");
    response_header(res, "Access-Control-Allow-Origin", "*");
    response_json(res, 200, receipt_jwks(&req->app->key));
}

void handle_preflight(struct request *req, struct response *res,
                      struct request_log *log)
{
    (void)log;
    response_header(res, "Vary", "Origin");
    if (req->origin == NULL || !config_origin_known(&req->app->cfg, req->origin)) {
        response_error(res, 403, "origin_not_allowed",
                       "this origin is not configured for any site");
        return;
    }
    response_header(res, "Access-Control-Allow-Origin", req->origin);
    response_header(res, "Access-Control-Allow-Credentials", "true");
    response_header(res, "Access-Control-Allow-Methods", "GET, POST, DELETE");
    response_header(res, "Access-Control-Allow-Headers", "Content-Type");
    response_header(res, "Access-Control-Max-Age", "600");
    res->status = 204;
}

void handle_metrics(struct request *req, struct response *res,
                    struct request_log *log)
{
    char *text = app_metrics_text();

    (void)req;
    (void)log;
    if (text == NULL) {
        response_error(res, 503, "out_of_memory", "try again");
        return;
    }
    response_header(res, "Cache-Control", "no-store");
    response_text(res, 200, "text/plain; version=0.0.4", text);
}
