/*
 * handlers.c - the banner decision, health, keys and CORS preflight, and the
 * helpers every handler shares. Each handler checks its input first, answers
 * the error and returns early, and only then does the work.
 */
#include "app.h"
#include "../common/jcheck.h"
#include "../common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The cookie's name: "__Host-" + name where cookies are Secure, so that
 * no sibling subdomain can plant one (browsers refuse a __Host- cookie with
 * a Domain, a Path other than / or without Secure). */
static void cookie_name(const struct app *app, char *out, size_t len)
{
    snprintf(out, len, "%s%s", app->cfg.cookie_secure ? "__Host-" : "",
             app->cfg.cookie_name);
}

int handler_visitor(const struct request *req, struct response *res,
                    const struct config_site *site, struct visitor *v)
{
    const struct app *app = req->app;
    char preview[16], cookie[CONSENT_COOKIE_LEN + 2], name[CONSENT_MAX_COOKIE_NAME + 8];
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

    /* Only a cookie this server issued (its MAC checks) names a consent ID;
     * anything else is ignored, never used as a key. */
    cookie_name(app, name, sizeof(name));
    if (request_cookie(req->cookie, name, cookie, sizeof(cookie)) == 0 &&
        receipt_cookie_id(app->cookie_key, cookie, v->consent_id) == 0) {
        v->id_from_cookie = 1;
        memcpy(v->cookie, cookie, sizeof(v->cookie));   /* renewed on a write */
    }
    return 0;
}

void handler_issue_id(const struct request *req, struct visitor *v)
{
    receipt_cookie_new(req->app->cookie_key, v->cookie);
    receipt_cookie_id(req->app->cookie_key, v->cookie, v->consent_id);
    v->id_from_cookie = 0;
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
                        const char *cookie, int lifetime_days)
{
    char value[256], name[CONSENT_MAX_COOKIE_NAME + 8];

    cookie_name(req->app, name, sizeof(name));
    snprintf(value, sizeof(value), "%s=%s; Max-Age=%ld; Path=/; HttpOnly; "
             "SameSite=Lax%s", name, cookie, (long)lifetime_days * 86400,
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

int handler_count(struct request *req, const struct visitor *v,
                  const struct config_site *site, const char *language,
                  const char *variant, const char *event)
{
    struct tally_where w;
    char country[4];

    if (tally_is_bot(req->user_agent)) {
        atomic_fetch_add_explicit(&req->worker->metrics.bots, 1, memory_order_relaxed);
        return -1;
    }
    /* The region as the rules use it: the subdivision only where a rule
     * names one (US-CA), else the country; "-" when unknown. */
    snprintf(country, sizeof(country), "%s", v->loc.country);
    memset(&w, 0, sizeof(w));
    w.site = site->id;
    w.day = (long)(app_now_ms() / 86400000);
    w.dims[TALLY_REGION] = strchr(v->j.region, '-') != NULL ? v->region : country;
    w.dims[TALLY_REGIME] = v->j.regime->id;
    w.dims[TALLY_VERSION] = site->banner_version;
    w.dims[TALLY_VARIANT] = variant;
    w.dims[TALLY_DEVICE] = tally_device(req->user_agent);
    w.dims[TALLY_LANGUAGE] = language;
    tally_add(&req->worker->tally, &w, event, 1);
    return 0;
}

const struct receipt_context *handler_context(struct request *req,
                                              const unsigned char *ref)
{
    struct worker *w = req->worker;
    struct receipt_context *slot;
    struct store_blob blob;
    char hex[RECEIPT_CTX_HEX];
    const char *refs[1] = {hex};

    sodium_bin2hex(hex, sizeof(hex), ref, RECEIPT_CTX_BYTES);
    for (size_t i = 0; i < WORKER_CONTEXTS; i++)
        if (strcmp(w->contexts[i].ref, hex) == 0)
            return &w->contexts[i];
    if (store_contexts(&w->store, refs, 1, &blob) != STORE_OK || blob.data == NULL)
        return NULL;
    slot = &w->contexts[w->next_context++ % WORKER_CONTEXTS];
    receipt_context_free(slot);
    if (receipt_context_parse(slot, hex, blob.data, blob.len) != RECEIPT_OK)
        slot = NULL;
    store_blob_free(&blob);
    return slot;
}

/* Whether a head's seal verifies with the key set, remembered per worker
 * by a hash of the stored head and consent ID (see struct worker). */
static int seal_verified(struct request *req, const char *consent_id,
                         const struct store_blob *blob, const struct receipt_head *head)
{
    struct worker *w = req->worker;
    unsigned char h[16];
    crypto_generichash_state st;
    unsigned slot;

    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)consent_id, strlen(consent_id));
    crypto_generichash_update(&st, (const unsigned char *)blob->data, blob->len);
    crypto_generichash_final(&st, h, sizeof(h));
    slot = h[0];
    if (w->sealed_by[slot] == req->app && sodium_memcmp(w->sealed[slot], h, sizeof(h)) == 0)
        return 1;
    if (receipt_head_check(head, consent_id, &req->app->keys) != JWS_OK)
        return 0;
    memcpy(w->sealed[slot], h, sizeof(h));
    w->sealed_by[slot] = req->app;
    return 1;
}

