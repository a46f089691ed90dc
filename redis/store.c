/*
 * store.c - see store.h.
 */
#include "store.h"
#include "link.h"
#include "keys.h"
#include "slot.h"
#include "record_lua.h"
#include "erase_lua.h"
#include "../common/clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

enum { SCRIPT_RECORD = 0, SCRIPT_ERASE };
static const char *const scripts[] = {record_lua, erase_lua};

/* One connection to one Redis server. */
struct store_node {
    redisContext *ctx;          /* NULL while disconnected */
    char host[STORE_MAX_ADDRESS];   /* where ctx is (under Sentinel: the primary
                                     * the sentinels named last), or socket path */
    int port;                   /* 0 for a unix socket */
    int64_t next_attempt_ms;    /* no reconnect before this (monotonic) ... */
    unsigned long seen_up;      /* ... unless another store connected since */
    int backoff_ms;
    char script_sha[2][41];     /* SCRIPT LOAD of record.lua, erase.lua */
};

/* The connections behind a struct store; hiredis stays in this file. */
struct store_link {
    struct store_node *at;      /* the node the next command goes to */
    struct store_node one;      /* single server, or the Sentinel primary */
    size_t sentinel_first;      /* the sentinel that answered last is asked first */
    /* Cluster: nodes[i] is the connection to map.nodes[i]. */
    struct slot_map map;
    struct slot_map scratch;    /* the next map, while it is checked */
    struct store_node nodes[SLOT_MAX_NODES];
    int map_stale;              /* ask the cluster for its slots before the next call */
    int pin;                    /* keyless commands go to nodes[pin]; -1: any */
};

/* A command of a pipeline. */
struct cmd {
    int argc;
    const char **argv;
    const size_t *lens;         /* NULL: strlen of each */
};

/* Bumped by every successful connect in the process: the only state the
 * stores share, and it is atomic. */
static atomic_ulong connects;

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
    struct store_node *l = s->link->at;

    if (l->ctx != NULL)
        redisFree(l->ctx);
    l->ctx = NULL;
    if (why != NULL)
        snprintf(s->last_error, sizeof(s->last_error), "%s", why);
    l->next_attempt_ms = clock_mono_ms() + l->backoff_ms;
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

        if (store_address_parse(o->sentinels[k], shost, sizeof(shost), &sport) != STORE_OK)
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

/* AUTH [username] password on a new connection to a Redis server.
 * STORE_OK when accepted (or no password is configured), else
 * STORE_UNAVAILABLE with why (Redis's own answer, which never repeats the
 * password). */
static int authenticate(redisContext *c, const struct store_options *o,
                        char *why, size_t whylen)
{
    const char *argv[3] = {"AUTH"};
    redisReply *r;
    int argc = 1, ok;

    if (o->password[0] == '\0')
        return STORE_OK;
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
    return ok ? STORE_OK : STORE_UNAVAILABLE;
}

/* Whether c is a primary (ROLE), so that a sentinel's stale answer never
 * sends writes to a replica. STORE_OK when it is, else STORE_UNAVAILABLE
 * with why. */
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
    return ok ? STORE_OK : STORE_UNAVAILABLE;
}

/* Connects unless connected or still backing off. Under Sentinel every
 * connect asks the sentinels where the primary is now. */
