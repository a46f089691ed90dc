/*
 * request.c - see request.h.
 */
#include "request.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Value of NAME in envp, or NULL. */
static const char *env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (const char *const *e = envp; *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

static enum request_method parse_method(const char *m)
{
    static const struct {
        const char *name;
        enum request_method method;
    } methods[] = {
        {"GET", METHOD_GET}, {"HEAD", METHOD_HEAD}, {"POST", METHOD_POST},
        {"DELETE", METHOD_DELETE}, {"OPTIONS", METHOD_OPTIONS},
    };

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(m, methods[i].name) == 0)
            return methods[i].method;
    return METHOD_OTHER;
}

int request_gpc(const char *const *envp)
{
    static const char key[] = "HTTP_SEC_GPC=";

    for (const char *const *e = envp; *e != NULL; e++) {
        const char *v;

        if (strncmp(*e, key, sizeof(key) - 1) != 0)
            continue;
        v = *e + sizeof(key) - 1;
        /* Joined duplicates: "1, 0". Each element, trimmed, must be "1". */
        while (*v != '\0') {
            const char *end = strchr(v, ',');
            size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
            const char *s = v;

            while (len > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
            }
            while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
            if (len == 1 && s[0] == '1')
                return 1;
            if (end == NULL)
                break;
            v = end + 1;
        }
    }
    return 0;
}

/*
 * req->cookie from every HTTP_COOKIE parameter. Reading only the first (as
 * env_get does) would let a visitor pass the size limit in pieces and hide
 * a consent cookie sent in a second header. Returns 0, or -1 when the
 * cookies joined would exceed CONSENT_MAX_COOKIE_HEADER (cookie is then "").
 */
static int join_cookies(struct request *req, const char *const *envp)
{
    static const char key[] = "HTTP_COOKIE=";
    const char *first = NULL;
    size_t count = 0, total = 0, o = 0;

    req->cookie = "";
    for (const char *const *e = envp; *e != NULL; e++) {
        const char *v;

        if (strncmp(*e, key, sizeof(key) - 1) != 0)
            continue;
        v = *e + sizeof(key) - 1;
        if (*v == '\0')        /* nginx passes an empty Cookie: as "" */
            continue;
        total += (count > 0 ? 2 : 0) + strlen(v);
        if (total > CONSENT_MAX_COOKIE_HEADER)
            return -1;
        if (count++ == 0)
            first = v;
    }
    if (count <= 1) {
        if (first != NULL)
            req->cookie = first;
        return 0;
    }
    for (const char *const *e = envp; *e != NULL; e++) {
        const char *v;
        size_t len;

        if (strncmp(*e, key, sizeof(key) - 1) != 0)
            continue;
        v = *e + sizeof(key) - 1;
        if (*v == '\0')
            continue;
        if (o > 0) {
            memcpy(req->cookie_joined + o, "; ", 2);
            o += 2;
        }
        len = strlen(v);
        memcpy(req->cookie_joined + o, v, len);     /* total fits: above */
        o += len;
    }
    req->cookie_joined[o] = '\0';
    req->cookie = req->cookie_joined;
    return 0;
}

