/*
 * choice.c - see choice.h.
 */
#include "choice.h"
#include "../common/jcheck.h"

#include <ctype.h>
#include <string.h>

const char *const choice_action_names[CHOICE_ACTION_COUNT] = {
    "accept_all", "reject_all", "custom", "gpc", "withdraw"};

static const char *const body_keys[] = {
    "site", "banner_version", "texts_sha256", "action", "choices", "variant", NULL};

/* value may be the caller's own text (an unknown field's name, up to a
 * whole body long): it is shortened and sanitised by the one helper, so the
 * answer echoes valid UTF-8 and never half a character. */
static int fail(struct choice_error *err, int status, const char *code,
                const char *message, const char *key, const char *value)
{
    err->status = status;
    err->code = code;
    err->message = message;
    err->key = key;
    if (value == NULL)
        value = "";
    jcheck_utf8_copy(err->value, sizeof(err->value), value, strlen(value));
    return CHOICE_REFUSED;
}

const char *choice_strerror(int status)
{
    switch (status) {
    case CHOICE_OK:
        return "ok";
    case CHOICE_REFUSED:
        return "refused (see the choice_error)";
    default:
        return "unknown error";
    }
}

/*
 * 1 when a JSON string in text holds the escape \u0000. cJSON decodes it to
 * a NUL byte that ends the C string there, so "demo\u0000anything" would be
 * read as "demo": the receipt would not record what was sent. (A backslash
 * outside a string is not JSON, so no string tracking is needed.)
 */
static int has_nul_escape(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\')
            continue;
        if (text[i + 1] == 'u' && len - i >= 6 && memcmp(text + i + 2, "0000", 4) == 0)
            return 1;
        i++;    /* the escaped character, which may be a backslash */
    }
    return 0;
}

/* Every member of the body is one the API takes. */
static int check_fields(const cJSON *root, struct choice_error *err)
{
    for (const cJSON *item = root->child; item != NULL; item = item->next) {
        const char *const *k;

        for (k = body_keys; *k != NULL && strcmp(*k, item->string) != 0; k++)
            ;
        if (*k == NULL)
            return fail(err, 400, "unknown_field", "the body has a field this API does not take",
                        "field", item->string);
    }
    return CHOICE_OK;
}

/* The members' shapes (400 invalid_field), before any is looked up; sets
 * r->action. */
static int check_shapes(const cJSON *root, struct choice *r, struct choice_error *err)
{
    const cJSON *site = cJSON_GetObjectItemCaseSensitive(root, "site");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "banner_version");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(root, "texts_sha256");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(root, "action");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *variant = cJSON_GetObjectItemCaseSensitive(root, "variant");

    if (!cJSON_IsString(site) || !jcheck_is_token(site->valuestring, CONSENT_MAX_SITE_ID_LEN))
        return fail(err, 400, "invalid_field", "\"site\" must be a site id", "field", "site");
    if (!cJSON_IsString(ver) || strlen(ver->valuestring) > 64)
        return fail(err, 400, "invalid_field", "\"banner_version\" must be a string",
                    "field", "banner_version");
    if (!cJSON_IsString(hash) || strlen(hash->valuestring) != 64 ||
        strspn(hash->valuestring, "0123456789abcdef") != 64)
        return fail(err, 400, "invalid_field",
                    "\"texts_sha256\" must be 64 lower-case hex digits", "field", "texts_sha256");
    if (variant != NULL && (!cJSON_IsString(variant) ||
                            !jcheck_is_token(variant->valuestring, CONSENT_MAX_VARIANT_ID_LEN)))
        return fail(err, 400, "invalid_field", "\"variant\" must be a variant id", "field",
                    "variant");
    if (!cJSON_IsString(action))
        return fail(err, 400, "invalid_field", "\"action\" must be a string", "field", "action");
    for (r->action = 0; r->action < CHOICE_ACTION_COUNT; r->action++)
        if (strcmp(choice_action_names[r->action], action->valuestring) == 0)
            break;
    if (r->action == CHOICE_ACTION_COUNT)
        return fail(err, 400, "invalid_field",
                    "\"action\" must be accept_all, reject_all, custom, gpc or withdraw",
                    "field", "action");
    if (choices != NULL && !cJSON_IsObject(choices))
        return fail(err, 400, "invalid_field", "\"choices\" must be an object of booleans",
                    "field", "choices");
    if (choices != NULL && cJSON_GetArraySize(choices) > CONSENT_MAX_CATEGORIES)
        return fail(err, 400, "invalid_field", "too many choices", "field", "choices");
    return CHOICE_OK;
}

/* The choices given, by the site's categories, into r->given (-1 where
 * none was given): booleans, known categories, necessary ones not off. */
static int read_choices(const cJSON *choices, struct choice *r, struct choice_error *err)
{
    const cJSON *item;

    for (size_t i = 0; i < r->site->ncategories; i++)
        r->given[i] = -1;
    cJSON_ArrayForEach(item, choices) {
        int idx = config_category_index(r->site, item->string);

        if (!cJSON_IsBool(item))
            return fail(err, 400, "invalid_field", "each choice must be true or false",
                        "field", "choices");
        if (idx < 0)
            return fail(err, 422, "unknown_category", "the site has no such category",
                        "category", item->string);
        if (r->site->categories[idx].necessary && !cJSON_IsTrue(item))
            return fail(err, 422, "necessary_category",
                        "a strictly necessary category cannot be switched off",
                        "category", item->string);
        r->given[idx] = cJSON_IsTrue(item);
    }
    return CHOICE_OK;
}

/* The banner the visitor answered is the one the site shows now: its
 * version, the variant the decision named (one no longer configured is a
 * banner no longer shown) and the texts (409 stale_banner). */
