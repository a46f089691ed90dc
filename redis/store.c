/*
 * store.c - see store.h.
 */
#include "store.h"
#include "record_lua.h"
#include "erase_lua.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

enum { SCRIPT_RECORD = 0, SCRIPT_ERASE };
static const char *const scripts[] = {record_lua, erase_lua};

/* The connection behind a struct store; hiredis stays in this file. */
struct store_link {
    redisContext *ctx;          /* NULL while disconnected */
    char host[STORE_MAX_ADDRESS];   /* where ctx is (under Sentinel: the primary
                                     * the sentinels named last), or socket path */
    int port;                   /* 0 for a unix socket */
    int64_t next_attempt_ms;    /* no reconnect before this (monotonic) ... */
    unsigned long seen_up;      /* ... unless another store connected since */
    int backoff_ms;
    size_t sentinel_first;      /* the sentinel that answered last is asked first */
    char script_sha[2][41];     /* SCRIPT LOAD of record.lua, erase.lua */
};

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

/* Forgets the connection and backs off; why (when not NULL) becomes
 * last_error. */
static void disconnect(struct store *s, const char *why)
{
    struct store_link *l = s->link;

    if (l->ctx != NULL)
        redisFree(l->ctx);
    l->ctx = NULL;
    if (why != NULL)
        snprintf(s->last_error, sizeof(s->last_error), "%s", why);
    l->next_attempt_ms = now_ms() + l->backoff_ms;
    l->seen_up = atomic_load(&connects);
    l->backoff_ms *= 2;
    if (l->backoff_ms > STORE_BACKOFF_MAX_MS)
        l->backoff_ms = STORE_BACKOFF_MAX_MS;
}

/* A connection with the store's timeouts, or NULL with the reason in why. */
static redisContext *connect_to(const struct store_options *o, const char *host,
                                int port, char *why, size_t whylen)
{
    struct timeval ctv = ms_to_tv(o->connect_timeout_ms);
    struct timeval ttv = ms_to_tv(o->command_timeout_ms);
    redisContext *c;

    if (port == 0)
        c = redisConnectUnixWithTimeout(host, ctv);
    else
        c = redisConnectWithTimeout(host, port, ctv);
    if (c == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (c->err) {
        snprintf(why, whylen, "connect %s:%d: %.100s", host, port, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, ttv) != REDIS_OK) {
        snprintf(why, whylen, "cannot set the command timeout");
        redisFree(c);
        return NULL;
    }
    return c;
}

/*
 * Asks the sentinels, the one that answered last first, for the address of
 * master_name's primary (SENTINEL get-master-addr-by-name), as the Sentinel
 * client guidelines describe. STORE_OK with host and port filled, or
 * STORE_UNAVAILABLE with last_error naming the last failure.
 */
static int ask_sentinels(struct store *s, char *host, size_t hostlen, int *port)
{
    struct store_link *l = s->link;
    const struct store_options *o = &s->opt;
    char why[STORE_MAX_ERROR] = "no sentinels";

    for (size_t i = 0; i < o->nsentinels; i++) {
        size_t k = (l->sentinel_first + i) % o->nsentinels;
        const char *argv[] = {"SENTINEL", "get-master-addr-by-name", o->master_name};
        char shost[STORE_MAX_ADDRESS], reason[STORE_MAX_ERROR];
        redisContext *c;
        redisReply *r;
        int sport;

        if (store_address_parse(o->sentinels[k], shost, sizeof(shost), &sport) != 0)
            continue;
        c = connect_to(o, shost, sport, reason, sizeof(reason));
        if (c == NULL) {
            snprintf(why, sizeof(why), "sentinel %.60s", reason);
            continue;
        }
        r = redisCommandArgv(c, 3, argv, NULL);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[0]->len > 0 && r->element[0]->len < hostlen) {
            char *end;
            long p = strtol(r->element[1]->str, &end, 10);

            if (*end == '\0' && p > 0 && p <= 65535) {
                memcpy(host, r->element[0]->str, r->element[0]->len + 1);
                *port = (int)p;
                l->sentinel_first = k;
                freeReplyObject(r);
                redisFree(c);
                return STORE_OK;
            }
        }
        snprintf(why, sizeof(why), "sentinel %.60s: %.80s", o->sentinels[k],
                 r == NULL ? c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                 : "does not know master_name");
        if (r != NULL)
            freeReplyObject(r);
        redisFree(c);
    }
    snprintf(s->last_error, sizeof(s->last_error), "no primary for \"%.40s\": %.100s",
             o->master_name, why);
    return STORE_UNAVAILABLE;
}

/* AUTH [username] password on a new connection to a Redis server. 0 when
 * accepted (or no password is configured), else -1 with why (Redis's own
 * answer, which never repeats the password). */
