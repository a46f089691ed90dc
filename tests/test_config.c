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

Test(config, signals_are_kept_as_printed_json)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(cfg.sites[0].signals);
    cr_assert(strstr(cfg.sites[0].signals, "\"uet\":\"advertising\"") != NULL, "%s",
              cfg.sites[0].signals);
    config_free(&cfg);
}

Test(config, a_signal_for_an_unknown_category_is_refused)
{
    cJSON *r = example();
    cJSON *s = cJSON_GetObjectItem(site0(r), "signals");

    cJSON_ReplaceItemInObject(s, "meta", cJSON_CreateString("social"));
    expect_error(r, "$.sites[0].signals.meta: not a category of this site");
}

Test(config, a_signal_for_a_necessary_category_is_refused)
{
    cJSON *r = example();
    cJSON *s = cJSON_GetObjectItem(site0(r), "signals");

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(s, "clarity"), "ad",
                              cJSON_CreateString("necessary"));
    expect_error(r, "$.sites[0].signals.clarity.ad: a necessary category is always on");
}

Test(config, an_unknown_vendor_signal_is_refused)
{
    cJSON *r = example();
    cJSON *s = cJSON_GetObjectItem(site0(r), "signals");

    cJSON_AddItemToObject(s, "linkedin", cJSON_CreateString("advertising"));
    expect_error(r, "$.sites[0].signals.linkedin");
}

Test(config, an_empty_clarity_signal_is_refused)
{
    cJSON *r = example();
    cJSON *s = cJSON_GetObjectItem(site0(r), "signals");

    cJSON_ReplaceItemInObject(s, "clarity", cJSON_CreateObject());
    expect_error(r, "$.sites[0].signals.clarity: expected {");
}
