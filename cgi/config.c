/*
 * config.c - loading and validating consentd.json (see config.h).
 *
 * The texts of each site, language and consent model are assembled here once
 * into the exact JSON object a banner decision returns, and hashed, so a
 * request only splices a pre-printed string and never re-hashes texts.
 */
#include "config.h"
#include "declaration.h"
#include "headcache.h"
#include "../common/jcheck.h"
#include "texts.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const top_keys[] = {
    "listen", "workers", "access_log", "geoip", "rules", "redis", "cookie",
    "signing_key", "retired_keys", "receipts", "head_cache", "admin", "stats", "texts",
    "gpp_cmp_id", "sites", NULL};
static const char *const stats_keys[] = {"retention_days", "flush_ms", NULL};
static const char *const admin_keys[] = {"tokens", "tokens_file",
                                         "audit_retention_days",
                                         "audit_max_entries", NULL};
static const char *const token_keys[] = {"name", "roles", "sha256", NULL};
static const char *const controller_keys[] = {"name", "contact", "address",
                                              "email", "phone", NULL};
static const char *const cookie_keys[] = {"name", "secure", "secret", NULL};
static const char *const receipts_keys[] = {"retention_days", "max_history",
                                            NULL};
static const char *const head_cache_keys[] = {"entries", "max_age_ms", NULL};
static const char *const geoip_keys[] = {"database", "layout", NULL};
static const char *const redis_keys[] = {
    "address", "sentinels", "master_name", "cluster", "connect_timeout_ms",
    "command_timeout_ms", "min_replicas_acked", "ack_timeout_ms", "username",
    "password_file", NULL};
static const char *const site_keys[] = {
    "id", "origins", "policy_url", "banner_version", "consent_revision",
    "preview", "controller", "consent_mode", "categories", "languages",
    "declaration", "signals", "gpp", "variants", NULL};
static const char *const variant_keys[] = {"id", "weight", "layout", "languages", NULL};
/* The script's layouts (data-layout); every one renders "Accept all" and
 * "Reject all" as the same kind of button, side by side. */
static const char *const layouts[] = {"bar-bottom", "bar-top", "box-left", "box-right",
                                      "box-center", NULL};
/* Vendor consent signals the script sends (site "signals"): each names the
 * category that grants it; Clarity takes one for ads and one for analytics. */
static const char *const signal_keys[] = {"uet", "clarity", "meta", "tiktok", NULL};
static const char *const clarity_keys[] = {"ad", "analytics", NULL};
/* Google Consent Mode v2 types a category may grant (security_storage is
 * always granted by the script). */
static const char *const consent_mode_types[] = {
    "ad_storage", "ad_user_data", "ad_personalization", "analytics_storage",
    "functionality_storage", "personalization_storage", NULL};
static const char *const category_keys[] = {"id", "necessary", "sale_sharing",
                                            NULL};
static const char *const language_keys[] = {
    "opt-in", "opt-out", "notice", "panel", "placeholder", "categories", NULL};
static const char *const category_text_keys[] = {"name", "purpose", NULL};

/* The texts each banner kind needs; all required, no others allowed. */
static const char *const model_text_keys[MODEL_COUNT][8] = {
    [MODEL_OPT_IN] = {"title", "body", "accept_all", "reject_all", "settings",
                      "policy", "gpc_applied", NULL},
    [MODEL_OPT_OUT] = {"title", "body", "do_not_sell", "gpc_honoured", "ok",
                       "policy", "opted_out", NULL},
    [MODEL_NOTICE] = {"title", "body", "ok", "settings", "policy",
                      "gpc_applied", NULL},
};
static const char *const panel_text_keys[] = {
    "title", "save", "accept_all", "reject_all", "withdraw", "consent_id",
    "copy", "close", "always_on", "gpc_locked", "saved", "current",
    "declaration", "col_name", "col_provider", "col_duration", "col_type",
    "col_purpose", "session", "first_party", "third_party", "privacy_policy",
    "type_cookie", "type_local_storage", "type_pixel", "reopen", NULL};
/* A blocked embed's placeholder ({provider}, {category} filled in by the
 * script). */
static const char *const placeholder_text_keys[] = {
    "title", "body", "load_once", "allow", NULL};

/* Joins dir and p unless p is absolute. Returns a malloc'd string. */
static char *resolve(const char *dir, const char *p)
{
    char *out;
    size_t n;

    if (p[0] == '/')
        return strdup(p);
    n = strlen(dir) + strlen(p) + 2;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", dir, p);
    return out;
}

/* Secrets (signing key, cookie secret, tokens file) as systemd hands them
 * over with LoadCredential=: the configuration names them
 * /run/credentials/UNIT/NAME, which exists only while the service runs.
 * $CREDENTIALS_DIRECTORY (systemd sets it in the service; an operator sets
 * it for `consentd --check` or consentctl, e.g. to /etc/consentd) says
 * where NAME really is. Without it, or for any other path, resolve(). */
static char *resolve_secret(const char *dir, const char *p)
{
    const char *creds = getenv("CREDENTIALS_DIRECTORY"), *name;
    char *out;
    size_t n;

    if (creds == NULL || creds[0] != '/' ||
        strncmp(p, CONFIG_CREDENTIALS_PREFIX, strlen(CONFIG_CREDENTIALS_PREFIX)) != 0)
        return resolve(dir, p);
    name = strchr(p + strlen(CONFIG_CREDENTIALS_PREFIX), '/');
    if (name == NULL || name[1] == '\0' || strchr(name + 1, '/') != NULL)
        return resolve(dir, p);
    n = strlen(creds) + strlen(name) + 1;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s%s", creds, name);
    return out;
}

/* Checks that every key in keys is a string of 1..CONSENT_MAX_TEXT_LEN and
 * that obj has no other key. */
static int check_text_object(struct jcheck *c, const cJSON *obj,
                             const char *path, const char *const *keys)
{
    const char *s;

    if (jcheck_object(c, obj, path, keys) != 0)
        return -1;
    for (const char *const *k = keys; *k != NULL; k++)
        if (jcheck_string(c, obj, path, *k, 1, 1, CONSENT_MAX_TEXT_LEN, &s) != 0)
            return -1;
    return 0;
}

/* Lower-cased BCP 47 language tag: 2-3 letters, optional -region/-script. */
static int valid_language_tag(const char *s, char *out)
{
    size_t n = strlen(s), i;

    if (n < 2 || n >= CONSENT_LANG_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (ch == '-' && i >= 2)))
            return 0;
        out[i] = ch;
    }
    out[n] = '\0';
    return strspn(out, "abcdefghijklmnopqrstuvwxyz") >= 2;
}

static void sha256_hex(const char *s, char out[CONSENT_SHA256_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, CONSENT_SHA256_HEX, h, sizeof(h));
}

/* Builds the texts object of one model: the model's own texts, the settings
 * panel's, the embed placeholder's, and each category's name and purpose in
 * site order. */
static int build_texts(struct jcheck *c, const cJSON *lang,
                       const struct config_site *site, int model,
                       char **out, char *hash)
{
    cJSON *o = NULL, *cats;
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(
        lang, rules_model_name((enum consent_model)model));
    const cJSON *ctexts = cJSON_GetObjectItemCaseSensitive(lang, "categories");
    int rc = -1;

    o = cJSON_Duplicate(src, 1);
    if (o == NULL)
        goto cleanup;
    if (!cJSON_AddItemToObject(o, "panel",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(lang, "panel"), 1)) ||
        !cJSON_AddItemToObject(o, "placeholder",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(lang, "placeholder"), 1)))
        goto cleanup;
    cats = cJSON_AddObjectToObject(o, "categories");
    if (cats == NULL)
        goto cleanup;
    for (size_t i = 0; i < site->ncategories; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(
            ctexts, site->categories[i].id);
        if (!cJSON_AddItemToObject(cats, site->categories[i].id,
                                   cJSON_Duplicate(t, 1)))
            goto cleanup;
    }
    *out = cJSON_PrintUnformatted(o);
    if (*out == NULL)
        goto cleanup;
    sha256_hex(*out, hash);
    rc = 0;
cleanup:
    cJSON_Delete(o);
    if (rc != 0)
        jcheck_fail(c, "$", "out of memory");
    return rc;
}

/* Lays the site's own section name of own (a model, the panel, the
 * placeholder, one category) over the same section of merged, text by
 * text: a site's own text wins, what it does not say stays the default. */
static int overlay_section(struct jcheck *c, cJSON *merged, const cJSON *own,
                           const char *path, const char *name,
                           const char *const *keys)
{
    char p[JCHECK_MAX_PATH];
    const cJSON *src = NULL, *t;
    cJSON *dst;
    const char *s;

    if (jcheck_member(c, own, path, name, 0, cJSON_Object, &src) < 0)
        return -1;
    if (src == NULL)
        return 0;
    jcheck_path_key(p, path, name);
    if (jcheck_object(c, src, p, keys) != 0)
        return -1;
    dst = cJSON_GetObjectItemCaseSensitive(merged, name);
    if (dst == NULL && (dst = cJSON_AddObjectToObject(merged, name)) == NULL)
        return jcheck_fail(c, p, "out of memory");
    cJSON_ArrayForEach(t, src) {
        cJSON *v;

        if (jcheck_string(c, src, p, t->string, 1, 1, CONSENT_MAX_TEXT_LEN, &s) != 0)
            return -1;
        v = cJSON_CreateString(s);
        if (v == NULL ||
            !(cJSON_GetObjectItemCaseSensitive(dst, t->string) != NULL
                  ? cJSON_ReplaceItemInObjectCaseSensitive(dst, t->string, v)
                  : cJSON_AddItemToObject(dst, t->string, v)))
            return jcheck_fail(c, p, "out of memory");
    }
    return 0;
}