static int authenticate(redisContext *c, const struct store_options *o,
                        char *why, size_t whylen)
{
    const char *argv[3] = {"AUTH"};
    redisReply *r;
    int argc = 1, ok;

    if (o->password[0] == '\0')
        return 0;
    if (o->username[0] != '\0')
        argv[argc++] = o->username;
    argv[argc++] = o->password;
    r = redisCommandArgv(c, argc, argv, NULL);
    ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
    if (!ok)
        snprintf(why, whylen, "AUTH as \"%.40s\": %.100s",
                 o->username[0] != '\0' ? o->username : "default",
                 r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "?");
    if (r != NULL)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Whether c is a primary (ROLE), so that a sentinel's stale answer never
 * sends writes to a replica. 0 when it is, else -1 with why. */
static int check_primary(redisContext *c, const char *host, int port,
                         char *why, size_t whylen)
{
    redisReply *r = redisCommand(c, "ROLE");
    int ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, "master") == 0;

    if (!ok)
        snprintf(why, whylen, "%.60s:%d is not the primary (ROLE: %.40s)", host, port,
                 r == NULL ? c->errstr
                 : r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                   r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str
                 : r->type == REDIS_REPLY_ERROR ? r->str : "?");
    if (r != NULL)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Connects unless connected or still backing off. Under Sentinel every
 * connect asks the sentinels where the primary is now. */
static int ensure(struct store *s)
{
    struct store_link *l = s->link;
    char why[STORE_MAX_ERROR];
    redisContext *c;

    if (l == NULL)
        return STORE_UNAVAILABLE;
    if (l->ctx != NULL)
        return STORE_OK;
    if (now_ms() < l->next_attempt_ms && atomic_load(&connects) == l->seen_up)
        return STORE_UNAVAILABLE;
    if (s->opt.topology == STORE_SENTINEL &&
        ask_sentinels(s, l->host, sizeof(l->host), &l->port) != STORE_OK) {
        disconnect(s, NULL);
        return STORE_UNAVAILABLE;
    }
    c = connect_to(&s->opt, l->host, l->port, why, sizeof(why));
    if (c == NULL) {
        disconnect(s, why);
        return STORE_UNAVAILABLE;
    }
    if (authenticate(c, &s->opt, why, sizeof(why)) != 0) {
        redisFree(c);
        disconnect(s, why);
        return STORE_UNAVAILABLE;
    }
    if (s->opt.topology == STORE_SENTINEL &&
        check_primary(c, l->host, l->port, why, sizeof(why)) != 0) {
        redisFree(c);
        disconnect(s, why);
        return STORE_UNAVAILABLE;
    }
    l->ctx = c;
    atomic_fetch_add(&connects, 1);
    l->script_sha[SCRIPT_RECORD][0] = '\0';  /* load the scripts again */
    l->script_sha[SCRIPT_ERASE][0] = '\0';
    l->backoff_ms = STORE_BACKOFF_MIN_MS;
    s->last_error[0] = '\0';
    return STORE_OK;
}

int store_open(struct store *s, const struct store_options *opt)
{
    memset(s, 0, sizeof(*s));
    s->opt = *opt;
    if (opt->topology == STORE_SENTINEL) {
        char host[STORE_MAX_ADDRESS];
        int port;

        if (opt->nsentinels == 0 || opt->nsentinels > STORE_MAX_SENTINELS ||
            opt->master_name[0] == '\0')
            return -1;
        for (size_t i = 0; i < opt->nsentinels; i++)
            if (store_address_parse(opt->sentinels[i], host, sizeof(host), &port) != 0)
                return -1;
    } else if (opt->topology != STORE_SINGLE) {
        return -1;
    }
    s->link = calloc(1, sizeof(*s->link));
    if (s->link == NULL)
        return -1;
    s->link->backoff_ms = STORE_BACKOFF_MIN_MS;
    if (opt->topology == STORE_SINGLE &&
        store_address_parse(opt->address, s->link->host, sizeof(s->link->host),
                            &s->link->port) != 0) {
        store_close(s);
        return -1;
    }
    return ensure(s);
}

void store_close(struct store *s)
{
    if (s->link != NULL && s->link->ctx != NULL)
        redisFree(s->link->ctx);
    free(s->link);
    explicit_bzero(s, sizeof(*s));      /* the password too */
}

void store_where(const struct store *s, char *buf, size_t len)
{
    const struct store_link *l = s->link;

    if (l == NULL || l->ctx == NULL)
        snprintf(buf, len, "%s", "");
    else if (l->port == 0)
        snprintf(buf, len, "unix:%s", l->host);
    else if (strchr(l->host, ':') != NULL)
        snprintf(buf, len, "[%s]:%d", l->host, l->port);
    else
        snprintf(buf, len, "%s:%d", l->host, l->port);
}

/*
 * Whether a failed call found a connection the server had already closed
 * (Redis restarted while this worker was idle, or Sentinel's CLIENT KILL
 * after demoting it): EOF, reset or broken pipe, not a timeout. Such a call
 * never reached a live server, so it is retried once on a fresh connection
 * instead of failing the request.
 */
static int peer_gone(const struct store *s, int saved_errno)
{
    const redisContext *c = s->link->ctx;

    return c->err == REDIS_ERR_EOF ||
           (c->err == REDIS_ERR_IO &&
            (saved_errno == ECONNRESET || saved_errno == EPIPE));
}

/* Drops a failed context. *retry is set when it is worth one more try. */
static void drop(struct store *s, int saved_errno, int *retry)
{
    char why[STORE_MAX_ERROR];

    *retry = peer_gone(s, saved_errno);
    snprintf(why, sizeof(why), "%s", s->link->ctx->errstr);
    disconnect(s, why);
    s->link->next_attempt_ms = 0;   /* the next call may reconnect at once */
}

/*
 * Whether an error answer means the server we hold is no longer the
 * primary: READONLY (a replica refusing a write, also inside a script) or
 * a replica that lost its primary. Under Sentinel the connection is then
 * dropped and the sentinels asked again; with one server it is an error.
 */
static int demoted(const struct store *s, const char *err)
{
    return s->opt.topology == STORE_SENTINEL &&
           (strncmp(err, "READONLY", 8) == 0 || strncmp(err, "MASTERDOWN", 10) == 0);
}

/* Drops a connection to a server that is no longer the primary, so that
 * the next call asks the sentinels at once. */
static void forget_demoted(struct store *s, const char *err)
{
    char why[STORE_MAX_ERROR];

    snprintf(why, sizeof(why), "%.40s:%d answered %.90s", s->link->host, s->link->port, err);
    disconnect(s, why);
    s->link->next_attempt_ms = 0;
}

static int store_command(struct store *s, redisReply **reply, int argc,
                  const char **argv, const size_t *argvlen)
{
    redisReply *r;

    *reply = NULL;
    for (int tries = 0;; tries++) {
        int retry;

        if (ensure(s) != STORE_OK)
            return STORE_UNAVAILABLE;
        r = redisCommandArgv(s->link->ctx, argc, argv, argvlen);
        if (r == NULL) {
            /* Timeout or lost connection: the context cannot be reused. */
            drop(s, errno, &retry);
            if (!retry || tries > 0)
                return STORE_UNAVAILABLE;
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR && demoted(s, r->str)) {
            forget_demoted(s, r->str);
            freeReplyObject(r);
            if (tries > 0)
                return STORE_UNAVAILABLE;
            continue;               /* the new primary, once */
        }
        break;
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
    snprintf(out, outlen, "c:{%s}%s", id, suffix);
}

void store_blob_free(struct store_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static int blob_copy(struct store_blob *b, const char *data, size_t len)
{
    b->data = malloc(len + 1);
    if (b->data == NULL)
        return STORE_ERROR;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    b->len = len;
    return STORE_OK;
}

int store_head(struct store *s, const char *consent_id, struct store_blob *b)
{
    char key[64];
    const char *argv[] = {"HGET", key, "m"};
    redisReply *r;
    int st;

    memset(b, 0, sizeof(*b));
    key_of(key, sizeof(key), consent_id, "");
    st = store_command(s, &r, 3, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING)
        st = blob_copy(b, r->str, r->len);
    freeReplyObject(r);
    return st;
}

/* A field name that is a sequence number: 1-10 digits, no leading zero. */
static int seq_of(const char *s, size_t len, uint32_t *seq)
{
    unsigned long long v = 0;

    if (len == 0 || len > 10 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *seq = (uint32_t)v;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const struct store_item *x = a, *y = b;

    return (x->seq > y->seq) - (x->seq < y->seq);
}

void store_history_free(struct store_history *h)
{
    store_blob_free(&h->head);
    for (size_t i = 0; i < h->nitems; i++)
        store_blob_free(&h->items[i].blob);
    free(h->items);
    memset(h, 0, sizeof(*h));
}

/* Fills h from an HGETALL reply. */
static int history_from(struct store_history *h, const redisReply *r)
{
    h->items = calloc(r->elements / 2 + 1, sizeof(*h->items));
    if (h->items == NULL)
        return STORE_ERROR;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        uint32_t seq;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            h->nother++;
        } else if (k->len == 1 && k->str[0] == 'm') {
            if (blob_copy(&h->head, v->str, v->len) != STORE_OK)
                return STORE_ERROR;
        } else if (seq_of(k->str, k->len, &seq) == 0) {
            h->items[h->nitems].seq = seq;
            if (blob_copy(&h->items[h->nitems].blob, v->str, v->len) != STORE_OK)
                return STORE_ERROR;
            h->nitems++;
        } else {
            h->nother++;
        }
    }
    qsort(h->items, h->nitems, sizeof(*h->items), by_seq);
    return STORE_OK;
}

int store_history(struct store *s, const char *consent_id, struct store_history *h)
{
    char key[64];
    const char *a1[] = {"HGETALL", key};
    const char *a2[] = {"PTTL", key};
    redisReply *r;
    int st;

    memset(h, 0, sizeof(*h));
    h->pttl_ms = -2;
    key_of(key, sizeof(key), consent_id, "");
    st = store_command(s, &r, 2, a2, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_INTEGER)
        h->pttl_ms = r->integer;
    freeReplyObject(r);
    st = store_command(s, &r, 2, a1, NULL);
    if (st != STORE_OK)
        return st;
    st = r->type == REDIS_REPLY_ARRAY ? history_from(h, r) : STORE_ERROR;
    freeReplyObject(r);
    if (st != STORE_OK)
        store_history_free(h);
    return st;
}

int store_receipts(struct store *s, const char *consent_id, const uint32_t *seqs,
                   size_t n, struct store_item *out)
{
    char key[64], (*f)[12] = calloc(n + 1, sizeof(*f));
    const char **argv = calloc(n + 2, sizeof(*argv));
    redisReply *r = NULL;
    int st = STORE_ERROR;

    memset(out, 0, n * sizeof(*out));
    if (f == NULL || argv == NULL)
        goto cleanup;
    key_of(key, sizeof(key), consent_id, "");
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        snprintf(f[i], sizeof(f[i]), "%u", seqs[i]);
        argv[i + 2] = f[i];
        out[i].seq = seqs[i];
    }
    st = store_command(s, &r, (int)n + 2, argv, NULL);
    if (st != STORE_OK)
        goto cleanup;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        st = STORE_ERROR;
        goto cleanup;
    }
    for (size_t i = 0; i < n && st == STORE_OK; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            st = blob_copy(&out[i].blob, r->element[i]->str, r->element[i]->len);
cleanup:
    if (r != NULL)
        freeReplyObject(r);
    free(f);
    free(argv);
    return st;
}

int store_contexts(struct store *s, const char *const *refs, size_t n,
                   struct store_blob *out)
{
    char (*keys)[24] = calloc(n + 1, sizeof(*keys));
    const char **argv = calloc(n + 1, sizeof(*argv));
    redisReply *r = NULL;
    int st = STORE_ERROR;

    memset(out, 0, n * sizeof(*out));
    if (keys == NULL || argv == NULL)
        goto cleanup;
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "x:%s", refs[i]);
        argv[i + 1] = keys[i];
    }
    st = store_command(s, &r, (int)n + 1, argv, NULL);
    if (st != STORE_OK)
        goto cleanup;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        st = STORE_ERROR;
        goto cleanup;
    }
    for (size_t i = 0; i < n && st == STORE_OK; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            st = blob_copy(&out[i], r->element[i]->str, r->element[i]->len);
cleanup:
    if (r != NULL)
        freeReplyObject(r);
    free(keys);
    free(argv);
    return st;
}