/* Logs and counts a stored state the decision will not use. */
static void state_refused(struct request *req, const char *why)
{
    atomic_fetch_add_explicit(&req->worker->metrics.state_mismatch, 1,
                              memory_order_relaxed);
    fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"stored state refused\",\"why\":\"%s\"}\n",
            why);
}

/*
 * The sealed head of a consent ID (blob->data NULL when none is stored):
 * from the process's head cache when it holds one verified under this load
 * and every change the process has heard of is applied (watch_settled: a
 * withdrawal or erasure published before this view began is never missed),
 * *cached set; else from Redis, with *ticket taken before asking so that
 * head_remember() cannot store an answer a change has overtaken. Returns
 * STORE_OK or the store's failure. The caller frees blob.
 */
static int head_read(struct request *req, const char *consent_id, struct store_blob *blob,
                     int *cached, uint64_t *ticket)
{
    struct worker *w = req->worker;
    unsigned char buf[HEADCACHE_MAX_VALUE];
    size_t len;

    *cached = 0;
    *ticket = 0;
    memset(blob, 0, sizeof(*blob));
    if (w->heads != NULL) {
        unsigned long mark = watch_begin(w->watch);

        if (headcache_get(w->heads, consent_id, req->app->generation, clock_mono_ms(), buf,
                          sizeof(buf), &len) == HEADCACHE_OK &&
            watch_settled(w->watch, mark) &&
            (len == 0 || (blob->data = malloc(len + 1)) != NULL)) {
            if (len > 0) {
                memcpy(blob->data, buf, len);
                blob->data[len] = '\0';
                blob->len = len;
            }
            *cached = 1;
            return STORE_OK;
        }
        *ticket = headcache_ticket(w->heads, consent_id);
    }
    return store_head(&w->store, consent_id, blob);
}

/* Keeps a head whose seal verified (or the absence of one) for later views. */
static void head_remember(struct request *req, const char *consent_id,
                          const struct store_blob *blob, uint64_t ticket)
{
    if (req->worker->heads != NULL)
        headcache_put(req->worker->heads, consent_id, ticket, req->app->generation,
                      clock_mono_ms(), blob->data, blob->len);
}

/* The decision's "gpp" (the string of the choices that apply now, or null
 * where the region has no GPP section), "gpp_sid", "gpp_version" (the CMP
 * API version the page API reports) and "gpp_ping" (what the __gpp page
 * API answers, decision_gpp_ping): README, GPP strings. */
static void add_gpp(cJSON *root, const struct config *cfg, const struct config_site *site,
                    int sid, int gpc, const int *on)
{
    char gpp[GPP_MAX_STRING + 1];
    cJSON *ids, *ping;

    if (decision_gpp(site, sid, gpc, on, gpp, sizeof(gpp)) == 0) {
        cJSON_AddStringToObject(root, "gpp", gpp);
        ids = cJSON_AddArrayToObject(root, "gpp_sid");
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(sid));
        ping = decision_gpp_ping(gpp, sid, cfg->gpp_cmp_id);
    } else {
        cJSON_AddNullToObject(root, "gpp");
        cJSON_AddArrayToObject(root, "gpp_sid");
        ping = decision_gpp_ping(NULL, 0, cfg->gpp_cmp_id);
    }
    cJSON_AddStringToObject(root, "gpp_version", GPP_CMP_API_VERSION);
    cJSON_AddItemToObject(root, "gpp_ping", ping != NULL ? ping : cJSON_CreateNull());
}