/* The site's own texts of one language (an object, or true for the
 * defaults as they are) laid over the default file's into *merged (owned
 * by the caller). */
static int merge_language(struct jcheck *c, const cJSON *lang, const char *path,
                          const struct config_site *site, const cJSON *def,
                          cJSON **merged)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *cats = NULL, *t;
    cJSON *mcats;

    *merged = def != NULL ? cJSON_Duplicate(def, 1) : cJSON_CreateObject();
    if (*merged == NULL)
        return jcheck_fail(c, path, "out of memory");
    if (cJSON_IsTrue(lang))
        return 0;
    if (!cJSON_IsObject(lang))
        return jcheck_fail(c, path, "expected an object of texts, or true for the default texts");
    if (jcheck_object(c, lang, path, language_keys) != 0)
        return -1;
    for (int m = 0; m < MODEL_COUNT; m++)
        if (overlay_section(c, *merged, lang, path,
                            rules_model_name((enum consent_model)m),
                            model_text_keys[m]) != 0)
            return -1;
    if (overlay_section(c, *merged, lang, path, "panel", panel_text_keys) != 0 ||
        overlay_section(c, *merged, lang, path, "placeholder",
                        placeholder_text_keys) != 0 ||
        jcheck_member(c, lang, path, "categories", 0, cJSON_Object, &cats) < 0)
        return -1;
    if (cats == NULL)
        return 0;
    jcheck_path_key(p, path, "categories");
    mcats = cJSON_GetObjectItemCaseSensitive(*merged, "categories");
    if (mcats == NULL && (mcats = cJSON_AddObjectToObject(*merged, "categories")) == NULL)
        return jcheck_fail(c, p, "out of memory");
    cJSON_ArrayForEach(t, cats) {
        if (config_category_index(site, t->string) < 0) {
            jcheck_path_key(q, p, t->string);
            return jcheck_fail(c, q, "not a category of this site");
        }
        if (overlay_section(c, mcats, cats, p, t->string, category_text_keys) != 0)
            return -1;
    }
    return 0;
}

/* Fails at path.key when obj lacks key, saying why no default filled it. */
static int need(struct jcheck *c, const cJSON *obj, const char *path,
                const char *key, const char *why)
{
    char q[JCHECK_MAX_PATH];

    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        return 0;
    jcheck_path_key(q, path, key);
    return jcheck_fail(c, q, "missing (required: %s)", why);
}

/* Checks that the merged texts of a language are complete. */
static int check_language(struct jcheck *c, const cJSON *merged,
                          const char *path, const struct config_site *site,
                          const char *from)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH], why[96];
    const cJSON *cats;

    if (from != NULL)
        snprintf(why, sizeof(why), "no default text for it in %s", from);
    else
        snprintf(why, sizeof(why), "no default texts for this language");
    for (int m = 0; m < MODEL_COUNT; m++) {
        const char *name = rules_model_name((enum consent_model)m);

        jcheck_path_key(p, path, name);
        if (need(c, merged, path, name, why) != 0)
            return -1;
        for (const char *const *k = model_text_keys[m]; *k != NULL; k++)
            if (need(c, cJSON_GetObjectItemCaseSensitive(merged, name), p, *k, why) != 0)
                return -1;
        if (check_text_object(c, cJSON_GetObjectItemCaseSensitive(merged, name),
                              p, model_text_keys[m]) != 0)
            return -1;
    }
    jcheck_path_key(p, path, "panel");
    jcheck_path_key(q, path, "placeholder");
    if (need(c, merged, path, "panel", why) != 0 ||
        check_text_object(c, cJSON_GetObjectItemCaseSensitive(merged, "panel"),
                          p, panel_text_keys) != 0 ||
        need(c, merged, path, "placeholder", why) != 0 ||
        check_text_object(c, cJSON_GetObjectItemCaseSensitive(merged, "placeholder"),
                          q, placeholder_text_keys) != 0 ||
        need(c, merged, path, "categories", why) != 0)
        return -1;
    cats = cJSON_GetObjectItemCaseSensitive(merged, "categories");
    jcheck_path_key(p, path, "categories");
    for (size_t i = 0; i < site->ncategories; i++) {
        const char *id = site->categories[i].id;

        jcheck_path_key(q, p, id);
        if (need(c, cats, p, id, why) != 0 ||
            need(c, cJSON_GetObjectItemCaseSensitive(cats, id), q, "name", why) != 0 ||
            need(c, cJSON_GetObjectItemCaseSensitive(cats, id), q, "purpose", why) != 0 ||
            check_text_object(c, cJSON_GetObjectItemCaseSensitive(cats, id), q,
                              category_text_keys) != 0)
            return -1;
    }
    return 0;
}

/* One signal's category: a category of the site that is not necessary. */
static int signal_category(struct jcheck *c, const cJSON *v, const char *path,
                           const struct config_site *site)
{
    int i;

    if (!cJSON_IsString(v))
        return jcheck_fail(c, path, "expected a category id");
    i = config_category_index(site, v->valuestring);
    if (i < 0)
        return jcheck_fail(c, path, "not a category of this site");
    if (site->categories[i].necessary)
        return jcheck_fail(c, path, "a necessary category is always on: name an optional one");
    return 0;
}

/*
 * One language of a site: its own texts over the default file of its tag
 * (or of its base language), checked complete, then printed and hashed per
 * model. The hash covers the merged texts, so editing a default file changes
 * the hash of every site that shows that text.
 */
static int load_language(struct jcheck *c, const cJSON *lang, const char *path,
                         struct config_site *site, const struct texts *defaults,
                         struct config_language *l)
{
    const char *from = NULL;
    const cJSON *def = NULL;
    cJSON *merged = NULL;
    int rc = -1;

    if (!valid_language_tag(lang->string, l->tag))
        return jcheck_fail(c, path, "expected a language tag like \"en\" or \"pt-BR\"");
    l->rtl = texts_rtl(l->tag);
    if (defaults != NULL)
        def = texts_find(defaults, l->tag, &from);
    if (merge_language(c, lang, path, site, def, &merged) != 0 ||
        check_language(c, merged, path, site, def != NULL ? from : NULL) != 0)
        goto cleanup;
    for (int m = 0; m < MODEL_COUNT; m++)
        if (build_texts(c, merged, site, m, &l->texts[m], l->texts_sha256[m]) != 0)
            goto cleanup;
    rc = 0;
cleanup:
    cJSON_Delete(merged);
    return rc;
}

/*
 * The site's optional "signals" (at path): {"uet": CATEGORY, "clarity":
 * {"ad": CATEGORY, "analytics": CATEGORY}, "meta": CATEGORY, "tiktok":
 * CATEGORY}, every member optional, Clarity's at least one. Kept printed
 * for the decision. Returns 0, or -1 with the reason in c.
 */
static int load_signals(struct jcheck *c, const cJSON *item, const char *path,
                        struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH], r[JCHECK_MAX_PATH];
    const cJSON *sig = NULL, *v, *k;

    if (jcheck_member(c, item, path, "signals", 0, cJSON_Object, &sig) < 0)
        return -1;
    if (sig == NULL)
        return 0;
    jcheck_path_key(p, path, "signals");
    if (jcheck_object(c, sig, p, signal_keys) != 0)
        return -1;
    cJSON_ArrayForEach(v, sig) {
        jcheck_path_key(q, p, v->string);
        if (strcmp(v->string, "clarity") != 0) {
            if (signal_category(c, v, q, site) != 0)
                return -1;
            continue;
        }
        if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) == 0)
            return jcheck_fail(c, q, "expected {\"ad\": CATEGORY, \"analytics\": CATEGORY}");
        if (jcheck_object(c, v, q, clarity_keys) != 0)
            return -1;
        cJSON_ArrayForEach(k, v) {
            jcheck_path_key(r, q, k->string);
            if (signal_category(c, k, r, site) != 0)
                return -1;
        }
    }
    site->signals = cJSON_PrintUnformatted(sig);
    if (site->signals == NULL)
        return jcheck_fail(c, p, "out of memory");
    return 0;
}

/* 1 when s has a character other than white space (ASCII, no-break and
 * zero-width spaces). */
static int has_text(const char *s)
{
    static const char *const blank[] = {" ", "\t", "\n", "\r", "\xc2\xa0",
                                        "\xe2\x80\x8b", "\xe2\x80\x83", "\xe3\x80\x80"};

    while (s != NULL && *s != '\0') {
        size_t k = 0;

        while (k < sizeof(blank) / sizeof(blank[0]) &&
               strncmp(s, blank[k], strlen(blank[k])) != 0)
            k++;
        if (k == sizeof(blank) / sizeof(blank[0]))
            return 1;
        s += strlen(blank[k]);
    }
    return 0;
}