/* Reads n pipelined replies; hands back the first (caller frees), checks
 * the others are not errors, and puts the last one's integer in *last
 * (when last is not NULL and it is one; else -1). A lost connection drops
 * the context. */
static int store_pipeline_read(struct store *s, int n, redisReply **first,
                               long long *last)
{
    int st = STORE_OK;

    *first = NULL;
    if (last != NULL)
        *last = -1;
    for (int i = 0; i < n; i++) {
        void *v = NULL;
        redisReply *r;

        if (redisGetReply(s->link->ctx, &v) != REDIS_OK || v == NULL) {
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
        if (i == n - 1 && last != NULL && r->type == REDIS_REPLY_INTEGER)
            *last = r->integer;
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

    if (s->link != NULL && s->link->script_sha[which][0] != '\0' && s->link->ctx != NULL)
        return STORE_OK;
    st = store_command(s, &r, 3, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    memcpy(s->link->script_sha[which], r->str, 41);
    freeReplyObject(r);
    return STORE_OK;
}

/* The receipt index bucket of a receipt ID: 4096 hashes, so that no one key
 * takes every write, and few enough that each holds many entries in one
 * compact listpack (about 36 bytes a receipt; redis.conf lets a listpack
 * grow to 512 entries: 2 million receipts before buckets turn into larger
 * hashtables). */
static void bucket_of(const unsigned char id[16], char key[16])
{
    snprintf(key, 16, "r:%02x%x", id[0], id[1] >> 4);
}

/*
 * Queues a script call and extra commands, reads every reply (the script's
 * first), loading the script again when Redis lost it (SCRIPT FLUSH,
 * restart), retrying once on a connection the server had closed, and once
 * on the new primary when the server turned out to be a replica (READONLY
 * under Sentinel: a replica writes nothing, so the retry cannot double a
 * write). This is the one place scripts run, so the NOSCRIPT, reconnect and
 * failover rules live here. extra[i] is an argv of extra_argc[i] strings
 * (lengths in extra_lens[i] or NULL).
 *
 * With min_replicas_acked, WAIT goes last in the same round trip: it
 * answers once that many replicas have everything this connection wrote,
 * or after ack_timeout_ms with how many did. Fewer: STORE_NOT_DURABLE
 * (the script's reply is still handed back: the write happened on the
 * primary).
 */
static int run_script(struct store *s, int which, int argc, const char **argv,
                      size_t *lens, size_t nextra, const char **const *extra,
                      const int *extra_argc, const size_t *const *extra_lens,
                      redisReply **r)
{
    int st = STORE_ERROR, failovers = 0;
    int wait = s->opt.min_replicas_acked > 0;
    char nrep[16], wms[16];
    const char *wv[] = {"WAIT", nrep, wms};
    long long acked = -1;

    snprintf(nrep, sizeof(nrep), "%d", s->opt.min_replicas_acked);
    snprintf(wms, sizeof(wms), "%d", s->opt.ack_timeout_ms);
    *r = NULL;
    for (int tries = 0; tries < 4; tries++) {
        int failed = 0;

        st = load_script(s, which);
        if (st != STORE_OK)
            return st;
        argv[0] = "EVALSHA";
        argv[1] = s->link->script_sha[which];
        lens[0] = 7;
        lens[1] = 40;
        failed = redisAppendCommandArgv(s->link->ctx, argc, argv, lens) != REDIS_OK;
        for (size_t i = 0; i < nextra && !failed; i++)
            failed = redisAppendCommandArgv(s->link->ctx, extra_argc[i], extra[i],
                                            extra_lens[i]) != REDIS_OK;
        if (wait && !failed)
            failed = redisAppendCommandArgv(s->link->ctx, 3, wv, NULL) != REDIS_OK;
        if (failed) {
            disconnect(s, "out of memory");     /* half a pipeline queued */
            return STORE_UNAVAILABLE;
        }
        st = store_pipeline_read(s, 1 + (int)nextra + wait, r, wait ? &acked : NULL);
        if (st == STORE_ERROR && strncmp(s->last_error, "NOSCRIPT", 8) == 0) {
            s->link->script_sha[which][0] = '\0';   /* flushed: load again */
            continue;
        }
        if (st == STORE_ERROR && demoted(s, s->last_error) && failovers++ == 0) {
            char err[STORE_MAX_ERROR];

            snprintf(err, sizeof(err), "%s", s->last_error);
            forget_demoted(s, err);
            continue;
        }
        if (st == STORE_RETRY)      /* a dead connection: reconnect, once more */
            continue;
        break;
    }
    if (st == STORE_OK && wait && acked < s->opt.min_replicas_acked) {
        snprintf(s->last_error, sizeof(s->last_error),
                 "WAIT: %lld of %d replicas confirmed within %d ms", acked < 0 ? 0 : acked,
                 s->opt.min_replicas_acked, s->opt.ack_timeout_ms);
        st = STORE_NOT_DURABLE;
    }
    return st == STORE_RETRY ? STORE_UNAVAILABLE : st;
}

#define MAX_EXTRA (2 + 2 * 16)

int store_record(struct store *s, const struct store_write *w,
                 struct store_blob *current)
{
    char key[64], tomb[64], seq[12], ttl[24], bucket[16], ctxkey[24];
    char (*trim)[12] = calloc(w->ntrim + 1, sizeof(*trim));
    char (*tb)[16] = calloc(w->ntrim + 1, sizeof(*tb));
    const char **argv = calloc(10 + w->ntrim, sizeof(*argv));
    size_t *lens = calloc(10 + w->ntrim, sizeof(*lens));
    const char *iv[4], *cv[5], *dv[MAX_EXTRA][3];
    size_t ilen[4], clen[5], dlen[MAX_EXTRA][3];
    const char **const *extra = NULL;
    const char **ex[MAX_EXTRA + 2];
    const size_t *exl[MAX_EXTRA + 2];
    int exc[MAX_EXTRA + 2];
    size_t nex = 0, argc = 0;
    redisReply *r = NULL;
    int st = STORE_ERROR;

    memset(current, 0, sizeof(*current));
    (void)extra;
    if (trim == NULL || tb == NULL || argv == NULL || lens == NULL ||
        w->ntrim > 16)
        goto cleanup;
    key_of(key, sizeof(key), w->consent_id, "");
    key_of(tomb, sizeof(tomb), w->consent_id, ":t");
    snprintf(seq, sizeof(seq), "%u", w->seq);
    snprintf(ttl, sizeof(ttl), "%ld", w->ttl_seconds);
    argc = 2;
    argv[argc] = "2"; lens[argc++] = 1;
    argv[argc] = key; lens[argc++] = strlen(key);
    argv[argc] = tomb; lens[argc++] = strlen(tomb);
    argv[argc] = w->expected_head.data != NULL ? w->expected_head.data : "";
    lens[argc++] = w->expected_head.len;
    argv[argc] = w->new_head.data; lens[argc++] = w->new_head.len;
    argv[argc] = seq; lens[argc++] = strlen(seq);
    argv[argc] = w->receipt.data; lens[argc++] = w->receipt.len;
    argv[argc] = ttl; lens[argc++] = strlen(ttl);
    for (size_t i = 0; i < w->ntrim; i++) {
        snprintf(trim[i], sizeof(trim[i]), "%u", w->trim[i]);
        argv[argc] = trim[i]; lens[argc++] = strlen(trim[i]);
    }
    /* The index and the context live in other cluster slots, so they cannot
     * be in the script; they go in the same round trip (pipelined). The
     * index maps the receipt ID, the same across re-chaining retries, to the
     * consent ID; if the write never succeeds it points at a history
     * without that receipt, which a lookup answers with 404. */
    bucket_of(w->receipt_id, bucket);
    iv[0] = "HSET"; ilen[0] = 4;
    iv[1] = bucket; ilen[1] = strlen(bucket);
    iv[2] = (const char *)w->receipt_id; ilen[2] = 16;
    iv[3] = (const char *)w->consent_id_bytes; ilen[3] = 16;
    ex[nex] = iv; exl[nex] = ilen; exc[nex++] = 4;
    if (w->context_ref != NULL) {
        snprintf(ctxkey, sizeof(ctxkey), "x:%s", w->context_ref);
        cv[0] = "SET"; clen[0] = 3;
        cv[1] = ctxkey; clen[1] = strlen(ctxkey);
        cv[2] = w->context.data; clen[2] = w->context.len;
        cv[3] = "NX"; clen[3] = 2;
        ex[nex] = cv; exl[nex] = clen; exc[nex++] = 4;
    }
    for (size_t i = 0; i < w->ntrim; i++) {
        bucket_of(w->trim_ids[i], tb[i]);
        dv[i][0] = "HDEL"; dlen[i][0] = 4;
        dv[i][1] = tb[i]; dlen[i][1] = strlen(tb[i]);
        dv[i][2] = (const char *)w->trim_ids[i]; dlen[i][2] = 16;
        ex[nex] = dv[i]; exl[nex] = dlen[i]; exc[nex++] = 3;
    }
    st = run_script(s, SCRIPT_RECORD, (int)argc, argv, lens, nex,
                    (const char **const *)ex, exc, (const size_t *const *)exl, &r);
    /* NOT_DURABLE holds only when this script wrote: a conflict or an
     * erased ID wrote nothing for WAIT to confirm. */
    if (st != STORE_OK && st != STORE_NOT_DURABLE)
        goto cleanup;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        st = STORE_ERROR;
    } else if (r->element[0]->integer == 2) {
        st = STORE_ERASED;
    } else if (r->element[0]->integer == 0) {
        st = STORE_CONFLICT;
        if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[1]->len > 0 &&
            blob_copy(current, r->element[1]->str, r->element[1]->len) != STORE_OK)
            st = STORE_ERROR;
    }
cleanup:
    if (r != NULL)
        freeReplyObject(r);
    free(trim);
    free(tb);
    free(argv);
    free(lens);
    return st;
}

int store_tombstone(struct store *s, const char *consent_id,
                    struct store_tombstone *t)
{
    char key[64];
    const char *argv[] = {"HGETALL", key};
    redisReply *r;
    int st;

    memset(t, 0, sizeof(*t));
    key_of(key, sizeof(key), consent_id, ":t");
    st = store_command(s, &r, 2, argv, NULL);
    if (st != STORE_OK)
        return st;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        struct store_erasure *e;
        int used = 0;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "n") == 0) {
            t->count = strtol(v->str, NULL, 10);
            continue;
        }
        if (k->str[0] != 'e' || t->nerasures == STORE_MAX_ERASURES)
            continue;
        e = &t->erasures[t->nerasures];
        if (sscanf(v->str, "%lld %ld %ld %n", &e->erased_ms, &e->receipts,
                   &e->written, &used) == 3 && used > 0) {
            snprintf(e->by, sizeof(e->by), "%s", v->str + used);
            t->nerasures++;
        }
    }
    freeReplyObject(r);
    return STORE_OK;
}

