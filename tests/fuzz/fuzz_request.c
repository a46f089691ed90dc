/*
 * fuzz_request.c - the FastCGI request parser (cgi/request.c).
 *
 * Input: NUL-separated "NAME=value" strings, i.e. a FastCGI environment as
 * libfcgi hands it over. Each string gets its own exact-size heap copy, so
 * ASan sees any read past one of them.
 */
#include "fuzz.h"
#include "../../cgi/request.h"

#include <arpa/inet.h>
#include <string.h>

#define MAX_ENV 64

static const char *const langs[] = {"en", "de", "fr", "pt-br", "pt", "zh-hant"};
#define NLANGS (sizeof(langs) / sizeof(langs[0]))

static void check_param(enum request_param_state rc, const char *out, size_t outlen)
{
    FUZZ_CHECK(rc == REQUEST_PARAM_OK || rc == REQUEST_PARAM_ABSENT ||
               rc == REQUEST_PARAM_MALFORMED);
    if (rc == REQUEST_PARAM_OK)
        FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
}

/* A parsed parameter: a known state, a terminated value within max bytes,
 * "" unless found, and its number only for a found value. */
static void check_parsed(const struct request_param *p, size_t max)
{
    check_param(p->state, p->value, sizeof(p->value));
    FUZZ_CHECK(strlen(p->value) <= max);
    if (p->state != REQUEST_PARAM_OK)
        FUZZ_CHECK(p->value[0] == '\0' && !p->is_number);
    if (p->is_number)
        FUZZ_CHECK(p->value[0] != '\0');
}

/* What request_parse parsed up front for the handlers. */
static void check_parsed_request(const struct request *req, int status)
{
    const struct request_query *q = &req->q;

    check_parsed(&q->site, CONSENT_MAX_PARAM);
    check_parsed(&q->preview, REQUEST_MAX_SHORT_PARAM);
    check_parsed(&q->settings, REQUEST_MAX_FLAG);
    check_parsed(&q->bucket, REQUEST_MAX_FLAG);
    check_parsed(&q->format, REQUEST_MAX_SHORT_PARAM);
    check_parsed(&q->count, REQUEST_MAX_SHORT_PARAM);
    check_parsed(&q->by, REQUEST_MAX_SHORT_PARAM);
    check_parsed(&q->from, REQUEST_MAX_SHORT_PARAM);
    check_parsed(&q->to, REQUEST_MAX_SHORT_PARAM);
    check_parsed(&req->consent_cookie, CONSENT_MAX_PARAM);
    if (q->preview_is_region) {
        FUZZ_CHECK(q->preview.state == REQUEST_PARAM_OK);
        FUZZ_CHECK(strlen(q->preview_country) == 2);
        FUZZ_CHECK(strlen(q->preview_subdivision) <= 3);
    }
    FUZZ_CHECK(!q->settings_open || q->settings.state == REQUEST_PARAM_OK);
    FUZZ_CHECK(req->nlanguages <= REQUEST_MAX_LANGUAGES);
    if (status != REQUEST_OK)
        FUZZ_CHECK(req->nlanguages == 0 && q->site.state == REQUEST_PARAM_ABSENT);
    for (size_t i = 0; i < req->nlanguages; i++) {
        size_t len = strlen(req->languages[i].tag);

        FUZZ_CHECK(len > 0 && len <= REQUEST_MAX_LANGUAGE_TAG);
        FUZZ_CHECK(req->languages[i].q > 0 && req->languages[i].q <= 1000);
    }
}

static void check_address(const char *addr)
{
    char out[64];
    unsigned char b[16];
    char host[64];
    const char *slash;
    int rc;

    memset(out, 'x', sizeof(out));
    rc = request_truncate_address(addr, out, sizeof(out));
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && out[0] == '\0');
        return;
    }
    FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
    slash = strchr(out, '/');
    FUZZ_CHECK(slash != NULL && (size_t)(slash - out) < sizeof(host));
    memcpy(host, out, (size_t)(slash - out));
    host[slash - out] = '\0';
    if (strcmp(slash, "/24") == 0) {
        /* never the full address: the last octet is zero */
        FUZZ_CHECK(inet_pton(AF_INET, host, b) == 1 && b[3] == 0);
    } else {
        FUZZ_CHECK(strcmp(slash, "/48") == 0);
        FUZZ_CHECK(inet_pton(AF_INET6, host, b) == 1);
        for (int i = 6; i < 16; i++)
            FUZZ_CHECK(b[i] == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *env[MAX_ENV + 1];
    size_t n = 0, pos = 0;
    static struct request req;     /* about 12 KB: off the fuzzer's stack */
    char small[4], big[CONSENT_MAX_PARAM + 1], id[CONSENT_MAX_PARAM + 1];
    int status;
    size_t best;

    while (pos < size && n < MAX_ENV) {
        const uint8_t *nul = memchr(data + pos, '\0', size - pos);
        size_t len = nul != NULL ? (size_t)(nul - (data + pos)) : size - pos;

        env[n] = malloc(len + 1);
        if (env[n] == NULL)
            break;
        memcpy(env[n], data + pos, len);
        env[n][len] = '\0';
        n++;
        pos += len + 1;
    }
    env[n] = NULL;

    status = request_parse(&req, (const char *const *)env, "consent_id");
    FUZZ_CHECK(status >= REQUEST_OK && status <= REQUEST_BAD_LENGTH);
    FUZZ_CHECK(request_strerror(status) != NULL);
    check_parsed_request(&req, status);
    FUZZ_CHECK(req.method >= METHOD_GET && req.method <= METHOD_OTHER);
    FUZZ_CHECK(req.method_name != NULL && req.path != NULL && req.query != NULL &&
               req.cookie != NULL && req.accept_language != NULL &&
               req.remote_addr != NULL && req.user_agent != NULL);
    FUZZ_CHECK(req.gpc == request_gpc((const char *const *)env));
    FUZZ_CHECK(req.gpc == 0 || req.gpc == 1);
    FUZZ_CHECK(req.content_length >= -1 && req.content_length <= 999999999999L);
    if (status == REQUEST_OK) {
        FUZZ_CHECK(strlen(req.query) <= CONSENT_MAX_QUERY);
        FUZZ_CHECK(strlen(req.cookie) <= CONSENT_MAX_COOKIE_HEADER);
        FUZZ_CHECK(strlen(req.accept_language) <= CONSENT_MAX_HEADER);
    }

    check_param(request_query_param(req.query, "site", small, sizeof(small)),
                small, sizeof(small));
    check_param(request_query_param(req.query, "site", big, sizeof(big)),
                big, sizeof(big));
    check_param(request_query_param(req.query, "preview", small, sizeof(small)),
                small, sizeof(small));
    check_param(request_query_param(req.query, "preview", big, sizeof(big)),
                big, sizeof(big));
    check_param(request_cookie(req.cookie, "consent_id", small, sizeof(small)),
                small, sizeof(small));
    check_param(request_cookie(req.cookie, "consent_id", id, sizeof(id)),
                id, sizeof(id));

    best = request_negotiate_language(&req, langs, NLANGS);
    FUZZ_CHECK(best < NLANGS);
    FUZZ_CHECK(request_negotiate_language(&req, langs, 1) == 0);

    check_address(req.remote_addr);

    for (size_t i = 0; i < n; i++)
        free(env[i]);
    return 0;
}