/*
 * One site language of a variant: the site's own texts (lang over the
 * default file, as load_language merges them) with the variant's (vlang,
 * or NULL for none) laid over them, checked complete, printed and hashed
 * per model. A variant may never weaken the opt-in banner: its "Reject
 * all" must keep a visible text of its own, not that of "Accept all".
 */
static int load_variant_language(struct jcheck *c, const cJSON *lang, const cJSON *vlang,
                                 const char *path, struct config_site *site,
                                 const struct texts *defaults,
                                 const struct config_language *base,
                                 struct config_language *l)
{
    const char *from = NULL;
    const cJSON *def = NULL, *optin;
    cJSON *merged = NULL, *ours = NULL, *yes = cJSON_CreateTrue();
    char p[JCHECK_MAX_PATH];
    int rc = -1;

    snprintf(l->tag, sizeof(l->tag), "%s", base->tag);
    l->rtl = base->rtl;
    if (yes == NULL)
        return jcheck_fail(c, path, "out of memory");
    if (defaults != NULL)
        def = texts_find(defaults, l->tag, &from);
    if (merge_language(c, lang, path, site, def, &merged) != 0 ||
        merge_language(c, vlang != NULL ? vlang : yes, path, site, merged, &ours) != 0 ||
        check_language(c, ours, path, site, def != NULL ? from : NULL) != 0)
        goto cleanup;
    optin = cJSON_GetObjectItemCaseSensitive(ours, rules_model_name(MODEL_OPT_IN));
    jcheck_path_key(p, path, rules_model_name(MODEL_OPT_IN));
    if (!has_text(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(optin, "reject_all"))) ||
        strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(optin, "reject_all")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(optin, "accept_all"))) == 0) {
        jcheck_fail(c, p, "reject_all: a variant must keep \"Reject all\" as visible as "
                    "\"Accept all\" in opt-in regions (a text of its own)");
        goto cleanup;
    }
    for (int m = 0; m < MODEL_COUNT; m++)
        if (build_texts(c, ours, site, m, &l->texts[m], l->texts_sha256[m]) != 0)
            goto cleanup;
    rc = 0;
cleanup:
    cJSON_Delete(merged);
    cJSON_Delete(ours);
    cJSON_Delete(yes);
    return rc;
}

/* A variant's id (a token, not "-", not used before in the site), weight
 * and optional layout (one the script knows). */
static int load_variant_head(struct jcheck *c, const cJSON *v, const char *path,
                             const struct config_site *site, struct config_variant *var)
{
    char p[JCHECK_MAX_PATH];
    const char *s;
    long w = 1;

    if (jcheck_object(c, v, path, variant_keys) != 0 ||
        jcheck_string(c, v, path, "id", 1, 1, CONSENT_MAX_VARIANT_ID_LEN, &s) != 0)
        return -1;
    if (!jcheck_is_token(s, CONSENT_MAX_VARIANT_ID_LEN))
        return jcheck_fail(c, path, "id: expected 1-%d characters of a-z, 0-9, - and _",
                           CONSENT_MAX_VARIANT_ID_LEN);
    if (strcmp(s, "-") == 0 || config_variant_index(site, s) >= 0)
        return jcheck_fail(c, path, "variant \"%s\" is used twice or reserved", s);
    snprintf(var->id, sizeof(var->id), "%s", s);
    if (jcheck_int(c, v, path, "weight", 0, 1, CONSENT_MAX_VARIANT_WEIGHT, &w) < 0)
        return -1;
    var->weight = (int)w;
    s = NULL;
    if (jcheck_string(c, v, path, "layout", 0, 1, sizeof(var->layout) - 1, &s) < 0)
        return -1;
    if (s == NULL)
        return 0;
    for (const char *const *k = layouts; *k != NULL; k++)
        if (strcmp(*k, s) == 0) {
            snprintf(var->layout, sizeof(var->layout), "%s", s);
            return 0;
        }
    jcheck_path_key(p, path, "layout");
    return jcheck_fail(c, p, "expected bar-bottom, bar-top, box-left, box-right "
                             "or box-center");
}

/*
 * A variant's "languages" (optional: {TAG: texts over the site's own}),
 * each a language of the site (langs), then the variant's texts built for
 * every site language.
 */
static int load_variant_languages(struct jcheck *c, const cJSON *v, const char *path,
                                  const cJSON *langs, struct config_site *site,
                                  const struct texts *defaults, struct config_variant *var)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *vlangs = NULL, *e;

    if (jcheck_member(c, v, path, "languages", 0, cJSON_Object, &vlangs) < 0)
        return -1;
    jcheck_path_key(p, path, "languages");
    cJSON_ArrayForEach(e, vlangs)
        if (cJSON_GetObjectItemCaseSensitive(langs, e->string) == NULL) {
            jcheck_path_key(q, p, e->string);
            return jcheck_fail(c, q, "not a language of this site");
        }
    var->languages = calloc(site->nlanguages, sizeof(*var->languages));
    if (var->languages == NULL)
        return jcheck_fail(c, path, "out of memory");
    site->nvariants++;      /* so config_free frees what was built */
    for (size_t k = 0; k < site->nlanguages; k++) {
        const cJSON *lang = cJSON_GetArrayItem(langs, (int)k);
        const cJSON *vl = cJSON_GetObjectItemCaseSensitive(vlangs, lang->string);

        jcheck_path_key(q, p, lang->string);
        if (load_variant_language(c, lang, vl, vl != NULL ? q : path, site, defaults,
                                  &site->languages[k], &var->languages[k]) != 0)
            return -1;
    }
    return 0;
}

/*
 * The site's optional experiment: "variants": [{"id", "weight", "layout",
 * "languages": {TAG: texts over the site's own}}], 2-CONSENT_MAX_VARIANTS of
 * them. After the site's languages (langs, already loaded).
 */
static int load_variants(struct jcheck *c, const cJSON *item, const char *path,
                         const cJSON *langs, struct config_site *site,
                         const struct texts *defaults)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *arr = NULL, *v;
    int i = 0;

    if (jcheck_member(c, item, path, "variants", 0, cJSON_Array, &arr) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    jcheck_path_key(p, path, "variants");
    if (cJSON_GetArraySize(arr) < 2 || cJSON_GetArraySize(arr) > CONSENT_MAX_VARIANTS)
        return jcheck_fail(c, p, "expected 2-%d variants", CONSENT_MAX_VARIANTS);
    site->variants = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*site->variants));
    if (site->variants == NULL)
        return jcheck_fail(c, p, "out of memory");
    cJSON_ArrayForEach(v, arr) {
        struct config_variant *var = &site->variants[site->nvariants];

        jcheck_path_index(q, p, i++);
        if (load_variant_head(c, v, q, site, var) != 0 ||
            load_variant_languages(c, v, q, langs, site, defaults, var) != 0)
            return -1;
    }
    return 0;
}

/*
 * The site's optional "gpp" (at path): the GPP fields it declares, by their
 * IAB names ({"SaleOptOutNotice": 1, "MspaCoveredTransaction": 2, ...}):
 * notices, MSPA flags and the other scalar fields, not the opt-outs and GPC
 * (they follow the visitor: decision_gpp). Each value in the field's range.
 * Returns 0, or -1 with the reason in c.
 */
static int load_gpp(struct jcheck *c, const cJSON *item, const char *path,
                    struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *gpp = NULL, *v;

    if (jcheck_member(c, item, path, "gpp", 0, cJSON_Object, &gpp) < 0)
        return -1;
    if (gpp == NULL)
        return 0;
    jcheck_path_key(p, path, "gpp");
    cJSON_ArrayForEach(v, gpp) {
        const struct gpp_field_desc *f = gpp_field_by_name(v->string);

        jcheck_path_key(q, p, v->string);
        if (f == NULL || f->list || f->field == GPP_F_VERSION || f->field == GPP_F_SALE_OPT_OUT ||
            f->field == GPP_F_SHARING_OPT_OUT || f->field == GPP_F_TARGETED_ADVERTISING_OPT_OUT)
            return jcheck_fail(c, q, "not a GPP field a site declares (notices, consents, "
                               "MSPA flags: README, GPP strings)");
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
            v->valueint < f->min || v->valueint > f->max)
            return jcheck_fail(c, q, "expected an integer from %d to %d", f->min, f->max);
        site->gpp_set[f->field] = 1;
        site->gpp_value[f->field] = (unsigned char)v->valueint;
    }
    return 0;
}

/* The site's id: a token, unique among the sites (checked by the caller). */
static int load_site_id(struct jcheck *c, const cJSON *item, const char *path,
                        struct config_site *site)
{
    char p[JCHECK_MAX_PATH];
    const char *s;

    if (jcheck_string(c, item, path, "id", 1, 1, CONSENT_MAX_SITE_ID_LEN, &s) != 0)
        return -1;
    jcheck_path_key(p, path, "id");
    if (!jcheck_is_token(s, CONSENT_MAX_SITE_ID_LEN))
        return jcheck_fail(c, p, "expected 1-%d characters of a-z, 0-9, - and _",
                           CONSENT_MAX_SITE_ID_LEN);
    strcpy(site->id, s);
    return 0;
}

