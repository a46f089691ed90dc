/*
 * watch.h - hears which consent IDs changed: one thread per process holds a
 * Redis connection SUBSCRIBEd to WATCH_CHANNEL, on which record.lua and
 * erase.lua PUBLISH the consent ID of every receipt written and every
 * erasure, atomically with the change (same script). The banner decision's
 * head cache (cgi/headcache.h) forgets what it hears.
 *
 * When a message could be missed, the watcher says so at once
 * (on_state(arg, 0)) and keeps saying nothing else until it is subscribed
 * again (on_state(arg, 1), called once SUBSCRIBE is confirmed: everything
 * published from then on arrives). It is not subscribed while it connects,
 * after the connection failed or closed (Redis restarted), when a PING sent
 * every WATCH_PING_MS found no answer within WATCH_DEAD_MS (a server or
 * network that stopped answering), and under Sentinel when the sentinels,
 * asked every WATCH_RECHECK_MS, name another primary.
 *
 * Which server: the ones redis/link.h's store_servers() names, tried in
 * order (one server: its address; Sentinel: the primary the sentinels name
 * now), with the store's timeouts and AUTH. PUBLISH reaches the subscribers
 * of every node of a Redis Cluster, so a cluster's seed nodes can be the
 * list.
 *
 * Messages already delivered to this process but not yet applied: a reader
 * that must not act on state those messages change brackets its read with
 * watch_begin() / watch_settled(), which say whether, during the read, the
 * watcher was subscribed, had applied everything it had read from the
 * socket, and nothing more was waiting in the socket.
 *
 * No hiredis type in this header: callers outside redis/ see only this.
 */
#ifndef CONSENT_WATCH_H
#define CONSENT_WATCH_H

#include "../common/attrs.h"
#include "store.h"

#define WATCH_CHANNEL "consent:heads"   /* record.lua and erase.lua publish on it */
#define WATCH_PING_MS 200
#define WATCH_DEAD_MS 600
#define WATCH_RECHECK_MS 1000
#define WATCH_BACKOFF_MIN_MS 50
#define WATCH_BACKOFF_MAX_MS 1000
#define WATCH_MAX_MESSAGE 64            /* longer payloads are ignored */

enum watch_status {
    WATCH_OK = 0,
    WATCH_NO_MEMORY,
    WATCH_NO_THREAD,        /* pthread_create failed */
    WATCH_LOST              /* internal: the subscribed connection was lost */
};

/* A message: the consent ID id changed (NUL-terminated, borrowed for the call). */
typedef void watch_changed_fn(void *arg, const char *id);
/* subscribed: 1 from now on every change arrives; 0 one may be missed
 * (why: what happened, NULL at start; borrowed for the call). 0 may come
 * again with a reason while still not subscribed: once per outage. */
typedef void watch_state_fn(void *arg, int subscribed, const char *why);

struct watch_options {
    struct store_options store;     /* servers, timeouts, AUTH (copied) */
    watch_changed_fn *on_changed;   /* called on the watcher's thread */
    watch_state_fn *on_state;       /* idem; 0 first, before anything else */
    void *arg;
};

struct watch;

/*
 * Starts the watcher thread (it connects in the background and keeps
 * trying; on_state(arg, 0) is called before this returns). Returns
 * WATCH_OK with *w set, WATCH_NO_MEMORY or WATCH_NO_THREAD. Stop with
 * watch_stop(). Signals the caller has blocked stay blocked in the thread.
 */
CONSENT_MUST_CHECK
int watch_start(struct watch **w, const struct watch_options *o);

/* Stops and joins the thread (within about WATCH_PING_MS plus a command
 * timeout), frees w. Safe on NULL. */
void watch_stop(struct watch *w);

/* Before a read: a mark for watch_settled(). Thread-safe, no system call. */
unsigned long watch_begin(struct watch *w);

/*
 * After the read: 1 when, since watch_begin() returned mark, the watcher
 * was subscribed, had applied every message it read, and no data waits in
 * its socket (one poll(2) without waiting), so no change heard by this
 * process is unapplied; else 0. Thread-safe.
 */
int watch_settled(struct watch *w, unsigned long mark);

/* Whether the watcher is subscribed now, and where ("host:port" into buf,
 * "" when not), for health. */
int watch_where(struct watch *w, char *buf, size_t len);

/* Static message for a watch_status ("unknown error" for anything else). */
const char *watch_strerror(int status);

#endif
