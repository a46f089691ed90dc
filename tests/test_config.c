/* Unit tests for cgi/config.c: the example loads; each kind of bad
 * configuration is refused with the file, the JSON path and what was
 * expected. Bad configs are made by changing one thing in the example. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cgi/config.h"

#define EXAMPLE "cgi/consentd.example.json"

static cJSON *example(void)
{
    FILE *f = fopen(EXAMPLE, "rb");
    static char buf[256 * 1024];
    size_t n;

    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

/* Writes root to a temp file in cgi/ (so relative paths resolve the same),
 * loads it, and returns the status; err gets the message. */
static int load_tree(cJSON *root, char *err, size_t errlen, struct config *out)
{
    char path[] = "build/consent-config-XXXXXX";
    char *text = cJSON_Print(root);
    int fd = mkstemp(path);
    int st;

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cJSON_free(text);
    cJSON_Delete(root);
    st = config_load(out, path, err, errlen);
    unlink(path);
    return st;
}

static void expect_error(cJSON *root, const char *needle)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), -1);
    cr_assert(strstr(err, needle) != NULL, "want \"%s\" in \"%s\"", needle, err);
    cr_assert(strstr(err, "build/consent-config-") != NULL, "names the file: %s", err);
}

static cJSON *site0(cJSON *root)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(root, "sites"), 0);
}

Test(config, the_example_loads_with_its_sites_and_texts)
{
    struct config cfg;
    char err[512];
    const struct config_site *s;

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.nsites, 1);
    s = config_site_find(&cfg, "demo");
    cr_assert_not_null(s);
    cr_assert_null(config_site_find(&cfg, "other"));
    cr_assert_eq(s->ncategories, 4);
    cr_assert(s->categories[0].necessary);
    cr_assert(s->categories[3].sale_sharing);
    cr_assert_eq(config_category_index(s, "analytics"), 2);
    cr_assert_str_eq(s->languages[0].tag, "en");
    cr_assert_eq(strlen(s->languages[0].texts_sha256[MODEL_OPT_IN]), 64);
    cr_assert_str_neq(s->languages[0].texts_sha256[MODEL_OPT_IN],
                      s->languages[0].texts_sha256[MODEL_NOTICE]);
    cr_assert(strstr(s->languages[0].texts[MODEL_OPT_IN], "\"accept_all\"") != NULL);
    cr_assert(strstr(s->languages[0].texts[MODEL_OPT_IN], "\"categories\"") != NULL);
    cr_assert(config_origin_allowed(s, "http://127.0.0.1:8080"));
    cr_assert_not(config_origin_allowed(s, "http://127.0.0.1:8081"));
    /* relative paths are taken from the config file's folder */
    cr_assert(strstr(cfg.rules_path, "cgi/../geo/rules.json") != NULL, "%s", cfg.rules_path);
    config_free(&cfg);
}

Test(config, a_missing_file_is_refused)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(config_load(&cfg, "/nonexistent.json", err, sizeof(err)), -1);
    cr_assert(strstr(err, "/nonexistent.json: $: cannot open") != NULL, "%s", err);
}

Test(config, an_unknown_top_level_key_is_refused)
{
    cJSON *r = example();

    cJSON_AddNumberToObject(r, "colour", 1);
    expect_error(r, "$.colour: unknown key");
}

Test(config, an_unknown_site_key_is_refused)
{
    cJSON *r = example();

    cJSON_AddNumberToObject(site0(r), "colour", 1);
    expect_error(r, "$.sites[0].colour: unknown key");
}

Test(config, a_wrong_type_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(r, "workers", cJSON_CreateString("many"));
    expect_error(r, "$.workers: expected an integer from 1 to 1024");
}

Test(config, a_missing_field_is_refused)
{
    cJSON *r = example();

    cJSON_DeleteItemFromObject(r, "rules");
    expect_error(r, "$.rules: missing (required)");
}

Test(config, a_bad_listen_address_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(r, "listen", cJSON_CreateString("localhost"));
    expect_error(r, "$.listen: expected \"host:port\" or \"unix:/path\"");
}

Test(config, a_bad_geoip_layout_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "geoip"), "layout",
                              cJSON_CreateString("city"));
    expect_error(r, "$.geoip.layout: expected \"geoip2\" or \"flat\"");
}