/*
 * The visitor's state for site from the sealed head: used only when the
 * seal verifies with a key of the set, the site's state names a context
 * that hashes to its reference and belongs to this site. Then every
 * category is mapped by id (a category the site added since is unknown).
 * Returns 0 (stored->present says whether there is a state) or -1 when
 * Redis could not be asked.
 */
static int visitor_state(struct request *req, const struct config_site *site,
                         const struct visitor *v, struct decision_stored *stored,
                         int *choices, int *known, struct receipt_state *state)
{
    const struct receipt_state *s;
    const struct receipt_context *ctx;
    /* on the stack: a 1.3 KB malloc per view made glibc consolidate its
     * fast bins every time */
    struct receipt_head head_s, *head = &head_s;
    struct store_blob blob;
    const char *model;
    uint64_t ticket;
    int st, cached;

    memset(stored, 0, sizeof(*stored));
    st = head_read(req, v->consent_id, &blob, &cached, &ticket);
    if (st != STORE_OK || blob.data == NULL) {
        if (st == STORE_OK && !cached)
            head_remember(req, v->consent_id, &blob, ticket);
        return st == STORE_OK ? 0 : -1;
    }
    if (receipt_head_decode((const unsigned char *)blob.data, blob.len, head) != RECEIPT_OK)
        state_refused(req, "malformed head");
    else if (!cached && !seal_verified(req, v->consent_id, &blob, head))
        state_refused(req, "head seal does not verify");
    else {
        if (!cached)
            head_remember(req, v->consent_id, &blob, ticket);
        if ((s = receipt_head_site(head, site->id)) != NULL) {
            ctx = handler_context(req, s->ctx);
            model = ctx != NULL ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(ctx->tree, "banner"), "model")) : NULL;
            if (ctx == NULL || model == NULL ||
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx->tree, "site"))
                       ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx->tree, "site"))
                       : "", site->id) != 0 ||
                rules_model_parse(model, &stored->model) != 0) {
                state_refused(req, "state context missing or altered");
            } else {
                stored->present = 1;
                stored->time_ms = s->time_ms;
                stored->expires_ms = s->time_ms + (int64_t)ctx->consent_days * 86400000;
                stored->revision = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(ctx->tree, "banner"), "consent_revision"));
                stored->opted_out = s->opted_out;
                for (size_t i = 0; i < site->ncategories; i++) {
                    int k = receipt_context_category(ctx, site->categories[i].id);

                    known[i] = k >= 0;
                    choices[i] = k >= 0 && ((s->choices >> k) & 1);
                }
                *state = *s;
            }
        }
    }
    store_blob_free(&blob);
    return 0;
}

/* An integer member, printed once with %lld: cJSON prints every number
 * with sprintf and reads it back with sscanf to check the round trip, a
 * measurable part of a decision. */
static void add_int(cJSON *o, const char *name, long long v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%lld", v);
    cJSON_AddRawToObject(o, name, buf);
}

static void add_stored(cJSON *root, const struct decision_stored *stored,
                       const struct receipt_state *s, const struct config_site *site,
                       const char *consent_id)
{
    char uuid[RECEIPT_UUID_LEN + 1];
    unsigned char id[16];
    cJSON *o;

    if (!stored->present) {
        cJSON_AddNullToObject(root, "stored");
        return;
    }
    receipt_id_of(consent_id, s->seq, id);
    receipt_uuid_text(id, uuid);
    o = cJSON_AddObjectToObject(root, "stored");
    cJSON_AddStringToObject(o, "receipt_id", uuid);
    add_int(o, "seq", (long long)s->seq);
    cJSON_AddStringToObject(o, "action", receipt_action_names[s->action]);
    cJSON_AddStringToObject(o, "banner_version", site->banner_version);
    add_int(o, "time_ms", (long long)stored->time_ms);
    add_int(o, "expires_ms", (long long)stored->expires_ms);
}

