/*
 * decision.c - see decision.h.
 */
#include "decision.h"

#include <string.h>

#include <cjson/cJSON.h>

void decision_make(const struct config_site *site, const struct regime *g,
                   int gpc, int64_t now, struct decision *out)
{
    memset(out, 0, sizeof(*out));
    out->regime = g;
    out->gpc_received = gpc != 0;
    out->gpc_binding = gpc && rules_gpc_binding(g, now);
    for (size_t i = 0; i < site->ncategories; i++) {
        const struct config_category *c = &site->categories[i];
        struct decision_category *d = &out->categories[i];

        if (c->necessary) {
            d->on = 1;
            d->lock = LOCK_NECESSARY;
            continue;
        }
        d->on = g->model != MODEL_OPT_IN;
        if (gpc && c->sale_sharing) {
            if (d->on) {
                d->gpc_changed = 1;
                out->gpc_changed_any = 1;
            }
            d->on = 0;
            if (out->gpc_binding)
                d->lock = LOCK_GPC;
        }
    }
}

int decision_apply(const struct config_site *site, const struct decision *d,
                   const int *stored, const int *known, int use_stored, int *out)
{
    for (size_t i = 0; i < site->ncategories; i++) {
        out[i] = d->categories[i].on;
        if (use_stored && known[i])
            out[i] = stored[i] != 0;
        if (site->categories[i].necessary)
            out[i] = 1;
        if (d->categories[i].lock == LOCK_GPC)
            out[i] = 0;
    }
    return decision_gpc_honoured(site, d, out);
}

int decision_gpc_honoured(const struct config_site *site, const struct decision *d,
                          const int *on)
{
    for (size_t i = 0; i < site->ncategories; i++)
        if (site->categories[i].sale_sharing && on[i])
            return 0;
    return d->gpc_received;
}

int decision_prompt(const struct decision_stored *stored, const struct regime *g,
                    int site_revision, int64_t now_ms, int settings_opened)
{
    if (settings_opened || !stored->present)
        return 1;
    if (stored->opted_out && g->optout_quiet_days > 0 &&
        now_ms < stored->time_ms + (int64_t)g->optout_quiet_days * 86400000)
        return 0;
    if (now_ms >= stored->expires_ms)
        return 1;
    if (stored->revision < site_revision)
        return 1;
    if (g->model == MODEL_OPT_IN && stored->model != MODEL_OPT_IN)
        return 1;
    return 0;
}

const char *decision_lock_name(enum decision_lock lock)
{
    switch (lock) {
    case LOCK_NECESSARY:
        return "necessary";
    case LOCK_GPC:
        return "gpc";
    case LOCK_NONE:
        break;
    }
    return NULL;
}

char *decision_categories_json(const struct config_site *site,
                               const struct decision *d)
{
    cJSON *arr = cJSON_CreateArray();
    char *out;

    for (size_t i = 0; i < site->ncategories; i++) {
        cJSON *c = cJSON_CreateObject();
        const char *lock = decision_lock_name(d->categories[i].lock);

        cJSON_AddStringToObject(c, "id", site->categories[i].id);
        cJSON_AddBoolToObject(c, "default", d->categories[i].on);
        cJSON_AddBoolToObject(c, "changeable", lock == NULL);
        if (lock != NULL)
            cJSON_AddStringToObject(c, "locked", lock);
        cJSON_AddBoolToObject(c, "sale_sharing", site->categories[i].sale_sharing);
        cJSON_AddItemToArray(arr, c);
    }
    out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return out;
}
