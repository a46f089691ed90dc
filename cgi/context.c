/*
 * context.c - see context.h.
 */
#include "context.h"

#include <string.h>

/* "jurisdiction", "categories" and "purposes": where and what was asked,
 * each category named in the language shown (its id when the texts have
 * no name for it). */
static void add_asked(cJSON *t, const struct context_facts *f)
{
    const struct config_site *site = f->site;
    cJSON *o, *cats, *purposes, *texts, *names;

    o = cJSON_AddObjectToObject(t, "jurisdiction");
    if (f->region[0] != '\0')
        cJSON_AddStringToObject(o, "region", f->region);
    else
        cJSON_AddNullToObject(o, "region");
    cJSON_AddStringToObject(o, "regime", f->regime->id);
    cJSON_AddStringToObject(o, "model", rules_model_name(f->regime->model));
    texts = cJSON_Parse(f->lang->texts[f->texts_model]);
    names = cJSON_GetObjectItemCaseSensitive(texts, "categories");
    cats = cJSON_AddArrayToObject(t, "categories");
    purposes = cJSON_AddObjectToObject(t, "purposes");
    for (size_t i = 0; i < site->ncategories; i++) {
        const struct config_category *cat = &site->categories[i];
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(names, cat->id), "name");

        cJSON_AddItemToArray(cats, cJSON_CreateString(cat->id));
        o = cJSON_AddObjectToObject(purposes, cat->id);
        cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : cat->id);
        cJSON_AddBoolToObject(o, "necessary", cat->necessary);
        cJSON_AddBoolToObject(o, "sale_sharing", cat->sale_sharing);
    }
    cJSON_Delete(texts);
}

/* "banner": the banner shown (its texts hash covers the variant's texts). */
static void add_banner(cJSON *t, const struct context_facts *f)
{
    cJSON *o = cJSON_AddObjectToObject(t, "banner");

    cJSON_AddStringToObject(o, "version", f->site->banner_version);
    cJSON_AddNumberToObject(o, "consent_revision", f->site->consent_revision);
    cJSON_AddStringToObject(o, "texts_sha256", f->texts_sha256);
    cJSON_AddStringToObject(o, "model", rules_model_name(f->texts_model));
    if (f->variant != NULL)
        cJSON_AddStringToObject(o, "variant", f->variant);
}

static void add_controller(cJSON *t, const struct config_controller *c)
{
    cJSON *o = cJSON_AddObjectToObject(t, "controller");

    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "contact", c->contact);
    cJSON_AddStringToObject(o, "address", c->address);
    cJSON_AddStringToObject(o, "email", c->email);
    cJSON_AddStringToObject(o, "phone", c->phone);
}

enum context_status context_build(const struct context_facts *f, cJSON **tree)
{
    cJSON *t = cJSON_CreateObject();

    *tree = NULL;
    if (t == NULL)
        return CONTEXT_NO_MEMORY;
    cJSON_AddStringToObject(t, "site", f->site->id);
    add_asked(t, f);
    add_banner(t, f);
    cJSON_AddStringToObject(t, "language", f->lang->tag);
    cJSON_AddStringToObject(t, "policy_url", f->site->policy_url);
    add_controller(t, &f->site->controller);
    cJSON_AddNumberToObject(t, "consent_days", f->regime->consent_days);
    if (f->gpp != NULL)
        cJSON_AddStringToObject(t, "gpp", f->gpp);
    cJSON_AddStringToObject(t, "kid", f->kid);
    *tree = t;
    return CONTEXT_OK;
}

enum context_status context_read(const cJSON *tree, const char *site_id,
                                 struct context_state *out)
{
    const cJSON *banner = cJSON_GetObjectItemCaseSensitive(tree, "banner");
    const char *site = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(tree, "site"));
    const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(banner, "model"));
    const cJSON *revision;

    memset(out, 0, sizeof(*out));
    if (model == NULL)
        return CONTEXT_MALFORMED;
    if (strcmp(site != NULL ? site : "", site_id) != 0)
        return CONTEXT_OTHER_SITE;
    if (rules_model_parse(model, &out->model) != 0)
        return CONTEXT_MALFORMED;
    revision = cJSON_GetObjectItemCaseSensitive(banner, "consent_revision");
    out->consent_revision = cJSON_IsNumber(revision) ? revision->valueint : 0;
    return CONTEXT_OK;
}

const char *context_strerror(int status)
{
    switch (status) {
    case CONTEXT_OK:
        return "success";
    case CONTEXT_OTHER_SITE:
        return "the context is another site's";
    case CONTEXT_MALFORMED:
        return "the context names no banner model this version knows";
    case CONTEXT_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}
