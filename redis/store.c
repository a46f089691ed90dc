/*
 * store.c - see store.h.
 */
#include "store.h"
#include "record_lua.h"
#include "erase_lua.h"

enum { SCRIPT_RECORD = 0, SCRIPT_ERASE };
static const char *const scripts[] = {record_lua, erase_lua};

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bumped by every successful connect in the process: the only state the
 * stores share, and it is atomic. */
static atomic_ulong connects;

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
    s->seen_up = atomic_load(&connects);
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
    if (now_ms() < s->next_attempt_ms && atomic_load(&connects) == s->seen_up)
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
    atomic_fetch_add(&connects, 1);
    s->script_sha[SCRIPT_RECORD][0] = '\0';  /* load the scripts again */
    s->script_sha[SCRIPT_ERASE][0] = '\0';
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

/*
 * Whether a failed call found a connection the server had already closed
 * (Redis restarted while this worker was idle): EOF, reset or broken pipe,
 * not a timeout. Such a call never reached a live server, so it is retried
 * once on a fresh connection instead of failing the request.
 */
static int peer_gone(const struct store *s, int saved_errno)
{
    return s->ctx->err == REDIS_ERR_EOF ||
           (s->ctx->err == REDIS_ERR_IO &&
            (saved_errno == ECONNRESET || saved_errno == EPIPE));
}

/* Drops a failed context. *retry is set when it is worth one more try. */
static void drop(struct store *s, int saved_errno, int *retry)
{
    char why[128];

    *retry = peer_gone(s, saved_errno);
    snprintf(why, sizeof(why), "%s", s->ctx->errstr);
    disconnect(s, why);
    s->next_attempt_ms = 0;     /* the next call may reconnect at once */
}