static int ensure(struct store *s)
{
    struct store_node *l = s->link != NULL ? s->link->at : NULL;
    char why[STORE_MAX_ERROR];
    redisContext *c;

    if (l == NULL)
        return STORE_UNAVAILABLE;
    if (l->ctx != NULL)
        return STORE_OK;
    if (clock_mono_ms() < l->next_attempt_ms && atomic_load(&connects) == l->seen_up)
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
    if (authenticate(c, &s->opt, why, sizeof(why)) != STORE_OK) {
        redisFree(c);
        disconnect(s, why);
        return STORE_UNAVAILABLE;
    }
    if (s->opt.topology == STORE_SENTINEL &&
        check_primary(c, l->host, l->port, why, sizeof(why)) != STORE_OK) {
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

static int refresh_map(struct store *s);

/* Checks the options of a topology before anything connects. */
static int options_valid(const struct store_options *o)
{
    char host[STORE_MAX_ADDRESS];
    int port;

    switch (o->topology) {
    case STORE_SINGLE:
        return store_address_parse(o->address, host, sizeof(host), &port) == STORE_OK;
    case STORE_SENTINEL:
        if (o->nsentinels == 0 || o->nsentinels > STORE_MAX_SENTINELS ||
            o->master_name[0] == '\0')
            return 0;
        for (size_t i = 0; i < o->nsentinels; i++)
            if (store_address_parse(o->sentinels[i], host, sizeof(host), &port) != STORE_OK)
                return 0;
        return 1;
    case STORE_CLUSTER:
        if (o->nseeds == 0 || o->nseeds > STORE_MAX_SEEDS)
            return 0;
        for (size_t i = 0; i < o->nseeds; i++)   /* nodes are never unix sockets */
            if (store_address_parse(o->seeds[i], host, sizeof(host), &port) != STORE_OK ||
                port == 0)
                return 0;
        return 1;
    default:
        return 0;
    }
}

int store_open(struct store *s, const struct store_options *opt)
{
    struct store_link *l;

    memset(s, 0, sizeof(*s));
    s->opt = *opt;
    if (!options_valid(opt))
        return STORE_INVALID;
    l = s->link = calloc(1, sizeof(*s->link));
    if (l == NULL)
        return STORE_NO_MEMORY;
    l->at = &l->one;
    l->one.backoff_ms = STORE_BACKOFF_MIN_MS;
    l->pin = -1;
    if (opt->topology == STORE_CLUSTER) {
        slot_map_init(&l->map);
        return refresh_map(s);
    }
    if (opt->topology == STORE_SINGLE &&
        store_address_parse(opt->address, l->one.host, sizeof(l->one.host),
                            &l->one.port) != STORE_OK)
        return STORE_INVALID;       /* options_valid checked it */
    return ensure(s);
}

int store_usable(int st)
{
    return st == STORE_OK || st == STORE_UNAVAILABLE;
}

void store_close(struct store *s)
{
    struct store_link *l = s->link;

    if (l != NULL) {
        if (l->one.ctx != NULL)
            redisFree(l->one.ctx);
        for (size_t i = 0; i < l->map.nnodes; i++)
            if (l->nodes[i].ctx != NULL)
                redisFree(l->nodes[i].ctx);
    }
    free(l);
    explicit_bzero(s, sizeof(*s));      /* the password too */
}

void store_where(const struct store *s, char *buf, size_t len)
{
    const struct store_link *l = s->link;
    const struct store_node *n = l != NULL ? &l->one : NULL;

    if (l != NULL && s->opt.topology == STORE_CLUSTER) {
        size_t primaries = 0;

        for (size_t i = 0; i < l->map.nnodes; i++)
            for (size_t k = 0; k < SLOT_COUNT; k++)
                if (l->map.owner[k] == (int)i) {
                    primaries++;
                    break;
                }
        if (primaries == 0)
            snprintf(buf, len, "%s", "");
        else
            snprintf(buf, len, "%zu primaries", primaries);
    } else if (n == NULL || n->ctx == NULL) {
        snprintf(buf, len, "%s", "");
    } else if (n->port == 0) {
        snprintf(buf, len, "unix:%s", n->host);
    } else if (strchr(n->host, ':') != NULL) {
        snprintf(buf, len, "[%s]:%d", n->host, n->port);
    } else {
        snprintf(buf, len, "%s:%d", n->host, n->port);
    }
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
    const redisContext *c = s->link->at->ctx;

    return c->err == REDIS_ERR_EOF ||
           (c->err == REDIS_ERR_IO &&
            (saved_errno == ECONNRESET || saved_errno == EPIPE));
}

/* Drops a failed context. *retry is set when it is worth one more try. */
static void drop(struct store *s, int saved_errno, int *retry)
{
    char why[STORE_MAX_ERROR];

    *retry = peer_gone(s, saved_errno);
    snprintf(why, sizeof(why), "%s", s->link->at->ctx->errstr);
    disconnect(s, why);
    s->link->at->next_attempt_ms = 0;   /* the next call may reconnect at once */
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

    snprintf(why, sizeof(why), "%.40s:%d answered %.90s", s->link->at->host,
             s->link->at->port, err);
    disconnect(s, why);
    s->link->at->next_attempt_ms = 0;
}

/*
 * Runs one command on the node s->link->at: reconnects when needed, retries
 * once on a connection the server had closed and, under Sentinel, once on
 * the new primary after READONLY. An error answer is STORE_ERROR with
 * last_error; otherwise *reply is the answer (caller frees).
 */
static int at_command(struct store *s, redisReply **reply, int argc,
                      const char **argv, const size_t *argvlen)
{
    redisReply *r;

    *reply = NULL;
    for (int tries = 0;; tries++) {
        int retry;

        if (ensure(s) != STORE_OK)
            return STORE_UNAVAILABLE;
        r = redisCommandArgv(s->link->at->ctx, argc, argv, argvlen);
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
        if (strncmp(r->str, "MOVED ", 6) == 0)      /* a cluster node, set up as one server */
            snprintf(s->last_error, sizeof(s->last_error), "%.40s:%d is a Redis Cluster "
                     "node (answered MOVED): list the cluster in redis.cluster",
                     s->link->at->host, s->link->at->port);
        else
            snprintf(s->last_error, sizeof(s->last_error), "%s", r->str);
        freeReplyObject(r);
        return STORE_ERROR;
    }
    *reply = r;
    return STORE_OK;
}

static int cluster_command(struct store *s, const char *key, redisReply **reply,
                           int argc, const char **argv, const size_t *argvlen);

/* One command about key (NULL: none) wherever the topology says it goes. */
static int store_command(struct store *s, const char *key, redisReply **reply, int argc,
                         const char **argv, const size_t *argvlen)
{
    if (s->opt.topology == STORE_CLUSTER)
        return cluster_command(s, key, reply, argc, argv, argvlen);
    return at_command(s, reply, argc, argv, argvlen);
}

/* ---- Redis Cluster (STORE_CLUSTER) ----
 * What the Redis Cluster specification asks of a client: route by slot,
 * learn the slots from the cluster, follow MOVED (and ask for the whole map
 * again: a reshard or failover rarely moves one slot alone), follow ASK for
 * one command with ASKING first, and wait a little on TRYAGAIN (a
 * multi-key command during a slot's migration) and CLUSTERDOWN. */

static void sleep_ms(int ms);

/* Commands cluster_exec sends in one round trip (ASKING comes on top). */
#define CLUSTER_MAX_PIPELINE 7

/* A node not yet connected, at address; STORE_INVALID when it is not
 * "host:port". */
static int node_init(struct store_node *n, const char *address)
{
    memset(n, 0, sizeof(*n));
    n->backoff_ms = STORE_BACKOFF_MIN_MS;
    if (store_address_parse(address, n->host, sizeof(n->host), &n->port) != STORE_OK ||
        n->port == 0)
        return STORE_INVALID;
    return STORE_OK;
}

/* The ranges of a CLUSTER SLOTS answer (malloc'd; caller frees). An
 * entry whose host is "" is served by the node that was asked (asked);
 * one whose host is "?" has no known endpoint and is left unrouted. */
static int slots_from(const redisReply *r, const char *asked, struct slot_range **out,
                      size_t *n)
{
    struct slot_range *g;

    *out = NULL;
    *n = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return STORE_ERROR;
    g = calloc(r->elements + 1, sizeof(*g));
    if (g == NULL)
        return STORE_ERROR;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *p;
        const char *host;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
            e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
            e->element[2]->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[0]->integer < 0 || e->element[1]->integer >= SLOT_COUNT) {
            free(g);
            return STORE_ERROR;
        }
        p = e->element[2];
        host = p->element[0]->str[0] == '\0' ? asked : p->element[0]->str;
        if (strcmp(host, "?") == 0)
            continue;
        g[*n].first = (unsigned)e->element[0]->integer;
        g[*n].last = (unsigned)e->element[1]->integer;
        store_node_address(g[*n].address, sizeof(g[*n].address), host,
                           p->element[1]->integer);
        (*n)++;
    }
    *out = g;
    return STORE_OK;
}

/* Takes l->scratch as the slot map: connections to nodes still in it are
 * kept (moved to their new index), the others closed. STORE_OK, else
 * nothing changed. */
static int adopt(struct store_link *l)
{
    struct store_node *next = calloc(SLOT_MAX_NODES, sizeof(*next));
    int kept[SLOT_MAX_NODES] = {0};

    if (next == NULL)
        return STORE_NO_MEMORY;
    for (size_t i = 0; i < l->scratch.nnodes; i++) {
        int old = slot_map_find(&l->map, l->scratch.nodes[i]);

        if (old >= 0) {
            next[i] = l->nodes[old];
            kept[old] = 1;
        } else if (node_init(&next[i], l->scratch.nodes[i]) != STORE_OK) {
            free(next);
            return STORE_INVALID;
        }
    }
    for (size_t i = 0; i < l->map.nnodes; i++)
        if (!kept[i] && l->nodes[i].ctx != NULL)
            redisFree(l->nodes[i].ctx);
    memcpy(l->nodes, next, SLOT_MAX_NODES * sizeof(*next));
    memcpy(&l->map, &l->scratch, sizeof(l->map));
    l->at = &l->one;
    free(next);
    return STORE_OK;
}

/* Asks the known nodes, then the seeds, for the slot map (CLUSTER SLOTS)
 * until one answers with a map that routes at least one slot. */
static int refresh_map(struct store *s)
{
    struct store_link *l = s->link;
    char why[STORE_MAX_ERROR] = "no node answered";
    size_t known = l->map.nnodes;

    for (size_t i = 0; i < known + s->opt.nseeds; i++) {
        const char *argv[] = {"CLUSTER", "SLOTS"};
        struct store_node seed;
        struct slot_range *ranges = NULL;
        size_t n = 0;
        redisReply *r;
        int st, ok = 0;

        if (i < known) {
            l->at = &l->nodes[i];
        } else {
            if (node_init(&seed, s->opt.seeds[i - known]) != STORE_OK)
                continue;
            l->at = &seed;
        }
        st = at_command(s, &r, 2, argv, NULL);
        if (st == STORE_OK) {
            ok = slots_from(r, l->at->host, &ranges, &n) == STORE_OK &&
                 slot_map_set(&l->scratch, ranges, n) == SLOT_OK &&
                 slot_map_covered(&l->scratch) > 0;
            if (!ok)
                snprintf(s->last_error, sizeof(s->last_error),
                         "%.60s:%d: no usable CLUSTER SLOTS answer", l->at->host, l->at->port);
            freeReplyObject(r);
            free(ranges);
        }
        if (l->at == &seed && seed.ctx != NULL)
            redisFree(seed.ctx);
        l->at = &l->one;
        if (ok && adopt(l) == STORE_OK) {
            l->map_stale = 0;
            s->last_error[0] = '\0';
            return STORE_OK;
        }
        snprintf(why, sizeof(why), "%s", s->last_error);
    }
    snprintf(s->last_error, sizeof(s->last_error), "cluster: %.140s", why);
    return STORE_UNAVAILABLE;
}

