/*
 * audit.c - see audit.h.
 */
#include "audit.h"
#include "receipt.h"

#include <stdio.h>

int audit_append(struct store *s, const struct audit_action *a, const struct audit_limits *l)
{
    char when[24], status[8], hashed[20];
    const char *f[14], *target = a->target;
    size_t n = 0;

    snprintf(when, sizeof(when), "%lld", (long long)a->time_ms);
    snprintf(status, sizeof(status), "%d", a->status);
    if (receipt_valid_consent_id(a->target)) {
        char h[17];

        receipt_id_hash(l->id_key, a->target, h);
        snprintf(hashed, sizeof(hashed), "id:%s", h);
        target = hashed;
    }
    f[n++] = "time_ms"; f[n++] = when;
    f[n++] = "who"; f[n++] = a->who;
    f[n++] = "action"; f[n++] = a->action;
    f[n++] = "target"; f[n++] = target;
    f[n++] = "status"; f[n++] = status;
    if (a->client != NULL) {
        f[n++] = "client"; f[n++] = a->client;
    }
    f[n++] = "via"; f[n++] = a->via;
    return store_audit(s, f, n, a->time_ms, (long long)l->retention_days * 86400000,
                       l->max_entries);
}