int store_command(struct store *s, redisReply **reply, int argc,
                  const char **argv, const size_t *argvlen)
{
    redisReply *r;

    *reply = NULL;
    for (int tries = 0;; tries++) {
        int retry;

        if (ensure(s) != STORE_OK)
            return STORE_UNAVAILABLE;
        r = redisCommandArgv(s->ctx, argc, argv, argvlen);
        if (r != NULL)
            break;
        /* Timeout or lost connection: the context cannot be reused. */
        drop(s, errno, &retry);
        if (!retry || tries > 0)
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

/* Reads n pipelined replies; hands back the first (caller frees) and
 * checks the others are not errors. A lost connection drops the context. */
static int store_pipeline_read(struct store *s, int n, redisReply **first)
{
    int st = STORE_OK;

    *first = NULL;
    for (int i = 0; i < n; i++) {
        void *v = NULL;
        redisReply *r;

        if (redisGetReply(s->ctx, &v) != REDIS_OK || v == NULL) {
            int retry;

            if (*first != NULL)
                freeReplyObject(*first);
            *first = NULL;
            drop(s, errno, &retry);
            return retry ? STORE_RETRY : STORE_UNAVAILABLE;
        }
        r = v;
        if (r->type == REDIS_REPLY_ERROR && st == STORE_OK) {
            snprintf(s->last_error, sizeof(s->last_error), "%s", r->str);
            st = STORE_ERROR;
        }
        if (i == 0 && r->type != REDIS_REPLY_ERROR)
            *first = r;
        else
            freeReplyObject(r);
    }
    if (st != STORE_OK && *first != NULL) {
        freeReplyObject(*first);
        *first = NULL;
    }
    return st;
}

/* SCRIPT LOAD a script once per connection. */
static int load_script(struct store *s, int which)
{
    const char *argv[] = {"SCRIPT", "LOAD", scripts[which]};
    redisReply *r;
    int st;

    if (s->script_sha[which][0] != '\0' && s->ctx != NULL)
        return STORE_OK;
    st = store_command(s, &r, 3, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    memcpy(s->script_sha[which], r->str, 41);
    freeReplyObject(r);
    return STORE_OK;
}

/* EVALSHA a script (argv[0..1] are filled in here), loading it again when
 * Redis lost it (SCRIPT FLUSH, restart). */
static int eval_script(struct store *s, int which, int argc, const char **argv,
                       size_t *lens, redisReply **r)
{
    int st = STORE_ERROR;

    for (int tries = 0; tries < 2; tries++) {
        st = load_script(s, which);
        if (st != STORE_OK)
            return st;
        argv[0] = "EVALSHA";
        argv[1] = s->script_sha[which];
        lens[0] = 7;
        lens[1] = 40;
        st = store_command(s, r, argc, argv, lens);
        if (st == STORE_ERROR && strncmp(s->last_error, "NOSCRIPT", 8) == 0) {
            s->script_sha[which][0] = '\0';
            continue;
        }
        break;
    }
    return st;
}

int store_record(struct store *s, const struct store_write *w,
                 char *conflict_head)
{
    char k1[96], k2[96], field[64], maxh[16], ttl[24], idx[64];
    const char *argv[12];
    size_t lens[12];
    redisReply *r = NULL;
    int st = STORE_ERROR;

    conflict_head[0] = '\0';
    key_of(k1, sizeof(k1), w->consent_id, "");
    key_of(k2, sizeof(k2), w->consent_id, ":receipts");
    snprintf(field, sizeof(field), "site:%s", w->site);
    snprintf(maxh, sizeof(maxh), "%d", w->max_history);
    snprintf(ttl, sizeof(ttl), "%ld", w->ttl_seconds);
    argv[2] = "2";
    argv[3] = k1; argv[4] = k2; argv[5] = w->expected_head;
    argv[6] = w->receipt; argv[7] = field; argv[8] = w->state;
    argv[9] = w->new_head; argv[10] = maxh; argv[11] = ttl;
    for (int i = 2; i < 12; i++)
        lens[i] = i == 6 ? w->receipt_len : strlen(argv[i]);  /* 6 is binary */
    /* The receipt index lives in another cluster slot, so it cannot be in
     * the script; it goes in the same round trip (pipelined). It maps the
     * receipt ID, which stays the same across re-chaining retries, to the
     * consent ID; if the write never succeeds it points at a history without
     * that receipt, which a lookup answers with 404. */
    snprintf(idx, sizeof(idx), "receipt:%s", w->receipt_id);
    for (int tries = 0; tries < 2; tries++) {
        const char *iv[] = {"SET", idx, w->consent_id, "EX", ttl};

        st = load_script(s, SCRIPT_RECORD);
        if (st != STORE_OK)
            return st;
        argv[0] = "EVALSHA";
        argv[1] = s->script_sha[SCRIPT_RECORD];
        lens[0] = 7;
        lens[1] = 40;
        if (redisAppendCommandArgv(s->ctx, 12, argv, lens) != REDIS_OK ||
            redisAppendCommandArgv(s->ctx, 5, iv, NULL) != REDIS_OK) {
            disconnect(s, "out of memory");     /* half a pipeline queued */
            return STORE_UNAVAILABLE;
        }
        st = store_pipeline_read(s, 2, &r);
        if (st == STORE_ERROR && strncmp(s->last_error, "NOSCRIPT", 8) == 0) {
            s->script_sha[SCRIPT_RECORD][0] = '\0';   /* flushed: load again */
            continue;
        }
        if (st == STORE_RETRY)      /* a dead connection: reconnect, once more */
            continue;
        break;
    }
    if (st == STORE_RETRY)
        st = STORE_UNAVAILABLE;
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    if (r->element[0]->integer == 0) {
        if (r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[1]->len < STORE_HASH_HEX)
            memcpy(conflict_head, r->element[1]->str, r->element[1]->len + 1);
        freeReplyObject(r);
        /* The head is already this receipt: an earlier try of this very
         * write reached Redis before its connection failed. */
        if (strcmp(conflict_head, w->new_head) == 0)
            return STORE_OK;
        return STORE_CONFLICT;
    }
    for (size_t i = 2; i < r->elements; i++) {     /* trimmed receipts */
        const char *dv[] = {"DEL", idx};
        redisReply *x;

        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i]->len > 40)
            continue;
        snprintf(idx, sizeof(idx), "receipt:%s", r->element[i]->str);
        if (store_command(s, &x, 2, dv, NULL) == STORE_OK)
            freeReplyObject(x);
    }
    freeReplyObject(r);
    return STORE_OK;
}

int store_history(struct store *s, const char *consent_id, redisReply **list,
                  long *count, long *trimmed)
{
    char k1[96], k2[96];
    const char *argv1[] = {"HMGET", k1, "count", "trimmed"};
    const char *argv2[] = {"LRANGE", k2, "0", "-1"};
    redisReply *r;
    int st;

    *list = NULL;
    *count = 0;
    *trimmed = 0;
    key_of(k1, sizeof(k1), consent_id, "");
    key_of(k2, sizeof(k2), consent_id, ":receipts");
    st = store_command(s, &r, 4, argv1, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        if (r->element[0]->type == REDIS_REPLY_STRING)
            *count = strtol(r->element[0]->str, NULL, 10);
        if (r->element[1]->type == REDIS_REPLY_STRING)
            *trimmed = strtol(r->element[1]->str, NULL, 10);
    }
    freeReplyObject(r);
    st = store_command(s, list, 4, argv2, NULL);
    if (st == STORE_OK && (*list)->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(*list);
        *list = NULL;
        return STORE_ERROR;
    }
    return st;
}

int store_consent(struct store *s, const char *consent_id, redisReply **hash,
                  long long *pttl_ms)
{
    char key[96];
    const char *a1[] = {"HGETALL", key};
    const char *a2[] = {"PTTL", key};
    redisReply *r;
    int st;

    *hash = NULL;
    *pttl_ms = -2;
    key_of(key, sizeof(key), consent_id, "");
    st = store_command(s, &r, 2, a2, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_INTEGER)
        *pttl_ms = r->integer;
    freeReplyObject(r);
    st = store_command(s, hash, 2, a1, NULL);
    if (st == STORE_OK && (*hash)->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(*hash);
        *hash = NULL;
        return STORE_ERROR;
    }
    return st;
}

int store_tombstone(struct store *s, const char *consent_id, redisReply **hash)
{
    char key[96];
    const char *argv[] = {"HGETALL", key};
    int st;

    key_of(key, sizeof(key), consent_id, ":tombstone");
    st = store_command(s, hash, 2, argv, NULL);
    if (st == STORE_OK && (*hash)->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(*hash);
        *hash = NULL;
        return STORE_ERROR;
    }
    return st;
}

int store_receipt_owner(struct store *s, const char *receipt_id, char *consent_id,
                        size_t len)
{
    char key[64];
    const char *argv[] = {"GET", key};
    redisReply *r;
    int st;

    consent_id[0] = '\0';
    snprintf(key, sizeof(key), "receipt:%s", receipt_id);
    st = store_command(s, &r, 2, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING && r->len < len)
        memcpy(consent_id, r->str, r->len + 1);
    else
        st = STORE_NOT_FOUND;
    freeReplyObject(r);
    return st;
}

int store_erase(struct store *s, const char *consent_id,
                const char *const *receipt_ids, size_t nids, const char *who,
                long long now_ms, long tombstone_ttl_s, long long *erased)
{
    char k1[96], k2[96], k3[96], now[24], ttl[24];
    const char *argv[9];
    size_t lens[9];
    redisReply *r;
    int st;

    *erased = 0;
    key_of(k1, sizeof(k1), consent_id, "");
    key_of(k2, sizeof(k2), consent_id, ":receipts");
    key_of(k3, sizeof(k3), consent_id, ":tombstone");
    snprintf(now, sizeof(now), "%lld", now_ms);
    snprintf(ttl, sizeof(ttl), "%ld", tombstone_ttl_s);
    argv[2] = "3"; argv[3] = k1; argv[4] = k2; argv[5] = k3;
    argv[6] = now; argv[7] = who; argv[8] = ttl;
    for (int i = 2; i < 9; i++)
        lens[i] = strlen(argv[i]);
    st = eval_script(s, SCRIPT_ERASE, 9, argv, lens, &r);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_INTEGER)
        *erased = r->integer;
    freeReplyObject(r);
    for (size_t i = 0; i < nids; i++) {
        char key[64];
        const char *a[] = {"DEL", key};

        snprintf(key, sizeof(key), "receipt:%s", receipt_ids[i]);
        st = store_command(s, &r, 2, a, NULL);
        if (st != STORE_OK)
            return st;
        freeReplyObject(r);
    }
    return STORE_OK;
}

