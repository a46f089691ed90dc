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
#include "context.h"
#include "decision.h"
#include "history.h"
#include "reply.h"
#include "router.h"
#include "visitor.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORD_MAX_TRIES 32     /* re-chain after a concurrent write */
#define STORE_BUSY_LOCAL 100    /* write_receipt: gave up after RECORD_MAX_TRIES */

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

/* Opted out of sale/sharing: refused everything, withdrew, or left every
 * sale/sharing category off. */
static int opted_out(const struct choice *r)
{
    int sale = 0, sale_on = 0;

    for (size_t i = 0; i < r->site->ncategories; i++)
        if (r->site->categories[i].sale_sharing) {
            sale = 1;
            sale_on |= r->on[i];
        }
    return (sale && !sale_on) || r->action == CHOICE_REJECT_ALL ||
           r->action == CHOICE_WITHDRAW;
}

/* The context of this write (context.h): everything about it that many
 * receipts share, so few: one per region, opt-out state and GPC. */
static int make_context(const struct request *req, const struct choice *r,
                        const struct visitor *v, const char *gpp,
                        struct receipt_context *ctx)
{
    struct context_facts f = {
        .site = r->site, .region = v->region, .regime = v->j.regime, .lang = r->lang,
        .texts_model = (enum consent_model)r->texts_model, .texts_sha256 = r->texts_sha256,
        .variant = r->variant >= 0 ? r->site->variants[r->variant].id : NULL,
        .gpp = gpp[0] != '\0' ? gpp : NULL, .kid = req->app->keys.current.kid,
    };
    cJSON *tree;

    if (context_build(&f, &tree) != CONTEXT_OK)
        return RECEIPT_NO_MEMORY;
    return receipt_context_make(ctx, tree);
}

/* The context of this write from the worker's recent ones, or made (and
 * kept; borrowed until this worker's next write). Kept under a BLAKE2b
 * hash of everything make_context() reads that changes between writes
 * under one load: site, language, banner model, texts hash, experiment
 * variant, regime, region and the GPP string of the choice. NULL when out
 * of memory. */
static const struct receipt_context *write_context(struct request *req, const struct choice *r,
                                                   const struct visitor *v,
                                                   const struct decision *d)
{
    struct worker *w = req->worker;
    struct worker_made *m;
    char gpp[GPP_MAX_STRING + 1];
    unsigned char key[sizeof(m->key)];
    crypto_generichash_state h;

    if (decision_gpp(r->site, v->j.gpp_sid, d->gpc_received, r->on, gpp, sizeof(gpp)) != 0)
        gpp[0] = '\0';
    crypto_generichash_init(&h, NULL, 0, sizeof(key));
    crypto_generichash_update(&h, (const unsigned char *)r->site->id, strlen(r->site->id) + 1);
    crypto_generichash_update(&h, (const unsigned char *)r->lang->tag, strlen(r->lang->tag) + 1);
    crypto_generichash_update(&h, (const unsigned char *)&r->texts_model, sizeof(r->texts_model));
    crypto_generichash_update(&h, (const unsigned char *)r->texts_sha256,
                              strlen(r->texts_sha256) + 1);
    crypto_generichash_update(&h, (const unsigned char *)&r->variant, sizeof(r->variant));
    crypto_generichash_update(&h, (const unsigned char *)v->j.regime->id,
                              strlen(v->j.regime->id) + 1);
    crypto_generichash_update(&h, (const unsigned char *)v->region, strlen(v->region) + 1);
    crypto_generichash_update(&h, (const unsigned char *)gpp, strlen(gpp) + 1);
    crypto_generichash_final(&h, key, sizeof(key));
    for (size_t i = 0; i < WORKER_MADE; i++)
        if (w->made[i].generation == req->app->generation &&
            memcmp(w->made[i].key, key, sizeof(key)) == 0)
            return &w->made[i].ctx;
    m = &w->made[w->next_made++ % WORKER_MADE];
    receipt_context_free(&m->ctx);
    m->generation = 0;
    if (make_context(req, r, v, gpp, &m->ctx) != RECEIPT_OK)
        return NULL;
    memcpy(m->key, key, sizeof(key));
    m->generation = req->app->generation;
    return &m->ctx;
}

