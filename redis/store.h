/*
 * store.h - the receipt store in Redis (hiredis).
 *
 * One struct store per worker thread: a redisContext is not thread-safe.
 * Connections use connect and command timeouts; a lost connection is
 * re-established on a later call, with a backoff so that while Redis is down
 * requests fail at once instead of each waiting for a connect timeout.
 */
#ifndef CONSENT_STORE_H
#define CONSENT_STORE_H

#include <stdint.h>
#include <hiredis/hiredis.h>

#define STORE_BACKOFF_MIN_MS 50
#define STORE_BACKOFF_MAX_MS 2000

enum store_status {
    STORE_OK = 0,
    STORE_UNAVAILABLE,      /* cannot connect, timed out, or connection lost */
    STORE_ERROR             /* Redis answered with an error */
};

struct store {
    redisContext *ctx;          /* NULL while disconnected */
    char *host;                 /* host, or unix socket path */
    int port;                   /* 0 for a unix socket */
    int connect_timeout_ms;
    int command_timeout_ms;
    int64_t next_attempt_ms;    /* no reconnect before this (monotonic) */
    int backoff_ms;
    char last_error[128];       /* why it is unavailable, for health/logs */
};

/*
 * Prepares a store for address ("host:port" or "unix:/path") and tries to
 * connect once. Returns STORE_OK, or STORE_UNAVAILABLE when the first
 * connection failed (the store stays usable: later calls reconnect), or -1
 * when address is malformed / out of memory. Close with store_close().
 */
int store_open(struct store *s, const char *address, int connect_timeout_ms,
               int command_timeout_ms);

/* Disconnects and frees. Safe on a zeroed struct. */
void store_close(struct store *s);

/* PING. STORE_OK when Redis answered PONG. */
int store_ping(struct store *s);

/*
 * Runs one command (argv form) and hands back the reply, owned by the caller
 * (freeReplyObject), or NULL on STORE_UNAVAILABLE / STORE_ERROR. A reply of
 * type REDIS_REPLY_ERROR is freed and reported as STORE_ERROR with its text
 * in s->last_error.
 */
int store_command(struct store *s, redisReply **reply, int argc,
                  const char **argv, const size_t *argvlen);

/* Static message for a store_status. */
const char *store_strerror(int status);

#endif
