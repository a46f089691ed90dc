/*
 * admin.c - the support API under /consent/v1/admin/: look up a consent ID or
 * a receipt (verified, optionally as Kantara receipts), erase a consent ID,
 * read the audit stream, read the analytics counts.
 *
 * Order in every handler: authenticate (401), authorise (403), then validate
 * the path (400), then touch Redis. So a caller without the right token learns
 * nothing, not even whether an ID is well-formed, let alone stored. Every
 * authenticated admin request, refused or not, is appended to the audit
 * stream; calls without a valid token are only counted (metrics).
 */
#include "app.h"
#include "audit.h"
#include "history.h"
#include "reply.h"
#include "router.h"
#include "stats.h"
#include "visitor.h"
#include "../common/jcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADMIN_MAX_AUDIT 1000
#define ADMIN_MAX_TARGET CONSENT_MAX_PATH   /* bytes of an audit target */

enum admin_format { FORMAT_NATIVE, FORMAT_KANTARA };

typedef void admin_fn(struct request *req, struct response *res,
                      const struct config_token *tok, const char *id,
                      enum admin_format fmt);

/* The token of "Authorization: Bearer <token>", or NULL. */
static const struct config_token *bearer(const struct request *req)
{
    const char *a = req->authorization;

    if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    if (*a == '\0')
        return NULL;
    return config_token_find(&req->app->cfg, a);
}

/* Length of the valid UTF-8 character at s (n bytes left), or 0. What is
 * valid is jcheck_utf8's rule (no overlong forms, surrogates or code
 * points past U+10FFFF); this only finds how long the character claims to be. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4, off;

    if (len > n)
        return 0;
    return jcheck_utf8((const char *)s, len, &off) == JCHECK_UTF8_OK ? len : 0;
}

/*
 * The audit target: the path's ID segment as the caller sent it (nginx has
 * decoded it, so it may hold any byte), made valid UTF-8 for the stream and
 * its JSON readers. Bytes that are not part of valid UTF-8, and '%' itself,
 * are written as %HH; at most ADMIN_MAX_TARGET bytes, cut between two
 * characters and ending in "…" when cut.
 */
static void audit_target(const char *param, size_t len, char *out)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    const size_t room = ADMIN_MAX_TARGET - (sizeof(ellipsis) - 1);
    const unsigned char *s = (const unsigned char *)param;
    size_t o = 0, cut = 0;   /* cut: the last end of a character within room */

    for (size_t i = 0; i < len;) {
        size_t n = s[i] == '%' ? 0 : utf8_seq(s + i, len - i);
        size_t need = n > 0 ? n : 3;

        if (o + need > ADMIN_MAX_TARGET) {
            memcpy(out + cut, ellipsis, sizeof(ellipsis) - 1);
            o = cut + sizeof(ellipsis) - 1;
            break;
        }
        if (n > 0)
            memcpy(out + o, s + i, n);
        else
            snprintf(out + o, 4, "%%%02X", s[i]);
        o += need;
        i += n > 0 ? n : 1;
        if (o <= room)
            cut = o;
    }
    out[o] = '\0';
}

static void audit(struct request *req, const struct response *res,
                  const struct config_token *tok, const char *action)
{
    const struct app *app = req->app;
    char client[64], target[ADMIN_MAX_TARGET + 1];
    struct audit_action a = {app_now_ms(), tok != NULL ? tok->name : "-", action, target,
                             res->status, client, "api"};
    struct audit_limits l = {app->cookie_key, app->cfg.audit_retention_days,
                             app->cfg.audit_max_entries};

    audit_target(req->path_param != NULL ? req->path_param : "",
                 req->path_param != NULL ? req->path_param_len : 0, target);
    request_truncate_address(req->remote_addr, client, sizeof(client));
    if (audit_append(&req->worker->store, &a, &l) != STORE_OK &&
        res->status < 500) {
        /* An admin action that cannot be audited is not done quietly. */
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"audit write failed\",\"action\":\"%s\"}\n",
                action);
    }
}