/* The per-receipt facts of this write (everything but seq and signature). */
static void make_receipt(const struct request *req, const struct choice *r,
                         const struct decision *d, const struct receipt_context *ctx,
                         int64_t now, struct receipt *rc)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    size_t bin = 0;

    memset(rc, 0, sizeof(*rc));
    sodium_hex2bin(rc->ctx, RECEIPT_CTX_BYTES, ctx->ref, strlen(ctx->ref), NULL, &bin, NULL);
    rc->time_ms = now;
    rc->action = (int)r->action;
    rc->gpc_sent = d->gpc_received;
    rc->gpc_honoured = decision_gpc_honoured(r->site, d, r->on);
    rc->gpc_binding = d->gpc_binding;
    rc->opted_out = opted_out(r);
    for (size_t i = 0; i < r->site->ncategories; i++)
        if (r->on[i])
            rc->choices |= 1u << i;
    /* Only the /24 or /48 is kept, never the address. */
    rc->net_family = request_client_network(req->remote_addr, rc->net);
    crypto_hash_sha256(h, (const unsigned char *)req->user_agent, strlen(req->user_agent));
    memcpy(rc->ua, h, sizeof(rc->ua));
}

/* One attempt's signed receipt and sealed head, chained to the current
 * head (zeroed for a consent ID's first receipt). */
struct attempt {
    struct receipt rc;
    unsigned char id[16];           /* receipt_id_of(consent ID, seq) */
    char *payload;
    size_t len;
    char *jws;                      /* the compact JWS of payload (malloc'd) */
    char sha256[RECEIPT_HASH_HEX];
    struct receipt_head head;
    unsigned char stored[RECEIPT_MAX_STORED];
    size_t stored_len;
    unsigned char head_blob[RECEIPT_MAX_HEAD];
    size_t head_len;
    uint32_t trim[16];
    unsigned char trim_ids[16][16];
    size_t ntrim;
};

/*
 * The history bound: receipts first..new_first-1 leave (their index entries
 * with them), and the new oldest one's own prev_sha256 becomes the anchor,
 * so the kept history still verifies. Reads that one receipt (one round
 * trip, only when the bound is hit); when it is this very write, its prev
 * is at hand.
 */
static int trim_history(struct request *req, const char *consent_id,
                        const struct receipt_head *cur, uint32_t new_first,
                        struct attempt *at)
{
    struct store_item item;
    struct receipt oldest = {.seq = new_first};
    size_t n = new_first - cur->first;
    int st;

    if (n > 16) {
        n = 16;     /* a shrunk bound is reached over several writes */
        new_first = cur->first + 16;
    }
    for (size_t i = 0; i < n; i++) {
        at->trim[i] = cur->first + (uint32_t)i;
        receipt_id_of(consent_id, at->trim[i], at->trim_ids[i]);
    }
    if (new_first == at->rc.seq) {
        memcpy(oldest.prev, at->rc.prev, 32);
    } else {
        st = store_receipts(&req->worker->store, consent_id, &new_first, 1, &item);
        if (st != STORE_OK)
            return st;
        st = item.blob.data != NULL &&
             receipt_decode((const unsigned char *)item.blob.data, item.blob.len,
                            &oldest) == RECEIPT_OK ? STORE_OK : STORE_ERROR;
        store_blob_free(&item.blob);
        if (st != STORE_OK)
            return st;      /* the oldest kept receipt is missing: not ours to trim */
    }
    at->ntrim = n;
    at->head.first = new_first;
    memcpy(at->head.anchor, oldest.prev, 32);
    return STORE_OK;
}