/* "origins": the exact "scheme://host[:port]" the site's pages come from. */
static int load_origins(struct jcheck *c, const cJSON *item, const char *path,
                        struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *arr, *e;
    int i = 0;

    if (jcheck_member(c, item, path, "origins", 1, cJSON_Array, &arr) != 0)
        return -1;
    jcheck_path_key(p, path, "origins");
    if (cJSON_GetArraySize(arr) > CONSENT_MAX_ORIGINS)
        return jcheck_fail(c, p, "at most %d origins", CONSENT_MAX_ORIGINS);
    site->origins = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
    if (site->origins == NULL)
        return jcheck_fail(c, p, "out of memory");
    cJSON_ArrayForEach(e, arr) {
        jcheck_path_index(q, p, i++);
        if (!cJSON_IsString(e) ||
            (strncmp(e->valuestring, "https://", 8) != 0 &&
             strncmp(e->valuestring, "http://", 7) != 0) ||
            strlen(e->valuestring) > 255 ||
            strpbrk(e->valuestring + 8, "/?#\r\n ") != NULL)
            return jcheck_fail(c, q, "expected an origin like \"https://www.example.com\" (no path)");
        site->origins[site->norigins] = strdup(e->valuestring);
        if (site->origins[site->norigins++] == NULL)
            return jcheck_fail(c, q, "out of memory");
    }
    return 0;
}

/* policy_url, banner_version, preview and consent_revision. */
static int load_site_policy(struct jcheck *c, const cJSON *item, const char *path,
                            struct config_site *site)
{
    char p[JCHECK_MAX_PATH];
    const char *s;
    long rev = 1;

    if (jcheck_string(c, item, path, "policy_url", 1, 1, 500, &s) != 0)
        return -1;
    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0 && s[0] != '/') {
        jcheck_path_key(p, path, "policy_url");
        return jcheck_fail(c, p, "expected an http(s) URL or a path starting with /");
    }
    site->policy_url = strdup(s);
    if (jcheck_string(c, item, path, "banner_version", 1, 1, 64, &s) != 0)
        return -1;
    site->banner_version = strdup(s);
    if (site->policy_url == NULL || site->banner_version == NULL)
        return jcheck_fail(c, path, "out of memory");
    site->preview = 0;
    if (jcheck_bool(c, item, path, "preview", 0, &site->preview) < 0 ||
        jcheck_int(c, item, path, "consent_revision", 0, 1, 1000000, &rev) < 0)
        return -1;
    site->consent_revision = (int)rev;
    return 0;
}

/* The optional "controller": who is responsible for the data. */
static int load_controller(struct jcheck *c, const cJSON *item, const char *path,
                           struct config_site *site)
{
    char p[JCHECK_MAX_PATH];
    const cJSON *ctl = NULL;
    char *const fields[] = {site->controller.name, site->controller.contact,
                            site->controller.address, site->controller.email,
                            site->controller.phone};

    if (jcheck_member(c, item, path, "controller", 0, cJSON_Object, &ctl) < 0)
        return -1;
    if (ctl == NULL)
        return 0;
    jcheck_path_key(p, path, "controller");
    if (jcheck_object(c, ctl, p, controller_keys) != 0)
        return -1;
    for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        const char *s = "";

        if (jcheck_string(c, ctl, p, controller_keys[k], 0, 0,
                          CONSENT_CONTROLLER_FIELD - 1, &s) < 0)
            return -1;
        strcpy(fields[k], s);
    }
    return 0;
}

/* One category (at path): a token id not used before in the site, and its
 * flags. */
static int load_category(struct jcheck *c, const cJSON *e, const char *path,
                         const struct config_site *site, struct config_category *cat)
{
    const char *s;

    if (jcheck_object(c, e, path, category_keys) != 0 ||
        jcheck_string(c, e, path, "id", 1, 1, CONSENT_MAX_CATEGORY_ID_LEN, &s) != 0)
        return -1;
    if (!jcheck_is_token(s, CONSENT_MAX_CATEGORY_ID_LEN))
        return jcheck_fail(c, path, "id: expected 1-%d characters of a-z, 0-9, - and _",
                           CONSENT_MAX_CATEGORY_ID_LEN);
    if (config_category_index(site, s) >= 0)
        return jcheck_fail(c, path, "category \"%s\" is defined twice", s);
    strcpy(cat->id, s);
    if (jcheck_bool(c, e, path, "necessary", 0, &cat->necessary) < 0 ||
        jcheck_bool(c, e, path, "sale_sharing", 0, &cat->sale_sharing) < 0)
        return -1;
    if (cat->necessary && cat->sale_sharing)
        return jcheck_fail(c, path, "a necessary category cannot be sale_sharing");
    return 0;
}

/* "categories": 1-CONSENT_MAX_CATEGORIES of them. */
static int load_categories(struct jcheck *c, const cJSON *item, const char *path,
                           struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *arr, *e;
    int i = 0;

    if (jcheck_member(c, item, path, "categories", 1, cJSON_Array, &arr) != 0)
        return -1;
    jcheck_path_key(p, path, "categories");
    if (cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > CONSENT_MAX_CATEGORIES)
        return jcheck_fail(c, p, "expected 1-%d categories", CONSENT_MAX_CATEGORIES);
    site->categories = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*site->categories));
    if (site->categories == NULL)
        return jcheck_fail(c, p, "out of memory");
    cJSON_ArrayForEach(e, arr) {
        jcheck_path_index(q, p, i++);
        if (load_category(c, e, q, site, &site->categories[site->ncategories]) != 0)
            return -1;
        site->ncategories++;
    }
    return 0;
}

/* The optional "consent_mode": {category: [Google Consent Mode types]},
 * kept printed for the decision. */
static int load_consent_mode(struct jcheck *c, const cJSON *item, const char *path,
                             struct config_site *site)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *cm = NULL, *k, *t;

    if (jcheck_member(c, item, path, "consent_mode", 0, cJSON_Object, &cm) < 0)
        return -1;
    if (cm == NULL)
        return 0;
    jcheck_path_key(p, path, "consent_mode");
    cJSON_ArrayForEach(k, cm) {
        jcheck_path_key(q, p, k->string);
        if (config_category_index(site, k->string) < 0)
            return jcheck_fail(c, q, "not a category of this site");
        if (!cJSON_IsArray(k))
            return jcheck_fail(c, q, "expected an array of Consent Mode types");
        cJSON_ArrayForEach(t, k) {
            const char *const *ok = consent_mode_types;

            while (*ok != NULL && !(cJSON_IsString(t) && strcmp(*ok, t->valuestring) == 0))
                ok++;
            if (*ok == NULL)
                return jcheck_fail(c, q, "expected Consent Mode types such as "
                                         "\"analytics_storage\" or \"ad_storage\"");
        }
    }
    site->consent_mode = cJSON_PrintUnformatted(cm);
    if (site->consent_mode == NULL)
        return jcheck_fail(c, p, "out of memory");
    return 0;
}

/* "languages": 1-CONSENT_MAX_LANGUAGES of them, each tag once; *langs is
 * set to the member (borrowed from item). */
static int load_languages(struct jcheck *c, const cJSON *item, const char *path,
                          struct config_site *site, const struct texts *defaults,
                          const cJSON **langs)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *e;

    if (jcheck_member(c, item, path, "languages", 1, cJSON_Object, langs) != 0)
        return -1;
    jcheck_path_key(p, path, "languages");
    if (cJSON_GetArraySize(*langs) < 1 || cJSON_GetArraySize(*langs) > CONSENT_MAX_LANGUAGES)
        return jcheck_fail(c, p, "expected 1-%d languages", CONSENT_MAX_LANGUAGES);
    site->languages = calloc((size_t)cJSON_GetArraySize(*langs), sizeof(*site->languages));
    if (site->languages == NULL)
        return jcheck_fail(c, p, "out of memory");
    cJSON_ArrayForEach(e, *langs) {
        struct config_language *l = &site->languages[site->nlanguages++];

        /* counted first, so config_free frees its texts on failure too */
        jcheck_path_key(q, p, e->string);
        if (load_language(c, e, q, site, defaults, l) != 0)
            return -1;
        for (size_t k = 0; k + 1 < site->nlanguages; k++)
            if (strcmp(site->languages[k].tag, l->tag) == 0)
                return jcheck_fail(c, q, "language given twice");
    }
    return 0;
}

/* One site of "sites" (at path), in the order its members are checked:
 * the languages need the categories, the variants and the declaration
 * need the languages. */
static int load_site(struct jcheck *c, const cJSON *item, const char *path,
                     struct config_site *site, const struct texts *defaults)
{
    char p[JCHECK_MAX_PATH];
    const cJSON *langs = NULL, *decl = NULL;

    if (jcheck_object(c, item, path, site_keys) != 0 ||
        load_site_id(c, item, path, site) != 0 ||
        load_origins(c, item, path, site) != 0 ||
        load_site_policy(c, item, path, site) != 0 ||
        load_controller(c, item, path, site) != 0 ||
        load_categories(c, item, path, site) != 0 ||
        load_consent_mode(c, item, path, site) != 0 ||
        load_signals(c, item, path, site) != 0 ||
        load_gpp(c, item, path, site) != 0 ||
        load_languages(c, item, path, site, defaults, &langs) != 0 ||
        load_variants(c, item, path, langs, site, defaults) != 0 ||
        jcheck_member(c, item, path, "declaration", 0, cJSON_Object, &decl) < 0)
        return -1;
    /* After the languages: every purpose must exist in each of them. */
    jcheck_path_key(p, path, "declaration");
    return declaration_load(c, decl, p, langs, site) == DECLARATION_OK ? 0 : -1;
}

