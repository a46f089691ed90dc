/*
 * declaration.c - see declaration.h.
 *
 * The configuration is checked completely first; the answers are then
 * built from the checked tree, so building never meets a bad value.
 */
#include "declaration.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const category_keys[] = {"storage", "vendors", NULL};
static const char *const storage_keys[] = {"name", "prefix", "provider", "party",
                                           "days", "type", "purpose", NULL};
static const char *const vendor_keys[] = {"name", "policy_url", NULL};
static const char *const types[] = {"cookie", "local_storage", "pixel", NULL};
static const char *const parties[] = {"first", "third", NULL};
/* The labels a declaration table needs, from the language's panel texts. */
static const char *const label_keys[] = {
    "declaration", "col_name", "col_provider", "col_duration", "col_type",
    "col_purpose", "session", "first_party", "third_party", "privacy_policy",
    "type_cookie", "type_local_storage", "type_pixel", NULL};

static int one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* A cookie name or storage key: printable ASCII without space and the
 * characters a cookie string or the clean-up list give a meaning to
 * ("*" marks a prefix there). */
static int valid_name(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x21 || *s > 0x7e || strchr(";,=*\"\\", *s) != NULL)
            return 0;
    return 1;
}

/* An absolute http(s) URL with a host, no whitespace or control bytes. */
static int valid_url(const char *s)
{
    size_t skip = strncmp(s, "https://", 8) == 0 ? 8
                : strncmp(s, "http://", 7) == 0 ? 7 : 0;

    if (skip == 0 || s[skip] == '\0' || strchr("/?#:@", s[skip]) != NULL)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* The member of obj whose key is tag, compared without case ("pt-BR"
 * in a purpose for the site's "pt-br"), or NULL. */
static const cJSON *by_language(const cJSON *obj, const char *tag)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, obj)
        if (strcasecmp(e->string, tag) == 0)
            return e;
    return NULL;
}

static int check_purpose(struct jcheck *c, const cJSON *item, const char *path,
                         const struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *purpose, *e;

    if (jcheck_member(c, item, path, "purpose", 1, cJSON_Object, &purpose) != 0)
        return -1;
    jcheck_path_key(p, path, "purpose");
    cJSON_ArrayForEach(e, purpose) {
        size_t i = 0;

        while (i < site->nlanguages && strcasecmp(site->languages[i].tag, e->string) != 0)
            i++;
        jcheck_path_key(q, p, e->string);
        if (i == site->nlanguages)
            return jcheck_fail(c, q, "not a language of this site");
        if (!cJSON_IsString(e) || strlen(e->valuestring) < 1 ||
            strlen(e->valuestring) > CONSENT_MAX_TEXT_LEN)
            return jcheck_fail(c, q, "expected a string of 1-%d characters",
                               CONSENT_MAX_TEXT_LEN);
    }
    for (size_t i = 0; i < site->nlanguages; i++)
        if (by_language(purpose, site->languages[i].tag) == NULL) {
            jcheck_path_key(q, p, site->languages[i].tag);
            return jcheck_fail(c, q, "missing (a purpose is required in every language of the site)");
        }
    return 0;
}

static int check_storage(struct jcheck *c, const cJSON *item, const char *path,
                         const struct config_site *site)
{
    char p[JCHECK_MAX_PATH];
    const char *s;
    long days;
    int prefix = 0;

    if (jcheck_object(c, item, path, storage_keys) != 0 ||
        jcheck_string(c, item, path, "name", 1, 1, DECLARATION_MAX_NAME, &s) != 0)
        return -1;
    jcheck_path_key(p, path, "name");
    if (!valid_name(s))
        return jcheck_fail(c, p, "expected printable ASCII without spaces and ;,=*\"\\");
    if (jcheck_bool(c, item, path, "prefix", 0, &prefix) < 0 ||
        jcheck_string(c, item, path, "provider", 1, 1, DECLARATION_MAX_NAME, &s) != 0 ||
        jcheck_string(c, item, path, "party", 1, 1, 16, &s) != 0)
        return -1;
    jcheck_path_key(p, path, "party");
    if (!one_of(s, parties))
        return jcheck_fail(c, p, "expected \"first\" or \"third\"");
    if (jcheck_int(c, item, path, "days", 1, 0, DECLARATION_MAX_DAYS, &days) != 0 ||
        jcheck_string(c, item, path, "type", 1, 1, 16, &s) != 0)
        return -1;
    jcheck_path_key(p, path, "type");
    if (!one_of(s, types))
        return jcheck_fail(c, p, "expected \"cookie\", \"local_storage\" or \"pixel\"");
    return check_purpose(c, item, path, site);
}