/* Authenticates, authorises, validates the path ID with valid(), reads
 * ?format=, runs fn, and audits the outcome. */
static void run(struct request *req, struct response *res, unsigned role,
                const char *action, int (*valid)(const char *), admin_fn *fn)
{
    const struct config_token *tok = bearer(req);
    const struct request_param *fmt = &req->q.format;
    char id[64] = "";
    enum admin_format format = FORMAT_NATIVE;

    response_header(res, "Cache-Control", "no-store");
    if (tok == NULL) {
        response_header(res, "WWW-Authenticate", "Bearer realm=\"consent-admin\"");
        response_error(res, 401, "unauthorized", "a valid support token is required");
        goto done;
    }
    if ((tok->roles & role) == 0) {
        response_error(res, 403, "forbidden", "this token does not have the role for that");
        goto done;
    }
    if (valid != NULL) {
        if (req->path_param_len >= sizeof(id)) {
            response_error(res, 400, "invalid_id", "that is not a well-formed ID");
            goto done;
        }
        memcpy(id, req->path_param, req->path_param_len);
        id[req->path_param_len] = '\0';
        if (!valid(id)) {
            response_error(res, 400, "invalid_id", "that is not a well-formed ID");
            goto done;
        }
    }
    if (fmt->state == REQUEST_PARAM_OK && strcmp(fmt->value, "kantara") == 0) {
        format = FORMAT_KANTARA;
    } else if (fmt->state != REQUEST_PARAM_ABSENT &&
               !(fmt->state == REQUEST_PARAM_OK && strcmp(fmt->value, "native") == 0)) {
        response_error(res, 400, "invalid_parameter",
                       "\"format\" must be \"native\" or \"kantara\"");
        goto done;
    }
    fn(req, res, tok, id, format);
done:
    /* Only callers with a valid token are audited: a refusal at the door
     * names nobody, and recording it would let anyone on the support
     * networks flood the stream. Refusals are counted in the metrics
     * (consent_admin_requests_total{status="401"}). */
    if (tok != NULL)
        audit(req, res, tok, action);
}

static int is_consent_id(const char *s)
{
    return receipt_valid_consent_id(s);
}

static int is_receipt_id(const char *s)
{
    return receipt_valid_uuid(s);
}

static void do_consent(struct request *req, struct response *res,
                       const struct config_token *tok, const char *id,
                       enum admin_format fmt)
{
    struct history h;

    (void)tok;
    if (history_load(&req->worker->store, &req->app->keys, id, NULL, &h) != STORE_OK) {
        reply_store_unavailable(req, res);
        return;
    }
    if (h.result.nitems == 0 && h.stored.head.data == NULL) {
        if (h.tombstone.count > 0) {
            cJSON *full = history_json(&h, app_now_ms(), 1);

            response_error(res, 404, "erased", "this consent ID was erased");
            cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(res->body, "error"),
                                  "tombstone", cJSON_DetachItemFromObjectCaseSensitive(
                                      full, "tombstone"));
            cJSON_Delete(full);
        } else {
            response_error(res, 404, "not_found", "nothing is stored for this consent ID");
        }
        history_free(&h);
        return;
    }
    if (!verify_passed(&h.result))
        atomic_fetch_add_explicit(&req->worker->metrics.state_mismatch, 1,
                                  memory_order_relaxed);
    response_json(res, 200, fmt == FORMAT_KANTARA ? history_kantara(&h, &req->app->keys)
                                                  : history_json(&h, app_now_ms(), 1));
    history_free(&h);
}

static void do_receipt(struct request *req, struct response *res,
                       const struct config_token *tok, const char *id,
                       enum admin_format fmt)
{
    struct history h;
    cJSON *r = NULL;
    int st = history_receipt(&req->worker->store, &req->app->keys, id, &h, &r);