/* Builds, signs and seals one attempt on top of cur (NULL: no history). */
static int make_attempt(struct request *req, const struct choice *r,
                        const struct visitor *v, const struct receipt_context *ctx,
                        const struct receipt_head *cur, struct attempt *at)
{
    const struct app *app = req->app;
    unsigned char sha[32];
    uint32_t max = (uint32_t)app->cfg.max_history;

    at->rc.seq = cur != NULL ? cur->count + 1 : 1;
    if (cur != NULL)
        memcpy(at->rc.prev, cur->head, 32);
    else
        memset(at->rc.prev, 0, 32);
    receipt_id_of(v->consent_id, at->rc.seq, at->id);
    cJSON_free(at->payload);
    at->payload = receipt_payload(&at->rc, ctx, v->consent_id, &at->len);
    free(at->jws);
    at->jws = NULL;
    if (at->payload == NULL ||
        jws_sign_compact(&app->keys.current, at->payload, at->len, at->rc.sig,
                         &at->jws) != JWS_OK)
        return STORE_ERROR;
    receipt_sha256_hex(at->payload, at->len, at->sha256);
    at->stored_len = receipt_encode(&at->rc, at->stored);

    if (cur != NULL)
        at->head = *cur;
    else
        memset(&at->head, 0, sizeof(at->head));
    at->ntrim = 0;
    if (cur == NULL)
        at->head.first = 1;
    else if (at->rc.seq - cur->first + 1 > max) {
        int st = trim_history(req, v->consent_id, cur, at->rc.seq - max + 1, at);

        if (st != STORE_OK)
            return st;
    }
    sodium_hex2bin(sha, sizeof(sha), at->sha256, 64, NULL, NULL, NULL);
    if (receipt_head_append(&at->head, &at->rc, r->site->id, sha) != 0)
        return STORE_ERROR;
    if (receipt_head_seal(&at->head, v->consent_id, &app->keys.current) != JWS_OK)
        return STORE_ERROR;
    at->head_len = receipt_head_encode(&at->head, at->head_blob);
    return STORE_OK;
}

static int worker_wrote_context(const struct worker *w, const char *ref)
{
    for (size_t i = 0; i < WORKER_CONTEXTS; i++)
        if (strcmp(w->written[i], ref) == 0)
            return 1;
    return 0;
}

/* The head a write expects into cur (*have: there is one). STORE_ERROR
 * for a head that is not ours to read. */
static int read_expected(const struct store_blob *expected, struct receipt_head *cur,
                         int *have)
{
    *have = expected->data != NULL;
    if (*have && receipt_head_decode((const unsigned char *)expected->data,
                                     expected->len, cur) != RECEIPT_OK)
        return STORE_ERROR;
    return STORE_OK;
}

/* Stores one attempt, expecting the head *expected (the head found
 * instead into *current on STORE_CONFLICT). The context goes along the
 * first time this worker writes it. */
static int store_attempt(struct request *req, const char *consent_id,
                         const struct receipt_context *ctx, const struct attempt *at,
                         const struct store_blob *expected, struct store_blob *current)
{
    struct worker *w = req->worker;
    int fresh = !worker_wrote_context(w, ctx->ref), st;
    unsigned char raw[16];
    struct store_write sw;

    if (receipt_consent_id_bytes(consent_id, raw) != 0)
        return STORE_ERROR;
    memset(&sw, 0, sizeof(sw));
    sw.consent_id = consent_id;
    sw.consent_id_bytes = raw;
    sw.receipt_id = at->id;
    sw.expected_head = *expected;
    sw.new_head.data = (char *)at->head_blob;
    sw.new_head.len = at->head_len;
    sw.seq = at->rc.seq;
    sw.receipt.data = (char *)at->stored;
    sw.receipt.len = at->stored_len;
    sw.trim = at->trim;
    sw.trim_ids = (const unsigned char (*)[16])at->trim_ids;
    sw.ntrim = at->ntrim;
    sw.context_ref = fresh ? ctx->ref : NULL;
    sw.context.data = ctx->json;
    sw.context.len = ctx->len;
    sw.ttl_seconds = (long)req->app->cfg.retention_days * 86400;
    st = store_record(&w->store, &sw, current);
    /* This process's decisions see the change at once, whatever the
     * watcher has heard yet (record.lua publishes it for the others). */
    if (w->heads != NULL)
        headcache_drop(w->heads, consent_id);
    if (st == STORE_OK && fresh)
        snprintf(w->written[w->next_written++ % WORKER_CONTEXTS], RECEIPT_CTX_HEX,
                 "%s", ctx->ref);
    return st;
}

