/*
 * visitor.h - who is asking: the site a request names, the visitor's
 * region and regime, their consent ID (from a cookie this server issued),
 * their language, and the analytics counts of what they were shown.
 *
 * Everything here decides from what request_parse already parsed
 * (request.h); nothing reads the raw query or headers again.
 */
#ifndef CONSENT_VISITOR_H
#define CONSENT_VISITOR_H

#include "app.h"
#include "request.h"
#include "response.h"

/* Who is asking, worked out once per request by visitor_make(). */
struct visitor {
    struct geo_location loc;
    struct jurisdiction j;
    char region[RULES_REGION_LEN];      /* "US-CA", "DE" or "" */
    char consent_id[CONSENT_ID_LEN + 1];/* "" until a cookie we issued is seen */
    char cookie[CONSENT_COOKIE_LEN + 1];/* the cookie a write (re)sets ("" none) */
    int id_from_cookie;                 /* the browser sent one of our cookies */
    int previewing;
};

/* What a client got wrong about the site or the visitor; each has its
 * HTTP status and JSON error (visitor_answer). */
enum visitor_status {
    VISITOR_OK = 0,
    VISITOR_NO_SITE,            /* 400 missing_parameter */
    VISITOR_BAD_SITE,           /* 400 invalid_parameter */
    VISITOR_UNKNOWN_SITE,       /* 404 unknown_site */
    VISITOR_PREVIEW_DISABLED,   /* 403 preview_disabled */
    VISITOR_BAD_PREVIEW,        /* 400 invalid_parameter */
    VISITOR_PREVIEW_NOT_RECORDED    /* 403 preview_not_recorded: a write while
                                       previewing (the writes decide it) */
};

/* The site ?site= names: VISITOR_OK with *site set, or why not. */
enum visitor_status visitor_site(const struct request *req,
                                 const struct config_site **site);

/*
 * Fills v for site: the region from the address (or an allowed ?preview=),
 * its jurisdiction, and the consent ID of the consent cookie when it is one
 * this server issued (its MAC checks; any other is ignored, never used as
 * a key). VISITOR_OK, or VISITOR_PREVIEW_DISABLED / VISITOR_BAD_PREVIEW.
 */
enum visitor_status visitor_make(const struct request *req,
                                 const struct config_site *site, struct visitor *v);

/* Answers a visitor_status other than VISITOR_OK as its JSON error. */
void visitor_answer(struct response *res, enum visitor_status st);

/* The message of a visitor_status (static). */
const char *visitor_strerror(int status);

/* The site's best language for the request's Accept-Language. */
const struct config_language *visitor_language(const struct request *req,
                                              const struct config_site *site);

/* Gives a visitor without an ID a new cookie and ID (set by
 * visitor_set_cookie when the write succeeds). */
void visitor_issue_id(const struct request *req, struct visitor *v);

/* Sets the consent cookie (v->cookie) for lifetime_days. */
void visitor_set_cookie(const struct request *req, struct response *res,
                        const struct visitor *v, int lifetime_days);

/*
 * Counts one analytics event (tally.h) for visitor v on site in language
 * (a tag), with variant ("" or NULL: none), in the worker's own table: no
 * Redis round trip. Requests whose user agent names a bot are not counted
 * (consent_stats_bots_total). Returns 0 when counted, -1 for a bot.
 */
int visitor_count(struct request *req, const struct visitor *v,
                  const struct config_site *site, const char *language,
                  const char *variant, const char *event);

#endif