    (void)tok;
    if (st == STORE_NOT_FOUND) {
        response_error(res, 404, "not_found", "no stored receipt has that ID");
        return;
    }
    if (st != STORE_OK) {
        reply_store_unavailable(req, res);
        return;
    }
    if (fmt == FORMAT_KANTARA) {
        cJSON *k = verify_kantara(cJSON_GetObjectItemCaseSensitive(r, "receipt"),
                                  &req->app->keys);

        if (k == NULL) {
            cJSON_Delete(r);
            history_free(&h);
            response_error(res, 422, "not_a_receipt", "the stored receipt cannot be read");
            return;
        }
        cJSON_AddItemToObject(k, "x-jws", cJSON_Duplicate(
            cJSON_GetObjectItemCaseSensitive(r, "jws"), 0));
        cJSON_Delete(r);
        r = k;
    }
    history_free(&h);
    response_json(res, 200, r);
}

static void do_erase(struct request *req, struct response *res,
                     const struct config_token *tok, const char *id,
                     enum admin_format fmt)
{
    cJSON *out = NULL;
    int st;

    (void)fmt;
    st = history_erase(&req->worker->store, id, tok->name, app_now_ms(), &out);
    /* This process's decisions see the erasure at once (erase.lua
     * publishes it for the other processes). */
    if (req->worker->heads != NULL)
        headcache_drop(req->worker->heads, id);
    if (st == STORE_NOT_DURABLE) {
        cJSON_Delete(out);
        atomic_fetch_add_explicit(&req->worker->metrics.not_durable, 1,
                                  memory_order_relaxed);
        response_header(res, "Retry-After", "1");
        response_error(res, 503, "not_durable",
                       "erased on the primary, but not enough replicas confirmed it in "
                       "time; erase again (a repeated erasure adds a tombstone line)");
        return;
    }
    if (st != STORE_OK && st != STORE_TIMEOUT) {
        reply_store_unavailable(req, res);
        return;
    }
    /* 202: erased, but Redis had not finished rewriting its files yet. */
    response_json(res, st == STORE_OK ? 200 : 202, out);
}

static void do_audit(struct request *req, struct response *res,
                     const struct config_token *tok, const char *id,
                     enum admin_format fmt)
{
    const struct request_param *cnt = &req->q.count;
    long count = 100;
    struct store_audit_entry *e = NULL;
    size_t n = 0;
    cJSON *root, *arr;

    (void)tok;
    (void)id;
    (void)fmt;
    if (cnt->state != REQUEST_PARAM_ABSENT) {
        count = cnt->number;
        if (!cnt->is_number || count < 1 || count > ADMIN_MAX_AUDIT) {
            response_error(res, 400, "invalid_parameter", "\"count\" must be 1-1000");
            return;
        }
    }
    if (store_audit_read(&req->worker->store, count, &e, &n) != STORE_OK) {
        reply_store_unavailable(req, res);
        return;
    }
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "entries");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "id", e[i].id);
        for (size_t k = 0; k < e[i].nfields; k++)
            cJSON_AddStringToObject(o, e[i].names[k], e[i].values[k]);
        cJSON_AddItemToArray(arr, o);
    }
    store_audit_free(e, n);
    response_json(res, 200, root);
}

/*
 * The range of days ?from= and ?to= ask for (stats_range: defaults, and
 * the retention bound). STATS_OK with *from, *to set, or the error
 * answered.
 */
static int stats_days(const struct request *req, struct response *res, long *from, long *to)
{
    const struct request_query *q = &req->q;
    const struct app *app = req->app;
    /* a value too long for a date is no date: stats_range says so */
    const char *from_s = q->from.state == REQUEST_PARAM_ABSENT ? NULL
                         : q->from.state == REQUEST_PARAM_OK ? q->from.value : "-";
    const char *to_s = q->to.state == REQUEST_PARAM_ABSENT ? NULL
                       : q->to.state == REQUEST_PARAM_OK ? q->to.value : "-";
    int st = stats_range((long)(app_now_ms() / 86400000), app->cfg.stats_retention_days,
                         from_s, to_s, from, to);

    if (st == STATS_OK)
        return STATS_OK;
    response_error(res, 400, st == STATS_OVER_RETENTION ? "range_over_retention"
                             : st == STATS_BAD_FROM || st == STATS_BAD_TO
                             ? "invalid_parameter" : "invalid_range",
                   stats_strerror(st));
    if (st == STATS_OVER_RETENTION)
        cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(res->body, "error"),
                                "retention_days", app->cfg.stats_retention_days);
    return st;
}