/*
 * Writes attempts until one lands, chained to whatever head the script
 * reports when another write came first. A new visitor's ID has no history,
 * so its first attempt needs no read; a returning visitor's head is read
 * first (the same two round trips an optimistic miss would cost), because
 * an attempt pipelines the index entry of its receipt ID, derived from the
 * consent ID and seq: a guessed seq 1 would index a receipt the history
 * bound may have dropped. An erased consent ID is never continued: the
 * visitor gets a new one.
 */
static int write_receipt(struct request *req, const struct choice *r,
                         struct visitor *v, const struct receipt_context *ctx,
                         struct attempt *at)
{
    struct worker *w = req->worker;
    struct receipt_head cur;
    struct store_blob current = {0}, expected = {0};
    int st = STORE_OK, have = 0;

    if (v->id_from_cookie) {
        st = store_head(&w->store, v->consent_id, &expected);
        if (st != STORE_OK)
            return st;
        st = read_expected(&expected, &cur, &have);
        if (st != STORE_OK) {
            store_blob_free(&expected);
            return st;      /* a head that is not ours to read is not overwritten */
        }
    }
    for (int tries = 0; tries < RECORD_MAX_TRIES; tries++) {
        st = make_attempt(req, r, v, ctx, have ? &cur : NULL, at);
        if (st == STORE_OK)
            st = store_attempt(req, v->consent_id, ctx, at, &expected, &current);
        if (st == STORE_ERASED) {
            /* nothing may name the erased ID again, not even the index */
            store_unindex(&w->store, (const unsigned char (*)[16])at->id, 1);
            visitor_issue_id(req, v);       /* start afresh under a new ID */
            have = 0;
            store_blob_free(&expected);
            continue;
        }
        if (st != STORE_CONFLICT)
            break;
        /* Another write to this ID came first: chain to it and sign again.
         * A head that is not ours to read (malformed) is not overwritten. */
        store_blob_free(&expected);
        expected = current;
        memset(&current, 0, sizeof(current));
        if ((st = read_expected(&expected, &cur, &have)) != STORE_OK)
            break;
    }
    if (st == STORE_CONFLICT)
        st = STORE_BUSY_LOCAL;
    store_blob_free(&expected);
    store_blob_free(&current);
    return st;
}

/* Analytics of a recorded answer: its action; for answers by hand,
 * whether it opted out of sale/sharing and each optional category's
 * result. GPC's automatic records count as answers.gpc only. */
static void count_answer(struct request *req, const struct choice *r,
                         const struct visitor *v, const struct receipt *rc)
{
    const struct config_site *site = r->site;
    const char *variant = r->variant >= 0 ? site->variants[r->variant].id : NULL;
    char event[CONSENT_MAX_CATEGORY_ID_LEN + 8];

    snprintf(event, sizeof(event), "%s%s", TALLY_ANSWER_PREFIX,
             choice_action_names[r->action]);
    if (visitor_count(req, v, site, r->lang->tag, variant, event) != 0)
        return;
    if ((size_t)r->action < METRICS_ACTIONS)
        atomic_fetch_add_explicit(&req->worker->metrics.answers[r->action], 1,
                                  memory_order_relaxed);
    if (r->action == CHOICE_GPC)
        return;
    if (rc->opted_out)
        visitor_count(req, v, site, r->lang->tag, variant, TALLY_OPTED_OUT);
    for (size_t i = 0; i < site->ncategories; i++) {
        if (site->categories[i].necessary)
            continue;
        snprintf(event, sizeof(event), "%s:%s", r->on[i] ? "on" : "off",
                 site->categories[i].id);
        visitor_count(req, v, site, r->lang->tag, variant, event);
    }
}