/* Appends the tokens of a JSON array (at path, for messages) to cfg. */
static int load_tokens(struct jcheck *c, const cJSON *tokens, const char *path,
                       struct config *cfg)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *t;
    struct config_token *grown;
    int i = 0;

    if (!cJSON_IsArray(tokens))
        return jcheck_fail(c, path, "expected an array of tokens");
    if (cfg->ntokens + (size_t)cJSON_GetArraySize(tokens) > CONSENT_MAX_TOKENS)
        return jcheck_fail(c, path, "at most %d tokens", CONSENT_MAX_TOKENS);
    grown = realloc(cfg->tokens, (cfg->ntokens + (size_t)cJSON_GetArraySize(tokens) + 1) *
                                 sizeof(*cfg->tokens));
    if (grown == NULL)
        return jcheck_fail(c, path, "out of memory");
    cfg->tokens = grown;
    cJSON_ArrayForEach(t, tokens) {
        struct config_token *tok = &cfg->tokens[cfg->ntokens];
        const cJSON *roles, *r;
        const char *s;
        size_t bin_len = 0;

        memset(tok, 0, sizeof(*tok));
        jcheck_path_index(p, path, i++);
        if (jcheck_object(c, t, p, token_keys) != 0 ||
            jcheck_string(c, t, p, "name", 1, 1, CONSENT_MAX_TOKEN_NAME, &s) != 0)
            return -1;
        strcpy(tok->name, s);
        if (jcheck_string(c, t, p, "sha256", 1, 64, 64, &s) != 0)
            return -1;
        if (sodium_hex2bin(tok->sha256, sizeof(tok->sha256), s, 64, NULL,
                           &bin_len, NULL) != 0 || bin_len != 32) {
            jcheck_path_key(q, p, "sha256");
            return jcheck_fail(c, q, "expected 64 hex digits (the SHA-256 of the token)");
        }
        if (jcheck_member(c, t, p, "roles", 1, cJSON_Array, &roles) != 0)
            return -1;
        jcheck_path_key(q, p, "roles");
        cJSON_ArrayForEach(r, roles) {
            enum config_role role;

            if (!cJSON_IsString(r) || config_role_parse(r->valuestring, &role) != CONFIG_OK)
                return jcheck_fail(c, q, "expected roles out of \"read\", \"erase\", "
                                   "\"audit\", \"stats\"");
            tok->roles |= (unsigned)role;
        }
        if (tok->roles == 0)
            return jcheck_fail(c, q, "expected at least one role");
        cfg->ntokens++;
    }
    return 0;
}

/*
 * geoip.database: one path, or a list of 1-GEO_MAX_FILES paths (the files
 * of one database, e.g. its IPv4 and its IPv6 file). Which file answers
 * which address family is geo_open's work: it needs the files themselves.
 */
static int load_geoip_database(struct jcheck *c, const cJSON *o,
                               const char *dir, struct config *cfg)
{
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(o, "database"), *e;
    char p[JCHECK_MAX_PATH];
    const char *s;
    int i = 0;

    if (db == NULL || cJSON_IsString(db)) {
        if (jcheck_string(c, o, "$.geoip", "database", 1, 1, PATH_MAX - 1, &s) != 0)
            return -1;
        cfg->geoip_coverage = GEO_COVER_ANY;
        cfg->geoip_paths[0] = resolve(dir, s);
        if (cfg->geoip_paths[0] == NULL)
            return jcheck_fail(c, "$.geoip.database", "out of memory");
        cfg->ngeoip_paths = 1;
        return 0;
    }
    if (!cJSON_IsArray(db) || cJSON_GetArraySize(db) < 1 ||
        cJSON_GetArraySize(db) > GEO_MAX_FILES)
        return jcheck_fail(c, "$.geoip.database", "expected a path or a list of "
                           "1-%d paths (one file per address family)", GEO_MAX_FILES);
    cfg->geoip_coverage = GEO_COVER_BOTH;
    cJSON_ArrayForEach(e, db) {
        jcheck_path_index(p, "$.geoip.database", i++);
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0' ||
            strlen(e->valuestring) > PATH_MAX - 1)
            return jcheck_fail(c, p, "expected a string of 1-%d characters", PATH_MAX - 1);
        cfg->geoip_paths[cfg->ngeoip_paths] = resolve(dir, e->valuestring);
        if (cfg->geoip_paths[cfg->ngeoip_paths] == NULL)
            return jcheck_fail(c, p, "out of memory");
        cfg->ngeoip_paths++;
        for (size_t k = 0; k + 1 < cfg->ngeoip_paths; k++)
            if (strcmp(cfg->geoip_paths[k], cfg->geoip_paths[cfg->ngeoip_paths - 1]) == 0)
                return jcheck_fail(c, p, "the same file as $.geoip.database[%zu]", k);
    }
    return 0;
}

static int load_admin(struct jcheck *c, const cJSON *o, const char *dir,
                      struct config *cfg)
{
    const cJSON *tokens = NULL;
    const char *file = NULL;
    long v = cfg->audit_retention_days, max = cfg->audit_max_entries;

    if (jcheck_object(c, o, "$.admin", admin_keys) != 0 ||
        jcheck_int(c, o, "$.admin", "audit_retention_days", 0, 1, 36500, &v) < 0 ||
        jcheck_int(c, o, "$.admin", "audit_max_entries", 0, 1,
                   CONSENT_MAX_AUDIT_ENTRIES, &max) < 0 ||
        jcheck_member(c, o, "$.admin", "tokens", 0, cJSON_Array, &tokens) < 0 ||
        jcheck_string(c, o, "$.admin", "tokens_file", 0, 1, PATH_MAX - 1, &file) < 0)
        return -1;
    cfg->audit_retention_days = (int)v;
    cfg->audit_max_entries = max;
    if (tokens != NULL && load_tokens(c, tokens, "$.admin.tokens", cfg) != 0)
        return -1;
    if (file != NULL) {
        /* Tokens kept apart (own permissions, rotated without touching the
         * main file). A file that does not exist yet means no tokens: the
         * admin API then refuses everyone. */
        char *path = resolve_secret(dir, file), err2[512];
        struct jcheck c2;
        struct stat st;
        cJSON *root;
        int rc = 0;

        if (path == NULL)
            return jcheck_fail(c, "$.admin.tokens_file", "out of memory");
        /* Kept like the signing key: whoever reads a token's hash can try
         * guesses offline, so group and others get nothing. */
        if (stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
            rc = jcheck_fail(c, "$.admin.tokens_file",
                             "%s: readable by group or others (chmod 600)", path);
        } else if (access(path, F_OK) == 0) {
            jcheck_init(&c2, path, err2, sizeof(err2));
            root = jcheck_parse_file(&c2, path, CONSENT_MAX_CONFIG);
            if (root == NULL || load_tokens(&c2, root, "$", cfg) != 0)
                rc = jcheck_fail(c, "$.admin.tokens_file", "%s", err2);
            cJSON_Delete(root);
        }
        free(path);
        return rc;
    }
    return 0;
}

/* Indexed by the role's bit number: ROLE_READ is 1 << 0. */
static const char *const role_names[CONFIG_ROLE_COUNT] = {"read", "erase", "audit",
                                                          "stats"};

const char *config_role_name(enum config_role role)
{
    for (int k = 0; k < CONFIG_ROLE_COUNT; k++)
        if ((unsigned)role == 1u << k)
            return role_names[k];
    return NULL;
}

enum config_status config_role_parse(const char *name, enum config_role *role)
{
    for (int k = 0; k < CONFIG_ROLE_COUNT; k++)
        if (strcmp(name, role_names[k]) == 0) {
            *role = (enum config_role)(1u << k);
            return CONFIG_OK;
        }
    return CONFIG_BAD_ROLE;
}

const struct config_token *config_token_find(const struct config *cfg,
                                             const char *token)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    const struct config_token *found = NULL;

    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    /* No early exit: every hash is compared, whatever matches. */
    for (size_t i = 0; i < cfg->ntokens; i++)
        if (sodium_memcmp(h, cfg->tokens[i].sha256, sizeof(h)) == 0)
            found = &cfg->tokens[i];
    return found;
}

/* en.json against the key lists above: the one file whose keys say what
 * every other default file must hold (texts.c compares them to it). */
static int check_master(struct jcheck *c, const cJSON *en)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *t, *cats;

    if (jcheck_object(c, en, "$", language_keys) != 0)
        return -1;
    for (int m = 0; m < MODEL_COUNT; m++) {
        const char *name = rules_model_name((enum consent_model)m);

        jcheck_path_key(p, "$", name);
        if (jcheck_member(c, en, "$", name, 1, cJSON_Object, &t) != 0 ||
            check_text_object(c, t, p, model_text_keys[m]) != 0)
            return -1;
    }
    if (jcheck_member(c, en, "$", "panel", 1, cJSON_Object, &t) != 0 ||
        check_text_object(c, t, "$.panel", panel_text_keys) != 0 ||
        jcheck_member(c, en, "$", "placeholder", 1, cJSON_Object, &t) != 0 ||
        check_text_object(c, t, "$.placeholder", placeholder_text_keys) != 0 ||
        jcheck_member(c, en, "$", "categories", 1, cJSON_Object, &cats) != 0)
        return -1;
    cJSON_ArrayForEach(t, cats) {
        jcheck_path_key(q, "$.categories", t->string);
        if (!jcheck_is_token(t->string, CONSENT_MAX_CATEGORY_ID_LEN))
            return jcheck_fail(c, q, "expected a category id of a-z, 0-9, - and _");
        if (!cJSON_IsObject(t))
            return jcheck_fail(c, q, "expected an object");
        if (check_text_object(c, t, q, category_text_keys) != 0)
            return -1;
    }
    return 0;
}