int request_etag_match(const char *if_none_match, const char *etag)
{
    const char *s = if_none_match;
    size_t n = strlen(etag);

    if (s == NULL)
        return 0;
    while (*s != '\0') {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (*s == '*')
            return 1;
        if (strncmp(s, "W/", 2) == 0)
            s += 2;
        if (*s != '"')
            return 0;       /* not an entity tag: nothing further can be read */
        if (strncmp(s, etag, n) == 0 && (s[n] == '\0' || s[n] == ',' ||
                                         s[n] == ' ' || s[n] == '\t'))
            return 1;
        s = strchr(s + 1, '"');
        if (s == NULL)
            return 0;
        s++;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out ('+' is a space). -1 on bad input. */
static int url_decode(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return -1;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

enum request_param_state request_query_param(const char *query, const char *name,
                                             char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = query;

    while (*p != '\0') {
        const char *end = strchr(p, '&');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (len >= nlen && strncmp(p, name, nlen) == 0 &&
            (len == nlen || p[nlen] == '=')) {
            if (len == nlen) {
                out[0] = '\0';
                return REQUEST_PARAM_OK;
            }
            return url_decode(p + nlen + 1, len - nlen - 1, out, outlen) == 0
                   ? REQUEST_PARAM_OK : REQUEST_PARAM_MALFORMED;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return REQUEST_PARAM_ABSENT;
}

enum request_param_state request_cookie(const char *cookie, const char *name,
                                        char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = cookie;

    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = len - nlen - 1;

            while (vlen > 0 && v[vlen - 1] == ' ')
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            if (vlen + 1 > outlen)
                return REQUEST_PARAM_MALFORMED;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return REQUEST_PARAM_OK;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return REQUEST_PARAM_ABSENT;
}

/* One candidate of an Accept-Language element p[0..len): its tag (lower
 * case, cut to the tag's room) and q. 0 when it names nothing usable. */
static int parse_candidate(const char *p, size_t len, struct request_language *out)
{
    const char *semi;
    size_t tlen = 0;

    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    semi = memchr(p, ';', len);
    for (size_t i = 0; i < (semi != NULL ? (size_t)(semi - p) : len) &&
                       tlen + 1 < sizeof(out->tag); i++) {
        if (p[i] == ' ' || p[i] == '\t')
            break;
        out->tag[tlen++] = (char)tolower((unsigned char)p[i]);
    }
    out->tag[tlen] = '\0';
    out->q = 1000;
    if (semi != NULL) {
        const char *qs = semi + 1;

        while (*qs == ' ')
            qs++;
        if (qs[0] == 'q' && qs[1] == '=') {
            double d = atof(qs + 2);

            out->q = !(d > 0) ? 0 : d >= 1 ? 1000 : (int)(d * 1000 + 0.5);  /* NaN too */
        }
    }
    return out->q > 0 && tlen > 0;
}

/* The usable candidates of an Accept-Language header, in order (at most max). */
static size_t parse_languages(const char *header, struct request_language *out, size_t max)
{
    const char *p = header;
    size_t n = 0;

    while (*p != '\0' && n < max) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (parse_candidate(p, len, &out[n]))
            n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return n;
}

/* Whether candidate tag matches a site's tag: exactly (*exact set), or
 * by primary subtag either way ("de-at" takes "de"; "de" takes "de-at"). */
static int tag_matches(const char *tag, const char *site_tag, int *exact)
{
    size_t l = strlen(site_tag), tlen = strlen(tag);

    *exact = strcmp(tag, site_tag) == 0;
    return *exact || (strncmp(tag, site_tag, l) == 0 && tag[l] == '-') ||
           (strncmp(tag, site_tag, tlen) == 0 && site_tag[tlen] == '-');
}

size_t request_negotiate_language(const struct request *req,
                                  const char *const *tags, size_t n)
{
    size_t best = 0;
    int best_q = 0, best_exact = 0, exact;

    for (size_t c = 0; c < req->nlanguages; c++) {
        const struct request_language *l = &req->languages[c];

        for (size_t i = 0; i < n; i++) {
            if (!tag_matches(l->tag, tags[i], &exact))
                continue;
            if (l->q > best_q || (l->q == best_q && exact && !best_exact)) {
                best = i;
                best_q = l->q;
                best_exact = exact;
            }
        }
    }
    return best;
}

/* A parameter's outcome into p; a whole decimal value is also a number
 * (strtol's reading: leading blanks and a sign allowed). */
static void read_param(enum request_param_state st, struct request_param *p)
{
    char *end = NULL;

    p->state = st;
    if (st != REQUEST_PARAM_OK) {
        p->value[0] = '\0';
        return;
    }
    p->number = strtol(p->value, &end, 10);
    p->is_number = p->value[0] != '\0' && *end == '\0';
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

/* Every query parameter a handler reads, each within its own limit. */
static void parse_query(struct request *req)
{
    static const struct {
        const char *name;
        size_t off;
        size_t max;     /* decoded bytes; longer is malformed */
    } params[] = {
        {"site", offsetof(struct request_query, site), CONSENT_MAX_PARAM},
        {"preview", offsetof(struct request_query, preview), REQUEST_MAX_SHORT_PARAM},
        {"settings", offsetof(struct request_query, settings), REQUEST_MAX_FLAG},
        {"bucket", offsetof(struct request_query, bucket), REQUEST_MAX_FLAG},
        {"format", offsetof(struct request_query, format), REQUEST_MAX_SHORT_PARAM},
        {"count", offsetof(struct request_query, count), REQUEST_MAX_SHORT_PARAM},
        {"by", offsetof(struct request_query, by), REQUEST_MAX_SHORT_PARAM},
        {"from", offsetof(struct request_query, from), REQUEST_MAX_SHORT_PARAM},
        {"to", offsetof(struct request_query, to), REQUEST_MAX_SHORT_PARAM},
    };
    struct request_query *q = &req->q;

    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        struct request_param *p = (struct request_param *)((char *)q + params[i].off);

        read_param(request_query_param(req->query, params[i].name, p->value,
                                       params[i].max + 1), p);
    }
    q->settings_open = q->settings.state == REQUEST_PARAM_OK &&
                       strcmp(q->settings.value, "0") != 0;
    q->preview_is_region = q->preview.state == REQUEST_PARAM_OK &&
                           split_region(q->preview.value, q->preview_country,
                                        q->preview_subdivision) == 0;
}

/* Fills the raw fields from envp; NULL for headers not sent. */
static void read_fields(struct request *req, const char *const *envp)
{
    req->method_name = env_get(envp, "REQUEST_METHOD");
    if (req->method_name == NULL)
        req->method_name = "GET";
    req->method = parse_method(req->method_name);
    req->path = env_get(envp, "DOCUMENT_URI");
    if (req->path == NULL)
        req->path = env_get(envp, "SCRIPT_NAME");
    if (req->path == NULL)
        req->path = "/";
    req->query = env_get(envp, "QUERY_STRING");
    if (req->query == NULL)
        req->query = "";
    req->accept_language = env_get(envp, "HTTP_ACCEPT_LANGUAGE");
    if (req->accept_language == NULL)
        req->accept_language = "";
    req->origin = env_get(envp, "HTTP_ORIGIN");
    req->remote_addr = env_get(envp, "REMOTE_ADDR");
    if (req->remote_addr == NULL)
        req->remote_addr = "";
    req->user_agent = env_get(envp, "HTTP_USER_AGENT");
    if (req->user_agent == NULL)
        req->user_agent = "";
    req->authorization = env_get(envp, "HTTP_AUTHORIZATION");
    req->content_type = env_get(envp, "CONTENT_TYPE");
    if (req->content_type != NULL && req->content_type[0] == '\0')
        req->content_type = NULL;
    req->gpc = request_gpc(envp);
}

/* A validator or Accept too long to be ours is ignored, never refused:
 * either is only an offer (to skip the body; text/csv from the stats). */
static const char *optional_header(const char *const *envp, const char *name)
{
    const char *v = env_get(envp, name);

    return v != NULL && strlen(v) > CONSENT_MAX_HEADER ? NULL : v;
}

/* CONTENT_LENGTH into req->content_length (-1 when not sent). */
static enum request_status read_length(struct request *req, const char *const *envp)
{
    const char *v = env_get(envp, "CONTENT_LENGTH");

    req->content_length = -1;
    if (v == NULL || v[0] == '\0')
        return REQUEST_OK;
    if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 12)
        return REQUEST_BAD_LENGTH;
    req->content_length = strtol(v, NULL, 10);
    return REQUEST_OK;
}

static int too_long(const char *s)
{
    return s != NULL && strlen(s) > CONSENT_MAX_HEADER;
}

/* The first limit the raw request exceeds, or REQUEST_OK. */
static enum request_status check_limits(const struct request *req, int cookies_too_large)
{
    if (strlen(req->path) > CONSENT_MAX_PATH)
        return REQUEST_PATH_TOO_LONG;
    if (strlen(req->query) > CONSENT_MAX_QUERY)
        return REQUEST_QUERY_TOO_LONG;
    if (cookies_too_large || too_long(req->accept_language) ||
        too_long(req->user_agent) || too_long(req->origin) ||
        too_long(req->authorization))
        return REQUEST_HEADER_TOO_LARGE;
    return REQUEST_OK;
}

static void absent(struct request_param *p)
{
    memset(p, 0, sizeof(*p));
    p->state = REQUEST_PARAM_ABSENT;
}

/* Leaves every parsed field absent or empty. */
static void parsed_init(struct request *req)
{
    struct request_param *params[] = {
        &req->q.site, &req->q.preview, &req->q.settings, &req->q.bucket, &req->q.format,
        &req->q.count, &req->q.by, &req->q.from, &req->q.to, &req->consent_cookie,
    };

    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        absent(params[i]);
}

enum request_status request_parse(struct request *req, const char *const *envp,
                                  const char *cookie_name)
{
    enum request_status status, length;
    int cookies_too_large;

    memset(req, 0, sizeof(*req));
    parsed_init(req);
    read_fields(req, envp);
    cookies_too_large = join_cookies(req, envp) != 0;
    req->if_none_match = optional_header(envp, "HTTP_IF_NONE_MATCH");
    req->accept = optional_header(envp, "HTTP_ACCEPT");
    length = read_length(req, envp);
    status = check_limits(req, cookies_too_large);
    if (status != REQUEST_OK)
        return status;
    if (length != REQUEST_OK)
        return length;
    parse_query(req);
    if (cookie_name != NULL)
        read_param(request_cookie(req->cookie, cookie_name, req->consent_cookie.value,
                                  sizeof(req->consent_cookie.value)),
                   &req->consent_cookie);
    req->nlanguages = parse_languages(req->accept_language, req->languages,
                                      REQUEST_MAX_LANGUAGES);
    return REQUEST_OK;
}

int request_client_network(const char *addr, unsigned char net[6])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char b[16];

    if (inet_pton(AF_INET, addr, b) == 1) {
        memcpy(net, b, 3);
        return 4;
    }
    if (inet_pton(AF_INET6, addr, b) != 1)
        return 0;
    if (memcmp(b, mapped, sizeof(mapped)) == 0) {
        memcpy(net, b + 12, 3);
        return 4;
    }
    memcpy(net, b, 6);
    return 6;
}

int request_is_loopback(const char *addr)
{
    static const unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    unsigned char net[6], b[16];

    if (addr == NULL)
        return 0;
    if (request_client_network(addr, net) == 4)
        return net[0] == 127;
    return inet_pton(AF_INET6, addr, b) == 1 && memcmp(b, v6_loopback, sizeof(b)) == 0;
}

int request_truncate_address(const char *addr, char *out, size_t outlen)
{
    unsigned char net[6], b[16] = {0};
    char txt[INET6_ADDRSTRLEN];
    int family = request_client_network(addr, net);

    out[0] = '\0';
    if (family == 0)
        return -1;
    memcpy(b, net, family == 4 ? 3 : 6);
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, b, txt, sizeof(txt)) == NULL)
        return -1;
    snprintf(out, outlen, "%s/%d", txt, family == 4 ? 24 : 48);
    return 0;
}

const char *request_param_strerror(int state)
{
    switch (state) {
    case REQUEST_PARAM_OK:
        return "found";
    case REQUEST_PARAM_ABSENT:
        return "not sent";
    case REQUEST_PARAM_MALFORMED:
        return "a bad %-escape, a NUL, or longer than its limit";
    default:
        return "unknown error";
    }
}

const char *request_strerror(int status)
{
    switch (status) {
    case REQUEST_OK:
        return "success";
    case REQUEST_PATH_TOO_LONG:
        return "the path is longer than " "256" " bytes";
    case REQUEST_QUERY_TOO_LONG:
        return "the query string is longer than " "1024" " bytes";
    case REQUEST_HEADER_TOO_LARGE:
        return "a request header is larger than its limit";
    case REQUEST_BAD_LENGTH:
        return "Content-Length is not a number";
    case REQUEST_BODY_TOO_LARGE:
        return "the request body is larger than " "8192" " bytes";
    case REQUEST_INCOMPLETE_BODY:
        return "the request body is shorter than its Content-Length";
    default:
        return "unknown error";
    }
}