Test(config, a_bad_site_id_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(site0(r), "id", cJSON_CreateString("Demo Site"));
    expect_error(r, "$.sites[0].id: expected 1-32 characters");
}

Test(config, a_duplicate_site_is_refused)
{
    cJSON *r = example();

    cJSON_AddItemToArray(cJSON_GetObjectItem(r, "sites"), cJSON_Duplicate(site0(r), 1));
    expect_error(r, "$.sites[1]: site id \"demo\" is used twice");
}

Test(config, an_origin_with_a_path_is_refused)
{
    cJSON *r = example();
    cJSON *o = cJSON_GetObjectItem(site0(r), "origins");

    cJSON_AddItemToArray(o, cJSON_CreateString("https://a.example/path"));
    expect_error(r, "$.sites[0].origins[2]: expected an origin");
}

Test(config, a_category_defined_twice_is_refused)
{
    cJSON *r = example();
    cJSON *cats = cJSON_GetObjectItem(site0(r), "categories");

    cJSON_AddItemToArray(cats, cJSON_Duplicate(cJSON_GetArrayItem(cats, 1), 1));
    expect_error(r, "$.sites[0].categories[4]: category \"functional\" is defined twice");
}

Test(config, a_necessary_sale_category_is_refused)
{
    cJSON *r = example();
    cJSON *cat = cJSON_GetArrayItem(cJSON_GetObjectItem(site0(r), "categories"), 0);

    cJSON_AddBoolToObject(cat, "sale_sharing", 1);
    expect_error(r, "$.sites[0].categories[0]: a necessary category cannot be sale_sharing");
}

Test(config, a_missing_banner_text_is_refused)
{
    cJSON *r = example();
    cJSON *en = cJSON_GetObjectItem(cJSON_GetObjectItem(site0(r), "languages"), "en");

    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(en, "opt-in"), "reject_all");
    expect_error(r, "$.sites[0].languages.en.opt-in.reject_all: missing (required)");
}

Test(config, a_category_without_texts_is_refused)
{
    cJSON *r = example();
    cJSON *de = cJSON_GetObjectItem(cJSON_GetObjectItem(site0(r), "languages"), "de");

    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(de, "categories"), "analytics");
    expect_error(r, "$.sites[0].languages.de.categories.analytics: missing (required)");
}

Test(config, texts_for_an_unknown_category_are_refused)
{
    cJSON *r = example();
    cJSON *en = cJSON_GetObjectItem(cJSON_GetObjectItem(site0(r), "languages"), "en");
    cJSON *t = cJSON_CreateObject();

    cJSON_AddStringToObject(t, "name", "x");
    cJSON_AddStringToObject(t, "purpose", "y");
    cJSON_AddItemToObject(cJSON_GetObjectItem(en, "categories"), "social", t);
    expect_error(r, "$.sites[0].languages.en.categories.social: not a category of this site");
}

Test(config, a_bad_language_tag_is_refused)
{
    cJSON *r = example();
    cJSON *langs = cJSON_GetObjectItem(site0(r), "languages");

    cJSON_AddItemToObject(langs, "e", cJSON_Duplicate(cJSON_GetObjectItem(langs, "en"), 1));
    expect_error(r, "$.sites[0].languages.e: expected a language tag");
}

Test(config, invalid_json_is_refused_with_its_line)
{
    struct config cfg;
    char err[512];
    char path[] = "build/consent-config-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "{\n  \"listen\": \"127.0.0.1:1\",\n  oops\n}";

    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), -1);
    unlink(path);
    cr_assert(strstr(err, "not valid JSON (line 3") != NULL, "%s", err);
}

Test(config, consent_mode_for_an_unknown_category_is_refused)
{
    cJSON *r = example();
    cJSON *cm = cJSON_GetObjectItem(site0(r), "consent_mode");

    cJSON_AddItemToObject(cm, "social", cJSON_CreateArray());
    expect_error(r, "$.sites[0].consent_mode.social: not a category of this site");
}

Test(config, consent_mode_with_an_unknown_type_is_refused)
{
    cJSON *r = example();
    cJSON *cm = cJSON_GetObjectItem(site0(r), "consent_mode");

    cJSON_AddItemToArray(cJSON_GetObjectItem(cm, "analytics"), cJSON_CreateString("cookie_storage"));
    expect_error(r, "$.sites[0].consent_mode.analytics: expected Consent Mode types");
}