void handle_banner(struct request *req, struct response *res,
                   struct request_log *log)
{
    const struct app *app = req->app;
    const struct config_site *site;
    struct visitor v;
    struct decision d;
    struct decision_stored stored = {0};
    struct receipt_state state = {0};
    const struct config_language *lang;
    int choices[CONSENT_MAX_CATEGORIES], known[CONSENT_MAX_CATEGORIES] = {0};
    int applied[CONSENT_MAX_CATEGORIES], honoured;
    int64_t now = app_now_ms();
    int prompt, settings = 0, store_ok = 1, variant = -1, st;
    char flag[8];
    const char *variant_id = NULL;
    cJSON *root, *o, *arr;

    site = handler_site_param(req, res);
    if (site == NULL)
        return;
    handler_cors(req, res, site);
    if (handler_visitor(req, res, site, &v) != 0)
        return;
    if (request_query_param(req->query, "settings", flag, sizeof(flag)) == 0)
        settings = strcmp(flag, "0") != 0;
    /* The experiment: the script's stable bucket (0-99, kept in the
     * browser's storage, shared by a hundredth of all visitors, never
     * stored here) picks the variant by the weights. Without a bucket, or
     * on a site without variants, the site's own banner. */
    if (site->nvariants > 0 && (st = request_query_param(req->query, "bucket", flag,
                                                         sizeof(flag))) != 1) {
        char *end = NULL;
        long b = st == 0 ? strtol(flag, &end, 10) : -1;

        if (st != 0 || flag[0] == '\0' || *end != '\0' || b < 0 ||
            b >= CONSENT_VARIANT_BUCKETS) {
            response_error(res, 400, "invalid_parameter", "\"bucket\" must be 0-99");
            return;
        }
        variant = config_variant_of_bucket(site, (int)b);
        variant_id = site->variants[variant].id;
    }

    decision_make(site, v.j.regime, req->gpc, now / 1000, &d);
    metrics_decision(&req->worker->metrics, v.j.regime->metric_slot, v.j.regime->model);
    log->regime = v.j.regime->id;
    log->gpc = req->gpc;
    if (v.id_from_cookie &&
        visitor_state(req, site, &v, &stored, choices, known, &state) != 0) {
        store_ok = 0;
        atomic_fetch_add_explicit(&req->worker->metrics.store_errors, 1,
                                  memory_order_relaxed);
    }
    prompt = decision_prompt(&stored, v.j.regime, site->consent_revision, now,
                             settings);

    lang = handler_language(req, site);
    if (variant >= 0)   /* the same language, in the variant's texts */
        lang = &site->variants[variant].languages[lang - site->languages];

