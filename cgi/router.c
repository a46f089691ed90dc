/*
 * router.c - the one table that maps method + path to a handler.
 */
#include "app.h"

#include <stdio.h>
#include <string.h>

struct route {
    enum request_method method;
    const char *path;
    handler_fn *handler;
};

static const struct route routes[] = {
    {METHOD_GET, "/consent/v1/banner", handle_banner},
    {METHOD_GET, "/consent/v1/health", handle_health},
    {METHOD_GET, "/consent/v1/keys", handle_keys},
    {METHOD_POST, "/consent/v1/consents", handle_record},
    {METHOD_OPTIONS, "/consent/v1/consents", handle_preflight},
    {METHOD_GET, "/consent/v1/consents/me", handle_me},
    {METHOD_DELETE, "/consent/v1/consents/me", handle_withdraw},
    {METHOD_OPTIONS, "/consent/v1/consents/me", handle_preflight},
};

static const char *method_names[] = {
    [METHOD_GET] = "GET", [METHOD_HEAD] = "HEAD", [METHOD_POST] = "POST",
    [METHOD_DELETE] = "DELETE", [METHOD_OPTIONS] = "OPTIONS",
    [METHOD_OTHER] = "",
};

void router_dispatch(struct request *req, struct response *res,
                     struct request_log *log)
{
    enum request_method m = req->method == METHOD_HEAD ? METHOD_GET
                                                        : req->method;
    char allow[96] = "";
    int known = 0;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, req->path) != 0)
            continue;
        if (routes[i].method == m) {
            routes[i].handler(req, res, log);
            return;
        }
        known = 1;
        if (allow[0] != '\0')
            strcat(allow, ", ");
        strcat(allow, method_names[routes[i].method]);
        if (routes[i].method == METHOD_GET)
            strcat(allow, ", HEAD");
    }
    if (!known) {
        response_error(res, 404, "not_found", "no such endpoint");
        return;
    }
    response_header(res, "Allow", allow);
    response_error(res, 405, "method_not_allowed",
                   "this endpoint does not take that method");
}