/* The node for a command without a key: the pinned one, else the one
 * serving slot 0, else any. */
static int keyless_node(const struct store_link *l)
{
    if (l->pin >= 0 && (size_t)l->pin < l->map.nnodes)
        return l->pin;
    if (l->map.owner[0] >= 0)
        return l->map.owner[0];
    return l->map.nnodes > 0 ? 0 : -1;
}

/* Reads n replies from s->link->at into out (all freed on failure). */
static int read_replies(struct store *s, size_t n, redisReply **out)
{
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;

        if (redisGetReply(s->link->at->ctx, &v) != REDIS_OK || v == NULL) {
            int retry;

            for (size_t k = 0; k < i; k++)
                freeReplyObject(out[k]);
            drop(s, errno, &retry);
            return retry ? STORE_RETRY : STORE_UNAVAILABLE;
        }
        out[i] = v;
    }
    return STORE_OK;
}

static void free_replies(redisReply **out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] != NULL)
            freeReplyObject(out[i]);
}

/* Queues cmds (after ASKING when asking) on the connection of
 * s->link->at, for one round trip. STORE_UNAVAILABLE (the connection
 * dropped) when hiredis ran out of memory with half a pipeline queued. */
static int send_pipeline(struct store *s, int asking, size_t n, const struct cmd *cmds)
{
    redisContext *c = s->link->at->ctx;
    int failed = asking && redisAppendCommand(c, "ASKING") != REDIS_OK;

    for (size_t i = 0; i < n && !failed; i++)
        failed = redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv,
                                        cmds[i].lens) != REDIS_OK;
    if (failed) {
        disconnect(s, "out of memory");     /* half a pipeline queued */
        return STORE_UNAVAILABLE;
    }
    return STORE_OK;
}

/* STORE_ERROR with the first error answer among n in last_error, else
 * STORE_OK. */
static int answers_status(struct store *s, redisReply *const *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i]->type == REDIS_REPLY_ERROR) {
            snprintf(s->last_error, sizeof(s->last_error), "%s", out[i]->str);
            return STORE_ERROR;
        }
    return STORE_OK;
}

/*
 * Sends cmds in one round trip to the node s->link->at (connecting first)
 * and reads every answer into out (caller frees). STORE_OK when none is an
 * error; otherwise out holds nothing to free: STORE_ERROR with the first
 * error answer in last_error, STORE_RETRY when the server had closed the
 * connection (worth one more try on a fresh one), STORE_UNAVAILABLE.
 */
static int at_pipeline(struct store *s, size_t n, const struct cmd *cmds, redisReply **out)
{
    int st;

    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (ensure(s) != STORE_OK)
        return STORE_UNAVAILABLE;
    st = send_pipeline(s, 0, n, cmds);
    if (st == STORE_OK)
        st = read_replies(s, n, out);
    else
        return st;
    if (st == STORE_OK)
        st = answers_status(s, out, n);
    if (st == STORE_ERROR)
        free_replies(out, n);
    if (st != STORE_OK)
        for (size_t i = 0; i < n; i++)
            out[i] = NULL;                  /* freed here or by read_replies */
    return st;
}

/* The node index for address, added to the map (not owning slots) when new. */
static int node_for(struct store_link *l, const char *address)
{
    int i = slot_map_find(&l->map, address);

    if (i >= 0)
        return i;
    if (slot_map_add(&l->map, address, &i) != SLOT_OK)
        return -1;
    if (node_init(&l->nodes[i], address) != STORE_OK) {
        l->map.nnodes--;
        return -1;
    }
    return i;
}

/* Whether r is a string of exactly len bytes; copied into out when it is. */
static int exactly(const redisReply *r, size_t len, void *out)
{
    if (r->type != REDIS_REPLY_STRING || r->len != len)
        return 0;
    memcpy(out, r->str, len);
    return 1;
}

/* SCRIPT LOAD of script which: its SHA1 into sha (41 bytes). key NULL: on
 * the node s->link->at; else (Cluster) on the primary of key's slot. */
static int script_load(struct store *s, const char *key, int which, char *sha)
{
    const char *argv[] = {"SCRIPT", "LOAD", scripts[which]};
    redisReply *r;
    int st = key != NULL ? cluster_command(s, key, &r, 3, argv, NULL)
                         : at_command(s, &r, 3, argv, NULL);

    if (st != STORE_OK)
        return st;
    st = exactly(r, 40, sha) ? STORE_OK : STORE_ERROR;
    if (st == STORE_OK)
        sha[40] = '\0';
    freeReplyObject(r);
    return st;
}

/* SCRIPT LOAD a script once per connection to the node s->link->at. */
static int load_script(struct store *s, int which)
{
    if (s->link == NULL)
        return STORE_UNAVAILABLE;       /* a zeroed store */
    if (s->link->at->script_sha[which][0] != '\0' && s->link->at->ctx != NULL)
        return STORE_OK;
    return script_load(s, NULL, which, s->link->at->script_sha[which]);
}

/*
 * The one NOSCRIPT rule, for one server, Sentinel and Cluster alike: a node
 * that answers NOSCRIPT lost its scripts (SCRIPT FLUSH, a restart, a
 * replica promoted that never loaded them). What is known of that node
 * (s->link->at) is forgotten and the script loaded there again, so that the
 * caller sends the same EVALSHA once more (a script's SHA1 is the same on
 * every node). STORE_OK when it loaded.
 */
static int reload_script(struct store *s, int which)
{
    s->link->at->script_sha[which][0] = '\0';
    return load_script(s, which);
}

/* Where the tries of one cluster_exec call stand. */
struct cluster_try {
    unsigned slot;              /* of the key (0 without one) */
    int ask;                    /* the node an ASK named, for the next try; -1 */
    int pause;                  /* wait before the next try */
    char why[STORE_MAX_ERROR];  /* what went wrong last */
};

/* The pause before try number tries: 10, 20, 40 ... 200 ms. */
static void retry_pause(int tries)
{
    int ms = 10 << (tries < 5 ? tries : 5);

    sleep_ms(ms > 200 ? 200 : ms);
}

/*
 * Points s->link->at at the node of this try (asking >= 0: the node an ASK
 * named; else the primary of the key's slot, or for no key the keyless
 * node), asking the cluster for its slots first when the map is stale, and
 * connects it. STORE_OK, else STORE_UNAVAILABLE with the reason in t->why.
 */
static int cluster_at(struct store *s, const char *key, int asking, struct cluster_try *t)
{
    struct store_link *l = s->link;
    int node;

    if ((l->map_stale || l->map.nnodes == 0) && refresh_map(s) != STORE_OK) {
        snprintf(t->why, sizeof(t->why), "%s", s->last_error);
        return STORE_UNAVAILABLE;
    }
    node = asking >= 0 ? asking : key != NULL ? l->map.owner[t->slot] : keyless_node(l);
    if (node < 0) {
        l->map_stale = 1;
        snprintf(t->why, sizeof(t->why), "no primary serves slot %u", t->slot);
        return STORE_UNAVAILABLE;
    }
    l->at = &l->nodes[node];
    if (ensure(s) != STORE_OK) {
        l->map_stale = 1;   /* down: a replica may take over */
        snprintf(t->why, sizeof(t->why), "%s", s->last_error);
        return STORE_UNAVAILABLE;
    }
    return STORE_OK;
}