    /* Analytics: a prompt is a banner the script shows (see the README's
     * privacy section); previews are never counted. */
    if (!v.previewing && settings) {
        if (handler_count(req, &v, site, lang->tag, variant_id, TALLY_SETTINGS) == 0)
            atomic_fetch_add_explicit(&req->worker->metrics.settings_opened, 1,
                                      memory_order_relaxed);
    } else if (!v.previewing && prompt &&
               handler_count(req, &v, site, lang->tag, variant_id, TALLY_SHOWN) == 0) {
        atomic_fetch_add_explicit(&req->worker->metrics.banners_shown, 1,
                                  memory_order_relaxed);
        if (req->gpc)
            handler_count(req, &v, site, lang->tag, variant_id, TALLY_SHOWN_GPC);
    }

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "site", site->id);
    if (v.id_from_cookie)
        cJSON_AddStringToObject(root, "consent_id", v.consent_id);
    else
        cJSON_AddNullToObject(root, "consent_id");
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
    /* In a preview, what the script says on the banner and after a choice
     * (the server refuses the write: 403 preview_not_recorded). */
    if (v.previewing)
        cJSON_AddStringToObject(root, "preview", "Preview: choices made here are not recorded.");

    /* What applies now: the stored choice while it counts (and the visitor
     * is not being asked again), else the defaults (decision_apply). */
    honoured = decision_apply(site, &d, choices, known,
                              stored.present && (!prompt || settings), applied);
    o = cJSON_AddObjectToObject(root, "gpc");
    cJSON_AddBoolToObject(o, "received", d.gpc_received);
    cJSON_AddBoolToObject(o, "honoured", honoured);
    cJSON_AddBoolToObject(o, "binding", d.gpc_binding);
    arr = cJSON_AddArrayToObject(o, "changed");
    for (size_t i = 0; i < site->ncategories; i++)
        if (d.categories[i].gpc_changed)
            cJSON_AddItemToArray(arr, cJSON_CreateString(site->categories[i].id));

    cJSON_AddItemToObject(root, "categories", cJSON_CreateRaw(
        app->categories[site - app->cfg.sites][v.j.regime->model]
                       [d.gpc_received][d.gpc_binding]));

    o = cJSON_AddObjectToObject(root, "choices");
    for (size_t i = 0; i < site->ncategories; i++)
        cJSON_AddBoolToObject(o, site->categories[i].id, applied[i]);
    add_gpp(root, &app->cfg, site, v.j.gpp_sid, d.gpc_received, applied);
    add_stored(root, &stored, &state, site, v.consent_id);

    cJSON_AddStringToObject(root, "language", lang->tag);
    cJSON_AddStringToObject(root, "dir", lang->rtl ? "rtl" : "ltr");
    cJSON_AddItemToObject(root, "texts",
                          cJSON_CreateRaw(lang->texts[v.j.regime->model]));
    cJSON_AddStringToObject(root, "texts_sha256",
                            lang->texts_sha256[v.j.regime->model]);
    cJSON_AddStringToObject(root, "banner_version", site->banner_version);
    if (variant >= 0) {
        cJSON_AddStringToObject(root, "variant", variant_id);
        if (site->variants[variant].layout[0] != '\0')
            cJSON_AddStringToObject(root, "layout", site->variants[variant].layout);
    }
    add_int(root, "consent_revision", site->consent_revision);
    cJSON_AddStringToObject(root, "policy_url", site->policy_url);
    add_int(root, "consent_days", v.j.regime->consent_days);
    if (site->consent_mode != NULL)
        cJSON_AddItemToObject(root, "consent_mode", cJSON_CreateRaw(site->consent_mode));
    /* What the script deletes when a category is refused (declaration.h). */
    if (site->cleanup != NULL)
        cJSON_AddItemToObject(root, "cleanup", cJSON_CreateRaw(site->cleanup));
    if (site->signals != NULL)
        cJSON_AddItemToObject(root, "signals", cJSON_CreateRaw(site->signals));

    /* No cookie here: nothing identifying is set before the visitor
     * chooses; the first receipt write issues the consent ID. */
    response_header(res, "Cache-Control", "no-store");
    response_json(res, 200, root);
}

/* geoip.files: each file's type, build time and the address families it
 * answers, so an operator sees that both files of a list are in use. */
static void add_geoip_files(cJSON *geoip, const struct geo *g)
{
    cJSON *files = cJSON_AddArrayToObject(geoip, "files");

    for (size_t i = 0; files != NULL && i < g->nfiles; i++) {
        cJSON *f = cJSON_CreateObject(), *fam;

        if (f == NULL || !cJSON_AddItemToArray(files, f)) {
            cJSON_Delete(f);
            return;
        }
        cJSON_AddStringToObject(f, "type", g->files[i].mmdb.metadata.database_type);
        cJSON_AddNumberToObject(f, "build_epoch",
                                (double)g->files[i].mmdb.metadata.build_epoch);
        fam = cJSON_AddArrayToObject(f, "families");
        if (fam != NULL && g->ipv4_file == (int)i)
            cJSON_AddItemToArray(fam, cJSON_CreateString("ipv4"));
        if (fam != NULL && g->ipv6_file == (int)i)
            cJSON_AddItemToArray(fam, cJSON_CreateString("ipv6"));
    }
}

/*
 * Health. Anyone gets the status alone, {"status": "ok"} 200 or
 * {"status": "unavailable"} 503: what a load balancer or an uptime check
 * needs. The details (GeoIP files, Redis topology, the primary's address,
 * Redis's error text, rules version, key ID) describe the inside of the
 * deployment, so, like a service's admin interface, they are answered only
 * on the machine nginx runs on: REMOTE_ADDR loopback. nginx's realip
 * decides REMOTE_ADDR, as it does for the snippet's allow lists (README,
 * "Behind a load balancer").
 */