/* Answers a write that did not land (write_receipt's status). */
static void answer_failed_write(struct request *req, struct response *res,
                                const struct visitor *v, int st)
{
    if (st == STORE_BUSY_LOCAL) {
        response_header(res, "Retry-After", "1");
        response_error(res, 503, "busy", "too many simultaneous writes for this consent ID");
    } else if (st == STORE_NOT_DURABLE) {
        /* The primary has it, its replicas may not: not acknowledged.
         * The cookie is set all the same, so the retry continues this
         * consent ID instead of starting another one. */
        atomic_fetch_add_explicit(&req->worker->metrics.not_durable, 1,
                                  memory_order_relaxed);
        if (v->cookie[0] != '\0')
            visitor_set_cookie(req, res, v, v->j.regime->consent_days);
        response_header(res, "Retry-After", "1");
        response_error(res, 503, "not_durable",
                       "the choice reached the primary but not enough replicas "
                       "confirmed it in time; send it again");
    } else {
        reply_store_unavailable(req, res);
    }
}

/* The 201 answer of a receipt written (README, POST /consent/v1/consents). */
static cJSON *receipt_answer(const struct request *req, const struct visitor *v,
                             const struct receipt_context *ctx, const struct attempt *at)
{
    cJSON *root = cJSON_CreateObject(), *ping;
    const cJSON *gpp;

    cJSON_AddStringToObject(root, "consent_id", v->consent_id);
    /* the signed payload itself, byte for byte (canonical JSON) */
    cJSON_AddItemToObject(root, "receipt", cJSON_CreateRaw(at->payload));
    cJSON_AddStringToObject(root, "sha256", at->sha256);
    cJSON_AddStringToObject(root, "jws", at->jws);
    /* What the __gpp page API answers after this choice (the receipt's GPP
     * string, which is the context's): README, GPP strings. */
    gpp = cJSON_GetObjectItemCaseSensitive(ctx->tree, "gpp");
    if (cJSON_IsString(gpp) &&
        (ping = decision_gpp_ping(gpp->valuestring, v->j.gpp_sid,
                                  req->app->cfg.gpp_cmp_id)) != NULL)
        cJSON_AddItemToObject(root, "gpp_ping", ping);
    return root;
}

/* Builds, signs and stores one receipt; answers 201 or the error. */
static void record(struct request *req, struct response *res,
                   struct request_log *log, const struct choice *r,
                   struct visitor *v, const struct decision *d)
{
    const struct receipt_context *ctx;
    /* on the stack (about 5 KB): a large malloc per write made glibc
     * consolidate its fast bins every time */
    struct attempt at_s, *at = &at_s;
    int st;

    memset(at, 0, sizeof(*at));
    log->regime = v->j.regime->id;
    log->gpc = req->gpc;
    if ((ctx = write_context(req, r, v, d)) == NULL) {
        response_error(res, 503, "out_of_memory", "try again");
        return;
    }
    if (!v->id_from_cookie)
        visitor_issue_id(req, v);
    make_receipt(req, r, d, ctx, app_now_ms(), &at->rc);
    st = write_receipt(req, r, v, ctx, at);
    if (st != STORE_OK) {
        answer_failed_write(req, res, v, st);
        goto cleanup;
    }
    atomic_fetch_add_explicit(&req->worker->metrics.receipts_written, 1,
                              memory_order_relaxed);
    count_answer(req, r, v, &at->rc);
    if (at->rc.gpc_honoured)
        atomic_fetch_add_explicit(&req->worker->metrics.gpc_honoured, 1,
                                  memory_order_relaxed);
    /* The cookie is (re)set on every write: a new ID, or a new lifetime
     * for the current one. */
    if (v->cookie[0] != '\0')
        visitor_set_cookie(req, res, v, v->j.regime->consent_days);
    response_header(res, "Cache-Control", "no-store");
    response_json(res, 201, receipt_answer(req, v, ctx, at));
cleanup:
    cJSON_free(at->payload);
    free(at->jws);
}

/* The visitor of a write, decided as for the banner. Writes are never
 * recorded under a previewed region: the jurisdiction of a receipt is
 * always the server's. */
