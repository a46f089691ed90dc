/*
 * response.h - building and writing one FastCGI response.
 *
 * Handlers set a status, headers and a cJSON body on a struct response on
 * the worker's stack; the worker writes it once. Header values are checked
 * for CR/LF so caller-controlled text can never split a response.
 *
 * A header that cannot be added fails the whole response, and the failure
 * sticks: handlers add headers without checking each one, and the worker's
 * one response_finish() before rendering turns a failed response into a
 * 500 (never a response with a header silently missing).
 */
#ifndef CONSENT_RESPONSE_H
#define CONSENT_RESPONSE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "../common/attrs.h"

#define RESPONSE_MAX_HEADERS 2048

enum response_status {
    RESPONSE_OK = 0,
    RESPONSE_BAD_HEADER,        /* a name or value held CR, LF (or ':' in a name) */
    RESPONSE_HEADERS_FULL       /* past RESPONSE_MAX_HEADERS */
};

struct response {
    int status;
    char headers[RESPONSE_MAX_HEADERS];     /* "Name: value\r\n"... */
    size_t hlen;
    cJSON *body;                            /* owned; NULL for no body */
    char *text;                             /* owned; a non-JSON body */
    const char *text_type;                  /* its Content-Type, static */
    const char *error_code;                 /* for the log, static */
    enum response_status failed;            /* the first failure, sticky */
};

void response_init(struct response *res);

/* Frees the body. */
void response_cleanup(struct response *res);

/*
 * Adds a header. When the value holds CR or LF, or the header block is
 * full, nothing is added and the response is failed (res->failed keeps the
 * first failure for response_finish).
 */
void response_header(struct response *res, const char *name, const char *value);

/*
 * Before rendering: RESPONSE_OK, or the response's first failure, in which
 * case its headers and body are replaced by a 500 JSON error
 * (response_failed). The caller logs the failure (response_strerror).
 */
CONSENT_MUST_CHECK enum response_status response_finish(struct response *res);

/* Static message for a response_status. */
const char *response_strerror(int status);

/* Sets status and a non-JSON body (malloc'd, owned from here on). */
void response_text(struct response *res, int status, const char *content_type,
                   char *text);

/* Sets status and body; takes ownership of body (freed even on error). */
void response_json(struct response *res, int status, cJSON *body);

/*
 * Sets an error: {"error": {"code": code, "message": message}}. code must be a
 * static string (kept for the access log).
 */
void response_error(struct response *res, int status, const char *code,
                    const char *message);

/* A worker's render buffer: most responses fit, so rendering needs no
 * allocation. */
#define RESPONSE_BUFFER (64 * 1024)

/*
 * Renders the status line, headers and body (*len bytes, not
 * NUL-terminated) into buf (buflen bytes) when it fits and returns buf;
 * otherwise into a malloc'd buffer that the caller frees (the return value
 * is then not buf). With head set the body is left out. NULL when out of
 * memory, or for a failed response that response_finish did not replace.
 */
char *response_render(const struct response *res, int head, char *buf,
                      size_t buflen, size_t *len);

/* Reason phrase for a status ("Not Found"). */
const char *response_reason(int status);

#endif