/*
 * Whether the first of n answers asks for another try: MOVED (the map is
 * asked again, the slot noted at once), ASK (the next try goes to that node
 * with ASKING), TRYAGAIN or LOADING (after a pause), CLUSTERDOWN, READONLY
 * or MASTERDOWN (after a pause, with a fresh map), NOSCRIPT when script >= 0
 * (loaded again on that node). Then the answers are freed, t says how to
 * try again and 1 is returned; 0 when the answers stand.
 */
static int redirected(struct store *s, int script, redisReply **out, size_t n,
                      struct cluster_try *t)
{
    struct store_link *l = s->link;
    unsigned slot = 0;
    char to[SLOT_MAX_ADDRESS];
    enum store_redirect r = out[0]->type != REDIS_REPLY_ERROR ? STORE_ANSWER
                            : store_redirect_of(out[0]->str, &slot, to, sizeof(to));

    if (r == STORE_ANSWER || (r == STORE_LOAD_SCRIPT && script < 0))
        return 0;
    snprintf(t->why, sizeof(t->why), "%.150s",
             r == STORE_LOAD_SCRIPT ? "NOSCRIPT" : out[0]->str);
    free_replies(out, n);
    switch (r) {
    case STORE_MOVED:
        l->map_stale = 1;
        t->pause = 0;
        if (slot < SLOT_COUNT && node_for(l, to) >= 0)
            slot_map_moved(&l->map, slot, to, NULL);
        break;
    case STORE_ASK:
        t->ask = node_for(l, to);
        t->pause = t->ask < 0;
        break;
    case STORE_REFRESH:
        l->map_stale = 1;
        break;
    case STORE_LOAD_SCRIPT:
        reload_script(s, script);   /* a failure shows on the next try */
        t->pause = 0;
        break;
    default:                        /* STORE_WAIT_AND_RETRY */
        break;
    }
    return 1;
}

/*
 * Sends cmds (1 to CLUSTER_MAX_PIPELINE, about key's slot; key NULL: none)
 * in one round trip to the primary serving it and reads every answer into
 * out (caller frees), following redirections and retrying lost
 * connections, TRYAGAIN and CLUSTERDOWN up to STORE_CLUSTER_TRIES times,
 * pausing 10, 20, 40 ... 200 ms between retries that are not redirections
 * (about a second in all). With script (SCRIPT_RECORD, SCRIPT_ERASE; -1:
 * none), a NOSCRIPT answer loads it on that node and sends again. STORE_OK
 * when no answer is an error; STORE_ERROR (with last_error) when one is;
 * STORE_UNAVAILABLE when the tries ran out.
 */
static int cluster_exec(struct store *s, const char *key, int script,
                        size_t n, const struct cmd *cmds, redisReply **out)
{
    struct cluster_try t = {key != NULL ? slot_of(key, strlen(key)) : 0, -1, 0, "no answer"};

    if (n == 0 || n > CLUSTER_MAX_PIPELINE)
        return STORE_ERROR;
    for (int tries = 0; tries < STORE_CLUSTER_TRIES; tries++) {
        redisReply *replies[CLUSTER_MAX_PIPELINE + 1] = {NULL};
        int asking = t.ask, st;

        if (t.pause)
            retry_pause(tries);
        t.pause = 1;
        t.ask = -1;
        if (cluster_at(s, key, asking, &t) != STORE_OK)
            continue;
        if (send_pipeline(s, asking >= 0, n, cmds) != STORE_OK)
            return STORE_UNAVAILABLE;
        st = read_replies(s, n + (asking >= 0), replies);
        if (st != STORE_OK) {
            s->link->map_stale = 1;
            t.pause = st != STORE_RETRY;
            snprintf(t.why, sizeof(t.why), "%s", s->last_error);
            continue;
        }
        if (asking >= 0)
            freeReplyObject(replies[0]);
        memcpy(out, replies + (asking >= 0), n * sizeof(*out));
        if (redirected(s, script, out, n, &t))
            continue;
        st = answers_status(s, out, n);
        if (st != STORE_OK)
            free_replies(out, n);
        return st;
    }
    snprintf(s->last_error, sizeof(s->last_error), "cluster, slot %u: %.120s", t.slot, t.why);
    return STORE_UNAVAILABLE;
}

static int cluster_command(struct store *s, const char *key, redisReply **reply,
                           int argc, const char **argv, const size_t *argvlen)
{
    struct cmd c = {argc, argv, argvlen};

    *reply = NULL;
    return cluster_exec(s, key, -1, 1, &c, reply);
}

int store_ping(struct store *s)
{
    const char *argv[] = {"PING"};
    redisReply *r;
    int st = store_command(s, NULL, &r, 1, argv, NULL);

    if (st != STORE_OK)
        return st;
    st = (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0)
             ? STORE_OK : STORE_ERROR;
    freeReplyObject(r);
    return st;
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

/* One command about a key of a consent ID (store_key_of: c:{ID} and
 * suffix): "name key" or, with arg, "name key arg". */
static int id_command(struct store *s, const char *consent_id, const char *suffix,
                      const char *name, const char *arg, redisReply **r)
{
    char key[64];
    const char *argv[] = {name, key, arg};

    store_key_of(key, sizeof(key), consent_id, suffix);
    return store_command(s, key, r, arg != NULL ? 3 : 2, argv, NULL);
}

int store_head(struct store *s, const char *consent_id, struct store_blob *b)
{
    redisReply *r;
    int st;

    memset(b, 0, sizeof(*b));
    st = id_command(s, consent_id, "", "HGET", "m", &r);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_STRING)
        st = blob_copy(b, r->str, r->len);
    freeReplyObject(r);
    return st;
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
        } else if (store_seq_of(k->str, k->len, &seq) == STORE_OK) {
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
    redisReply *r;
    int st;

    memset(h, 0, sizeof(*h));
    h->pttl_ms = -2;
    st = id_command(s, consent_id, "", "PTTL", NULL, &r);
    if (st != STORE_OK)
        return st;
    if (r->type == REDIS_REPLY_INTEGER)
        h->pttl_ms = r->integer;
    freeReplyObject(r);
    st = id_command(s, consent_id, "", "HGETALL", NULL, &r);
    if (st != STORE_OK)
        return st;
    st = r->type == REDIS_REPLY_ARRAY ? history_from(h, r) : STORE_ERROR;
    freeReplyObject(r);
    if (st != STORE_OK)
        store_history_free(h);
    return st;
}

/*
 * One command that answers with n values (HMGET, MGET; argv about key):
 * each string answered copied into out[i], data NULL where there is none.
 * On failure nothing is kept.
 */
