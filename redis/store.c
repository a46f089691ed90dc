/*
 * store.c - see store.h.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void disconnect(struct store *s, const char *why)
{
    if (s->ctx != NULL)
        redisFree(s->ctx);
    s->ctx = NULL;
    snprintf(s->last_error, sizeof(s->last_error), "%s", why);
    s->next_attempt_ms = now_ms() + s->backoff_ms;
    s->backoff_ms *= 2;
    if (s->backoff_ms > STORE_BACKOFF_MAX_MS)
        s->backoff_ms = STORE_BACKOFF_MAX_MS;
}

/* Connects unless connected or still backing off. */
static int ensure(struct store *s)
{
    struct timeval ctv, ttv;
    redisContext *c;

    if (s->ctx != NULL)
        return STORE_OK;
    if (now_ms() < s->next_attempt_ms)
        return STORE_UNAVAILABLE;
    ctv = ms_to_tv(s->connect_timeout_ms);
    if (s->port == 0)
        c = redisConnectUnixWithTimeout(s->host, ctv);
    else
        c = redisConnectWithTimeout(s->host, s->port, ctv);
    if (c == NULL) {
        disconnect(s, "out of memory");
        return STORE_UNAVAILABLE;
    }
    if (c->err) {
        char why[128];

        snprintf(why, sizeof(why), "connect: %.100s", c->errstr);
        redisFree(c);
        disconnect(s, why);
        return STORE_UNAVAILABLE;
    }
    ttv = ms_to_tv(s->command_timeout_ms);
    if (redisSetTimeout(c, ttv) != REDIS_OK) {
        redisFree(c);
        disconnect(s, "cannot set the command timeout");
        return STORE_UNAVAILABLE;
    }
    s->ctx = c;
    s->backoff_ms = STORE_BACKOFF_MIN_MS;
    s->last_error[0] = '\0';
    return STORE_OK;
}

int store_open(struct store *s, const char *address, int connect_timeout_ms,
               int command_timeout_ms)
{
    memset(s, 0, sizeof(*s));
    s->connect_timeout_ms = connect_timeout_ms;
    s->command_timeout_ms = command_timeout_ms;
    s->backoff_ms = STORE_BACKOFF_MIN_MS;
    if (strncmp(address, "unix:", 5) == 0) {
        s->host = strdup(address + 5);
    } else {
        const char *colon = strrchr(address, ':');
        char *end;
        long port;

        if (colon == NULL)
            return -1;
        port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port <= 0 || port > 65535)
            return -1;
        s->port = (int)port;
        s->host = strndup(address, (size_t)(colon - address));
    }
    if (s->host == NULL)
        return -1;
    return ensure(s);
}

void store_close(struct store *s)
{
    if (s->ctx != NULL)
        redisFree(s->ctx);
    free(s->host);
    memset(s, 0, sizeof(*s));
}

int store_command(struct store *s, redisReply **reply, int argc,
                  const char **argv, const size_t *argvlen)
{
    redisReply *r;

    *reply = NULL;
    if (ensure(s) != STORE_OK)
        return STORE_UNAVAILABLE;
    r = redisCommandArgv(s->ctx, argc, argv, argvlen);
    if (r == NULL) {
        char why[128];

        /* Timeout or lost connection: the context cannot be reused. */
        snprintf(why, sizeof(why), "%s", s->ctx->errstr);
        disconnect(s, why);
        s->next_attempt_ms = 0;     /* the next call may retry at once */
        return STORE_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", r->str);
        freeReplyObject(r);
        return STORE_ERROR;
    }
    *reply = r;
    return STORE_OK;
}

int store_ping(struct store *s)
{
    const char *argv[] = {"PING"};
    redisReply *r;
    int st = store_command(s, &r, 1, argv, NULL);

    if (st != STORE_OK)
        return st;
    st = (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0)
             ? STORE_OK : STORE_ERROR;
    freeReplyObject(r);
    return st;
}

const char *store_strerror(int status)
{
    switch (status) {
    case STORE_OK:
        return "success";
    case STORE_UNAVAILABLE:
        return "Redis is unavailable";
    case STORE_ERROR:
        return "Redis answered with an error";
    default:
        return "unknown error";
    }
}
