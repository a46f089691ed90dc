/*
 * handlers.c - the banner decision, health, keys, the cookie declaration,
 * the CORS preflight and the metrics. Each handler checks what
 * request_parse parsed first, answers the error and returns early, and
 * only then decides, reads the store and answers.
 */
#include "app.h"
#include "context.h"
#include "decision.h"
#include "reply.h"
#include "router.h"
#include "visitor.h"
#include "../common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A receipt context by reference, from the worker's cache or Redis (NULL
 * when missing or altered: each is checked against its reference). */
static const struct receipt_context *cached_context(struct request *req,
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

/* The stored choice and what the decision needs of it (read_stored_choice). */
struct stored_choice {
    struct decision_stored stored;          /* stored.present: there is one */
    int choices[CONSENT_MAX_CATEGORIES];    /* by the site's categories now */
    int known[CONSENT_MAX_CATEGORIES];      /* 0: added since the choice */
    struct receipt_state state;             /* the head's state of the site */
};

/*
 * The site's state s of a verified head into c, read through its context
 * (context.h): used only when the context hashes to its reference and is
 * this site's. Every category is mapped by id (a category the site added
 * since is unknown).
 */
static void state_of_site(struct request *req, const struct config_site *site,
                       const struct receipt_state *s, struct stored_choice *c)
{
    const struct receipt_context *ctx = cached_context(req, s->ctx);
    struct context_state cs;

    if (ctx == NULL || context_read(ctx->tree, site->id, &cs) != CONTEXT_OK) {
        state_refused(req, "state context missing or altered");
        return;
    }
    c->stored.present = 1;
    c->stored.model = cs.model;
    c->stored.revision = cs.consent_revision;
    c->stored.time_ms = s->time_ms;
    c->stored.expires_ms = s->time_ms + (int64_t)ctx->consent_days * 86400000;
    c->stored.opted_out = s->opted_out;
    for (size_t i = 0; i < site->ncategories; i++) {
        int k = receipt_context_category(ctx, site->categories[i].id);

        c->known[i] = k >= 0;
        c->choices[i] = k >= 0 && ((s->choices >> k) & 1);
    }
    c->state = *s;
}

/*
 * The visitor's stored choice for site from the sealed head: used only
 * when the seal verifies with a key of the set (state_of_site checks the
 * rest). Returns 0 (c->stored.present says whether there is one) or -1
 * when Redis could not be asked.
 */
static int read_stored_choice(struct request *req, const struct config_site *site,
                         const struct visitor *v, struct stored_choice *c)
{
    const struct receipt_state *s;
    /* on the stack: a 1.3 KB malloc per view made glibc consolidate its
     * fast bins every time */
    struct receipt_head head;
    struct store_blob blob;
    uint64_t ticket;
    int st, cached;

    memset(c, 0, sizeof(*c));
    st = head_read(req, v->consent_id, &blob, &cached, &ticket);
    if (st != STORE_OK || blob.data == NULL) {
        if (st == STORE_OK && !cached)
            head_remember(req, v->consent_id, &blob, ticket);
        return st == STORE_OK ? 0 : -1;
    }
    if (receipt_head_decode((const unsigned char *)blob.data, blob.len, &head) != RECEIPT_OK) {
        state_refused(req, "malformed head");
    } else if (!cached && !seal_verified(req, v->consent_id, &blob, &head)) {
        state_refused(req, "head seal does not verify");
    } else {
        if (!cached)
            head_remember(req, v->consent_id, &blob, ticket);
        if ((s = receipt_head_site(&head, site->id)) != NULL)
            state_of_site(req, site, s, c);
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

/* Everything the banner answer is built from, decided before it is built. */
struct banner {
    const struct config_site *site;
    struct visitor v;
    struct decision d;
    struct stored_choice c;
    const struct config_language *lang;     /* in the variant's texts, if any */
    int applied[CONSENT_MAX_CATEGORIES];    /* what applies now */
    int honoured;                           /* GPC honoured by what applies */
    int prompt, settings, store_ok;
    int variant;                            /* -1: the site's own banner */
    const char *variant_id;
    int64_t now;
};

/*
 * The experiment: the script's stable bucket (0-99, kept in the browser's
 * storage, shared by a hundredth of all visitors, never stored here) picks
 * the variant by the weights. Without a bucket, or on a site without
 * variants, the site's own banner. -1 for a bad bucket.
 */
static int pick_variant(const struct request *req, struct banner *b)
{
    const struct request_param *bucket = &req->q.bucket;

    b->variant = -1;
    b->variant_id = NULL;
    if (b->site->nvariants == 0 || bucket->state == REQUEST_PARAM_ABSENT)
        return 0;
    if (!bucket->is_number || bucket->number < 0 || bucket->number >= CONSENT_VARIANT_BUCKETS)
        return -1;
    b->variant = config_variant_of_bucket(b->site, (int)bucket->number);
    b->variant_id = b->site->variants[b->variant].id;
    return 0;
}

/* The decision: the regime's defaults, the stored choice (read from the
 * store), whether to ask, the language and what applies now. */
static void decide_banner(struct request *req, struct request_log *log, struct banner *b)
{
    const struct regime *g = b->v.j.regime;

    decision_make(b->site, g, req->gpc, b->now / 1000, &b->d);
    metrics_decision(&req->worker->metrics, g->metric_slot, g->model);
    log->regime = g->id;
    log->gpc = req->gpc;
    b->store_ok = 1;
    memset(&b->c, 0, sizeof(b->c));
    if (b->v.id_from_cookie && read_stored_choice(req, b->site, &b->v, &b->c) != 0) {
        b->store_ok = 0;
        atomic_fetch_add_explicit(&req->worker->metrics.store_errors, 1,
                                  memory_order_relaxed);
    }
    b->prompt = decision_prompt(&b->c.stored, g, b->site->consent_revision, b->now,
                                b->settings);
    b->lang = visitor_language(req, b->site);
    if (b->variant >= 0)   /* the same language, in the variant's texts */
        b->lang = &b->site->variants[b->variant].languages[b->lang - b->site->languages];
    /* What applies now: the stored choice while it counts (and the visitor
     * is not being asked again), else the defaults (decision_apply). */
    b->honoured = decision_apply(b->site, &b->d, b->c.choices, b->c.known,
                                 b->c.stored.present && (!b->prompt || b->settings),
                                 b->applied);
}

/* Analytics: a prompt is a banner the script shows (see the README's
 * privacy section); previews are never counted. */
static void count_banner(struct request *req, const struct banner *b)
{
    struct metrics *m = &req->worker->metrics;
    const char *tag = b->lang->tag;

    if (b->v.previewing)
        return;
    if (b->settings) {
        if (visitor_count(req, &b->v, b->site, tag, b->variant_id, TALLY_SETTINGS) == 0)
            atomic_fetch_add_explicit(&m->settings_opened, 1, memory_order_relaxed);
    } else if (b->prompt &&
               visitor_count(req, &b->v, b->site, tag, b->variant_id, TALLY_SHOWN) == 0) {
        atomic_fetch_add_explicit(&m->banners_shown, 1, memory_order_relaxed);
        if (req->gpc)
            visitor_count(req, &b->v, b->site, tag, b->variant_id, TALLY_SHOWN_GPC);
    }
}

/* "jurisdiction": where the visitor is and the regime that applies. */
static void add_jurisdiction(cJSON *root, const struct banner *b)
{
    const struct visitor *v = &b->v;
    cJSON *o = cJSON_AddObjectToObject(root, "jurisdiction");

    if (v->region[0] != '\0')
        cJSON_AddStringToObject(o, "region", v->region);
    else
        cJSON_AddNullToObject(o, "region");
    cJSON_AddStringToObject(o, "matched", v->j.region[0] ? v->j.region : "default");
    cJSON_AddStringToObject(o, "regime", v->j.regime->id);
    cJSON_AddStringToObject(o, "name", v->j.regime->name);
    cJSON_AddStringToObject(o, "model", rules_model_name(v->j.regime->model));
    cJSON_AddBoolToObject(o, "gpc_binding", rules_gpc_binding(v->j.regime, b->now / 1000));
}

/* "gpc", "categories" and "choices": the signal, the categories as the
 * decision presents them (printed at load), and what applies now. */
static void add_choices(cJSON *root, const struct app *app, const struct banner *b)
{
    const struct config_site *site = b->site;
    cJSON *o = cJSON_AddObjectToObject(root, "gpc"), *arr;

    cJSON_AddBoolToObject(o, "received", b->d.gpc_received);
    cJSON_AddBoolToObject(o, "honoured", b->honoured);
    cJSON_AddBoolToObject(o, "binding", b->d.gpc_binding);
    arr = cJSON_AddArrayToObject(o, "changed");
    for (size_t i = 0; i < site->ncategories; i++)
        if (b->d.categories[i].gpc_changed)
            cJSON_AddItemToArray(arr, cJSON_CreateString(site->categories[i].id));
    cJSON_AddItemToObject(root, "categories", cJSON_CreateRaw(
        app->categories[site - app->cfg.sites][b->v.j.regime->model]
                       [b->d.gpc_received][b->d.gpc_binding]));
    o = cJSON_AddObjectToObject(root, "choices");
    for (size_t i = 0; i < site->ncategories; i++)
        cJSON_AddBoolToObject(o, site->categories[i].id, b->applied[i]);
}

/* The banner itself: language, texts, version, variant, the site's policy,
 * and what the script does with the choice (consent mode, clean-up, signals). */
static void add_texts(cJSON *root, const struct banner *b)
{
    const struct config_site *site = b->site;
    enum consent_model model = b->v.j.regime->model;

    cJSON_AddStringToObject(root, "language", b->lang->tag);
    cJSON_AddStringToObject(root, "dir", b->lang->rtl ? "rtl" : "ltr");
    cJSON_AddItemToObject(root, "texts", cJSON_CreateRaw(b->lang->texts[model]));
    cJSON_AddStringToObject(root, "texts_sha256", b->lang->texts_sha256[model]);
    cJSON_AddStringToObject(root, "banner_version", site->banner_version);
    if (b->variant >= 0) {
        cJSON_AddStringToObject(root, "variant", b->variant_id);
        if (site->variants[b->variant].layout[0] != '\0')
            cJSON_AddStringToObject(root, "layout", site->variants[b->variant].layout);
    }
    add_int(root, "consent_revision", site->consent_revision);
    cJSON_AddStringToObject(root, "policy_url", site->policy_url);
    add_int(root, "consent_days", b->v.j.regime->consent_days);
    if (site->consent_mode != NULL)
        cJSON_AddItemToObject(root, "consent_mode", cJSON_CreateRaw(site->consent_mode));
    /* What the script deletes when a category is refused (declaration.h). */
    if (site->cleanup != NULL)
        cJSON_AddItemToObject(root, "cleanup", cJSON_CreateRaw(site->cleanup));
    if (site->signals != NULL)
        cJSON_AddItemToObject(root, "signals", cJSON_CreateRaw(site->signals));
}

/* The banner answer (README, GET /consent/v1/banner), in its key order. */
static cJSON *banner_json(const struct app *app, const struct banner *b)
{
    cJSON *root = cJSON_CreateObject();

    cJSON_AddStringToObject(root, "site", b->site->id);
    if (b->v.id_from_cookie)
        cJSON_AddStringToObject(root, "consent_id", b->v.consent_id);
    else
        cJSON_AddNullToObject(root, "consent_id");
    cJSON_AddBoolToObject(root, "prompt", b->prompt);
    cJSON_AddStringToObject(root, "store", b->store_ok ? "ok" : "unavailable");
    add_jurisdiction(root, b);
    /* In a preview, what the script says on the banner and after a choice
     * (the server refuses the write: 403 preview_not_recorded). */
    if (b->v.previewing)
        cJSON_AddStringToObject(root, "preview", "Preview: choices made here are not recorded.");
    add_choices(root, app, b);
    add_gpp(root, &app->cfg, b->site, b->v.j.gpp_sid, b->d.gpc_received, b->applied);
    add_stored(root, &b->c.stored, &b->c.state, b->site, b->v.consent_id);
    add_texts(root, b);
    return root;
}

void handle_banner(struct request *req, struct response *res,
                   struct request_log *log)
{
    /* about 2 KB: the banner answer is built from it */
    struct banner b;
    enum visitor_status st;

    memset(&b, 0, sizeof(b));
    st = visitor_site(req, &b.site);
    if (st != VISITOR_OK) {
        visitor_answer(res, st);
        return;
    }
    reply_cors(req, res, req->origin != NULL && config_origin_allowed(b.site, req->origin));
    st = visitor_make(req, b.site, &b.v);
    if (st != VISITOR_OK) {
        visitor_answer(res, st);
        return;
    }
    b.settings = req->q.settings_open;
    if (pick_variant(req, &b) != 0) {
        response_error(res, 400, "invalid_parameter", "\"bucket\" must be 0-99");
        return;
    }
    b.now = app_now_ms();
    decide_banner(req, log, &b);
    count_banner(req, &b);
    /* No cookie here: nothing identifying is set before the visitor
     * chooses; the first receipt write issues the consent ID. */
    response_header(res, "Cache-Control", "no-store");
    response_json(res, 200, banner_json(req->app, &b));
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
    reply_public(res);
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
    enum visitor_status st;
    char *text;

    (void)log;
    st = visitor_site(req, &site);
    if (st != VISITOR_OK) {
        visitor_answer(res, st);
        return;
    }
    lang = visitor_language(req, site);
    reply_public(res);
    response_header(res, "Vary", "Accept-Language");
    response_header(res, "ETag", lang->declaration_etag);
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
    int known = req->origin != NULL && config_origin_known(&req->app->cfg, req->origin);

    (void)log;
    reply_cors(req, res, known);
    if (!known) {
        response_error(res, 403, "origin_not_allowed",
                       "this origin is not configured for any site");
        return;
    }
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
