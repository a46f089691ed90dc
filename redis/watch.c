/*
 * watch.c - see watch.h.
 *
 * The sequence number is what readers check: it is odd while the watcher
 * is not subscribed and while it applies what it read from the socket,
 * even while it is subscribed and everything it read is applied. A reader
 * that saw the same even number before and after its read, and found the
 * socket empty in between, knows that every message that had reached this
 * process before its check was applied before its read began (the watcher
 * read it earlier and finished applying it before the first look) or would
 * have been seen (waiting in the socket, or the number would have moved).
 */
#include "watch.h"
#include "link.h"
#include "../common/clock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct watch {
    struct watch_options o;
    pthread_t thread;
    atomic_int stopping;
    atomic_ulong seq;
    atomic_int fd;                  /* the subscribed socket, -1 when none */
    pthread_mutex_t lock;           /* guards where */
    char where[STORE_MAX_ADDRESS];
};

static void set_where(struct watch *w, const char *where)
{
    pthread_mutex_lock(&w->lock);
    snprintf(w->where, sizeof(w->where), "%s", where);
    pthread_mutex_unlock(&w->lock);
}

/* Makes the sequence number odd (not settled) if it is not already. */
static void unsettle(struct watch *w)
{
    if ((atomic_load(&w->seq) & 1) == 0)
        atomic_fetch_add(&w->seq, 1);
}

/* A connection to the first server that confirms SUBSCRIBE, with its
 * address in addr; NULL with the last reason in why. */
static redisContext *subscribe(struct watch *w, char *addr, char *why, size_t whylen)
{
    char servers[STORE_MAX_SERVERS][STORE_MAX_ADDRESS];
    size_t n;

    if (store_servers(&w->o.store, servers, STORE_MAX_SERVERS, &n, why, whylen) != STORE_OK)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *argv[] = {"SUBSCRIBE", WATCH_CHANNEL};
        redisContext *c;
        redisReply *r;
        int ok;

        if (store_link_open(&w->o.store, servers[i], &c, why, whylen) != STORE_OK)
            continue;
        r = redisCommandArgv(c, 2, argv, NULL);
        ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, "subscribe") == 0;
        if (!ok)
            snprintf(why, whylen, "SUBSCRIBE on %.60s: %.80s", servers[i],
                     r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "?");
        if (r != NULL)
            freeReplyObject(r);
        if (ok) {
            snprintf(addr, STORE_MAX_ADDRESS, "%s", servers[i]);
            return c;
        }
        redisFree(c);
    }
    return NULL;
}

/* One reply read on the subscribed connection: a message names a changed
 * consent ID; a PING's answer ends the wait for it. */
static void handle(struct watch *w, const redisReply *r, int *waiting_pong)
{
    const redisReply *kind;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    kind = r->element[0];
    if (strcmp(kind->str, "pong") == 0) {
        *waiting_pong = 0;
    } else if (strcmp(kind->str, "message") == 0 && r->elements == 3 &&
               r->element[2]->type == REDIS_REPLY_STRING &&
               r->element[2]->len < WATCH_MAX_MESSAGE &&
               strlen(r->element[2]->str) == r->element[2]->len) {
        w->o.on_changed(w->o.arg, r->element[2]->str);
    }
}

/* Reads what waits in the socket and applies every reply (odd sequence
 * number meanwhile). WATCH_LOST with the reason in why when the connection
 * failed. */
static int read_messages(struct watch *w, redisContext *c, const char *addr,
                         int *waiting_pong, char *why, size_t whylen)
{
    void *reply = NULL;

    atomic_fetch_add(&w->seq, 1);   /* odd: applying what is read */
    if (redisBufferRead(c) != REDIS_OK) {
        snprintf(why, whylen, "%.60s: %.80s", addr,
                 c->err == REDIS_ERR_EOF ? "connection closed" : c->errstr);
        return WATCH_LOST;
    }
    while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply != NULL) {
        handle(w, reply, waiting_pong);
        freeReplyObject(reply);
        reply = NULL;
    }
    if (c->err) {
        snprintf(why, whylen, "%.60s: %.80s", addr, c->errstr);
        return WATCH_LOST;
    }
    atomic_fetch_add(&w->seq, 1);   /* even: all applied */
    return WATCH_OK;
}

/* Sends PING on the subscribed connection (written out at once). */
static int send_ping(redisContext *c, const char *addr, char *why, size_t whylen)
{
    int done = 0;

    if (redisAppendCommand(c, "PING") != REDIS_OK) {
        snprintf(why, whylen, "out of memory");
        return WATCH_LOST;
    }
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            snprintf(why, whylen, "%.60s: %.80s", addr, c->errstr);
            return WATCH_LOST;
        }
    return WATCH_OK;
}

/* Under Sentinel: WATCH_LOST (why says where) when the sentinels name
 * another primary than addr. While they are asked, messages wait in the
 * socket, which readers see: no need to be unsettled here. */
static int primary_moved(struct watch *w, const char *addr, char *why, size_t whylen)
{
    char servers[1][STORE_MAX_ADDRESS], err[STORE_MAX_ERROR];
    size_t n;

    if (store_servers(&w->o.store, servers, 1, &n, err, sizeof(err)) == STORE_OK &&
        strcmp(servers[0], addr) != 0) {
        snprintf(why, whylen, "the primary is now %.60s", servers[0]);
        return WATCH_LOST;
    }
    return WATCH_OK;
}

/* The timers of one subscribed connection (monotonic ms). */
struct beat {
    int64_t now, ping_at, sent_at, recheck_at;
    int waiting_pong;
};

/* How long poll may wait: until the next PING, the PING's deadline or
 * (Sentinel) the next look at the sentinels. */
