/*
 * link.h - for the files of redis/ only (never included elsewhere): how a
 * connection to a Redis server is made, shared by the store and the head
 * watcher (watch.c), so that both find the servers, time out and
 * authenticate by the same rules.
 */
#ifndef CONSENT_LINK_H
#define CONSENT_LINK_H

#include <hiredis/hiredis.h>

#include "store.h"

#define STORE_MAX_SERVERS 16

/*
 * The servers to try, in order, for a connection that must reach the
 * primary ("host:port" or "unix:/path" each, into out, at most max): the
 * configured address (STORE_SINGLE), the primary the sentinels name now
 * (STORE_SENTINEL), the seed nodes (STORE_CLUSTER: for a subscriber any
 * node will do, PUBLISH reaches every node). STORE_OK with *n >= 1, or
 * STORE_UNAVAILABLE with the reason in why.
 */
int store_servers(const struct store_options *o, char (*out)[STORE_MAX_ADDRESS],
                  size_t max, size_t *n, char *why, size_t whylen);

/*
 * A connection to address with o's connect and command timeouts, AUTH
 * done when o has a password, and (under Sentinel) ROLE checked to be the
 * primary: STORE_OK with *out (free with redisFree), else *out NULL and
 * STORE_INVALID (a malformed address) or STORE_UNAVAILABLE, the reason in
 * why.
 */
CONSENT_MUST_CHECK
int store_link_open(const struct store_options *o, const char *address,
                    redisContext **out, char *why, size_t whylen);

#endif
