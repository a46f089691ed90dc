/*
 * request.h - one HTTP request as consentd sees it through FastCGI.
 *
 * A struct request is filled once per request from the FastCGI parameters
 * (request_parse) and then only read by the router and handlers: every
 * query parameter a handler takes, the consent cookie, the Accept-Language
 * candidates and GPC are parsed here, up front, so a handler decides,
 * stores and answers without going back to the raw request. Its raw
 * strings are borrowed from the FCGX_Request's environment and live until
 * the next FCGX_Finish_r/FCGX_Accept_r; copy what must outlive the request.
 * Pure: no I/O, no global state.
 */
#ifndef CONSENT_REQUEST_H
#define CONSENT_REQUEST_H

#include <stddef.h>

/* Limits on what a client sends; each one is answered with a JSON error. */
#define CONSENT_MAX_BODY 8192           /* 413 past this */
#define CONSENT_MAX_QUERY 1024          /* 400 past this */
#define CONSENT_MAX_PATH 256            /* 400 past this */
#define CONSENT_MAX_COOKIE_HEADER 4096  /* 431 past this: every Cookie header
                                           joined with "; " */
#define CONSENT_MAX_HEADER 512          /* Accept-Language, Origin, UA: 431 */
#define CONSENT_MAX_PARAM 128           /* one decoded query/cookie value */
/* Shorter values the handlers read: longer ones are malformed. */
#define REQUEST_MAX_SHORT_PARAM 15      /* preview, format, count, by, from, to */
#define REQUEST_MAX_FLAG 7              /* settings, bucket */
/* Accept-Language: every candidate a header within its limit can hold
 * ("a," per candidate), each tag cut to REQUEST_MAX_LANGUAGE_TAG bytes. */
#define REQUEST_MAX_LANGUAGES (CONSENT_MAX_HEADER / 2)
#define REQUEST_MAX_LANGUAGE_TAG 31
#define REQUEST_COUNTRY_LEN 3           /* "DE" + NUL */
#define REQUEST_SUBDIVISION_LEN 4       /* "CA" (up to 3) + NUL */

enum request_status {
    REQUEST_OK = 0,
    REQUEST_PATH_TOO_LONG,      /* 400 */
    REQUEST_QUERY_TOO_LONG,     /* 400 */
    REQUEST_HEADER_TOO_LARGE,   /* 431 */
    REQUEST_BAD_LENGTH,         /* 400: CONTENT_LENGTH not a number */
    /* The body, read by the worker after request_parse: */
    REQUEST_BODY_TOO_LARGE,     /* 413: CONTENT_LENGTH over CONSENT_MAX_BODY */
    REQUEST_INCOMPLETE_BODY     /* 400: fewer bytes than CONTENT_LENGTH came */
};

/* One query parameter or cookie as parsed: 0 is found. */
enum request_param_state {
    REQUEST_PARAM_OK = 0,
    REQUEST_PARAM_ABSENT,
    REQUEST_PARAM_MALFORMED     /* bad %-escape, NUL, or over its limit */
};

struct request_param {
    enum request_param_state state;
    char value[CONSENT_MAX_PARAM + 1];  /* decoded; "" unless OK */
    int is_number;                      /* value is a whole number (strtol, base 10) */
    long number;                        /* its value when is_number */
};

/* The query parameters any handler reads, each the first of its name. */
struct request_query {
    struct request_param site;      /* banner, declaration, withdraw, me, stats */
    struct request_param preview;   /* a region to preview: see preview_* */
    struct request_param settings;  /* banner: the settings panel was opened */
    struct request_param bucket;    /* banner: the script's experiment bucket */
    struct request_param format;    /* admin: native or kantara */
    struct request_param count;     /* admin audit */
    struct request_param by, from, to;  /* admin stats */
    /* preview as a region: set when preview is OK and reads "DE" or "US-CA" */
    int preview_is_region;
    char preview_country[REQUEST_COUNTRY_LEN];
    char preview_subdivision[REQUEST_SUBDIVISION_LEN];
    int settings_open;              /* settings present and not "0" */
};

/* One Accept-Language candidate: a lower-case tag and its q (thousandths,
 * 1..1000; candidates with q=0 or no tag are left out). */
struct request_language {
    char tag[REQUEST_MAX_LANGUAGE_TAG + 1];
    int q;
};

enum request_method {
    METHOD_GET = 0,
    METHOD_HEAD,
    METHOD_POST,
    METHOD_DELETE,
    METHOD_OPTIONS,
    METHOD_OTHER
};

struct app;
struct worker;