static int check_vendor(struct jcheck *c, const cJSON *item, const char *path)
{
    char p[JCHECK_MAX_PATH];
    const char *s;

    if (jcheck_object(c, item, path, vendor_keys) != 0 ||
        jcheck_string(c, item, path, "name", 1, 1, DECLARATION_MAX_NAME, &s) != 0 ||
        jcheck_string(c, item, path, "policy_url", 1, 1, DECLARATION_MAX_URL, &s) != 0)
        return -1;
    jcheck_path_key(p, path, "policy_url");
    if (!valid_url(s))
        return jcheck_fail(c, p, "expected an http(s) URL such as \"https://example.com/privacy\"");
    return 0;
}

/* Checks one member of an array (storage or vendors) of category cat. */
static int check_list(struct jcheck *c, const cJSON *cat, const char *path,
                      const char *key, int max, const struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *arr = NULL, *e;
    int i = 0;

    if (jcheck_member(c, cat, path, key, 0, cJSON_Array, &arr) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    jcheck_path_key(p, path, key);
    if (cJSON_GetArraySize(arr) > max)
        return jcheck_fail(c, p, "at most %d entries", max);
    cJSON_ArrayForEach(e, arr) {
        jcheck_path_index(q, p, i++);
        if (!cJSON_IsObject(e))
            return jcheck_fail(c, q, "expected an object");
        if (key[0] == 's' ? check_storage(c, e, q, site) != 0
                          : check_vendor(c, e, q) != 0)
            return -1;
    }
    return 0;
}

static int check(struct jcheck *c, const cJSON *decl, const char *path,
                 const struct config_site *site)
{
    char p[JCHECK_MAX_PATH];
    const cJSON *cat;

    cJSON_ArrayForEach(cat, decl) {
        jcheck_path_key(p, path, cat->string);
        if (config_category_index(site, cat->string) < 0)
            return jcheck_fail(c, p, "not a category of this site");
        if (!cJSON_IsObject(cat))
            return jcheck_fail(c, p, "expected an object with \"storage\" and \"vendors\"");
        if (jcheck_object(c, cat, p, category_keys) != 0 ||
            check_list(c, cat, p, "storage", DECLARATION_MAX_STORAGE, site) != 0 ||
            check_list(c, cat, p, "vendors", DECLARATION_MAX_VENDORS, site) != 0)
            return -1;
    }
    return 0;
}

static const char *str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* One storage item of the answer, with its purpose in language tag. */
static cJSON *storage_item(const cJSON *src, const char *tag)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "name", str(src, "name"));
    cJSON_AddBoolToObject(o, "prefix",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(src, "prefix")));
    cJSON_AddStringToObject(o, "provider", str(src, "provider"));
    cJSON_AddStringToObject(o, "party", str(src, "party"));
    cJSON_AddNumberToObject(o, "days", cJSON_GetNumberValue(
                                cJSON_GetObjectItemCaseSensitive(src, "days")));
    cJSON_AddStringToObject(o, "type", str(src, "type"));
    cJSON_AddStringToObject(o, "purpose", cJSON_GetStringValue(by_language(
                                cJSON_GetObjectItemCaseSensitive(src, "purpose"), tag)));
    return o;
}