static enum visitor_status write_visitor(const struct request *req,
                                         const struct config_site *site, struct visitor *v)
{
    enum visitor_status st = visitor_make(req, site, v);

    if (st != VISITOR_OK)
        return st;
    return v->previewing ? VISITOR_PREVIEW_NOT_RECORDED : VISITOR_OK;
}

void handle_record(struct request *req, struct response *res,
                   struct request_log *log)
{
    struct choice r;
    struct choice_error err;
    struct visitor v;
    struct decision d;
    enum visitor_status st;

    /* So that a browser on a site's own origin can read every error. */
    if (req->origin != NULL && config_origin_known(&req->app->cfg, req->origin))
        reply_cors(req, res, 1);
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
    if ((st = write_visitor(req, r.site, &v)) != VISITOR_OK) {
        visitor_answer(res, st);
        return;
    }
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

/* A withdrawal as the settings panel records it: every optional category
 * off, the visitor's model's texts in their language, the site's own
 * texts (no variant). */
static void withdrawal(const struct request *req, const struct config_site *site,
                       const struct visitor *v, struct choice *r)
{
    memset(r, 0, sizeof(*r));
    r->site = site;
    r->variant = -1;
    r->action = CHOICE_WITHDRAW;
    r->lang = visitor_language(req, site);
    r->texts_model = v->j.regime->model;
    r->texts_sha256 = r->lang->texts_sha256[r->texts_model];
    for (size_t i = 0; i < site->ncategories; i++)
        r->given[i] = -1;
}

void handle_withdraw(struct request *req, struct response *res,
                     struct request_log *log)
{
    const struct config_site *site;
    enum visitor_status vst = visitor_site(req, &site);
    struct choice r;
    struct choice_error err;
    struct visitor v;
    struct decision d;

    if (vst != VISITOR_OK) {
        visitor_answer(res, vst);
        return;
    }
    reply_cors(req, res, req->origin != NULL && config_origin_allowed(site, req->origin));
    if (req->origin != NULL && !config_origin_allowed(site, req->origin)) {
        response_error(res, 403, "origin_not_allowed", "this origin is not one of the site's");
        return;
    }
    if ((vst = write_visitor(req, site, &v)) != VISITOR_OK) {
        visitor_answer(res, vst);
        return;
    }
    if (!v.id_from_cookie) {
        response_error(res, 404, "no_consent", "this browser has no consent ID");
        return;
    }
    withdrawal(req, site, &v, &r);
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
    struct visitor v;
    struct history h;
    const struct config_site *site = &req->app->cfg.sites[0], *named = NULL;
    enum visitor_status st;

    (void)log;
    response_header(res, "Cache-Control", "no-store");
    /* Any site decides who is asking; ?site= picks one, else the first. */
    if (req->q.site.state == REQUEST_PARAM_OK &&
        (named = config_site_find(&req->app->cfg, req->q.site.value)) != NULL)
        site = named;
    if (req->origin != NULL && !config_origin_known(&req->app->cfg, req->origin)) {
        response_error(res, 403, "origin_not_allowed", "this origin is not configured");
        return;
    }
    if (req->origin != NULL)
        reply_cors(req, res, 1);
    /* Only a cookie this server issued reads a history: a planted or made-up
     * one is no consent ID at all. */
    if ((st = visitor_make(req, site, &v)) != VISITOR_OK) {
        visitor_answer(res, st);
        return;
    }
    if (!v.id_from_cookie) {
        response_error(res, 404, "no_consent", "this browser has no consent ID");
        return;
    }
    if (history_load(&req->worker->store, &req->app->keys, v.consent_id, NULL, &h) != STORE_OK) {
        reply_store_unavailable(req, res);
        return;
    }
    if (h.result.nitems == 0) {
        history_free(&h);
        response_error(res, 404, "no_consent", "nothing is stored for this consent ID");
        return;
    }
    response_json(res, 200, history_json(&h, app_now_ms(), 0));
    history_free(&h);
}
