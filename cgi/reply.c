/*
 * reply.c - see reply.h.
 */
#include "reply.h"
#include "app.h"

void reply_cors(const struct request *req, struct response *res, int allowed)
{
    response_header(res, "Vary", "Origin");
    if (allowed && req->origin != NULL) {
        response_header(res, "Access-Control-Allow-Origin", req->origin);
        response_header(res, "Access-Control-Allow-Credentials", "true");
    }
}

void reply_public(struct response *res)
{
    response_header(res, "Cache-Control", "public, max-age=3600");
    response_header(res, "Access-Control-Allow-Origin", "*");
}

void reply_store_unavailable(const struct request *req, struct response *res)
{
    atomic_fetch_add_explicit(&req->worker->metrics.store_errors, 1,
                              memory_order_relaxed);
    response_header(res, "Retry-After", "5");
    response_error(res, 503, "store_unavailable",
                   "the consent store is unavailable; nothing was recorded, try again");
}