static int check_banner(const cJSON *root, struct choice *r, struct choice_error *err)
{
    const char *ver = cJSON_GetObjectItemCaseSensitive(root, "banner_version")->valuestring;
    const char *hash = cJSON_GetObjectItemCaseSensitive(root, "texts_sha256")->valuestring;
    const cJSON *variant = cJSON_GetObjectItemCaseSensitive(root, "variant");

    if (strcmp(ver, r->site->banner_version) != 0)
        return fail(err, 409, "stale_banner", "the banner changed; show the current one",
                    "current_version", r->site->banner_version);
    r->variant = -1;
    if (variant != NULL) {
        r->variant = config_variant_index(r->site, variant->valuestring);
        if (r->variant < 0)
            return fail(err, 409, "stale_banner", "that banner variant is no longer shown",
                        "current_version", r->site->banner_version);
    }
    r->lang = config_texts_by_hash(r->site, r->variant, hash, &r->texts_model);
    if (r->lang == NULL)
        return fail(err, 409, "stale_banner", "those are not the site's current texts",
                    "current_version", r->site->banner_version);
    /* Borrowed from the configuration, not from the request's JSON tree,
     * which the caller frees before the receipt is built. */
    r->texts_sha256 = r->lang->texts_sha256[r->texts_model];
    return CHOICE_OK;
}

/* Validates the body of POST /consents into r, or answers the error, in
 * the order a client learns most from: fields, shapes, site, choices,
 * banner. */
static int parse_tree(const struct config *cfg, const cJSON *root,
                      struct choice *r, struct choice_error *err)
{
    int st = check_fields(root, err);

    if (st == CHOICE_OK)
        st = check_shapes(root, r, err);
    if (st != CHOICE_OK)
        return st;
    r->site = config_site_find(cfg, cJSON_GetObjectItemCaseSensitive(root, "site")->valuestring);
    if (r->site == NULL)
        return fail(err, 404, "unknown_site", "no site with that id", NULL, NULL);
    st = read_choices(cJSON_GetObjectItemCaseSensitive(root, "choices"), r, err);
    if (st == CHOICE_OK)
        st = check_banner(root, r, err);
    return st;
}

/* Resolves the final state of every category for an action, or answers
 * 422 (and returns -1). given[i] is -1 where the body said nothing. */
int choice_resolve(struct choice *c_, const struct decision *d,
                   struct choice_error *err)
{
    const struct config_site *site = c_->site;
    enum choice_action a = c_->action;
    const int *given = c_->given;
    int *on = c_->on;

    for (size_t i = 0; i < site->ncategories; i++) {
        const struct config_category *c = &site->categories[i];
        int locked_off = d->categories[i].lock == LOCK_GPC;
        int want;

        if (c->necessary) {
            on[i] = 1;
            continue;
        }
        switch (a) {
        case CHOICE_ACCEPT_ALL:
            want = !locked_off;
            break;
        case CHOICE_REJECT_ALL:
        case CHOICE_WITHDRAW:
            want = 0;
            break;
        case CHOICE_GPC:
            want = c->sale_sharing ? 0 : (given[i] >= 0 ? given[i] : d->categories[i].on);
            break;
        default: /* custom */
            if (given[i] < 0) {
                return fail(err, 422, "missing_category",
                            "\"custom\" must give every optional category",
                            "category", c->id);
            }
            want = given[i];
            break;
        }
        if (want && locked_off) {
            return fail(err, 422, "category_locked",
                        "Global Privacy Control keeps this category off",
                        "category", c->id);
        }
        if (given[i] >= 0 && given[i] != want) {
            if (want == 0 && (locked_off || (a == CHOICE_GPC && c->sale_sharing)))
                return fail(err, 422, "category_locked",
                            "Global Privacy Control keeps this category off",
                            "category", c->id);
            return fail(err, 422, "choices_mismatch",
                        "the choices contradict the action", "category", c->id);
        }
        on[i] = want;
    }
    return CHOICE_OK;
}


int choice_parse(const struct config *cfg, const char *body, size_t len,
                 struct choice *out, struct choice_error *err)
{
    const char *end = NULL;
    cJSON *root;
    const cJSON *dup;
    char path[JCHECK_MAX_PATH];
    int rc;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return fail(err, 400, "invalid_json", "the body is empty", NULL, NULL);
    /* Before parsing: cJSON passes any bytes through, and keys and values
     * are then compared, stored in receipts and echoed in errors. */
    if (jcheck_utf8(body, len, NULL) != JCHECK_UTF8_OK)
        return fail(err, 400, "invalid_json", "the body is not valid UTF-8",
                    NULL, NULL);
    if (has_nul_escape(body, len))
        return fail(err, 400, "invalid_json",
                    "a string in the body holds \\u0000, which this API does not take",
                    NULL, NULL);
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root != NULL)
        while (end < body + len && isspace((unsigned char)*end))
            end++;
    if (root == NULL || end != body + len || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(err, 400, "invalid_json", "the body must be one JSON object",
                    NULL, NULL);
    }
    /* At every level, before any member is read. cJSON keeps both members
     * of a repeated key; lookups would take the first ("action" at the top)
     * and the loop over "choices" the last, so one body meant two things. */
    dup = jcheck_duplicate_key(root, path);
    if (dup != NULL) {
        rc = fail(err, 400, "duplicate_key", "the body gives a key twice", "field",
                  strncmp(path, "$.", 2) == 0 ? path + 2 : path);
        cJSON_Delete(root);
        return rc;
    }
    rc = parse_tree(cfg, root, out, err);
    cJSON_Delete(root);
    return rc;
}