Test(config, the_policy_link_text_is_required_in_every_model)
{
    cJSON *r = example();
    cJSON *en = cJSON_GetObjectItem(cJSON_GetObjectItem(site0(r), "languages"), "en");

    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(en, "notice"), "policy");
    expect_error(r, "$.sites[0].languages.en.notice.policy: missing (required)");
}

Test(config, consent_mode_is_kept_as_printed_json)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(cfg.sites[0].consent_mode);
    cr_assert(strstr(cfg.sites[0].consent_mode, "\"analytics\":[\"analytics_storage\"]") != NULL);
    config_free(&cfg);
}

/* The declaration (cgi/declaration.c): the example's is printed once per
 * language for GET /declaration, and its first-party items of optional
 * categories once for the banner's clean-up list. */
static cJSON *decl(cJSON *root, const char *category)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(site0(root), "declaration"), category);
}

static cJSON *storage0(cJSON *root, const char *category)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(decl(root, category), "storage"), 0);
}

Test(config, the_declaration_is_printed_per_language_with_an_etag)
{
    struct config cfg;
    char err[512];
    const struct config_site *s;

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
    s = &cfg.sites[0];
    cr_assert_str_eq(s->languages[0].tag, "en");
    cr_assert(strstr(s->languages[0].declaration, "\"language\":\"en\"") != NULL);
    cr_assert(strstr(s->languages[0].declaration, "\"col_provider\":\"Provider\"") != NULL);
    cr_assert(strstr(s->languages[0].declaration, "A random visitor number") != NULL);
    cr_assert(strstr(s->languages[1].declaration, "Eine zuf\xc3\xa4llige Besuchernummer") != NULL);
    cr_assert(strstr(s->languages[1].declaration, "A random visitor number") == NULL);
    cr_assert_eq(strlen(s->languages[0].declaration_etag), 34);
    cr_assert_eq(s->languages[0].declaration_etag[0], '"');
    cr_assert_str_neq(s->languages[0].declaration_etag, s->languages[1].declaration_etag);
    config_free(&cfg);
}

Test(config, the_cleanup_list_holds_first_party_items_of_optional_categories_only)
{
    struct config cfg;
    char err[512];
    const char *c;

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
    c = cfg.sites[0].cleanup;
    cr_assert_not_null(c);
    cr_assert(strstr(c, "\"analytics\":{\"cookies\":[\"_demo_a\",\"_demo_s_*\"],"
                        "\"storage\":[\"demo_analytics_queue\"]}") != NULL, "%s", c);
    cr_assert(strstr(c, "\"advertising\":{\"cookies\":[\"_demo_ad\"],\"storage\":[\"demo_ad_*\"]}") != NULL, "%s", c);
    cr_assert(strstr(c, "necessary") == NULL, "necessary is never cleaned: %s", c);
    cr_assert(strstr(c, "uid") == NULL && strstr(c, "p.gif") == NULL,
              "third-party cookies and pixels cannot be deleted by a page: %s", c);
    config_free(&cfg);
}

Test(config, a_site_without_a_declaration_answers_empty_lists)
{
    cJSON *r = example();
    struct config cfg;
    char err[512];

    cJSON_DeleteItemFromObject(site0(r), "declaration");
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_null(cfg.sites[0].cleanup);
    cr_assert(strstr(cfg.sites[0].languages[0].declaration,
                     "{\"id\":\"analytics\",\"name\":\"Analytics\"") != NULL);
    cr_assert(strstr(cfg.sites[0].languages[0].declaration, "\"storage\":[{") == NULL);
    config_free(&cfg);
}

Test(config, a_declaration_for_an_unknown_category_is_refused)
{
    cJSON *r = example();

    cJSON_AddItemToObject(cJSON_GetObjectItem(site0(r), "declaration"), "social",
                          cJSON_CreateObject());
    expect_error(r, "$.sites[0].declaration.social: not a category of this site");
}

Test(config, an_unknown_key_in_a_declaration_is_refused)
{
    cJSON *r = example();

    cJSON_AddNumberToObject(decl(r, "analytics"), "colour", 1);
    expect_error(r, "$.sites[0].declaration.analytics.colour: unknown key");
}

Test(config, an_unknown_key_in_a_storage_item_is_refused)
{
    cJSON *r = example();

    cJSON_AddStringToObject(storage0(r, "analytics"), "domain", ".example.com");
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].domain: unknown key");
}