int store_receipt_owner(struct store *s, const unsigned char receipt_id[16],
                        unsigned char consent_id[16])
{
    char bucket[16];
    const char *argv[] = {"HGET", bucket, (const char *)receipt_id};
    size_t lens[] = {4, 0, 16};
    redisReply *r;
    int st;

    memset(consent_id, 0, 16);
    bucket_of(receipt_id, bucket);
    lens[1] = strlen(bucket);
    st = store_command(s, &r, 3, argv, lens);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING && r->len == 16)
        memcpy(consent_id, r->str, 16);
    else
        st = STORE_NOT_FOUND;
    freeReplyObject(r);
    return st;
}

int store_unindex(struct store *s, const unsigned char (*ids)[16], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char bucket[16];
        const char *a[] = {"HDEL", bucket, (const char *)ids[i]};
        size_t l[] = {4, 0, 16};
        redisReply *r;
        int st;

        bucket_of(ids[i], bucket);
        l[1] = strlen(bucket);
        st = store_command(s, &r, 3, a, l);
        if (st != STORE_OK)
            return st;
        freeReplyObject(r);
    }
    return STORE_OK;
}

int store_erase(struct store *s, const char *consent_id,
                const unsigned char (*receipt_ids)[16], size_t nids,
                const char *who, long long now_ms, long tombstone_ttl_s,
                long long *erased, long long *number)
{
    char k1[64], k2[64], now[24], ttl[24];
    const char *argv[8];
    size_t lens[8];
    redisReply *r;
    int st;

    *erased = 0;
    *number = 0;
    key_of(k1, sizeof(k1), consent_id, "");
    key_of(k2, sizeof(k2), consent_id, ":t");
    snprintf(now, sizeof(now), "%lld", now_ms);
    snprintf(ttl, sizeof(ttl), "%ld", tombstone_ttl_s);
    argv[2] = "2"; argv[3] = k1; argv[4] = k2;
    argv[5] = now; argv[6] = who; argv[7] = ttl;
    for (int i = 2; i < 8; i++)
        lens[i] = strlen(argv[i]);
    st = run_script(s, SCRIPT_ERASE, 8, argv, lens, 0, NULL, NULL, NULL, &r);
    if (st != STORE_OK && st != STORE_NOT_DURABLE)
        return st;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->type == REDIS_REPLY_INTEGER) {
        *erased = r->element[0]->integer;
        *number = r->element[1]->integer;
    }
    freeReplyObject(r);
    {
        int ust = store_unindex(s, receipt_ids, nids);

        return st == STORE_OK ? ust : st;
    }
}