static int poll_timeout(const struct watch *w, const struct beat *b)
{
    int64_t next = b->waiting_pong ? b->sent_at + WATCH_DEAD_MS : b->ping_at;

    if (w->o.store.topology == STORE_SENTINEL && b->recheck_at < next)
        next = b->recheck_at;
    return next > b->now ? (int)(next - b->now) : 0;
}

/* After a wait: gives up on a PING unanswered for WATCH_DEAD_MS, sends the
 * next PING when due, looks at the sentinels when due. WATCH_LOST with why. */
static int keep_alive(struct watch *w, redisContext *c, const char *addr,
                      struct beat *b, char *why, size_t whylen)
{
    b->now = clock_mono_ms();
    if (b->waiting_pong && b->now - b->sent_at >= WATCH_DEAD_MS) {
        snprintf(why, whylen, "%.60s: no answer to PING within %d ms", addr,
                 WATCH_DEAD_MS);
        return WATCH_LOST;
    }
    if (!b->waiting_pong && b->now >= b->ping_at) {
        if (send_ping(c, addr, why, whylen) != WATCH_OK)
            return WATCH_LOST;
        b->waiting_pong = 1;
        b->sent_at = b->now;
        b->ping_at = b->now + WATCH_PING_MS;
    }
    if (w->o.store.topology == STORE_SENTINEL && b->now >= b->recheck_at) {
        if (primary_moved(w, addr, why, whylen) != WATCH_OK)
            return WATCH_LOST;
        b->now = clock_mono_ms();
        b->recheck_at = b->now + WATCH_RECHECK_MS;
    }
    return WATCH_OK;
}

/* Serves one subscribed connection until it is lost or the watcher stops;
 * the reason in why. */
static void serve(struct watch *w, redisContext *c, const char *addr, char *why,
                  size_t whylen)
{
    struct beat b = {.now = clock_mono_ms()};

    b.ping_at = b.now + WATCH_PING_MS;
    b.recheck_at = b.now + WATCH_RECHECK_MS;
    atomic_store(&w->fd, c->fd);
    set_where(w, addr);
    w->o.on_state(w->o.arg, 1, NULL);
    atomic_fetch_add(&w->seq, 1);           /* even: settled */
    while (!atomic_load(&w->stopping)) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&p, 1, poll_timeout(w, &b));

        if (rc < 0 && errno != EINTR) {
            snprintf(why, whylen, "poll: %s", strerror(errno));
            return;
        }
        if (rc > 0 && read_messages(w, c, addr, &b.waiting_pong, why, whylen) != WATCH_OK)
            return;
        if (keep_alive(w, c, addr, &b, why, whylen) != WATCH_OK)
            return;
    }
    snprintf(why, whylen, "stopping");
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *watch_main(void *arg)
{
    struct watch *w = arg;
    int backoff = WATCH_BACKOFF_MIN_MS, told = 0;
    char addr[STORE_MAX_ADDRESS], why[STORE_MAX_ERROR + 64];

    while (!atomic_load(&w->stopping)) {
        redisContext *c = subscribe(w, addr, why, sizeof(why));

        if (c == NULL) {
            if (!told)      /* why it is off, once per outage */
                w->o.on_state(w->o.arg, 0, why);
            told = 1;
            for (int slept = 0; slept < backoff && !atomic_load(&w->stopping);
                 slept += WATCH_BACKOFF_MIN_MS)
                sleep_ms(WATCH_BACKOFF_MIN_MS);
            backoff = backoff * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = WATCH_BACKOFF_MIN_MS;
        told = 0;
        serve(w, c, addr, why, sizeof(why));
        /* Not settled before anything else: a reader that looks now
         * bypasses whatever it would have read. */
        unsettle(w);
        atomic_store(&w->fd, -1);
        set_where(w, "");
        redisFree(c);
        w->o.on_state(w->o.arg, 0, why);
        told = 1;
    }
    return NULL;
}

int watch_start(struct watch **out, const struct watch_options *o)
{
    struct watch *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL)
        return WATCH_NO_MEMORY;
    w->o = *o;
    atomic_init(&w->seq, 1);
    atomic_init(&w->fd, -1);
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w);
        return WATCH_NO_MEMORY;
    }
    o->on_state(o->arg, 0, NULL);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        explicit_bzero(w, sizeof(*w));
        free(w);
        return WATCH_NO_THREAD;
    }
    *out = w;
    return WATCH_OK;
}

void watch_stop(struct watch *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stopping, 1);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    explicit_bzero(w, sizeof(*w));      /* the password too */
    free(w);
}

unsigned long watch_begin(struct watch *w)
{
    return atomic_load(&w->seq);
}

int watch_settled(struct watch *w, unsigned long mark)
{
    struct pollfd p;

    if (mark & 1)
        return 0;
    p.fd = atomic_load(&w->fd);
    p.events = POLLIN;
    p.revents = 0;
    if (p.fd < 0 || poll(&p, 1, 0) != 0)
        return 0;
    return atomic_load(&w->seq) == mark;
}

int watch_where(struct watch *w, char *buf, size_t len)
{
    int up;

    pthread_mutex_lock(&w->lock);
    snprintf(buf, len, "%s", w->where);
    up = w->where[0] != '\0';
    pthread_mutex_unlock(&w->lock);
    return up;
}

const char *watch_strerror(int status)
{
    switch (status) {
    case WATCH_OK:
        return "success";
    case WATCH_NO_MEMORY:
        return "out of memory";
    case WATCH_NO_THREAD:
        return "cannot start the watcher thread";
    case WATCH_LOST:
        return "the subscribed connection was lost";
    default:
        return "unknown error";
    }
}
