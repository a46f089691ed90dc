/*
 * visitor.c - see visitor.h.
 */
#include "visitor.h"

#include <stdio.h>
#include <string.h>

#include "../common/jcheck.h"

/* Each status's HTTP answer (index: enum visitor_status). */
static const struct {
    int http;
    const char *code;
    const char *message;
} answers[] = {
    [VISITOR_OK] = {200, "ok", "success"},
    [VISITOR_NO_SITE] = {400, "missing_parameter", "the query parameter \"site\" is required"},
    [VISITOR_BAD_SITE] = {400, "invalid_parameter",
                          "\"site\" must be 1-32 characters of a-z, 0-9, - and _"},
    [VISITOR_UNKNOWN_SITE] = {404, "unknown_site", "no site with that id"},
    [VISITOR_PREVIEW_DISABLED] = {403, "preview_disabled",
                                  "this site does not allow region previews"},
    [VISITOR_BAD_PREVIEW] = {400, "invalid_parameter",
                             "\"preview\" must be a region like \"DE\" or \"US-CA\""},
    [VISITOR_PREVIEW_NOT_RECORDED] = {403, "preview_not_recorded",
                                      "choices made while previewing a region are not recorded"},
};

const char *visitor_strerror(int status)
{
    if (status < 0 || (size_t)status >= sizeof(answers) / sizeof(answers[0]))
        return "unknown error";
    return answers[status].message;
}

void visitor_answer(struct response *res, enum visitor_status st)
{
    if (st == VISITOR_OK || (size_t)st >= sizeof(answers) / sizeof(answers[0])) {
        response_error(res, 500, "internal", "unknown error");
        return;
    }
    response_error(res, answers[st].http, answers[st].code, answers[st].message);
}

enum visitor_status visitor_site(const struct request *req,
                                 const struct config_site **site)
{
    const struct request_param *p = &req->q.site;

    *site = NULL;
    if (p->state == REQUEST_PARAM_ABSENT)
        return VISITOR_NO_SITE;
    if (p->state != REQUEST_PARAM_OK || !jcheck_is_token(p->value, CONSENT_MAX_SITE_ID_LEN))
        return VISITOR_BAD_SITE;
    *site = config_site_find(&req->app->cfg, p->value);
    return *site != NULL ? VISITOR_OK : VISITOR_UNKNOWN_SITE;
}

/* v->loc from an allowed ?preview= or the address, then its jurisdiction. */
static enum visitor_status locate(const struct request *req, const struct config_site *site,
                                  struct visitor *v)
{
    const struct request_query *q = &req->q;
    const struct app *app = req->app;

    if (q->preview.state == REQUEST_PARAM_OK && !site->preview)
        return VISITOR_PREVIEW_DISABLED;
    if (q->preview.state == REQUEST_PARAM_MALFORMED ||
        (q->preview.state == REQUEST_PARAM_OK && !q->preview_is_region))
        return VISITOR_BAD_PREVIEW;
    if (q->preview.state == REQUEST_PARAM_OK) {
        v->previewing = 1;
        snprintf(v->loc.country, sizeof(v->loc.country), "%s", q->preview_country);
        snprintf(v->loc.subdivision, sizeof(v->loc.subdivision), "%s",
                 q->preview_subdivision);
    } else {
        geo_lookup(&app->geo, req->remote_addr, &v->loc);
    }
    rules_match(&app->rules, v->loc.country, v->loc.subdivision, &v->j);
    if (v->loc.country[0] == '\0')
        v->region[0] = '\0';
    else if (v->loc.subdivision[0] == '\0')
        snprintf(v->region, sizeof(v->region), "%s", v->loc.country);
    else
        snprintf(v->region, sizeof(v->region), "%s-%s", v->loc.country,
                 v->loc.subdivision);
    return VISITOR_OK;
}

enum visitor_status visitor_make(const struct request *req,
                                 const struct config_site *site, struct visitor *v)
{
    const struct request_param *cookie = &req->consent_cookie;
    enum visitor_status st;

    memset(v, 0, sizeof(*v));
    st = locate(req, site, v);
    if (st != VISITOR_OK)
        return st;
    /* Only a cookie this server issued (its MAC checks) names a consent ID;
     * anything else is ignored, never used as a key. */
    if (cookie->state == REQUEST_PARAM_OK && strlen(cookie->value) <= CONSENT_COOKIE_LEN &&
        receipt_cookie_id(req->app->cookie_key, cookie->value, v->consent_id) == 0) {
        v->id_from_cookie = 1;
        memcpy(v->cookie, cookie->value, strlen(cookie->value) + 1);  /* renewed on a write */
    }
    return VISITOR_OK;
}

void visitor_issue_id(const struct request *req, struct visitor *v)
{
    receipt_cookie_new(req->app->cookie_key, v->cookie);
    receipt_cookie_id(req->app->cookie_key, v->cookie, v->consent_id);
    v->id_from_cookie = 0;
}

const struct config_language *visitor_language(const struct request *req,
                                              const struct config_site *site)
{
    const char *tags[CONSENT_MAX_LANGUAGES];

    for (size_t i = 0; i < site->nlanguages; i++)
        tags[i] = site->languages[i].tag;
    return &site->languages[request_negotiate_language(req, tags, site->nlanguages)];
}

void visitor_set_cookie(const struct request *req, struct response *res,
                        const struct visitor *v, int lifetime_days)
{
    char value[256];

    snprintf(value, sizeof(value), "%s=%s; Max-Age=%ld; Path=/; HttpOnly; "
             "SameSite=Lax%s", req->app->cookie_name, v->cookie,
             (long)lifetime_days * 86400, req->app->cfg.cookie_secure ? "; Secure" : "");
    response_header(res, "Set-Cookie", value);
}

int visitor_count(struct request *req, const struct visitor *v,
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