static int multi_get(struct store *s, const char *key, int argc, const char **argv,
                     size_t n, struct store_blob *out)
{
    redisReply *r;
    int st = store_command(s, key, &r, argc, argv, NULL);

    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
        st = STORE_ERROR;
    for (size_t i = 0; i < n && st == STORE_OK; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            st = blob_copy(&out[i], r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    for (size_t i = 0; i < n && st != STORE_OK; i++)
        store_blob_free(&out[i]);
    return st;
}

int store_receipts(struct store *s, const char *consent_id, const uint32_t *seqs,
                   size_t n, struct store_item *out)
{
    char key[64], (*f)[12] = calloc(n + 1, sizeof(*f));
    const char **argv = calloc(n + 2, sizeof(*argv));
    struct store_blob *blobs = calloc(n + 1, sizeof(*blobs));
    int st = STORE_ERROR;

    memset(out, 0, n * sizeof(*out));
    if (f == NULL || argv == NULL || blobs == NULL)
        goto cleanup;
    store_key_of(key, sizeof(key), consent_id, "");
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        snprintf(f[i], sizeof(f[i]), "%u", seqs[i]);
        argv[i + 2] = f[i];
        out[i].seq = seqs[i];
    }
    st = multi_get(s, key, (int)n + 2, argv, n, blobs);
    for (size_t i = 0; i < n; i++)
        out[i].blob = blobs[i];
cleanup:
    free(f);
    free(argv);
    free(blobs);
    return st;
}

/* Contexts under Cluster: they live in many slots, so one GET each (a
 * history names few). On failure nothing is kept. */
static int contexts_one_by_one(struct store *s, char (*keys)[24], size_t n,
                               struct store_blob *out)
{
    int st = STORE_OK;

    for (size_t i = 0; i < n && st == STORE_OK; i++) {
        const char *g[] = {"GET", keys[i]};
        redisReply *r;

        st = store_command(s, keys[i], &r, 2, g, NULL);
        if (st != STORE_OK)
            break;
        if (r->type == REDIS_REPLY_STRING)
            st = blob_copy(&out[i], r->str, r->len);
        freeReplyObject(r);
    }
    for (size_t i = 0; i < n && st != STORE_OK; i++)
        store_blob_free(&out[i]);
    return st;
}

int store_contexts(struct store *s, const char *const *refs, size_t n,
                   struct store_blob *out)
{
    char (*keys)[24] = calloc(n + 1, sizeof(*keys));
    const char **argv = calloc(n + 1, sizeof(*argv));
    int st = STORE_ERROR;

    memset(out, 0, n * sizeof(*out));
    if (keys == NULL || argv == NULL)
        goto cleanup;
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "x:%s", refs[i]);
        argv[i + 1] = keys[i];
    }
    if (s->opt.topology == STORE_CLUSTER)
        st = contexts_one_by_one(s, keys, n, out);
    else
        st = multi_get(s, NULL, (int)n + 1, argv, n, out);
cleanup:
    free(keys);
    free(argv);
    return st;
}

/* WAIT's answer: STORE_OK when at least min_replicas_acked replicas
 * confirmed, else STORE_NOT_DURABLE with last_error saying how many. */
static int acked(struct store *s, const redisReply *r)
{
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;

    if (n >= s->opt.min_replicas_acked)
        return STORE_OK;
    snprintf(s->last_error, sizeof(s->last_error),
             "WAIT: %lld of %d replicas confirmed within %d ms", n,
             s->opt.min_replicas_acked, s->opt.ack_timeout_ms);
    return STORE_NOT_DURABLE;
}

/* The index entry, a context and up to RECORD_MAX_TRIM index deletions go
 * with a record script. */
#define RECORD_MAX_TRIM 16
#define MAX_EXTRA (2 + RECORD_MAX_TRIM)

/* A script call: its arguments (argv[0] and argv[1], EVALSHA and the SHA1,
 * are run_script's to fill), the commands that go with it, and WAIT. */
struct script_call {
    int which;                  /* SCRIPT_RECORD, SCRIPT_ERASE */
    int argc;
    const char **argv;
    size_t *lens;
    const struct cmd *extra;    /* each about one key, argv[1] */
    size_t nextra;              /* at most MAX_EXTRA */
    char nrep[16], wms[16];     /* WAIT's arguments */
    const char *wait[3];
};

/* WAIT min_replicas_acked ack_timeout_ms, as the last command of call. */
static struct cmd wait_cmd(const struct store *s, struct script_call *call)
{
    snprintf(call->nrep, sizeof(call->nrep), "%d", s->opt.min_replicas_acked);
    snprintf(call->wms, sizeof(call->wms), "%d", s->opt.ack_timeout_ms);
    call->wait[0] = "WAIT";
    call->wait[1] = call->nrep;
    call->wait[2] = call->wms;
    return (struct cmd){3, call->wait, NULL};
}

/* The script command itself, EVALSHA sha. */
static struct cmd evalsha(struct script_call *call, const char *sha)
{
    call->argv[0] = "EVALSHA";
    call->argv[1] = sha;
    call->lens[0] = 7;
    call->lens[1] = 40;
    return (struct cmd){call->argc, call->argv, call->lens};
}

/*
 * run_script under Cluster: the extra commands (index entry, context,
 * index deletions) live in other slots, so each goes to its own primary,
 * before the script, so that a receipt is never acknowledged before what
 * it refers to; with min_replicas_acked each is followed by WAIT on its
 * node. Then the script (its keys share one slot) with WAIT after it.
 */
static int cluster_script(struct store *s, struct script_call *call, redisReply **r)
{
    char *sha = s->link->one.script_sha[call->which];
    const char *key = call->argv[3];
    size_t wait = s->opt.min_replicas_acked > 0;
    int durable = STORE_OK, st;
    redisReply *out[2] = {NULL, NULL};
    struct cmd c[2] = {{0, NULL, NULL}, wait_cmd(s, call)};

    *r = NULL;
    for (size_t i = 0; i < call->nextra; i++) {
        c[0] = call->extra[i];
        st = cluster_exec(s, call->extra[i].argv[1], -1, 1 + wait, c, out);
        if (st != STORE_OK)
            return st;
        if (wait && acked(s, out[1]) != STORE_OK)
            durable = STORE_NOT_DURABLE;
        free_replies(out, 1 + wait);
    }
    if (sha[0] == '\0' && (st = script_load(s, key, call->which, sha)) != STORE_OK)
        return st;
    c[0] = evalsha(call, sha);
    st = cluster_exec(s, key, call->which, 1 + wait, c, out);
    if (st != STORE_OK)
        return st;
    *r = out[0];
    if (wait) {
        if (acked(s, out[1]) != STORE_OK)
            durable = STORE_NOT_DURABLE;
        freeReplyObject(out[1]);
    }
    return durable;       /* last_error says which WAIT fell short */
}

/*
 * Runs a script with the commands that go with it, in one round trip (the
 * script's answer first, handed back in *r), loading the script again when
 * Redis lost it (reload_script), retrying once on a connection the server
 * had closed, and once on the new primary when the server turned out to be
 * a replica (READONLY under Sentinel: a replica writes nothing, so the
 * retry cannot double a write). This is the one place scripts run, so the
 * NOSCRIPT, reconnect and failover rules live here (under Cluster, in
 * cluster_script and cluster_exec).
 *
 * With min_replicas_acked, WAIT goes last in the same round trip: it
 * answers once that many replicas have everything this connection wrote,
 * or after ack_timeout_ms with how many did. Fewer: STORE_NOT_DURABLE
 * (the script's reply is still handed back: the write happened on the
 * primary).
 */