struct request {
    enum request_method method;
    const char *method_name;
    const char *path;           /* decoded, normalised by nginx */
    const char *query;          /* raw, "" when none */
    const char *cookie;         /* every Cookie header, joined with "; "
                                   (RFC 6265 5.4); "" when none */
    const char *accept_language;
    const char *origin;         /* NULL when not sent */
    const char *remote_addr;
    const char *user_agent;
    const char *content_type;   /* NULL when not sent */
    const char *authorization;  /* NULL when not sent */
    const char *if_none_match;  /* NULL when not sent or over
                                   CONSENT_MAX_HEADER (then ignored) */
    const char *accept;         /* NULL when not sent or over
                                   CONSENT_MAX_HEADER (then ignored) */
    long content_length;        /* -1 when not sent */
    int gpc;                    /* Sec-GPC: 1 received */
    struct request_query q;     /* parsed query parameters */
    struct request_param consent_cookie;    /* the consent cookie's value,
                                               not yet checked (its MAC) */
    struct request_language languages[REQUEST_MAX_LANGUAGES];
    size_t nlanguages;          /* in header order */
    const char *body;           /* body bytes (not NUL-terminated) */
    const char *path_param;     /* the {} segment of the matched route */
    size_t path_param_len;
    size_t body_len;
    /* Backs cookie when several Cookie headers came: nginx 1.22 passes each
     * as its own HTTP_COOKIE parameter (nginx 1.23+ joins them itself). */
    char cookie_joined[CONSENT_MAX_COOKIE_HEADER + 1];
    /* Set by the worker before dispatch. */
    const struct app *app;
    struct worker *worker;
};

/*
 * Fills req from a FastCGI environment (NULL-terminated "NAME=value" array).
 * Returns REQUEST_OK or the first limit exceeded; req is usable for logging
 * either way, and on REQUEST_OK its parsed fields (q, consent_cookie,
 * languages) are filled too (else they are absent/empty). envp must outlive
 * req. Several HTTP_COOKIE parameters are joined into one cookie string
 * (empty ones left out), and the Cookie limit applies to that whole string:
 * REQUEST_HEADER_TOO_LARGE, cookie "". cookie_name is the consent cookie's
 * full name (NULL: none is read).
 */
enum request_status request_parse(struct request *req, const char *const *envp,
                                  const char *cookie_name);

/*
 * GPC rules of the W3C spec over every Sec-GPC header (FastCGI may pass
 * several HTTP_SEC_GPC parameters, or one joined with ", "): on when any
 * value is exactly "1"; every other value is ignored.
 */
int request_gpc(const char *const *envp);

/*
 * Decoded value of query parameter name into out (outlen bytes).
 * REQUEST_PARAM_OK, _ABSENT, or _MALFORMED (bad %-escape, NUL, or longer
 * than outlen - 1).
 */
enum request_param_state request_query_param(const char *query, const char *name,
                                             char *out, size_t outlen);

/* Value of cookie name into out. Same returns as request_query_param. */
enum request_param_state request_cookie(const char *cookie, const char *name,
                                        char *out, size_t outlen);

/*
 * Index of the best of n language tags (lower case, e.g. "en", "pt-br") for
 * the request's Accept-Language candidates: highest q first, an exact tag
 * before a primary subtag match ("de-AT" takes "de"); 0 (the site default)
 * when none fits.
 */
size_t request_negotiate_language(const struct request *req,
                                  const char *const *tags, size_t n);

/*
 * The network of a client address, the only part of it anything keeps:
 * the first 3 bytes of an IPv4 address (an IPv4-mapped IPv6 address counts
 * as IPv4) or the first 6 of an IPv6 one, into net. Returns 4 or 6, or 0
 * when addr is not a numeric address.
 */
int request_client_network(const char *addr, unsigned char net[6]);

/*
 * 1 when addr is a loopback address (127.0.0.0/8, ::1, or 127.0.0.0/8
 * mapped into IPv6 as ::ffff:127.x.y.z), else 0 (also for NULL and for
 * anything that is not a numeric address).
 */
int request_is_loopback(const char *addr);

/*
 * The client address with its host part zeroed, as "a.b.c.0/24" or
 * "x:y:z::/48", into out (at least 64 bytes). Returns 0, or -1 (out = "")
 * when addr is not a numeric address. Never returns the full address.
 */
int request_truncate_address(const char *addr, char *out, size_t outlen);

/*
 * 1 when an If-None-Match header value (a list of entity tags, or "*")
 * names etag by the weak comparison of RFC 9110 13.1.2 (W/ ignored, so a
 * tag nginx's gzip weakened still matches), else 0. NULL matches nothing.
 */
int request_etag_match(const char *if_none_match, const char *etag);

/* Static message for a request_status. */
const char *request_strerror(int status);

/* Static message for a request_param_state. */
const char *request_param_strerror(int state);

#endif