Test(config, a_storage_list_that_is_not_an_array_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(decl(r, "analytics"), "storage", cJSON_CreateString("_ga"));
    expect_error(r, "$.sites[0].declaration.analytics.storage: expected an array");
}

Test(config, days_that_are_not_a_whole_number_are_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(storage0(r, "analytics"), "days", cJSON_CreateString("13 months"));
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].days: expected an integer from 0 to 36500");
}

Test(config, negative_days_are_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(storage0(r, "analytics"), "days", cJSON_CreateNumber(-1));
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].days: expected an integer from 0 to 36500");
}

Test(config, an_unknown_storage_type_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(storage0(r, "analytics"), "type", cJSON_CreateString("indexeddb"));
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].type: expected \"cookie\", \"local_storage\" or \"pixel\"");
}

Test(config, an_unknown_party_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(storage0(r, "analytics"), "party", cJSON_CreateString("second"));
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].party: expected \"first\" or \"third\"");
}

Test(config, a_storage_item_without_a_provider_is_refused)
{
    cJSON *r = example();

    cJSON_DeleteItemFromObject(storage0(r, "analytics"), "provider");
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].provider: missing (required)");
}

Test(config, a_name_with_a_star_or_a_space_is_refused)
{
    const char *bad[] = {"_ga*", "my cookie", "a;b", ""};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *r = example();

        cJSON_ReplaceItemInObject(storage0(r, "analytics"), "name", cJSON_CreateString(bad[i]));
        expect_error(r, "$.sites[0].declaration.analytics.storage[0].name: expected");
    }
}

Test(config, a_prefix_that_is_not_a_bool_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(storage0(r, "analytics"), "prefix", cJSON_CreateString("yes"));
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].prefix: expected true or false");
}

Test(config, a_purpose_missing_for_one_of_the_sites_languages_is_refused)
{
    cJSON *r = example();

    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(storage0(r, "analytics"), "purpose"), "de");
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].purpose.de: missing");
}

Test(config, a_purpose_in_a_language_the_site_does_not_have_is_refused)
{
    cJSON *r = example();

    cJSON_AddStringToObject(cJSON_GetObjectItem(storage0(r, "analytics"), "purpose"), "fr", "Compter");
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].purpose.fr: not a language of this site");
}

Test(config, an_empty_purpose_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(storage0(r, "analytics"), "purpose"), "en",
                              cJSON_CreateString(""));
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].purpose.en: expected a string of 1-2000 characters");
}

Test(config, a_purpose_tag_matches_the_language_without_case)
{
    cJSON *r = example();
    cJSON *p = cJSON_GetObjectItem(storage0(r, "analytics"), "purpose");
    struct config cfg;
    char err[512];

    cJSON_AddItemToObject(p, "DE", cJSON_DetachItemFromObject(p, "de"));
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert(strstr(cfg.sites[0].languages[1].declaration, "Eine zuf\xc3\xa4llige") != NULL);
    config_free(&cfg);
}

Test(config, a_bad_vendor_policy_url_is_refused)
{
    const char *bad[] = {"ads.example/privacy", "javascript:alert(1)", "https://",
                         "https:///privacy", "https://ads.example/pri vacy", "/privacy"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *r = example();
        cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(decl(r, "advertising"), "vendors"), 0);

        cJSON_ReplaceItemInObject(v, "policy_url", cJSON_CreateString(bad[i]));
        expect_error(r, "$.sites[0].declaration.advertising.vendors[0].policy_url: expected an http(s) URL");
    }
}

Test(config, a_vendor_without_a_name_is_refused)
{
    cJSON *r = example();
    cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(decl(r, "advertising"), "vendors"), 0);

    cJSON_DeleteItemFromObject(v, "name");
    expect_error(r, "$.sites[0].declaration.advertising.vendors[0].name: missing (required)");
}

Test(config, a_declaration_that_is_not_an_object_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(site0(r), "declaration", cJSON_CreateArray());
    expect_error(r, "$.sites[0].declaration: expected an object");
}

Test(config, too_many_storage_items_are_refused)
{
    cJSON *r = example();
    cJSON *arr = cJSON_GetObjectItem(decl(r, "analytics"), "storage");

    while (cJSON_GetArraySize(arr) <= 64)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(arr, 0), 1));
    expect_error(r, "$.sites[0].declaration.analytics.storage: at most 64 entries");
}