static int run_script(struct store *s, struct script_call *call, redisReply **r)
{
    size_t wait = s->opt.min_replicas_acked > 0, n = 0;
    struct cmd cmds[MAX_EXTRA + 2];
    redisReply *out[MAX_EXTRA + 2];
    int st = STORE_ERROR, failovers = 0;

    *r = NULL;
    if (s->opt.topology == STORE_CLUSTER)
        return cluster_script(s, call, r);
    n = 1 + call->nextra + wait;
    for (size_t i = 0; i < call->nextra; i++)
        cmds[1 + i] = call->extra[i];
    if (wait)
        cmds[n - 1] = wait_cmd(s, call);
    for (int tries = 0; tries < 4; tries++) {
        st = load_script(s, call->which);
        if (st != STORE_OK)
            return st;
        cmds[0] = evalsha(call, s->link->at->script_sha[call->which]);
        st = at_pipeline(s, n, cmds, out);
        if (st == STORE_ERROR && store_is_noscript(s->last_error)) {
            int loaded = reload_script(s, call->which);

            if (loaded != STORE_OK)
                return loaded;
            continue;
        }
        if (st == STORE_ERROR && demoted(s, s->last_error) && failovers++ == 0) {
            forget_demoted(s, s->last_error);
            continue;
        }
        if (st != STORE_RETRY)      /* a dead connection: reconnect, once more */
            break;
    }
    if (st != STORE_OK)
        return st == STORE_RETRY ? STORE_UNAVAILABLE : st;
    *r = out[0];
    if (wait)
        st = acked(s, out[n - 1]);
    free_replies(out + 1, n - 1);
    return st;
}

/* What one record call sends: record.lua's arguments and the commands
 * that go with it, with room for the strings they name. */
struct record_call {
    char key[64], tomb[64], seq[12], ttl[24], ctxkey[24];
    char trim[RECORD_MAX_TRIM][12];
    char bucket[1 + RECORD_MAX_TRIM][16];   /* the new entry's, the trimmed ones' */
    const char *argv[10 + RECORD_MAX_TRIM];
    size_t lens[10 + RECORD_MAX_TRIM];
    int argc;
    const char *xv[MAX_EXTRA][4];
    size_t xlen[MAX_EXTRA][4];
    struct cmd extra[MAX_EXTRA];
    size_t nextra;
};

static void push_arg(struct record_call *c, const char *v, size_t len)
{
    c->argv[c->argc] = v;
    c->lens[c->argc++] = len;
}

/* record.lua's KEYS (c:{ID}, c:{ID}:t) and ARGV (expected head, new head,
 * seq, receipt, TTL, the sequence numbers to trim); argv[0] and argv[1]
 * are run_script's. */
static void record_args(struct record_call *c, const struct store_write *w)
{
    store_key_of(c->key, sizeof(c->key), w->consent_id, "");
    store_key_of(c->tomb, sizeof(c->tomb), w->consent_id, ":t");
    snprintf(c->seq, sizeof(c->seq), "%u", w->seq);
    snprintf(c->ttl, sizeof(c->ttl), "%ld", w->ttl_seconds);
    c->argc = 2;
    push_arg(c, "2", 1);
    push_arg(c, c->key, strlen(c->key));
    push_arg(c, c->tomb, strlen(c->tomb));
    push_arg(c, w->expected_head.data != NULL ? w->expected_head.data : "",
             w->expected_head.len);
    push_arg(c, w->new_head.data, w->new_head.len);
    push_arg(c, c->seq, strlen(c->seq));
    push_arg(c, w->receipt.data, w->receipt.len);
    push_arg(c, c->ttl, strlen(c->ttl));
    for (size_t i = 0; i < w->ntrim; i++) {
        snprintf(c->trim[i], sizeof(c->trim[i]), "%u", w->trim[i]);
        push_arg(c, c->trim[i], strlen(c->trim[i]));
    }
}

/* Adds a command of argc (at most 4) arguments to go with the script. */
static void push_extra(struct record_call *c, int argc, const char *const *v,
                       const size_t *len)
{
    memcpy(c->xv[c->nextra], v, (size_t)argc * sizeof(*v));
    memcpy(c->xlen[c->nextra], len, (size_t)argc * sizeof(*len));
    c->extra[c->nextra] = (struct cmd){argc, c->xv[c->nextra], c->xlen[c->nextra]};
    c->nextra++;
}

/*
 * The index and the context live in other cluster slots, so they cannot
 * be in the script; they go in the same round trip (pipelined). The index
 * maps the receipt ID, the same across re-chaining retries, to the consent
 * ID; if the write never succeeds it points at a history without that
 * receipt, which a lookup answers with 404. Trimmed receipts leave the
 * index too.
 */
static void record_extras(struct record_call *c, const struct store_write *w)
{
    const char *iv[] = {"HSET", c->bucket[0], (const char *)w->receipt_id,
                        (const char *)w->consent_id_bytes};
    const char *cv[] = {"SET", c->ctxkey, w->context.data, "NX"};
    size_t ilen[] = {4, 0, 16, 16}, clen[] = {3, 0, w->context.len, 2};

    c->nextra = 0;
    store_bucket_of(w->receipt_id, c->bucket[0]);
    ilen[1] = strlen(c->bucket[0]);
    push_extra(c, 4, iv, ilen);
    if (w->context_ref != NULL) {
        snprintf(c->ctxkey, sizeof(c->ctxkey), "x:%s", w->context_ref);
        clen[1] = strlen(c->ctxkey);
        push_extra(c, 4, cv, clen);
    }
    for (size_t i = 0; i < w->ntrim; i++) {
        const char *dv[] = {"HDEL", c->bucket[1 + i], (const char *)w->trim_ids[i]};
        size_t dlen[] = {4, 0, 16};

        store_bucket_of(w->trim_ids[i], c->bucket[1 + i]);
        dlen[1] = strlen(c->bucket[1 + i]);
        push_extra(c, 3, dv, dlen);
    }
}

/* What record.lua answered ({1}: written; {0, head}: the head moved, the
 * current head copied into *current; {2}: the consent ID was erased), given
 * st, the status of the call (STORE_OK or STORE_NOT_DURABLE). */
static int record_outcome(const redisReply *r, int st, struct store_blob *current)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        return STORE_ERROR;
    if (r->element[0]->integer == 2)
        return STORE_ERASED;
    if (r->element[0]->integer != 0)
        return st;
    if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[1]->len > 0 &&
        blob_copy(current, r->element[1]->str, r->element[1]->len) != STORE_OK)
        return STORE_ERROR;
    return STORE_CONFLICT;
}

int store_record(struct store *s, const struct store_write *w,
                 struct store_blob *current)
{
    struct record_call c;
    struct script_call call = {SCRIPT_RECORD, 0, c.argv, c.lens, c.extra, 0, "", "", {NULL}};
    redisReply *r;
    int st;

    memset(current, 0, sizeof(*current));
    if (w->ntrim > RECORD_MAX_TRIM)
        return STORE_ERROR;
    record_args(&c, w);
    record_extras(&c, w);
    call.argc = c.argc;
    call.nextra = c.nextra;
    st = run_script(s, &call, &r);
    /* NOT_DURABLE holds only when this script wrote: a conflict or an
     * erased ID wrote nothing for WAIT to confirm. */
    if (st != STORE_OK && st != STORE_NOT_DURABLE)
        return st;
    st = record_outcome(r, st, current);
    freeReplyObject(r);
    return st;
}

/* Fills t from the HGETALL answer of a tombstone: "n" the count, "e<k>"
 * the erasures ("<ms> <receipts> <written> <by>"), the newest
 * STORE_MAX_ERASURES of them. */
static void tombstone_from(struct store_tombstone *t, const redisReply *r)
{
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
}

int store_tombstone(struct store *s, const char *consent_id,
                    struct store_tombstone *t)
{
    redisReply *r;
    int st;