/* The report as JSON, or as CSV when asked with Accept: text/csv. */
static void answer_report(const struct request *req, struct response *res, cJSON *report)
{
    response_header(res, "Vary", "Accept");
    if (req->accept != NULL && strcasestr(req->accept, "text/csv") != NULL) {
        char *csv = stats_csv(report);

        cJSON_Delete(report);
        if (csv == NULL) {
            response_error(res, 503, "out_of_memory", "try again");
            return;
        }
        response_text(res, 200, "text/csv; charset=utf-8", csv);
        return;
    }
    response_json(res, 200, report);
}

/*
 * The analytics report: counts of one site over a range of UTC days,
 * grouped by one dimension, with rates (stats.h); CSV when asked with
 * Accept: text/csv. The counts hold nothing personal (tally.h), and
 * the newest flush_ms of them may still be in the workers' memory.
 */
static void do_stats(struct request *req, struct response *res,
                     const struct config_token *tok, const char *id,
                     enum admin_format fmt)
{
    const struct app *app = req->app;
    const struct request_param *by_p = &req->q.by;
    const struct config_site *site;
    long from, to;
    enum stats_by by = STATS_BY_DAY;
    struct store_stat *rows = NULL;
    size_t n = 0;
    cJSON *report;
    enum visitor_status vst;

    (void)tok;
    (void)id;
    (void)fmt;
    if ((vst = visitor_site(req, &site)) != VISITOR_OK) {
        visitor_answer(res, vst);
        return;
    }
    if (by_p->state == REQUEST_PARAM_MALFORMED ||
        (by_p->state == REQUEST_PARAM_OK && stats_by_parse(by_p->value, &by) != 0)) {
        response_error(res, 400, "invalid_parameter", "\"by\" must be one of day, region, "
                       "regime, version, variant, category, device, language");
        return;
    }
    if (stats_days(req, res, &from, &to) != STATS_OK)
        return;
    if (store_stats_read(&req->worker->store, site->id, from, to, &rows, &n) != STORE_OK) {
        reply_store_unavailable(req, res);
        return;
    }
    report = stats_report(site->id, from, to, by,
                          site->nvariants > 0 ? site->variants[0].id : NULL, rows, n);
    store_stats_free(rows, n);
    if (report == NULL) {
        response_error(res, 503, "out_of_memory", "try again");
        return;
    }
    cJSON_AddNumberToObject(report, "retention_days", app->cfg.stats_retention_days);
    cJSON_AddNumberToObject(report, "flush_ms", app->cfg.stats_flush_ms);
    answer_report(req, res, report);
}

void handle_admin_stats(struct request *req, struct response *res,
                        struct request_log *log)
{
    (void)log;
    run(req, res, ROLE_STATS, "stats", NULL, do_stats);
}

void handle_admin_consent(struct request *req, struct response *res,
                          struct request_log *log)
{
    (void)log;
    run(req, res, ROLE_READ, "lookup", is_consent_id, do_consent);
}

void handle_admin_receipt(struct request *req, struct response *res,
                          struct request_log *log)
{
    (void)log;
    run(req, res, ROLE_READ, "receipt", is_receipt_id, do_receipt);
}

void handle_admin_erase(struct request *req, struct response *res,
                        struct request_log *log)
{
    (void)log;
    run(req, res, ROLE_ERASE, "erase", is_consent_id, do_erase);
}

void handle_admin_audit(struct request *req, struct response *res,
                        struct request_log *log)
{
    (void)log;
    run(req, res, ROLE_AUDIT, "audit", NULL, do_audit);
}
