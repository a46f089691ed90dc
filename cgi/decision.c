/*
 * decision.c - see decision.h.
 */
#include "decision.h"

#include <stdio.h>
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

/* The opt-outs and the notice each depends on. */
static const enum gpp_field optouts[][2] = {
    {GPP_F_SALE_OPT_OUT, GPP_F_SALE_OPT_OUT_NOTICE},
    {GPP_F_SHARING_OPT_OUT, GPP_F_SHARING_OPT_OUT_NOTICE},
    {GPP_F_TARGETED_ADVERTISING_OPT_OUT, GPP_F_TARGETED_ADVERTISING_OPT_OUT_NOTICE},
};

int decision_gpp(const struct config_site *site, int sid, int gpc, const int *on,
                 char *out, size_t outlen)
{
    struct gpp_string g;
    struct gpp_section *s = &g.sections[0];
    int sells = 0, sale_on = 0;

    if (outlen > 0)
        out[0] = '\0';
    memset(&g, 0, sizeof(g));
    if (sid == 0 || gpp_section_init(s, sid) != GPP_OK)
        return -1;
    g.nsections = 1;
    for (size_t i = 0; i < site->ncategories; i++)
        if (site->categories[i].sale_sharing) {
            sells = 1;
            sale_on |= on[i] != 0;
        }
    for (int f = 0; f < GPP_FIELD_COUNT; f++) {
        const struct gpp_field_desc *fd = gpp_section_field(sid, (enum gpp_field)f);
        int v;

        if (fd == NULL || fd->list || f == GPP_F_VERSION)
            continue;
        switch (f) {
        case GPP_F_SHARING_NOTICE:
        case GPP_F_SALE_OPT_OUT_NOTICE:
        case GPP_F_SHARING_OPT_OUT_NOTICE:
        case GPP_F_TARGETED_ADVERTISING_OPT_OUT_NOTICE:
            v = sells;
            break;
        case GPP_F_PROCESSING_NOTICE:
            v = 1;
            break;
        case GPP_F_MSPA_COVERED_TRANSACTION:
            v = 2;
            break;
        default:
            v = 0;
        }
        if (site->gpp_set[f])
            v = site->gpp_value[f];
        s->v[f][0] = (unsigned char)v;
    }
    for (size_t i = 0; i < sizeof(optouts) / sizeof(optouts[0]); i++)
        if (gpp_section_field(sid, optouts[i][0]) != NULL)
            s->v[optouts[i][0]][0] = s->v[optouts[i][1]][0] != 1 ? 0 : sale_on ? 2 : 1;
    s->sub = gpp_section_sub(sid) == GPP_SUB_GPC;
    s->gpc = s->sub && gpc;
    return gpp_encode(&g, out, outlen) == GPP_OK ? 0 : -1;
}

void decision_gpp_fields_json(cJSON *o, const struct gpp_section *s, int with_absent_sub)
{
    size_t nf;
    const struct gpp_field_desc *f = gpp_section_fields(s->id, &nf);

    for (size_t r = 0; r < nf; r++) {
        if (f[r].sub && !s->sub && !with_absent_sub)
            continue;
        if (f[r].list) {
            cJSON *a = cJSON_AddArrayToObject(o, f[r].name);

            for (unsigned k = 0; k < f[r].count; k++)
                cJSON_AddItemToArray(a, cJSON_CreateNumber(s->v[f[r].field][k]));
        } else {
            cJSON_AddNumberToObject(o, f[r].name, s->v[f[r].field][0]);
        }
    }
}

/* The fields of each section of g as the reference's toObject() lists them:
 * every field, also those of an absent second sub-section (0), and for
 * sections with a GPC sub-section GpcSegmentType and Gpc. */
static void gpp_parsed_json(cJSON *root, const struct gpp_string *g)
{
    for (size_t i = 0; i < g->nsections; i++) {
        const struct gpp_section *s = &g->sections[i];
        cJSON *o = cJSON_AddObjectToObject(root, gpp_section_name(s->id));

        decision_gpp_fields_json(o, s, 1);
        if (gpp_section_sub(s->id) == GPP_SUB_GPC) {
            cJSON_AddNumberToObject(o, "GpcSegmentType", 1);
            cJSON_AddBoolToObject(o, "Gpc", s->sub && s->gpc);
        }
    }
}

cJSON *decision_gpp_ping(const char *gpp, int sid, int cmp_id)
{
    struct gpp_string g;
    char none[16];
    cJSON *root, *apis, *list, *applicable;

    memset(&g, 0, sizeof(g));
    if (gpp != NULL && sid != 0) {
        if (gpp_decode(gpp, strlen(gpp), &g, NULL, 0) != GPP_OK)
            return NULL;
    } else {
        if (gpp_header_encode(NULL, 0, GPP_PAD_REFERENCE, none, sizeof(none)) != GPP_OK)
            return NULL;
        gpp = none;
    }
    root = cJSON_CreateObject();
    if (root == NULL)
        return NULL;
    cJSON_AddStringToObject(root, "gppVersion", GPP_CMP_API_VERSION);
    cJSON_AddNumberToObject(root, "cmpId", cmp_id);
    apis = cJSON_AddArrayToObject(root, "supportedAPIs");
    list = cJSON_AddArrayToObject(root, "sectionList");
    applicable = cJSON_AddArrayToObject(root, "applicableSections");
    for (size_t i = 0; i < g.nsections; i++) {
        char api[32];

        snprintf(api, sizeof(api), "%d:%s", (int)g.sections[i].id,
                 gpp_section_name(g.sections[i].id));
        cJSON_AddItemToArray(apis, cJSON_CreateString(api));
        cJSON_AddItemToArray(list, cJSON_CreateNumber(g.sections[i].id));
    }
    cJSON_AddItemToArray(applicable, cJSON_CreateNumber(g.nsections > 0 ? sid : -1));
    cJSON_AddStringToObject(root, "gppString", gpp);
    gpp_parsed_json(cJSON_AddObjectToObject(root, "parsedSections"), &g);
    if (g.nsections == 0) {
        /* No section applies: the page's states are fixed (the CMP is
         * loaded, shows nothing GPP is about, and its signal is ready), so
         * the script answers ping with this object as it is. */
        cJSON_AddStringToObject(root, "cmpStatus", "loaded");
        cJSON_AddStringToObject(root, "cmpDisplayStatus", "disabled");
        cJSON_AddStringToObject(root, "signalStatus", "ready");
    }
    return root;
}