    memset(t, 0, sizeof(*t));
    st = id_command(s, consent_id, ":t", "HGETALL", NULL, &r);
    if (st != STORE_OK)
        return st;
    tombstone_from(t, r);
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
    store_bucket_of(receipt_id, bucket);
    lens[1] = strlen(bucket);
    st = store_command(s, bucket, &r, 3, argv, lens);
    if (st != STORE_OK)
        return st;
    if (!exactly(r, 16, consent_id))
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

        store_bucket_of(ids[i], bucket);
        l[1] = strlen(bucket);
        st = store_command(s, bucket, &r, 3, a, l);
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
    struct script_call call = {SCRIPT_ERASE, 8, argv, lens, NULL, 0, "", "", {NULL}};
    redisReply *r;
    int st;

    *erased = 0;
    *number = 0;
    store_key_of(k1, sizeof(k1), consent_id, "");
    store_key_of(k2, sizeof(k2), consent_id, ":t");
    snprintf(now, sizeof(now), "%lld", now_ms);
    snprintf(ttl, sizeof(ttl), "%ld", tombstone_ttl_s);
    argv[2] = "2"; argv[3] = k1; argv[4] = k2;
    argv[5] = now; argv[6] = who; argv[7] = ttl;
    for (int i = 2; i < 8; i++)
        lens[i] = strlen(argv[i]);
    st = run_script(s, &call, &r);
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

static int persistence(struct store *s, long long *enabled, long long *running,
                       long long *done, long long *ok)
{
    const char *argv[] = {"INFO", "persistence"};
    redisReply *r;
    int st = store_command(s, NULL, &r, 2, argv, NULL);

    if (st != STORE_OK)
        return st;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return STORE_ERROR;
    }
    *enabled = store_info_field(r->str, "aof_enabled");
    *running = store_info_field(r->str, "aof_rewrite_in_progress") > 0 ||
               store_info_field(r->str, "aof_rewrite_scheduled") > 0;
    *done = store_info_field(r->str, "aof_rewrites");
    *ok = strstr(r->str, "aof_last_bgrewrite_status:ok") != NULL;
    freeReplyObject(r);
    return STORE_OK;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* store_purge on one server (under Cluster: the pinned primary). */
static int purge_one(struct store *s, int64_t deadline)
{
    const char *argv[] = {"BGREWRITEAOF"};
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
        if (clock_mono_ms() > deadline)
            return STORE_TIMEOUT;
        sleep_ms(10);
    }
    /* Another erasure may start one first ("already in progress"): that one
     * serves this erasure too, so the answer does not matter. */
    st = store_command(s, NULL, &r, 1, argv, NULL);
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
        if (clock_mono_ms() > deadline)
            return STORE_TIMEOUT;
        sleep_ms(10);
    }
}

int store_purge(struct store *s, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    struct store_link *l = s->link;
    int st = STORE_OK;

    if (s->opt.topology != STORE_CLUSTER)
        return purge_one(s, deadline);
    if ((l->map_stale || l->map.nnodes == 0) && refresh_map(s) != STORE_OK)
        return STORE_UNAVAILABLE;
    /* Every primary that serves slots: each holds erased data of its own. */
    for (size_t i = 0; i < l->map.nnodes && st == STORE_OK; i++) {
        int serves = 0;

        for (size_t k = 0; k < SLOT_COUNT && !serves; k++)
            serves = l->map.owner[k] == (int)i;
        if (!serves)
            continue;
        l->pin = (int)i;
        st = purge_one(s, deadline);
        l->pin = -1;
    }
    return st;
}