/* The folder of default texts ("texts", relative to the configuration):
 * every file read and checked now, so a broken translation stops the start
 * with its file and key rather than showing a visitor half a banner. */
static int load_defaults(struct jcheck *c, const char *dir, const char *name,
                         struct texts *defaults)
{
    char *path = resolve(dir, name), err2[768], master[PATH_MAX + 16];
    struct jcheck c2;
    int rc = 0;

    if (path == NULL)
        return jcheck_fail(c, "$.texts", "out of memory");
    if (texts_load(defaults, path, CONSENT_MAX_TEXT_LEN, err2, sizeof(err2)) != TEXTS_OK) {
        rc = jcheck_fail(c, "$.texts", "%s", err2);
    } else {
        snprintf(master, sizeof(master), "%s/%s", path, defaults->files[0].file);
        jcheck_init(&c2, master, err2, sizeof(err2));
        if (check_master(&c2, defaults->files[0].tree) != 0)
            rc = jcheck_fail(c, "$.texts", "%s", err2);
    }
    free(path);
    return rc;
}

static int parse_listen(const char *s)
{
    const char *colon;
    long port;
    char *end;

    if (strncmp(s, "unix:/", 6) == 0)
        return strlen(s) - 5 < 108 ? 0 : -1;
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return -1;
    port = strtol(colon + 1, &end, 10);
    return (*end == '\0' && port > 0 && port < 65536) ? 0 : -1;
}

/*
 * Reads the Redis password from path into out (outlen bytes): the whole
 * file less one trailing newline, 1 or more bytes, no other line break or
 * NUL. Like the signing key, a file that group or others may read is
 * refused. 0, or -1 with the reason in c at $.redis.password_file.
 */
static int read_password(struct jcheck *c, const char *path, char *out, size_t outlen)
{
    struct stat st;
    ssize_t got;
    size_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return jcheck_fail(c, "$.redis.password_file", "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return jcheck_fail(c, "$.redis.password_file", "%s: not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return jcheck_fail(c, "$.redis.password_file",
                           "%s: group or others may read it (chmod 600)", path);
    }
    got = read(fd, out, outlen);
    close(fd);
    if (got < 0 || (size_t)got >= outlen) {
        sodium_memzero(out, outlen);
        return jcheck_fail(c, "$.redis.password_file", "%s: unreadable or over %zu bytes",
                           path, outlen - 1);
    }
    n = (size_t)got;
    if (n > 0 && out[n - 1] == '\n')
        n--;
    out[n] = '\0';
    if (n == 0 || strlen(out) != n || strpbrk(out, "\r\n") != NULL) {
        sodium_memzero(out, outlen);
        return jcheck_fail(c, "$.redis.password_file",
                           "%s: expected one line holding the password", path);
    }
    return 0;
}

/* A list of "host:port" (or, unless tcp_only, "unix:/path") addresses, each
 * once, at most max, into out[]. */
static int load_addresses(struct jcheck *jc, const cJSON *list, const char *path,
                          size_t max, int tcp_only, char (*out)[STORE_MAX_ADDRESS],
                          size_t *n)
{
    char host[STORE_MAX_ADDRESS], p[JCHECK_MAX_PATH];
    const cJSON *e;
    int port, i = 0;

    *n = 0;
    if (cJSON_GetArraySize(list) < 1 || (size_t)cJSON_GetArraySize(list) > max)
        return jcheck_fail(jc, path, "expected 1-%zu addresses", max);
    cJSON_ArrayForEach(e, list) {
        jcheck_path_index(p, path, i++);
        if (!cJSON_IsString(e) || strlen(e->valuestring) >= STORE_MAX_ADDRESS ||
            store_address_parse(e->valuestring, host, sizeof(host), &port) != 0 ||
            (tcp_only && port == 0))
            return jcheck_fail(jc, p, tcp_only ? "expected \"host:port\""
                                               : "expected \"host:port\" or \"unix:/path\"");
        for (size_t k = 0; k < *n; k++)
            if (strcmp(out[k], e->valuestring) == 0)
                return jcheck_fail(jc, p, "\"%s\" is listed twice", e->valuestring);
        snprintf(out[(*n)++], STORE_MAX_ADDRESS, "%s", e->valuestring);
    }
    return 0;
}

/*
 * Which Redis: one server ("address"), a primary found through Redis
 * Sentinel ("sentinels" and "master_name") or a Redis Cluster ("cluster":
 * seed nodes). Addresses are checked by the store's own rule
 * (store_address_parse).
 */
static int load_redis_topology(struct jcheck *jc, const cJSON *o,
                               struct store_options *r)
{
    const cJSON *list = NULL, *seeds = NULL;
    const char *s = NULL;
    char host[STORE_MAX_ADDRESS];
    int port;

    if (jcheck_string(jc, o, "$.redis", "address", 0, 3, STORE_MAX_ADDRESS - 1, &s) < 0 ||
        jcheck_member(jc, o, "$.redis", "sentinels", 0, cJSON_Array, &list) < 0 ||
        jcheck_member(jc, o, "$.redis", "cluster", 0, cJSON_Array, &seeds) < 0)
        return -1;
    if ((s != NULL) + (list != NULL) + (seeds != NULL) != 1)
        return jcheck_fail(jc, "$.redis", "expected one of \"address\" (one server), "
                           "\"sentinels\" with \"master_name\" (Redis Sentinel) or "
                           "\"cluster\" (Redis Cluster seed nodes)");
    if (list == NULL && cJSON_GetObjectItemCaseSensitive(o, "master_name") != NULL)
        return jcheck_fail(jc, "$.redis.master_name", "only with \"sentinels\"");
    if (s != NULL) {
        if (store_address_parse(s, host, sizeof(host), &port) != 0)
            return jcheck_fail(jc, "$.redis.address",
                               "expected \"host:port\" or \"unix:/path\"");
        r->topology = STORE_SINGLE;
        snprintf(r->address, sizeof(r->address), "%s", s);
        return 0;
    }
    if (seeds != NULL) {
        r->topology = STORE_CLUSTER;
        return load_addresses(jc, seeds, "$.redis.cluster", STORE_MAX_SEEDS, 1,
                              r->seeds, &r->nseeds);
    }
    r->topology = STORE_SENTINEL;
    if (load_addresses(jc, list, "$.redis.sentinels", STORE_MAX_SENTINELS, 0,
                       r->sentinels, &r->nsentinels) != 0 ||
        jcheck_string(jc, o, "$.redis", "master_name", 1, 1,
                      STORE_MAX_MASTER_NAME - 1, &s) != 0)
        return -1;
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._-") != strlen(s))
        return jcheck_fail(jc, "$.redis.master_name",
                           "expected letters, digits, '.', '-' and '_'");
    snprintf(r->master_name, sizeof(r->master_name), "%s", s);
    return 0;
}

/* The timeouts, and how many replicas must confirm a write (WAIT) before
 * it is acknowledged. */
static int load_redis_timeouts(struct jcheck *jc, const cJSON *o,
                               struct store_options *r)
{
    long connect = 250, command = 500, acked = 0, ack_timeout;

    if (jcheck_int(jc, o, "$.redis", "connect_timeout_ms", 0, 1, 60000, &connect) < 0 ||
        jcheck_int(jc, o, "$.redis", "command_timeout_ms", 0, 1, 60000, &command) < 0 ||
        jcheck_int(jc, o, "$.redis", "min_replicas_acked", 0, 0,
                   STORE_MAX_REPLICAS_ACKED, &acked) < 0)
        return -1;
    ack_timeout = command / 2 > 0 ? command / 2 : 1;
    if (jcheck_int(jc, o, "$.redis", "ack_timeout_ms", 0, 1, 60000, &ack_timeout) < 0)
        return -1;
    r->connect_timeout_ms = (int)connect;
    r->command_timeout_ms = (int)command;
    r->min_replicas_acked = (int)acked;
    r->ack_timeout_ms = (int)ack_timeout;
    /* WAIT's answer must come before the command timeout gives up on it. */
    if (r->min_replicas_acked > 0 && r->ack_timeout_ms >= r->command_timeout_ms)
        return jcheck_fail(jc, "$.redis.ack_timeout_ms",
                           "must be less than command_timeout_ms (%d)",
                           r->command_timeout_ms);
    return 0;
}

/* ACL user name and password file (read now, kept in r). */
static int load_redis_auth(struct jcheck *jc, const cJSON *o, const char *dir,
                           struct store_options *r)
{
    const char *s = NULL;
    char *path;
    int rc;

