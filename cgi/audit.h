/*
 * audit.h - the record of one support action (who did what to which
 * consent ID, when, with what outcome), as the admin API (cgi/admin.c) and
 * consentctl append it to the one audit stream.
 *
 * One builder, so that both write the same fields in the same order and
 * keep a consent ID only as its keyed hash ("id:<16 hex>"): an erased ID
 * must not live on in the audit trail; support finds entries by hashing.
 */
#ifndef CONSENT_AUDIT_H
#define CONSENT_AUDIT_H

#include <stdint.h>

#include "../common/attrs.h"
#include "../redis/store.h"

/* One support action. Strings are borrowed for the call. */
struct audit_action {
    int64_t time_ms;
    const char *who;                /* token name, or "cli:<user>" */
    const char *action;             /* "lookup", "erase", ... */
    const char *target;             /* a consent ID (hashed), receipt ID, site, "-" */
    int status;                     /* the HTTP status, or its CLI equivalent */
    const char *client;             /* the caller's truncated address, or NULL */
    const char *via;                /* "api" or "cli" */
};

/* How long and how many entries the stream keeps. */
struct audit_limits {
    const unsigned char *id_key;    /* 32 bytes: the key of the consent ID hash */
    long retention_days;
    long long max_entries;
};

/*
 * Appends a's record to the audit stream of s: time_ms, who, action,
 * target, status, client (when given), via. Returns the store's status
 * (STORE_OK); an action that cannot be audited must not pass quietly.
 */
CONSENT_MUST_CHECK
int audit_append(struct store *s, const struct audit_action *a, const struct audit_limits *l);

#endif