void handle_health(struct request *req, struct response *res,
                   struct request_log *log)
{
    const struct app *app = req->app;
    struct store *store = &req->worker->store;
    int redis = store_ping(store);
    cJSON *root = cJSON_CreateObject(), *o;

    (void)log;
    cJSON_AddStringToObject(root, "status", redis == STORE_OK ? "ok" : "unavailable");
    response_header(res, "Cache-Control", "no-store");
    if (!request_is_loopback(req->remote_addr)) {
        response_json(res, redis == STORE_OK ? 200 : 503, root);
        return;
    }
    o = cJSON_AddObjectToObject(root, "geoip");
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "type", app->geo.files[0].mmdb.metadata.database_type);
    cJSON_AddNumberToObject(o, "build_epoch",
                            (double)app->geo.files[0].mmdb.metadata.build_epoch);
    add_geoip_files(o, &app->geo);
    o = cJSON_AddObjectToObject(root, "redis");
    cJSON_AddStringToObject(o, "status", redis == STORE_OK ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "topology", store_topology_name(store->opt.topology));
    if (redis == STORE_OK) {
        char where[STORE_MAX_ADDRESS + 16];

        store_where(store, where, sizeof(where));
        cJSON_AddStringToObject(o, "primary", where);
    }
    if (store->opt.min_replicas_acked > 0)
        cJSON_AddNumberToObject(o, "min_replicas_acked", store->opt.min_replicas_acked);
    if (redis != STORE_OK)
        cJSON_AddStringToObject(o, "reason", store->last_error[0]
                                ? store->last_error : store_strerror(redis));
    {
        char where[STORE_MAX_ADDRESS];
        unsigned long hits, misses;
        size_t entries;
        int on = app_head_cache(where, sizeof(where), &hits, &misses, &entries);

        o = cJSON_AddObjectToObject(root, "head_cache");
        cJSON_AddStringToObject(o, "status", on > 0 ? "on" : on == 0 ? "off" : "disabled");
        if (on >= 0) {
            if (on > 0)
                cJSON_AddStringToObject(o, "watching", where);
            cJSON_AddNumberToObject(o, "entries", (double)entries);
            cJSON_AddNumberToObject(o, "hits", (double)hits);
            cJSON_AddNumberToObject(o, "misses", (double)misses);
        }
    }
    cJSON_AddStringToObject(root, "rules_version", app->rules.version);
    cJSON_AddStringToObject(root, "signing_key", app->keys.current.kid);
    response_json(res, redis == STORE_OK ? 200 : 503, root);
}

void handle_keys(struct request *req, struct response *res,
                 struct request_log *log)
{
    (void)log;
    /* Public and stable: anyone may fetch it to verify receipts offline. */
    response_header(res, "Cache-Control", "public, max-age=3600");
    response_header(res, "Access-Control-Allow-Origin", "*");
    response_json(res, 200, jws_keyset_jwks(&req->app->keys));
}

/*
 * The site's cookie declaration in the visitor's language, printed at
 * load. The same for everyone who speaks that language and holding
 * nothing personal, so any cache may keep it; the ETag lets a browser
 * revalidate it with a 304 instead of the body.
 */
void handle_declaration(struct request *req, struct response *res,
                        struct request_log *log)
{
    const struct config_site *site;
    const struct config_language *lang;
    char *text;

    (void)log;
    site = handler_site_param(req, res);
    if (site == NULL)
        return;
    lang = handler_language(req, site);
    response_header(res, "Cache-Control", "public, max-age=3600");
    response_header(res, "Vary", "Accept-Language");
    response_header(res, "ETag", lang->declaration_etag);
    response_header(res, "Access-Control-Allow-Origin", "*");
    if (request_etag_match(req->if_none_match, lang->declaration_etag)) {
        res->status = 304;
        return;
    }
    text = strdup(lang->declaration);
    if (text == NULL) {
        response_error(res, 503, "out_of_memory", "try again");
        return;
    }
    response_text(res, 200, "application/json", text);
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
