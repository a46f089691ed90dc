/*
 * handlers.c - the HTTP endpoints. Each handler checks its input first,
 * answers the error and returns early, and only then does the work.
 */
#include "app.h"
#include "decision.h"
#include "jcheck.h"

#include <stdio.h>
#include <string.h>

/* CORS for a site's own configured origins only; credentials allowed since
 * the consent cookie must travel with cross-origin calls. */
static void cors(const struct request *req, struct response *res,
                 const struct config_site *site)
{
    response_header(res, "Vary", "Origin");
    if (req->origin != NULL && site != NULL &&
        config_origin_allowed(site, req->origin)) {
        response_header(res, "Access-Control-Allow-Origin", req->origin);
        response_header(res, "Access-Control-Allow-Credentials", "true");
    }
}

/* Reads ?site=, answering 400/404 itself. NULL when it answered. */
static const struct config_site *site_param(const struct request *req,
                                            struct response *res,
                                            const char *query)
{
    char id[CONSENT_MAX_SITE_ID_LEN + 2];
    const struct config_site *site;
    int st = request_query_param(query, "site", id, sizeof(id));

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

void handle_banner(struct request *req, struct response *res,
                   struct request_log *log)
{
    const struct app *app = req->app;
    const struct config_site *site;
    struct geo_location loc;
    struct jurisdiction j;
    struct decision d;
    const char *tags[CONSENT_MAX_LANGUAGES];
    const struct config_language *lang;
    char preview[16], region[RULES_REGION_LEN];
    int st, previewing = 0;
    cJSON *root, *o, *arr;

    site = site_param(req, res, req->query);
    if (site == NULL)
        return;
    cors(req, res, site);

    st = request_query_param(req->query, "preview", preview, sizeof(preview));
    if (st == 0) {
        if (!site->preview) {
            response_error(res, 403, "preview_disabled",
                           "this site does not allow region previews");
            return;
        }
        if (split_region(preview, loc.country, loc.subdivision) != 0) {
            response_error(res, 400, "invalid_parameter",
                           "\"preview\" must be a region like \"DE\" or \"US-CA\"");
            return;
        }
        previewing = 1;
    } else if (st < 0) {
        response_error(res, 400, "invalid_parameter",
                       "\"preview\" must be a region like \"DE\" or \"US-CA\"");
        return;
    } else {
        geo_lookup(&app->geo, req->remote_addr, &loc);
    }

    rules_match(&app->rules, loc.country, loc.subdivision, &j);
    decision_make(site, j.regime, req->gpc, app_now(), &d);
    for (size_t i = 0; i < site->nlanguages; i++)
        tags[i] = site->languages[i].tag;
    lang = &site->languages[request_negotiate_language(
        req->accept_language, tags, site->nlanguages)];
    log->regime = j.regime->id;
    log->gpc = req->gpc;

    if (loc.country[0] == '\0')
        region[0] = '\0';
    else if (loc.subdivision[0] == '\0')
        snprintf(region, sizeof(region), "%s", loc.country);
    else
        snprintf(region, sizeof(region), "%s-%s", loc.country, loc.subdivision);

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "site", site->id);
    o = cJSON_AddObjectToObject(root, "jurisdiction");
    if (region[0] != '\0')
        cJSON_AddStringToObject(o, "region", region);
    else
        cJSON_AddNullToObject(o, "region");
    cJSON_AddStringToObject(o, "matched", j.region[0] ? j.region : "default");
    cJSON_AddStringToObject(o, "regime", j.regime->id);
    cJSON_AddStringToObject(o, "name", j.regime->name);
    cJSON_AddStringToObject(o, "model", rules_model_name(j.regime->model));
    cJSON_AddBoolToObject(o, "gpc_binding", rules_gpc_binding(j.regime, app_now()));
    if (previewing)
        cJSON_AddBoolToObject(root, "preview", 1);

    o = cJSON_AddObjectToObject(root, "gpc");
    cJSON_AddBoolToObject(o, "received", d.gpc_received);
    cJSON_AddBoolToObject(o, "honoured", d.gpc_received);
    cJSON_AddBoolToObject(o, "binding", d.gpc_binding);
    arr = cJSON_AddArrayToObject(o, "changed");
    for (size_t i = 0; i < site->ncategories; i++)
        if (d.categories[i].gpc_changed)
            cJSON_AddItemToArray(arr, cJSON_CreateString(site->categories[i].id));

    arr = cJSON_AddArrayToObject(root, "categories");
    for (size_t i = 0; i < site->ncategories; i++) {
        cJSON *c = cJSON_CreateObject();
        const char *lock = decision_lock_name(d.categories[i].lock);

        cJSON_AddStringToObject(c, "id", site->categories[i].id);
        cJSON_AddBoolToObject(c, "default", d.categories[i].on);
        cJSON_AddBoolToObject(c, "changeable", lock == NULL);
        if (lock != NULL)
            cJSON_AddStringToObject(c, "locked", lock);
        cJSON_AddBoolToObject(c, "sale_sharing", site->categories[i].sale_sharing);
        cJSON_AddItemToArray(arr, c);
    }

    cJSON_AddStringToObject(root, "language", lang->tag);
    cJSON_AddItemToObject(root, "texts",
                          cJSON_CreateRaw(lang->texts[j.regime->model]));
    cJSON_AddStringToObject(root, "texts_sha256",
                            lang->texts_sha256[j.regime->model]);
    cJSON_AddStringToObject(root, "banner_version", site->banner_version);
    cJSON_AddStringToObject(root, "policy_url", site->policy_url);
    cJSON_AddNumberToObject(root, "consent_days", j.regime->consent_days);

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
    response_header(res, "Cache-Control", "no-store");
    response_json(res, redis == STORE_OK ? 200 : 503, root);
}