/* The /declaration answer in one language (lang: its texts). */
static cJSON *answer(const cJSON *decl, const cJSON *lang,
                     const struct config_site *site, const char *tag)
{
    cJSON *root = cJSON_CreateObject(), *texts, *cats;
    const cJSON *panel = cJSON_GetObjectItemCaseSensitive(lang, "panel");
    const cJSON *ctexts = cJSON_GetObjectItemCaseSensitive(lang, "categories");

    cJSON_AddStringToObject(root, "site", site->id);
    cJSON_AddStringToObject(root, "language", tag);
    texts = cJSON_AddObjectToObject(root, "texts");
    for (const char *const *k = label_keys; *k != NULL; k++)
        cJSON_AddStringToObject(texts, *k, str(panel, *k));
    cats = cJSON_AddArrayToObject(root, "categories");
    for (size_t i = 0; i < site->ncategories; i++) {
        const char *id = site->categories[i].id;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(ctexts, id);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(decl, id), *e;
        cJSON *o = cJSON_CreateObject(), *arr;

        cJSON_AddItemToArray(cats, o);
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "name", str(t, "name"));
        cJSON_AddStringToObject(o, "purpose", str(t, "purpose"));
        cJSON_AddBoolToObject(o, "necessary", site->categories[i].necessary);
        arr = cJSON_AddArrayToObject(o, "storage");
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "storage"))
            cJSON_AddItemToArray(arr, storage_item(e, tag));
        arr = cJSON_AddArrayToObject(o, "vendors");
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "vendors")) {
            cJSON *v = cJSON_CreateObject();

            cJSON_AddStringToObject(v, "name", str(e, "name"));
            cJSON_AddStringToObject(v, "policy_url", str(e, "policy_url"));
            cJSON_AddItemToArray(arr, v);
        }
    }
    return root;
}

/* {category: {"cookies": [...], "storage": [...]}}: the first-party
 * cookies and storage keys of the optional categories, "name*" for a
 * prefix. Pixels and third-party cookies are left out: a page cannot
 * delete them. NULL (and *empty set) when there is nothing. */
static cJSON *cleanup(const cJSON *decl, const struct config_site *site, int *empty)
{
    cJSON *root = cJSON_CreateObject();
    const cJSON *e;
    char name[DECLARATION_MAX_NAME + 2];

    *empty = 1;
    for (size_t i = 0; i < site->ncategories; i++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(decl, site->categories[i].id);
        cJSON *o = NULL, *cookies = NULL, *keys = NULL;

        if (site->categories[i].necessary)
            continue;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "storage")) {
            const char *type = str(e, "type");

            if (strcmp(str(e, "party"), "first") != 0 || strcmp(type, "pixel") == 0)
                continue;
            if (o == NULL) {
                o = cJSON_AddObjectToObject(root, site->categories[i].id);
                cookies = cJSON_AddArrayToObject(o, "cookies");
                keys = cJSON_AddArrayToObject(o, "storage");
                *empty = 0;
            }
            snprintf(name, sizeof(name), "%s%s", str(e, "name"),
                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "prefix")) ? "*" : "");
            cJSON_AddItemToArray(strcmp(type, "cookie") == 0 ? cookies : keys,
                                 cJSON_CreateString(name));
        }
    }
    return root;
}

/* "\"" + the first 16 bytes of text's SHA-256 in hex + "\"". */
static void etag(const char *text, char out[CONSENT_ETAG_LEN])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[33];

    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(hex, sizeof(hex), h, 16);
    snprintf(out, CONSENT_ETAG_LEN, "\"%s\"", hex);
}

enum declaration_status declaration_load(struct jcheck *c, const cJSON *decl,
                                         const char *path, const cJSON *langs,
                                         struct config_site *site)
{
    const cJSON *lang;
    cJSON *tree;
    size_t i = 0;
    int empty;

    if (decl != NULL && check(c, decl, path, site) != 0)
        return DECLARATION_INVALID;
    cJSON_ArrayForEach(lang, langs) {
        struct config_language *l = &site->languages[i++];

        tree = answer(decl, lang, site, l->tag);
        l->declaration = cJSON_PrintUnformatted(tree);
        cJSON_Delete(tree);
        if (l->declaration == NULL) {
            jcheck_fail(c, path, "out of memory");
            return DECLARATION_NO_MEMORY;
        }
        etag(l->declaration, l->declaration_etag);
    }
    tree = cleanup(decl, site, &empty);
    if (!empty && (site->cleanup = cJSON_PrintUnformatted(tree)) == NULL) {
        cJSON_Delete(tree);
        jcheck_fail(c, path, "out of memory");
        return DECLARATION_NO_MEMORY;
    }
    cJSON_Delete(tree);
    return DECLARATION_OK;
}

const char *declaration_strerror(int status)
{
    switch (status) {
    case DECLARATION_OK:
        return "ok";
    case DECLARATION_INVALID:
        return "declaration invalid";
    case DECLARATION_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}
