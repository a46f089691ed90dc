/*
 * response.c - see response.h.
 */
#include "response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void response_init(struct response *res)
{
    res->status = 200;
    res->hlen = 0;
    res->headers[0] = '\0';
    res->body = NULL;
    res->text = NULL;
    res->text_type = NULL;
    res->error_code = NULL;
    res->failed = RESPONSE_OK;
}

void response_text(struct response *res, int status, const char *content_type,
                   char *text)
{
    free(res->text);
    cJSON_Delete(res->body);
    res->body = NULL;
    res->status = status;
    res->text = text;
    res->text_type = content_type;
}

void response_cleanup(struct response *res)
{
    cJSON_Delete(res->body);
    res->body = NULL;
    free(res->text);
    res->text = NULL;
}

static void fail(struct response *res, enum response_status st)
{
    if (res->failed == RESPONSE_OK)
        res->failed = st;
}

void response_header(struct response *res, const char *name, const char *value)
{
    size_t room = sizeof(res->headers) - res->hlen;
    int n;

    if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
        fail(res, RESPONSE_BAD_HEADER);
        return;
    }
    n = snprintf(res->headers + res->hlen, room, "%s: %s\r\n", name, value);
    if (n < 0 || (size_t)n >= room) {
        res->headers[res->hlen] = '\0';
        fail(res, RESPONSE_HEADERS_FULL);
        return;
    }
    res->hlen += (size_t)n;
}

enum response_status response_finish(struct response *res)
{
    enum response_status st = res->failed;

    if (st == RESPONSE_OK)
        return RESPONSE_OK;
    response_cleanup(res);
    res->hlen = 0;
    res->headers[0] = '\0';
    res->failed = RESPONSE_OK;     /* the replacement is whole */
    response_error(res, 500, "response_failed", "the response could not be built");
    return st;
}

const char *response_strerror(int status)
{
    switch (status) {
    case RESPONSE_OK:
        return "success";
    case RESPONSE_BAD_HEADER:
        return "a header name or value held CR or LF";
    case RESPONSE_HEADERS_FULL:
        return "the response headers are larger than " "2048" " bytes";
    default:
        return "unknown error";
    }
}

void response_json(struct response *res, int status, cJSON *body)
{
    cJSON_Delete(res->body);
    res->status = status;
    res->body = body;
}

void response_error(struct response *res, int status, const char *code,
                    const char *message)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");

    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    response_json(res, status, root);
    res->error_code = code;
}

const char *response_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static int header_block(const struct response *res, char *out, size_t cap)
{
    return snprintf(out, cap, "Status: %d %s\r\n%sContent-Type: %s\r\n\r\n",
                    res->status, response_reason(res->status), res->headers,
                    res->text != NULL ? res->text_type : "application/json");
}

char *response_render(const struct response *res, int head, char *buf,
                      size_t buflen, size_t *len)
{
    char *body = NULL, *out;
    size_t blen = 0, cap;
    int n;

    if (res->failed != RESPONSE_OK)
        return NULL;    /* a failed response response_finish did not replace */
    n = header_block(res, buf, buflen);
    if (n < 0)
        return NULL;
    /* Fast path: headers and body straight into the worker's buffer
     * (cJSON_PrintPreallocated wants 5 bytes of slack). */
    if ((size_t)n < buflen) {
        if (head || (res->body == NULL && res->text == NULL)) {
            *len = (size_t)n;
            return buf;
        }
        if (res->body != NULL &&
            cJSON_PrintPreallocated(res->body, buf + n, (int)(buflen - (size_t)n), 0)) {
            *len = (size_t)n + strlen(buf + n);
            return buf;
        }
        if (res->text != NULL && strlen(res->text) < buflen - (size_t)n) {
            memcpy(buf + n, res->text, strlen(res->text));
            *len = (size_t)n + strlen(res->text);
            return buf;
        }
    }
    if (res->body != NULL) {
        body = cJSON_PrintUnformatted(res->body);
        if (body == NULL)
            return NULL;
        blen = strlen(body);
    } else if (res->text != NULL) {
        blen = strlen(res->text);
    }
    cap = 160 + res->hlen + blen;
    out = malloc(cap);
    if (out == NULL) {
        cJSON_free(body);
        return NULL;
    }
    n = header_block(res, out, cap);
    *len = (size_t)n;
    if (!head && (body != NULL || res->text != NULL)) {
        memcpy(out + n, body != NULL ? body : res->text, blen);
        *len += blen;
    }
    cJSON_free(body);
    return out;
}