/* One field of INFO persistence as a number; -1 when absent. */
static long long info_field(const char *info, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = info; p != NULL && *p != '\0'; ) {
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static int persistence(struct store *s, long long *enabled, long long *running,
                       long long *done, long long *ok)
{
    const char *argv[] = {"INFO", "persistence"};
    redisReply *r;
    int st = store_command(s, &r, 2, argv, NULL);

    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    *enabled = info_field(r->str, "aof_enabled");
    *running = info_field(r->str, "aof_rewrite_in_progress") > 0 ||
               info_field(r->str, "aof_rewrite_scheduled") > 0;
    *done = info_field(r->str, "aof_rewrites");
    *ok = strstr(r->str, "aof_last_bgrewrite_status:ok") != NULL;
    freeReplyObject(r);
    return STORE_OK;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int store_purge(struct store *s, int timeout_ms)
{
    const char *argv[] = {"BGREWRITEAOF"};
    int64_t deadline = now_ms() + timeout_ms;
    long long enabled, running, done, ok, before = -1;
    redisReply *r;
    int st;

    /* A rewrite already running may have forked before the erasure: wait
     * for it, then note how many rewrites have finished. Any rewrite that
     * finishes after that count started after the erasure. */
    for (;;) {
        st = persistence(s, &enabled, &running, &done, &ok);
        if (st != STORE_OK)
            return st;
        if (enabled != 1)
            return STORE_OK;        /* no AOF: nothing to rewrite (README) */
        if (!running) {
            before = done;
            break;
        }
        if (now_ms() > deadline)
            return STORE_TIMEOUT;
        sleep_ms(10);
    }
    /* Another erasure may start one first ("already in progress"): that one
     * serves this erasure too, so the answer does not matter. */
    st = store_command(s, &r, 1, argv, NULL);
    if (st == STORE_OK)
        freeReplyObject(r);
    else if (st != STORE_ERROR)
        return st;
    for (;;) {
        st = persistence(s, &enabled, &running, &done, &ok);
        if (st != STORE_OK)
            return st;
        if (done > before && !running)
            return ok ? STORE_OK : STORE_ERROR;
        if (now_ms() > deadline)
            return STORE_TIMEOUT;
        sleep_ms(10);
    }
}

int store_v1_scan(struct store *s, char *cursor, char (*ids)[23], size_t max, size_t *n)
{
    const char *argv[] = {"SCAN", cursor, "MATCH", "consent:{*}", "COUNT", "500"};
    redisReply *r;
    int st;

    *n = 0;
    st = store_command(s, &r, 6, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    snprintf(cursor, 32, "%s", r->element[0]->str);
    for (size_t i = 0; i < r->element[1]->elements && *n < max; i++) {
        const redisReply *k = r->element[1]->element[i];

        /* consent:{ID} exactly: 22 characters between the braces */
        if (k->type == REDIS_REPLY_STRING && k->len == 32 &&
            strncmp(k->str, "consent:{", 9) == 0 && k->str[31] == '}') {
            memcpy(ids[*n], k->str + 9, 22);
            ids[*n][22] = '\0';
            (*n)++;
        }
    }
    freeReplyObject(r);
    return STORE_OK;
}

void store_v1_free(struct store_v1 *h)
{
    for (size_t i = 0; i < h->nreceipts; i++)
        store_blob_free(&h->receipts[i]);
    free(h->receipts);
    memset(h, 0, sizeof(*h));
}

int store_v1_history(struct store *s, const char *consent_id, struct store_v1 *h)
{
    char k1[64], k2[64];
    const char *a1[] = {"HMGET", k1, "head", "count", "trimmed"};
    const char *a2[] = {"LRANGE", k2, "0", "-1"};
    redisReply *r;
    int st;

    memset(h, 0, sizeof(*h));
    snprintf(k1, sizeof(k1), "consent:{%s}", consent_id);
    snprintf(k2, sizeof(k2), "consent:{%s}:receipts", consent_id);
    st = store_command(s, &r, 5, a1, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        if (r->element[0]->type == REDIS_REPLY_STRING)
            snprintf(h->head, sizeof(h->head), "%s", r->element[0]->str);
        if (r->element[1]->type == REDIS_REPLY_STRING)
            h->count = strtol(r->element[1]->str, NULL, 10);
        if (r->element[2]->type == REDIS_REPLY_STRING)
            h->trimmed = strtol(r->element[2]->str, NULL, 10);
    }
    freeReplyObject(r);
    st = store_command(s, &r, 4, a2, NULL);
    if (st != STORE_OK)
        return st;
    h->receipts = calloc(r->elements + 1, sizeof(*h->receipts));
    for (size_t i = 0; h->receipts != NULL && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            blob_copy(&h->receipts[h->nreceipts], r->element[i]->str,
                      r->element[i]->len) == STORE_OK)
            h->nreceipts++;
    st = h->receipts != NULL ? STORE_OK : STORE_ERROR;
    freeReplyObject(r);
    return st;
}

int store_v1_delete(struct store *s, const char *consent_id,
                    const char *const *receipt_ids, size_t n)
{
    char k1[64], k2[64];
    const char *a[] = {"DEL", k1, k2};
    redisReply *r;
    int st;

    snprintf(k1, sizeof(k1), "consent:{%s}", consent_id);
    snprintf(k2, sizeof(k2), "consent:{%s}:receipts", consent_id);
    st = store_command(s, &r, 3, a, NULL);
    if (st != STORE_OK)
        return st;
    freeReplyObject(r);
    for (size_t i = 0; i < n; i++) {
        char key[64];
        const char *d[] = {"DEL", key};

        snprintf(key, sizeof(key), "receipt:%s", receipt_ids[i]);
        st = store_command(s, &r, 2, d, NULL);
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

void store_audit_free(struct store_audit_entry *entries, size_t n)
{
    for (size_t i = 0; entries != NULL && i < n; i++)
        for (size_t k = 0; k < entries[i].nfields; k++) {
            free(entries[i].names[k]);
            free(entries[i].values[k]);
        }
    free(entries);
}

int store_audit_read(struct store *s, long count, struct store_audit_entry **entries,
                     size_t *n)
{
    char c[24];
    const char *argv[] = {"XREVRANGE", "consent:audit", "+", "-", "COUNT", c};
    struct store_audit_entry *out = NULL;
    redisReply *r;
    int st;

    *entries = NULL;
    *n = 0;
    snprintf(c, sizeof(c), "%ld", count);
    st = store_command(s, &r, 6, argv, NULL);
    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    out = calloc(r->elements + 1, sizeof(*out));
    if (out == NULL) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *f;
        struct store_audit_entry *a = &out[*n];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        snprintf(a->id, sizeof(a->id), "%s", e->element[0]->str);
        f = e->element[1];
        for (size_t k = 0; k + 1 < f->elements && a->nfields < STORE_MAX_AUDIT_FIELDS;
             k += 2) {
            if (f->element[k]->type != REDIS_REPLY_STRING ||
                f->element[k + 1]->type != REDIS_REPLY_STRING)
                continue;
            a->names[a->nfields] = strdup(f->element[k]->str);
            a->values[a->nfields] = strdup(f->element[k + 1]->str);
            if (a->names[a->nfields] == NULL || a->values[a->nfields] == NULL) {
                free(a->names[a->nfields]);
                free(a->values[a->nfields]);
                st = STORE_ERROR;
                break;
            }
            a->nfields++;
        }
        (*n)++;
        if (st != STORE_OK)
            break;
    }
    freeReplyObject(r);
    if (st != STORE_OK) {
        store_audit_free(out, *n);
        *n = 0;
        return st;
    }
    *entries = out;
    return STORE_OK;
}

/* ---- consent analytics: counts only (see store.h) ---- */

/* FNV-1a of a field, for its shard: the same field always lands in the
 * same key, so a day's counts are spread over STORE_STATS_SHARDS keys
 * (and Cluster slots) without duplicates. */
static unsigned stats_shard(const char *field)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)field; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h % STORE_STATS_SHARDS;
}

/* "a:{SITE:YYYY-MM-DD:SHARD}": the whole name is the hash tag, so each key
 * is one slot of its own and one pipeline of commands on it never crosses
 * slots. -1 when the day is out of range. */
static int stats_key(char *out, size_t len, const char *site, long day, unsigned shard)
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    int n;

    if (day < 0 || gmtime_r(&t, &tm) == NULL)
        return -1;
    n = snprintf(out, len, "a:{%s:%04d-%02d-%02d:%u}", site, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, shard);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Sends n commands on the connection in one round trip and reads every
 * reply into replies[] (caller frees each). A connection lost on the way is
 * dropped and STORE_UNAVAILABLE returned: what was sent may or may not have
 * been applied, so a write is not retried here. */
static int stats_pipeline(struct store *s, size_t n, int *argc, const char ***argv,
                          redisReply **replies)
{
    int st = STORE_OK;

    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    if (ensure(s) != STORE_OK)
        return STORE_UNAVAILABLE;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommandArgv(s->link->ctx, argc[i], argv[i], NULL) != REDIS_OK) {
            disconnect(s, "out of memory");
            return STORE_UNAVAILABLE;
        }
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;

        if (redisGetReply(s->link->ctx, &v) != REDIS_OK || v == NULL) {
            int retry;

            drop(s, errno, &retry);
            return STORE_UNAVAILABLE;
        }
        replies[i] = v;
        if (replies[i]->type == REDIS_REPLY_ERROR && st == STORE_OK) {
            snprintf(s->last_error, sizeof(s->last_error), "%s", replies[i]->str);
            if (demoted(s, replies[i]->str))
                st = STORE_UNAVAILABLE;     /* the next call asks the sentinels */
            else
                st = STORE_ERROR;
        }
    }
    if (st == STORE_UNAVAILABLE)
        forget_demoted(s, s->last_error);
    return st;
}

