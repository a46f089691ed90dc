/*
 * store.c - see store.h.
 */
#include "store.h"
#include "record_lua.h"

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
    s->record_sha[0] = '\0';   /* load the script again on this connection */
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

static void key_of(char *out, size_t outlen, const char *id, const char *suffix)
{
    snprintf(out, outlen, "consent:{%s}%s", id, suffix);
}

int store_head(struct store *s, const char *consent_id, char *head)
{
    char key[96];
    const char *argv[] = {"HGET", key, "head"};
    redisReply *r;
    int st;

    head[0] = '\0';
    key_of(key, sizeof(key), consent_id, "");
    st = store_command(s, &r, 3, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING && r->len < STORE_HASH_HEX)
        memcpy(head, r->str, r->len + 1);
    freeReplyObject(r);
    return STORE_OK;
}

int store_state(struct store *s, const char *consent_id, const char *site,
                char **state)
{
    char key[96], field[64];
    const char *argv[] = {"HGET", key, field};
    redisReply *r;
    int st;

    *state = NULL;
    key_of(key, sizeof(key), consent_id, "");
    snprintf(field, sizeof(field), "site:%s", site);
    st = store_command(s, &r, 3, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING && r->len < STORE_MAX_STATE) {
        *state = strndup(r->str, r->len);
        if (*state == NULL)
            st = STORE_ERROR;
    }
    freeReplyObject(r);
    return st;
}

/* SCRIPT LOAD record.lua once per connection. */
static int load_script(struct store *s)
{
    const char *argv[] = {"SCRIPT", "LOAD", record_lua};
    redisReply *r;
    int st;

    if (s->record_sha[0] != '\0' && s->ctx != NULL)
        return STORE_OK;
    st = store_command(s, &r, 3, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    memcpy(s->record_sha, r->str, 41);
    freeReplyObject(r);
    return STORE_OK;
}

int store_record(struct store *s, const struct store_write *w,
                 char *conflict_head)
{
    char k1[96], k2[96], field[64], maxh[16], ttl[24];
    const char *argv[12];
    size_t lens[12];
    redisReply *r;
    int st, tries;

    conflict_head[0] = '\0';
    key_of(k1, sizeof(k1), w->consent_id, "");
    key_of(k2, sizeof(k2), w->consent_id, ":receipts");
    snprintf(field, sizeof(field), "site:%s", w->site);
    snprintf(maxh, sizeof(maxh), "%d", w->max_history);
    snprintf(ttl, sizeof(ttl), "%ld", w->ttl_seconds);
    for (tries = 0; tries < 2; tries++) {
        st = load_script(s);
        if (st != STORE_OK)
            return st;
        argv[0] = "EVALSHA"; argv[1] = s->record_sha; argv[2] = "2";
        argv[3] = k1; argv[4] = k2; argv[5] = w->expected_head;
        argv[6] = w->receipt; argv[7] = field; argv[8] = w->state;
        argv[9] = w->new_head; argv[10] = maxh; argv[11] = ttl;
        for (int i = 0; i < 12; i++)
            lens[i] = strlen(argv[i]);
        lens[6] = w->receipt_len;
        st = store_command(s, &r, 12, argv, lens);
        if (st == STORE_ERROR && strncmp(s->last_error, "NOSCRIPT", 8) == 0) {
            s->record_sha[0] = '\0';   /* flushed: load it again */
            continue;
        }
        break;
    }
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    if (r->element[0]->integer == 0) {
        if (r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[1]->len < STORE_HASH_HEX)
            memcpy(conflict_head, r->element[1]->str, r->element[1]->len + 1);
        st = STORE_CONFLICT;
    }
    freeReplyObject(r);
    return st;
}

int store_history(struct store *s, const char *consent_id, redisReply **list,
                  long *count)
{
    char k1[96], k2[96];
    const char *argv1[] = {"HGET", k1, "count"};
    const char *argv2[] = {"LRANGE", k2, "0", "-1"};
    redisReply *r;
    int st;

    *list = NULL;
    *count = 0;
    key_of(k1, sizeof(k1), consent_id, "");
    key_of(k2, sizeof(k2), consent_id, ":receipts");
    st = store_command(s, &r, 3, argv1, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING)
        *count = strtol(r->str, NULL, 10);
    freeReplyObject(r);
    st = store_command(s, list, 4, argv2, NULL);
    if (st == STORE_OK && (*list)->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(*list);
        *list = NULL;
        return STORE_ERROR;
    }
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
    case STORE_CONFLICT:
        return "another write to this consent ID came first";
    case STORE_NOT_FOUND:
        return "not found";
    default:
        return "unknown error";
    }
}