int store_v1_scan(struct store *s, char *cursor, char (*ids)[23], size_t max, size_t *n)
{
    const char *argv[] = {"SCAN", cursor, "MATCH", "consent:{*}", "COUNT", "500"};
    redisReply *r;
    int st;

    *n = 0;
    if (s->opt.topology == STORE_CLUSTER) {
        snprintf(s->last_error, sizeof(s->last_error),
                 "format v1 was never stored in a cluster: nothing to migrate");
        return STORE_ERROR;
    }
    st = store_command(s, NULL, &r, 6, argv, NULL);
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
    st = store_command(s, k1, &r, 5, a1, NULL);
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
    st = store_command(s, k2, &r, 4, a2, NULL);
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
    st = store_command(s, k1, &r, 3, a, NULL);
    if (st != STORE_OK)
        return st;
    freeReplyObject(r);
    for (size_t i = 0; i < n; i++) {
        char key[64];
        const char *d[] = {"DEL", key};

        snprintf(key, sizeof(key), "receipt:%s", receipt_ids[i]);
        st = store_command(s, key, &r, 2, d, NULL);
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
    if (store_command(s, "consent:audit", &r, 5, trim, NULL) == STORE_OK)
        freeReplyObject(r);
    argv[n++] = "XADD";
    argv[n++] = "consent:audit";
    argv[n++] = "MAXLEN";
    argv[n++] = "~";
    argv[n++] = maxlen;
    argv[n++] = "*";
    for (size_t i = 0; i < nfields; i++)
        argv[n++] = fields[i];
    st = store_command(s, "consent:audit", &r, (int)n, argv, NULL);
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
    st = store_command(s, "consent:audit", &r, 6, argv, NULL);
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

/* Commands per round trip: cluster_exec reads at most 8 answers (one may
 * be ASKING's); one server takes larger pipelines. */
#define STATS_CLUSTER_BATCH CLUSTER_MAX_PIPELINE
#define STATS_BATCH 64

/*
 * Sends n commands about key (all in key's slot) in one round trip and
 * reads every answer into out (caller frees). Under Cluster by
 * cluster_exec (routing, redirections); else on the one server, where a
 * connection lost on the way is dropped and STORE_UNAVAILABLE returned
 * (what was sent may or may not have been applied) and a demoted primary
 * is forgotten so that the next call asks the sentinels.
 */
static int stats_exec(struct store *s, const char *key, size_t n, const struct cmd *cmds,
                      redisReply **out)
{
    int st;

    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (s->opt.topology == STORE_CLUSTER)
        return cluster_exec(s, key, -1, n, cmds, out);
    st = at_pipeline(s, n, cmds, out);
    if (st == STORE_ERROR && demoted(s, s->last_error)) {
        forget_demoted(s, s->last_error);
        st = STORE_UNAVAILABLE;
    }
    return st == STORE_RETRY ? STORE_UNAVAILABLE : st;
}

/* The commands of one analytics round trip (all about one key), with room
 * for their arguments, and their answers. */
struct stats_batch {
    const char *args[STATS_BATCH][4];
    struct cmd cmds[STATS_BATCH];
    redisReply *out[STATS_BATCH];
    size_t n;
};

/* Adds a command of 2 to 4 arguments (a2, a3 NULL when absent). */
static void batch_add(struct stats_batch *b, const char *a0, const char *a1,
                      const char *a2, const char *a3)
{
    const char **a = b->args[b->n];

    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
    b->cmds[b->n] = (struct cmd){a2 == NULL ? 2 : a3 == NULL ? 3 : 4, a, NULL};
    b->n++;
}

/* Sends the batch (about key) in one round trip: STORE_OK with the answers
 * in b->out (free with free_replies), else nothing to free. */
static int batch_exec(struct store *s, const char *key, struct stats_batch *b)
{
    return stats_exec(s, key, b->n, b->cmds, b->out);
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

/* The key of every counter into refs, sorted by key (counters of one key
 * together, in their order). STORE_ERROR when a day is out of range. */
static int stats_sorted(struct store_counter *c, size_t n, struct stats_ref *refs)
{
    for (size_t i = 0; i < n; i++) {
        c[i].written = 0;
        refs[i].index = i;
        if (store_stats_key(refs[i].key, sizeof(refs[i].key), c[i].site, c[i].day,
                            store_stats_shard(c[i].field)) != STORE_OK)
            return STORE_ERROR;
    }
    qsort(refs, n, sizeof(*refs), stats_ref_cmp);
    return STORE_OK;
}

/* The counters refs[from..end) of one key: their HINCRBYs in batches of
 * one round trip each, the last batch ending with the key's EXPIRE;
 * written set on the counters of each batch Redis confirmed. by: room for
 * each count as text. */
static int stats_add_key(struct store *s, struct store_counter *c,
                         const struct stats_ref *refs, size_t from, size_t end,
                         size_t batch, const char *ttl, char (*by)[24])
{
    const char *key = refs[from].key;
    int st = STORE_OK;

    for (size_t j = from; j < end && st == STORE_OK;) {
        struct stats_batch b = {.n = 0};
        size_t first = j;

        for (; j < end && b.n < batch - 1; j++) {
            const struct store_counter *k = &c[refs[j].index];

            snprintf(by[j], sizeof(by[j]), "%lld", k->by);
            batch_add(&b, "HINCRBY", key, k->field, by[j]);
        }
        if (j == end)
            batch_add(&b, "EXPIRE", key, ttl, NULL);
        st = batch_exec(s, key, &b);
        if (st != STORE_OK)
            break;
        free_replies(b.out, b.n);
        for (size_t k = first; k < j; k++)
            c[refs[k].index].written = 1;
    }
    return st;
}

int store_stats_add(struct store *s, struct store_counter *c, size_t n, long ttl_s)
{
    const size_t batch = s->opt.topology == STORE_CLUSTER ? STATS_CLUSTER_BATCH : STATS_BATCH;
    struct stats_ref *refs = calloc(n + 1, sizeof(*refs));
    char (*by)[24] = calloc(n + 1, sizeof(*by));
    char ttl[24];
    int st = STORE_ERROR;

    if (refs == NULL || by == NULL)
        goto cleanup;
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    st = stats_sorted(c, n, refs);
    /* One key at a time. */
    for (size_t i = 0; i < n && st == STORE_OK;) {
        size_t end = i;

        while (end < n && strcmp(refs[end].key, refs[i].key) == 0)
            end++;
        st = stats_add_key(s, c, refs, i, end, batch, ttl, by);
        i = end;
    }
cleanup:
    free(refs);
    free(by);
    return st;
}

void store_stats_free(struct store_stat *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        free(rows[i].field);
    free(rows);
}

/* Adds the fields of one HGETALL answer (day's counts) to *rows. */
static int stats_rows(const redisReply *r, long day, struct store_stat **rows, size_t *n,
                      size_t *cap)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return STORE_ERROR;
    for (size_t k = 0; k + 1 < r->elements; k += 2) {
        const redisReply *f = r->element[k], *v = r->element[k + 1];
        char *end;
        long long count;

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        count = strtoll(v->str, &end, 10);
        if (*end != '\0')
            continue;       /* not a counter: ignored */
        if (*n == *cap) {
            struct store_stat *grown = realloc(*rows, 2 * *cap * sizeof(**rows));

            if (grown == NULL)
                return STORE_ERROR;
            *rows = grown;
            *cap *= 2;
        }
        (*rows)[*n].field = strdup(f->str);
        if ((*rows)[*n].field == NULL)
            return STORE_ERROR;
        (*rows)[*n].day = day;
        (*rows)[*n].count = count;
        (*n)++;
    }
    return STORE_OK;
}

int store_stats_read(struct store *s, const char *site, long from_day, long to_day,
                     struct store_stat **out, size_t *nout)
{
    /* Under Cluster each key is its own slot: one HGETALL per round trip.
     * One server takes STATS_BATCH of them in one. */
    const size_t batch = s->opt.topology == STORE_CLUSTER ? 1 : STATS_BATCH;
    size_t nkeys, cap = 64, n = 0;
    struct store_stat *rows = malloc(cap * sizeof(*rows));
    char (*keys)[STORE_MAX_STATS_KEY] = NULL;
    long *days = NULL;
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
        if (store_stats_key(keys[i], sizeof(keys[i]), site, days[i],
                            (unsigned)(i % STORE_STATS_SHARDS)) != STORE_OK) {
            st = STORE_ERROR;
            goto cleanup;
        }
    }
    for (size_t from = 0; from < nkeys && st == STORE_OK; from += batch) {
        struct stats_batch b = {.n = 0};

        for (size_t i = from; i < nkeys && b.n < batch; i++)
            batch_add(&b, "HGETALL", keys[i], NULL, NULL);
        st = batch_exec(s, keys[from], &b);
        if (st != STORE_OK)
            break;          /* the answers are freed already */
        for (size_t i = 0; i < b.n && st == STORE_OK; i++)
            st = stats_rows(b.out[i], days[from + i], &rows, &n, &cap);
        free_replies(b.out, b.n);
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
    case STORE_INVALID:
        return "a malformed Redis address or option";
    case STORE_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}

/* ---- for redis/watch.c (link.h) ---- */

int store_servers(const struct store_options *o, char (*out)[STORE_MAX_ADDRESS],
                  size_t max, size_t *n, char *why, size_t whylen)
{
    struct store s;
    struct store_link l;
    char host[STORE_MAX_ADDRESS];
    int port, st;

    *n = 0;
    if (max == 0)
        return STORE_UNAVAILABLE;
    if (o->topology == STORE_SINGLE) {
        snprintf(out[0], STORE_MAX_ADDRESS, "%s", o->address);
        *n = 1;
        return STORE_OK;
    }
    if (o->topology == STORE_CLUSTER) {
        /* PUBLISH reaches the subscribers of every node: any seed will do */
        for (size_t i = 0; i < o->nseeds && i < max; i++)
            snprintf(out[(*n)++], STORE_MAX_ADDRESS, "%s", o->seeds[i]);
        if (*n == 0)
            snprintf(why, whylen, "no cluster seed nodes");
        return *n > 0 ? STORE_OK : STORE_UNAVAILABLE;
    }
    memset(&s, 0, sizeof(s));
    memset(&l, 0, sizeof(l));
    s.opt = *o;
    s.link = &l;
    st = ask_sentinels(&s, host, sizeof(host), &port);
    if (st == STORE_OK) {
        snprintf(out[0], STORE_MAX_ADDRESS, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d",
                 host, port);
        *n = 1;
    } else {
        snprintf(why, whylen, "%s", s.last_error);
    }
    explicit_bzero(&s, sizeof(s));
    return st;
}

int store_link_open(const struct store_options *o, const char *address,
                    redisContext **out, char *why, size_t whylen)
{
    char host[STORE_MAX_ADDRESS];
    redisContext *c;
    int port;

    *out = NULL;
    if (store_address_parse(address, host, sizeof(host), &port) != STORE_OK) {
        snprintf(why, whylen, "malformed address %.100s", address);
        return STORE_INVALID;
    }
    c = connect_to(o, host, port, why, whylen);
    if (c == NULL)
        return STORE_UNAVAILABLE;
    if (authenticate(c, o, why, whylen) != STORE_OK ||
        (o->topology == STORE_SENTINEL &&
         check_primary(c, host, port, why, whylen) != STORE_OK)) {
        redisFree(c);
        return STORE_UNAVAILABLE;
    }
    *out = c;
    return STORE_OK;
}