static void stats_replies_free(redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i] != NULL)
            freeReplyObject(r[i]);
}

struct stats_ref {
    char key[STORE_MAX_STATS_KEY];
    size_t index;
};

static int stats_ref_cmp(const void *a, const void *b)
{
    const struct stats_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

int store_stats_add(struct store *s, struct store_counter *c, size_t n, long ttl_s)
{
    struct stats_ref *refs = calloc(n + 1, sizeof(*refs));
    /* one key's group: MULTI, HINCRBY..., EXPIRE, EXEC */
    int *argc = calloc(n + 3, sizeof(*argc));
    const char ***argv = calloc(n + 3, sizeof(*argv));
    const char *(*args)[4] = calloc(n + 3, sizeof(*args));
    char (*by)[24] = calloc(n + 1, sizeof(*by));
    redisReply **replies = calloc(n + 3, sizeof(*replies));
    char ttl[24];
    int st = STORE_OK;

    if (refs == NULL || argc == NULL || argv == NULL || args == NULL || by == NULL ||
        replies == NULL) {
        st = STORE_ERROR;
        goto cleanup;
    }
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    for (size_t i = 0; i < n; i++) {
        c[i].written = 0;
        refs[i].index = i;
        if (stats_key(refs[i].key, sizeof(refs[i].key), c[i].site, c[i].day,
                      stats_shard(c[i].field)) != 0) {
            st = STORE_ERROR;
            goto cleanup;
        }
    }
    qsort(refs, n, sizeof(*refs), stats_ref_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i, m = 0;

        argc[m] = 1;
        args[m][0] = "MULTI";
        argv[m] = args[m];
        m++;
        for (; j < n && strcmp(refs[j].key, refs[i].key) == 0; j++) {
            const struct store_counter *k = &c[refs[j].index];

            snprintf(by[j], sizeof(by[j]), "%lld", k->by);
            argc[m] = 4;
            args[m][0] = "HINCRBY";
            args[m][1] = refs[j].key;
            args[m][2] = k->field;
            args[m][3] = by[j];
            argv[m] = args[m];
            m++;
        }
        argc[m] = 3;
        args[m][0] = "EXPIRE";
        args[m][1] = refs[i].key;
        args[m][2] = ttl;
        argv[m] = args[m];
        m++;
        argc[m] = 1;
        args[m][0] = "EXEC";
        argv[m] = args[m];
        m++;
        st = stats_pipeline(s, m, argc, argv, replies);
        if (st == STORE_OK && replies[m - 1]->type != REDIS_REPLY_ARRAY)
            st = STORE_ERROR;   /* EXEC discarded the transaction */
        stats_replies_free(replies, m);
        if (st != STORE_OK)
            break;
        for (size_t k = i; k < j; k++)
            c[refs[k].index].written = 1;
        i = j;
    }
cleanup:
    free(refs);
    free(argc);
    free(argv);
    free(args);
    free(by);
    free(replies);
    return st;
}

void store_stats_free(struct store_stat *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        free(rows[i].field);
    free(rows);
}

#define STATS_READ_BATCH 64     /* HGETALLs per round trip */

int store_stats_read(struct store *s, const char *site, long from_day, long to_day,
                     struct store_stat **out, size_t *nout)
{
    size_t nkeys, cap = 64, n = 0;
    struct store_stat *rows = malloc(cap * sizeof(*rows));
    char (*keys)[STORE_MAX_STATS_KEY] = NULL;
    long *days = NULL;
    int argc[STATS_READ_BATCH];
    const char *args[STATS_READ_BATCH][2];
    const char **argv[STATS_READ_BATCH];
    redisReply *replies[STATS_READ_BATCH];
    int st = STORE_OK;

    *out = NULL;
    *nout = 0;
    if (from_day > to_day || from_day < 0) {
        free(rows);
        return STORE_ERROR;
    }
    nkeys = (size_t)(to_day - from_day + 1) * STORE_STATS_SHARDS;
    keys = calloc(nkeys, sizeof(*keys));
    days = calloc(nkeys, sizeof(*days));
    if (rows == NULL || keys == NULL || days == NULL) {
        st = STORE_ERROR;
        goto cleanup;
    }
    for (size_t i = 0; i < nkeys; i++) {
        days[i] = from_day + (long)(i / STORE_STATS_SHARDS);
        if (stats_key(keys[i], sizeof(keys[i]), site, days[i],
                      (unsigned)(i % STORE_STATS_SHARDS)) != 0) {
            st = STORE_ERROR;
            goto cleanup;
        }
    }
    for (size_t b = 0; b < nkeys && st == STORE_OK; b += STATS_READ_BATCH) {
        size_t m = nkeys - b < STATS_READ_BATCH ? nkeys - b : STATS_READ_BATCH;

        for (size_t i = 0; i < m; i++) {
            argc[i] = 2;
            args[i][0] = "HGETALL";
            args[i][1] = keys[b + i];
            argv[i] = args[i];
        }
        st = stats_pipeline(s, m, argc, argv, replies);
        for (size_t i = 0; i < m && st == STORE_OK; i++) {
            const redisReply *r = replies[i];

            if (r->type != REDIS_REPLY_ARRAY) {
                st = STORE_ERROR;
                break;
            }
            for (size_t k = 0; k + 1 < r->elements; k += 2) {
                const redisReply *f = r->element[k], *v = r->element[k + 1];
                char *end;
                long long count;

                if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                    continue;
                count = strtoll(v->str, &end, 10);
                if (*end != '\0')
                    continue;       /* not a counter: ignored */
                if (n == cap) {
                    struct store_stat *grown = realloc(rows, 2 * cap * sizeof(*rows));

                    if (grown == NULL) {
                        st = STORE_ERROR;
                        break;
                    }
                    rows = grown;
                    cap *= 2;
                }
                rows[n].field = strdup(f->str);
                if (rows[n].field == NULL) {
                    st = STORE_ERROR;
                    break;
                }
                rows[n].day = days[b + i];
                rows[n].count = count;
                n++;
            }
        }
        stats_replies_free(replies, m);
    }
cleanup:
    free(keys);
    free(days);
    if (st != STORE_OK) {
        store_stats_free(rows, n);
        return st;
    }
    *out = rows;
    *nout = n;
    return STORE_OK;
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
    case STORE_RETRY:
        return "the connection was lost; try again";
    case STORE_ERASED:
        return "the consent ID was erased";
    case STORE_TIMEOUT:
        return "Redis did not finish rewriting its data files in time";
    case STORE_NOT_DURABLE:
        return "the primary took the write, but too few replicas confirmed it in time";
    default:
        return "unknown error";
    }
}
