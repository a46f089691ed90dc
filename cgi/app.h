/*
 * app.h - consentd's shared state, per-thread state, routes and handlers.
 *
 * struct app is built once at start and then only read by the workers.
 * struct worker belongs to one thread: its Redis connection is never shared.
 */
#ifndef CONSENT_APP_H
#define CONSENT_APP_H

#include <stdint.h>

#include "config.h"
#include "request.h"
#include "response.h"
#include "../geo/geo.h"
#include "../geo/rules.h"
#include "../redis/store.h"

struct app {
    struct config cfg;
    struct rules rules;
    struct geo geo;
};

struct worker {
    int id;
    struct store store;
};

/* Extra facts a handler leaves for the access log. */
struct request_log {
    const char *regime;         /* static or from the rules */
    int gpc;
};

typedef void handler_fn(struct request *req, struct response *res,
                        struct request_log *log);

/*
 * Finds the handler for req's method and path and runs it. Unknown path:
 * 404; known path with another method: 405 with Allow; HEAD runs the GET
 * handler (the worker leaves the body out).
 */
void router_dispatch(struct request *req, struct response *res,
                     struct request_log *log);

handler_fn handle_banner;
handler_fn handle_health;

/* Wall-clock time in epoch seconds (a test hook can move it: see main.c). */
int64_t app_now(void);

#endif
