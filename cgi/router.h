/*
 * router.h - the one table that maps method + path to a handler, and the
 * handlers it maps to (handlers.c, consents.c, admin.c).
 */
#ifndef CONSENT_ROUTER_H
#define CONSENT_ROUTER_H

#include <stddef.h>

#include "request.h"
#include "response.h"

/* Extra facts a handler leaves for the access log and the metrics. */
struct request_log {
    const char *regime;         /* static or from the rules */
    int gpc;
    int route;                  /* index of the matched route, -1 for none */
};

/* A handler answers through res, errors included (a JSON error body with
 * its status): it has no status of its own to return. */
typedef void handler_fn(struct request *req, struct response *res,
                        struct request_log *log);

/*
 * Finds the handler for req's method and path and runs it. Unknown path:
 * 404; known path with another method: 405 with Allow; HEAD runs the GET
 * handler (the worker leaves the body out).
 */
void router_dispatch(struct request *req, struct response *res,
                     struct request_log *log);

/* Route names ("GET /consent/v1/banner") in table order, for the metrics. */
size_t router_route_names(const char *const **names);

handler_fn handle_banner;           /* handlers.c */
handler_fn handle_health;
handler_fn handle_keys;
handler_fn handle_declaration;
handler_fn handle_preflight;
handler_fn handle_metrics;
handler_fn handle_record;           /* consents.c */
handler_fn handle_me;
handler_fn handle_withdraw;
handler_fn handle_admin_consent;    /* admin.c */
handler_fn handle_admin_erase;
handler_fn handle_admin_receipt;
handler_fn handle_admin_audit;
handler_fn handle_admin_stats;

#endif