    if (jcheck_string(jc, o, "$.redis", "username", 0, 1, STORE_MAX_USERNAME - 1, &s) < 0)
        return -1;
    if (s != NULL) {
        if (strpbrk(s, " \t\r\n") != NULL)
            return jcheck_fail(jc, "$.redis.username", "expected a name without spaces");
        if (cJSON_GetObjectItemCaseSensitive(o, "password_file") == NULL)
            return jcheck_fail(jc, "$.redis.username", "only with \"password_file\"");
        snprintf(r->username, sizeof(r->username), "%s", s);
    }
    s = NULL;
    if (jcheck_string(jc, o, "$.redis", "password_file", 0, 1, PATH_MAX - 1, &s) < 0)
        return -1;
    if (s == NULL)
        return 0;
    path = resolve(dir, s);
    if (path == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    rc = read_password(jc, path, r->password, sizeof(r->password));
    free(path);
    return rc;
}

/* $.redis: which servers, the timeouts and replica acknowledgement, and
 * the credentials. */
static int load_redis(struct jcheck *jc, const cJSON *root, const char *dir,
                      struct store_options *r)
{
    const cJSON *o;

    memset(r, 0, sizeof(*r));
    if (jcheck_member(jc, root, "$", "redis", 1, cJSON_Object, &o) != 0 ||
        jcheck_object(jc, o, "$.redis", redis_keys) != 0 ||
        load_redis_topology(jc, o, r) != 0 ||
        load_redis_timeouts(jc, o, r) != 0)
        return -1;
    return load_redis_auth(jc, o, dir, r);
}

static int load_root(struct config *cfg, cJSON *root, struct jcheck *jc,
                     const char *dir);

enum config_status config_load(struct config *cfg, const char *path, char *err,
                               size_t errlen)
{
    struct jcheck c;
    cJSON *root;
    char *pathcopy;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    jcheck_init(&c, path, err, errlen);
    root = jcheck_parse_file(&c, path, CONSENT_MAX_CONFIG);
    if (root == NULL)
        return CONFIG_INVALID;
    pathcopy = strdup(path);
    if (pathcopy == NULL) {
        cJSON_Delete(root);
        jcheck_fail(&c, "$", "out of memory");
        return CONFIG_INVALID;
    }
    rc = load_root(cfg, root, &c, dirname(pathcopy));
    free(pathcopy);
    return rc == 0 ? CONFIG_OK : CONFIG_INVALID;
}

enum config_status config_parse(struct config *cfg, const char *text, size_t len,
                                const char *name, const char *dir, char *err,
                                size_t errlen)
{
    struct jcheck c;
    cJSON *root;

    memset(cfg, 0, sizeof(*cfg));
    jcheck_init(&c, name, err, errlen);
    if (len > CONSENT_MAX_CONFIG) {
        jcheck_fail(&c, "$", "larger than %d bytes", CONSENT_MAX_CONFIG);
        return CONFIG_INVALID;
    }
    root = jcheck_parse_text(&c, text, len);
    if (root == NULL)
        return CONFIG_INVALID;
    return load_root(cfg, root, &c, dir) == 0 ? CONFIG_OK : CONFIG_INVALID;
}

const char *config_strerror(int status)
{
    switch (status) {
    case CONFIG_OK:
        return "ok";
    case CONFIG_INVALID:
        return "configuration unreadable or invalid";
    case CONFIG_BAD_ROLE:
        return "not a role (read, erase, audit, stats)";
    default:
        return "unknown error";
    }
}

/* listen, workers, access_log and gpp_cmp_id: the top-level scalars. */
static int load_server(struct jcheck *jc, const cJSON *root, struct config *cfg)
{
    const char *s;
    long v;

    if (jcheck_string(jc, root, "$", "listen", 1, 3, 120, &s) != 0)
        return -1;
    if (parse_listen(s) != 0)
        return jcheck_fail(jc, "$.listen", "expected \"host:port\" or \"unix:/path\"");
    cfg->listen = strdup(s);
    if (cfg->listen == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    v = CONSENT_DEFAULT_WORKERS;
    if (jcheck_int(jc, root, "$", "workers", 0, 1, CONSENT_MAX_WORKERS, &v) < 0)
        return -1;
    cfg->workers = (int)v;
    cfg->access_log = 0;
    if (jcheck_bool(jc, root, "$", "access_log", 0, &cfg->access_log) < 0)
        return -1;
    v = CONFIG_GPP_CMP_ID_UNREGISTERED;
    if (jcheck_int(jc, root, "$", "gpp_cmp_id", 0, 1, CONFIG_GPP_CMP_ID_MAX, &v) < 0)
        return -1;
    cfg->gpp_cmp_id = (int)v;
    return 0;
}

/* $.geoip (its files and their layout), then $.rules, the rules file. */
static int load_geoip_and_rules(struct jcheck *jc, const cJSON *root, const char *dir,
                                struct config *cfg)
{
    const cJSON *o;
    const char *s;

    if (jcheck_member(jc, root, "$", "geoip", 1, cJSON_Object, &o) != 0 ||
        jcheck_object(jc, o, "$.geoip", geoip_keys) != 0 ||
        load_geoip_database(jc, o, dir, cfg) != 0 ||
        jcheck_string(jc, o, "$.geoip", "layout", 1, 1, 16, &s) != 0)
        return -1;
    if (geo_layout_parse(s, &cfg->geoip_layout) != GEO_OK)
        return jcheck_fail(jc, "$.geoip.layout", "expected \"geoip2\" or \"flat\"");
    if (jcheck_string(jc, root, "$", "rules", 1, 1, PATH_MAX - 1, &s) != 0)
        return -1;
    cfg->rules_path = resolve(dir, s);
    if (cfg->rules_path == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    return 0;
}

/* The consent cookie: a first-party, HttpOnly cookie holding a secret
 * MAC'd with cookie.secret. "secure": false only for plain-http local
 * setups such as `make run` (and then no __Host- prefix). */
static int load_cookie(struct jcheck *jc, const cJSON *root, const char *dir,
                       struct config *cfg)
{
    const cJSON *o = NULL;
    const char *s = NULL;

    strcpy(cfg->cookie_name, "consent");
    cfg->cookie_secure = 1;
    if (jcheck_member(jc, root, "$", "cookie", 1, cJSON_Object, &o) != 0 ||
        jcheck_string(jc, o, "$.cookie", "secret", 1, 1, PATH_MAX - 1, &s) != 0)
        return -1;
    cfg->cookie_secret_path = resolve_secret(dir, s);
    if (cfg->cookie_secret_path == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    s = NULL;
    if (jcheck_object(jc, o, "$.cookie", cookie_keys) != 0 ||
        jcheck_string(jc, o, "$.cookie", "name", 0, 1, CONSENT_MAX_COOKIE_NAME, &s) < 0 ||
        jcheck_bool(jc, o, "$.cookie", "secure", 0, &cfg->cookie_secure) < 0)
        return -1;
    if (s == NULL)
        return 0;
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-") != strlen(s))
        return jcheck_fail(jc, "$.cookie.name", "expected letters, digits, - and _");
    strcpy(cfg->cookie_name, s);
    return 0;
}

/* signing_key, and retired_keys: public keys of retired signing keys (a
 * JWKS file), so receipts they signed stay verifiable and /keys
 * publishes them. */
static int load_keys(struct jcheck *jc, const cJSON *root, const char *dir,
                     struct config *cfg)
{
    const char *s = NULL;

    if (jcheck_string(jc, root, "$", "signing_key", 1, 1, PATH_MAX - 1, &s) != 0)
        return -1;
    cfg->signing_key_path = resolve_secret(dir, s);
    if (cfg->signing_key_path == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    s = NULL;
    if (jcheck_string(jc, root, "$", "retired_keys", 0, 1, PATH_MAX - 1, &s) < 0)
        return -1;
    if (s != NULL && (cfg->retired_keys_path = resolve(dir, s)) == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    return 0;
}

/*
 * An optional object of integers ($.name, its keys all of keys): each
 * member's range, its default, and the int field of struct config it sets.
 */
struct int_section {
    const char *name;
    const char *const *keys;
    struct {
        const char *key;
        long min, max, def;
        size_t field;   /* offsetof(struct config, an int) */
    } members[3];       /* ended by a NULL key */
};

/* $.receipts: how long a consent's receipts are kept, how many of them. */
static const struct int_section receipts_section = {"receipts", receipts_keys, {
    {"retention_days", 1, 36500, CONSENT_DEFAULT_RETENTION_DAYS,
     offsetof(struct config, retention_days)},
    {"max_history", 1, 10000, CONSENT_DEFAULT_MAX_HISTORY,
     offsetof(struct config, max_history)},
    {NULL, 0, 0, 0, 0}}};

/* $.stats: how long analytics counts are kept and how often they are
 * flushed. */
static const struct int_section stats_section = {"stats", stats_keys, {
    {"retention_days", 1, 3660, CONSENT_DEFAULT_STATS_DAYS,
     offsetof(struct config, stats_retention_days)},
    {"flush_ms", 100, 60000, CONSENT_DEFAULT_STATS_FLUSH_MS,
     offsetof(struct config, stats_flush_ms)},
    {NULL, 0, 0, 0, 0}}};

/* Reads sec into cfg: every field its default, then, in order, each
 * member given. */
static int load_int_section(struct jcheck *jc, const cJSON *root,
                            const struct int_section *sec, struct config *cfg)
{
    char p[JCHECK_MAX_PATH];
    const cJSON *o = NULL;

    for (int i = 0; sec->members[i].key != NULL; i++)
        *(int *)((char *)cfg + sec->members[i].field) = (int)sec->members[i].def;
    if (jcheck_member(jc, root, "$", sec->name, 0, cJSON_Object, &o) < 0)
        return -1;
    if (o == NULL)
        return 0;
    jcheck_path_key(p, "$", sec->name);
    if (jcheck_object(jc, o, p, sec->keys) != 0)
        return -1;
    for (int i = 0; sec->members[i].key != NULL; i++) {
        long v = sec->members[i].def;

        if (jcheck_int(jc, o, p, sec->members[i].key, 0, sec->members[i].min,
                       sec->members[i].max, &v) < 0)
            return -1;
        *(int *)((char *)cfg + sec->members[i].field) = (int)v;
    }
    return 0;
}

/* $.head_cache: the banner decision's cache of verified heads (headcache.h).
 * Under Cluster a change published on one node reaches a watcher on
 * another over the cluster bus, with no bound of its own: the age bound
 * keeps "within one second" (README, "Head cache"). After $.redis. */
static int load_head_cache(struct jcheck *jc, const cJSON *root, struct config *cfg)
{
    const cJSON *o = NULL;
    long entries = HEADCACHE_DEFAULT_ENTRIES;
    long age = cfg->redis.topology == STORE_CLUSTER ? HEADCACHE_CLUSTER_MAX_AGE_MS
                                                    : HEADCACHE_DEFAULT_MAX_AGE_MS;

    if (jcheck_member(jc, root, "$", "head_cache", 0, cJSON_Object, &o) < 0 ||
        (o != NULL &&
         (jcheck_object(jc, o, "$.head_cache", head_cache_keys) != 0 ||
          jcheck_int(jc, o, "$.head_cache", "entries", 0, 0, HEADCACHE_MAX_ENTRIES,
                     &entries) < 0 ||
          jcheck_int(jc, o, "$.head_cache", "max_age_ms", 0, 1, HEADCACHE_MAX_AGE_MS,
                     &age) < 0)))
        return -1;
    cfg->head_cache_entries = (size_t)entries;
    cfg->head_cache_max_age_ms = (int)age;
    return 0;
}

/* $.admin: support tokens (only their SHA-256 is configured) and the
 * audit stream's bounds. */
static int load_admin_section(struct jcheck *jc, const cJSON *root, const char *dir,
                              struct config *cfg)
{
    const cJSON *o = NULL;

    cfg->audit_retention_days = CONSENT_DEFAULT_AUDIT_DAYS;
    cfg->audit_max_entries = CONSENT_DEFAULT_AUDIT_ENTRIES;
    if (jcheck_member(jc, root, "$", "admin", 0, cJSON_Object, &o) < 0)
        return -1;
    return o != NULL ? load_admin(jc, o, dir, cfg) : 0;
}

/* $.sites: 1-CONSENT_MAX_SITES sites, each id once (defaults: the default
 * texts, or NULL without "texts"). */
static int load_sites(struct jcheck *jc, const cJSON *root, struct config *cfg,
                      const struct texts *defaults)
{
    const cJSON *sites, *e;
    char p[JCHECK_MAX_PATH];
    int i = 0;

    if (jcheck_member(jc, root, "$", "sites", 1, cJSON_Array, &sites) != 0)
        return -1;
    if (cJSON_GetArraySize(sites) < 1 || cJSON_GetArraySize(sites) > CONSENT_MAX_SITES)
        return jcheck_fail(jc, "$.sites", "expected 1-%d sites", CONSENT_MAX_SITES);
    cfg->sites = calloc((size_t)cJSON_GetArraySize(sites), sizeof(*cfg->sites));
    if (cfg->sites == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    cJSON_ArrayForEach(e, sites) {
        struct config_site *site = &cfg->sites[cfg->nsites++];

        jcheck_path_index(p, "$.sites", i++);
        if (load_site(jc, e, p, site, defaults) != 0)
            return -1;
        for (size_t k = 0; k + 1 < cfg->nsites; k++)
            if (strcmp(cfg->sites[k].id, site->id) == 0)
                return jcheck_fail(jc, p, "site id \"%s\" is used twice", site->id);
    }
    return 0;
}

/* Takes ownership of root (deleted on every path). The sections in the
 * order they are checked, so the first error is always the same one. */
static int load_root(struct config *cfg, cJSON *root, struct jcheck *jc,
                     const char *dir)
{
    const char *texts_dir = NULL;
    struct texts defaults = {0};
    int rc = -1;

    if (jcheck_object(jc, root, "$", top_keys) != 0 ||
        load_server(jc, root, cfg) != 0 ||
        load_geoip_and_rules(jc, root, dir, cfg) != 0 ||
        load_redis(jc, root, dir, &cfg->redis) != 0 ||
        load_cookie(jc, root, dir, cfg) != 0 ||
        load_keys(jc, root, dir, cfg) != 0 ||
        load_int_section(jc, root, &receipts_section, cfg) != 0 ||
        load_head_cache(jc, root, cfg) != 0 ||
        load_admin_section(jc, root, dir, cfg) != 0 ||
        load_int_section(jc, root, &stats_section, cfg) != 0 ||
        jcheck_string(jc, root, "$", "texts", 0, 1, PATH_MAX - 1, &texts_dir) < 0 ||
        (texts_dir != NULL && load_defaults(jc, dir, texts_dir, &defaults) != 0) ||
        load_sites(jc, root, cfg, texts_dir != NULL ? &defaults : NULL) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    texts_free(&defaults);
    cJSON_Delete(root);
    if (rc != 0)
        config_free(cfg);
    return rc;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->nsites; i++) {
        struct config_site *s = &cfg->sites[i];

        for (size_t k = 0; k < s->norigins; k++)
            free(s->origins[k]);
        free(s->origins);
        free(s->policy_url);
        free(s->banner_version);
        free(s->categories);
        cJSON_free(s->consent_mode);
        cJSON_free(s->cleanup);
        cJSON_free(s->signals);
        for (size_t k = 0; k < s->nlanguages; k++) {
            for (int m = 0; m < MODEL_COUNT; m++)
                cJSON_free(s->languages[k].texts[m]);
            cJSON_free(s->languages[k].declaration);
        }
        free(s->languages);
        for (size_t v = 0; v < s->nvariants; v++) {
            for (size_t k = 0; s->variants[v].languages != NULL && k < s->nlanguages; k++)
                for (int m = 0; m < MODEL_COUNT; m++)
                    cJSON_free(s->variants[v].languages[k].texts[m]);
            free(s->variants[v].languages);
        }
        free(s->variants);
    }
    free(cfg->sites);
    free(cfg->listen);
    for (size_t i = 0; i < cfg->ngeoip_paths; i++)
        free(cfg->geoip_paths[i]);
    free(cfg->rules_path);
    free(cfg->signing_key_path);
    free(cfg->retired_keys_path);
    free(cfg->cookie_secret_path);
    sodium_memzero(cfg->redis.password, sizeof(cfg->redis.password));
    if (cfg->tokens != NULL)
        sodium_memzero(cfg->tokens, cfg->ntokens * sizeof(*cfg->tokens));
    free(cfg->tokens);
    memset(cfg, 0, sizeof(*cfg));
}

const struct config_site *config_site_find(const struct config *cfg,
                                           const char *id)
{
    for (size_t i = 0; i < cfg->nsites; i++)
        if (strcmp(cfg->sites[i].id, id) == 0)
            return &cfg->sites[i];
    return NULL;
}

int config_category_index(const struct config_site *site, const char *id)
{
    for (size_t i = 0; i < site->ncategories; i++)
        if (strcmp(site->categories[i].id, id) == 0)
            return (int)i;
    return -1;
}

int config_origin_allowed(const struct config_site *site, const char *origin)
{
    for (size_t i = 0; i < site->norigins; i++)
        if (strcmp(site->origins[i], origin) == 0)
            return 1;
    return 0;
}

int config_origin_known(const struct config *cfg, const char *origin)
{
    for (size_t i = 0; i < cfg->nsites; i++)
        if (config_origin_allowed(&cfg->sites[i], origin))
            return 1;
    return 0;
}

const struct config_language *config_texts_by_hash(const struct config_site *site,
                                                   int variant, const char *sha256,
                                                   int *model)
{
    const struct config_language *langs;

    if (variant >= (int)site->nvariants)
        return NULL;
    langs = variant < 0 ? site->languages : site->variants[variant].languages;
    for (size_t i = 0; i < site->nlanguages; i++)
        for (int m = 0; m < MODEL_COUNT; m++)
            if (strcmp(langs[i].texts_sha256[m], sha256) == 0) {
                *model = m;
                return &langs[i];
            }
    return NULL;
}

int config_variant_index(const struct config_site *site, const char *id)
{
    for (size_t i = 0; i < site->nvariants; i++)
        if (strcmp(site->variants[i].id, id) == 0)
            return (int)i;
    return -1;
}

int config_variant_of_bucket(const struct config_site *site, int bucket)
{
    long total = 0, point, cum = 0;

    if (site->nvariants == 0)
        return -1;
    for (size_t i = 0; i < site->nvariants; i++)
        total += site->variants[i].weight;
    point = (long)bucket * total / CONSENT_VARIANT_BUCKETS;
    for (size_t i = 0; i < site->nvariants; i++) {
        cum += site->variants[i].weight;
        if (point < cum)
            return (int)i;
    }
    return (int)site->nvariants - 1;
}
