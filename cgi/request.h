/*
 * request.h - one HTTP request as consentd sees it through FastCGI.
 *
 * A struct request is filled once per request from the FastCGI parameters
 * (request_parse) and then read by the router and handlers. Its strings are
 * borrowed from the FCGX_Request's environment and live until the next
 * FCGX_Finish_r/FCGX_Accept_r; copy what must outlive the request.
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

enum request_status {
    REQUEST_OK = 0,
    REQUEST_PATH_TOO_LONG,      /* 400 */
    REQUEST_QUERY_TOO_LONG,     /* 400 */
    REQUEST_HEADER_TOO_LARGE,   /* 431 */
    REQUEST_BAD_LENGTH          /* 400: CONTENT_LENGTH not a number */
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
 * either way. envp must outlive req. Several HTTP_COOKIE parameters are
 * joined into one cookie string (empty ones left out), and the Cookie limit
 * applies to that whole string: REQUEST_HEADER_TOO_LARGE, cookie "".
 */
int request_parse(struct request *req, const char *const *envp);

/*
 * GPC rules of the W3C spec over every Sec-GPC header (FastCGI may pass
 * several HTTP_SEC_GPC parameters, or one joined with ", "): on when any
 * value is exactly "1"; every other value is ignored.
 */
int request_gpc(const char *const *envp);

/*
 * Decoded value of query parameter name into out (outlen bytes).
 * Returns 0 when found, 1 when absent, -1 when malformed (bad %-escape,
 * NUL, or longer than outlen - 1).
 */
int request_query_param(const char *query, const char *name, char *out,
                        size_t outlen);

/* Value of cookie name into out. Same returns as request_query_param. */
int request_cookie(const char *cookie, const char *name, char *out,
                   size_t outlen);

/*
 * Index of the best of n language tags (lower case, e.g. "en", "pt-br") for
 * an Accept-Language header: highest q first, an exact tag before a primary
 * subtag match ("de-AT" takes "de"); 0 (the site default) when none fits.
 */
size_t request_negotiate_language(const char *accept_language,
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

#endif