int store_audit(struct store *s, const char *const *fields, size_t nfields,
                long long now_ms, long long retention_ms, long long max_entries)
{
    const char *argv[64];
    const char *trim[] = {"XTRIM", "consent:audit", "MINID", "~", NULL};
    char minid[32], maxlen[32];
    redisReply *r;
    size_t n = 0;
    int st;

    if (nfields > 50)
        return STORE_ERROR;
    /* Bounded by age and by length ("~": Redis drops whole stream nodes,
     * so either bound may be exceeded by up to one node, at most 100
     * entries). XADD takes one trim strategy, so the age goes first, on
     * its own; if that fails the XADD below meets the same failure. */
    snprintf(minid, sizeof(minid), "%lld", now_ms - retention_ms);
    snprintf(maxlen, sizeof(maxlen), "%lld", max_entries);
    trim[4] = minid;
    if (store_command(s, &r, 5, trim, NULL) == STORE_OK)
        freeReplyObject(r);
    argv[n++] = "XADD";
    argv[n++] = "consent:audit";
    argv[n++] = "MAXLEN";
    argv[n++] = "~";
    argv[n++] = maxlen;
    argv[n++] = "*";
    for (size_t i = 0; i < nfields; i++)
        argv[n++] = fields[i];
    st = store_command(s, &r, (int)n, argv, NULL);
    if (st == STORE_OK)
        freeReplyObject(r);
    return st;
}

int store_audit_read(struct store *s, long count, redisReply **reply)
{
    char c[24];
    const char *argv[] = {"XREVRANGE", "consent:audit", "+", "-", "COUNT", c};

    snprintf(c, sizeof(c), "%ld", count);
    return store_command(s, reply, 6, argv, NULL);
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
