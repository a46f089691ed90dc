/*
 * reply.h - answers several handlers give alike: the CORS headers of a
 * credentialed request or of a public document, and 503 when the consent
 * store is unavailable.
 */
#ifndef CONSENT_REPLY_H
#define CONSENT_REPLY_H

#include "request.h"
#include "response.h"

/*
 * The CORS headers of the visitor API: Vary: Origin always, and when
 * allowed (the caller's check of req->origin against a site's origins or
 * every site's) and an Origin was sent, that origin with credentials.
 */
void reply_cors(const struct request *req, struct response *res, int allowed);

/* A public document (the keys, a declaration): cacheable by anyone for an
 * hour and readable from any origin (no credentials). */
void reply_public(struct response *res);

/* 503 store_unavailable with Retry-After; counts a store error. */
void reply_store_unavailable(const struct request *req, struct response *res);

#endif
