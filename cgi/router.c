/*
 * router.c - the one table that maps method + path to a handler.
 */
#include "router.h"

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
    {METHOD_GET, "/consent/v1/declaration", handle_declaration},
    {METHOD_POST, "/consent/v1/consents", handle_record},
    {METHOD_OPTIONS, "/consent/v1/consents", handle_preflight},
    {METHOD_GET, "/consent/v1/consents/me", handle_me},
    {METHOD_DELETE, "/consent/v1/consents/me", handle_withdraw},
    {METHOD_OPTIONS, "/consent/v1/consents/me", handle_preflight},
    {METHOD_GET, "/consent/v1/admin/consents/{}", handle_admin_consent},
    {METHOD_DELETE, "/consent/v1/admin/consents/{}", handle_admin_erase},
    {METHOD_GET, "/consent/v1/admin/receipts/{}", handle_admin_receipt},
    {METHOD_GET, "/consent/v1/admin/audit", handle_admin_audit},
    {METHOD_GET, "/consent/v1/admin/stats", handle_admin_stats},
    {METHOD_GET, "/consent/v1/metrics", handle_metrics},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const route_names[] = {
    "GET /consent/v1/banner", "GET /consent/v1/health", "GET /consent/v1/keys",
    "GET /consent/v1/declaration",
    "POST /consent/v1/consents", "OPTIONS /consent/v1/consents",
    "GET /consent/v1/consents/me", "DELETE /consent/v1/consents/me",
    "OPTIONS /consent/v1/consents/me", "GET /consent/v1/admin/consents/{id}",
    "DELETE /consent/v1/admin/consents/{id}", "GET /consent/v1/admin/receipts/{id}",
    "GET /consent/v1/admin/audit", "GET /consent/v1/admin/stats", "GET /consent/v1/metrics",
};
_Static_assert(sizeof(route_names) / sizeof(route_names[0]) == NROUTES,
               "one metrics name per route");

size_t router_route_names(const char *const **names)
{
    *names = route_names;
    return NROUTES;
}

/* Exact match, or a pattern ending in "{}" that matches one non-empty
 * segment (no '/'), handed to the handler as req->path_param. */
static int match(const char *pattern, const char *path, const char **param,
                 size_t *param_len)
{
    size_t n = strlen(pattern);

    if (n < 2 || strcmp(pattern + n - 2, "{}") != 0)
        return strcmp(pattern, path) == 0;
    n -= 2;
    if (strncmp(pattern, path, n) != 0 || path[n] == '\0' ||
        strchr(path + n, '/') != NULL)
        return 0;
    *param = path + n;
    *param_len = strlen(path + n);
    return 1;
}

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
        if (!match(routes[i].path, req->path, &req->path_param,
                   &req->path_param_len))
            continue;
        if (routes[i].method == m) {
            log->route = (int)i;
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
