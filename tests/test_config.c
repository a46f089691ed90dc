/* Unit tests for cgi/config.c: the example loads; each kind of bad
 * configuration is refused with the file, the JSON path and what was
 * expected. Bad configs are made by changing one thing in the example. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cgi/config.h"
#include "../cgi/declaration.h"
#include "../cgi/headcache.h"
#include "../cgi/texts.h"

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
static enum config_status load_tree(cJSON *root, char *err, size_t errlen,
                                    struct config *out)
{
    char path[] = "build/consent-config-XXXXXX";
    char *text = cJSON_Print(root);
    int fd = mkstemp(path);
    enum config_status st;

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

    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), CONFIG_INVALID);
    cr_assert(strstr(err, needle) != NULL, "want \"%s\" in \"%s\"", needle, err);
    cr_assert(strstr(err, "build/consent-config-") != NULL, "names the file: %s", err);
}

static cJSON *site0(cJSON *root)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(root, "sites"), 0);
}

static void add_category(cJSON *root, const char *id)
{
    cJSON *cat = cJSON_CreateObject();

    cJSON_AddStringToObject(cat, "id", id);
    cJSON_AddItemToArray(cJSON_GetObjectItem(site0(root), "categories"), cat);
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
    cr_assert(config_origin_allowed(s, "http://127.0.0.1:8081"));   /* make run's DE visitor */
    cr_assert_not(config_origin_allowed(s, "http://127.0.0.1:8079"));
    cr_assert_not(config_origin_allowed(s, "http://127.0.0.1:8091"));
    /* relative paths are taken from the config file's folder */
    cr_assert(strstr(cfg.rules_path, "cgi/../geo/rules.json") != NULL, "%s", cfg.rules_path);
    config_free(&cfg);
}

Test(config, gpp_cmp_id_defaults_to_the_unregistered_id_1)
{
    cJSON *root = example();
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.gpp_cmp_id, 1);
    config_free(&cfg);
}

Test(config, gpp_cmp_id_takes_a_registered_id)
{
    cJSON *root = example();
    struct config cfg;
    char err[512];

    cJSON_AddNumberToObject(root, "gpp_cmp_id", 4095);
    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.gpp_cmp_id, 4095);
    config_free(&cfg);
}

Test(config, a_gpp_cmp_id_out_of_range_or_not_an_integer_is_refused)
{
    const char *bad[] = {"0", "4096", "-1", "1.5", "\"31\"", "true"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *root = example();

        cJSON_AddItemToObject(root, "gpp_cmp_id", cJSON_Parse(bad[i]));
        expect_error(root, "$.gpp_cmp_id: expected an integer from 1 to 4095");
    }
}

Test(config, a_missing_file_is_refused)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(config_load(&cfg, "/nonexistent.json", err, sizeof(err)), CONFIG_INVALID);
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

/* The example's "redis" object replaced by the JSON text given. */
static cJSON *with_redis(const char *json)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(r, "redis", cJSON_Parse(json));
    return r;
}

Test(config, one_redis_server_is_the_single_topology_with_its_defaults)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(with_redis("{\"address\": \"127.0.0.1:6379\"}"), err,
                           sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.redis.topology, STORE_SINGLE);
    cr_assert_str_eq(cfg.redis.address, "127.0.0.1:6379");
    cr_assert_eq(cfg.redis.connect_timeout_ms, 250);
    cr_assert_eq(cfg.redis.command_timeout_ms, 500);
    cr_assert_eq(cfg.redis.min_replicas_acked, 0);
    cr_assert_eq(cfg.redis.nsentinels, 0);
    config_free(&cfg);
}

Test(config, sentinels_and_a_master_name_are_the_sentinel_topology)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(with_redis(
        "{\"sentinels\": [\"10.0.0.1:26379\", \"10.0.0.2:26379\", \"[::1]:26379\"],"
        " \"master_name\": \"consent\", \"min_replicas_acked\": 1,"
        " \"ack_timeout_ms\": 200}"), err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.redis.topology, STORE_SENTINEL);
    cr_assert_eq(cfg.redis.nsentinels, 3);
    cr_assert_str_eq(cfg.redis.sentinels[2], "[::1]:26379");
    cr_assert_str_eq(cfg.redis.master_name, "consent");
    cr_assert_eq(cfg.redis.min_replicas_acked, 1);
    cr_assert_eq(cfg.redis.ack_timeout_ms, 200);
    cr_assert_str_eq(cfg.redis.address, "");
    config_free(&cfg);
}

Test(config, the_wait_timeout_defaults_to_half_the_command_timeout)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(with_redis("{\"address\": \"unix:/run/redis/redis.sock\","
                                      " \"command_timeout_ms\": 800,"
                                      " \"min_replicas_acked\": 2}"),
                           err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.redis.ack_timeout_ms, 400);
    config_free(&cfg);
}

Test(config, redis_needs_exactly_one_of_address_sentinels_and_cluster)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"sentinels\": "
                            "[\"127.0.0.1:26379\"], \"master_name\": \"m\"}"),
                 "$.redis: expected one of \"address\" (one server), \"sentinels\"");
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"cluster\": "
                            "[\"127.0.0.1:7000\"]}"),
                 "$.redis: expected one of \"address\"");
    expect_error(with_redis("{\"connect_timeout_ms\": 100}"),
                 "$.redis: expected one of \"address\"");
}

Test(config, a_cluster_is_its_seed_nodes)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(with_redis("{\"cluster\": [\"10.0.0.1:7000\", \"10.0.0.2:7000\"],"
                                      " \"min_replicas_acked\": 1}"),
                           err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.redis.topology, STORE_CLUSTER);
    cr_assert_eq(cfg.redis.nseeds, 2);
    cr_assert_str_eq(cfg.redis.seeds[1], "10.0.0.2:7000");
    cr_assert_str_eq(store_topology_name(cfg.redis.topology), "cluster");
    config_free(&cfg);
}

Test(config, bad_cluster_seeds_are_refused_naming_them)
{
    expect_error(with_redis("{\"cluster\": [\"10.0.0.1:7000\", \"unix:/run/redis.sock\"]}"),
                 "$.redis.cluster[1]: expected \"host:port\"");
    expect_error(with_redis("{\"cluster\": [\"10.0.0.1\"]}"),
                 "$.redis.cluster[0]: expected \"host:port\"");
    expect_error(with_redis("{\"cluster\": []}"),
                 "$.redis.cluster: expected 1-16 addresses");
    expect_error(with_redis("{\"cluster\": [\"a:7000\", \"a:7000\"]}"),
                 "$.redis.cluster[1]: \"a:7000\" is listed twice");
    expect_error(with_redis("{\"cluster\": [\"a:7000\"], \"master_name\": \"m\"}"),
                 "$.redis.master_name: only with \"sentinels\"");
}

Test(config, sentinels_without_a_master_name_are_refused)
{
    expect_error(with_redis("{\"sentinels\": [\"127.0.0.1:26379\"]}"),
                 "$.redis.master_name: missing (required)");
}

Test(config, a_master_name_without_sentinels_is_refused)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"master_name\": \"m\"}"),
                 "$.redis.master_name: only with \"sentinels\"");
}

Test(config, a_bad_sentinel_address_is_refused_naming_it)
{
    expect_error(with_redis("{\"sentinels\": [\"127.0.0.1:26379\", \"sentinel-b\"],"
                            " \"master_name\": \"m\"}"),
                 "$.redis.sentinels[1]: expected \"host:port\" or \"unix:/path\"");
    expect_error(with_redis("{\"sentinels\": [\"127.0.0.1:26379\", 26379],"
                            " \"master_name\": \"m\"}"),
                 "$.redis.sentinels[1]: expected");
    expect_error(with_redis("{\"sentinels\": [], \"master_name\": \"m\"}"),
                 "$.redis.sentinels: expected 1-9 addresses");
}

Test(config, a_sentinel_listed_twice_is_refused)
{
    expect_error(with_redis("{\"sentinels\": [\"a:26379\", \"b:26379\", \"a:26379\"],"
                            " \"master_name\": \"m\"}"),
                 "$.redis.sentinels[2]: \"a:26379\" is listed twice");
}

Test(config, a_master_name_with_a_space_is_refused)
{
    expect_error(with_redis("{\"sentinels\": [\"a:26379\"], \"master_name\": \"my master\"}"),
                 "$.redis.master_name: expected letters, digits");
}

Test(config, a_wait_timeout_not_below_the_command_timeout_is_refused)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"min_replicas_acked\": 1,"
                            " \"ack_timeout_ms\": 500}"),
                 "$.redis.ack_timeout_ms: must be less than command_timeout_ms (500)");
}

Test(config, min_replicas_acked_is_bounded)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"min_replicas_acked\": 17}"),
                 "$.redis.min_replicas_acked");
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"min_replicas_acked\": -1}"),
                 "$.redis.min_replicas_acked");
}

/* A password file in build/ with mode and content; its path in path. */
static void password_file(char *path, size_t len, mode_t mode, const char *text)
{
    int fd;

    snprintf(path, len, "%s", "build/consent-redis-pass-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

/* The example with "redis": {"address", extra members given as JSON text
 * (without braces), "password_file": the absolute path}. */
static cJSON *with_password(const char *extra, const char *path)
{
    char json[PATH_MAX + 1024], abs[PATH_MAX];

    cr_assert_not_null(realpath(path, abs));
    snprintf(json, sizeof(json), "{\"address\": \"127.0.0.1:6379\", %s%s"
             "\"password_file\": \"%s\"}", extra, extra[0] ? ", " : "", abs);
    return with_redis(json);
}

Test(config, a_redis_password_is_read_from_its_file_without_the_newline)
{
    struct config cfg;
    char err[512], path[64];

    password_file(path, sizeof(path), 0600, "s3cret pass\n");
    cr_assert_eq(load_tree(with_password("\"username\": \"consentd\"", path), err,
                           sizeof(err), &cfg), 0, "%s", err);
    cr_assert_str_eq(cfg.redis.password, "s3cret pass");
    cr_assert_str_eq(cfg.redis.username, "consentd");
    config_free(&cfg);
    cr_assert_str_eq(cfg.redis.password, "", "wiped");
    unlink(path);
}

Test(config, a_redis_password_file_others_may_read_is_refused)
{
    char path[64];

    password_file(path, sizeof(path), 0640, "s3cret\n");
    expect_error(with_password("", path), "group or others may read it (chmod 600)");
    unlink(path);
}

Test(config, an_empty_or_multi_line_redis_password_file_is_refused)
{
    char path[64];

    password_file(path, sizeof(path), 0600, "\n");
    expect_error(with_password("", path), "expected one line holding the password");
    unlink(path);
    password_file(path, sizeof(path), 0600, "one\ntwo\n");
    expect_error(with_password("", path), "expected one line holding the password");
    unlink(path);
}

Test(config, a_missing_redis_password_file_is_refused_naming_it)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\","
                            " \"password_file\": \"/nonexistent/redis.pass\"}"),
                 "$.redis.password_file: /nonexistent/redis.pass: No such file or directory");
}

Test(config, a_redis_username_needs_a_password_file)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"username\": \"consentd\"}"),
                 "$.redis.username: only with \"password_file\"");
}

Test(config, an_unknown_redis_key_is_refused)
{
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"cluster\": [\"a:1\"]}"),
                 "$.redis");
    expect_error(with_redis("{\"address\": \"127.0.0.1:6379\", \"pasword\": \"x\"}"),
                 "$.redis.pasword: unknown key");
}

Test(config, a_bad_geoip_layout_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "geoip"), "layout",
                              cJSON_CreateString("city"));
    expect_error(r, "$.geoip.layout: expected \"geoip2\" or \"flat\"");
}

Test(config, a_geoip_database_string_is_one_file_without_a_family_rule)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(example(), err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_geq(cfg.ngeoip_paths, 1);
    config_free(&cfg);

    cJSON *r = example();

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "geoip"), "database",
                              cJSON_CreateString("/var/lib/GeoIP/one.mmdb"));
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.ngeoip_paths, 1);
    cr_assert_str_eq(cfg.geoip_paths[0], "/var/lib/GeoIP/one.mmdb");
    cr_assert_eq(cfg.geoip_coverage, GEO_COVER_ANY);
    config_free(&cfg);
}

Test(config, a_geoip_database_list_keeps_its_files_in_order)
{
    struct config cfg;
    char err[512];
    cJSON *r = example();
    const char *files[] = {"/var/lib/GeoIP/dbip-city-ipv6.mmdb", "v4.mmdb"};

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "geoip"), "database",
                              cJSON_CreateStringArray(files, 2));
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.ngeoip_paths, 2);
    cr_assert_eq(cfg.geoip_coverage, GEO_COVER_BOTH);
    cr_assert_str_eq(cfg.geoip_paths[0], "/var/lib/GeoIP/dbip-city-ipv6.mmdb");
    cr_assert_str_eq(cfg.geoip_paths[1], "build/v4.mmdb", "relative to the config's folder");
    config_free(&cfg);
}

static void expect_database_error(cJSON *database, const char *needle)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "geoip"), "database", database);
    expect_error(r, needle);
}

Test(config, a_bad_geoip_database_list_is_refused)
{
    const char *three[] = {"a.mmdb", "b.mmdb", "c.mmdb"};
    const char *twice[] = {"a.mmdb", "a.mmdb"};
    cJSON *mixed = cJSON_CreateArray();

    expect_database_error(cJSON_CreateArray(),
                          "$.geoip.database: expected a path or a list of 1-2 paths "
                          "(one file per address family)");
    expect_database_error(cJSON_CreateStringArray(three, 3),
                          "$.geoip.database: expected a path or a list of 1-2 paths");
    expect_database_error(cJSON_CreateNumber(4), "$.geoip.database: expected a path");
    expect_database_error(cJSON_CreateStringArray(twice, 2),
                          "$.geoip.database[1]: the same file as $.geoip.database[0]");
    cJSON_AddItemToArray(mixed, cJSON_CreateString("a.mmdb"));
    cJSON_AddItemToArray(mixed, cJSON_CreateString(""));
    expect_database_error(mixed, "$.geoip.database[1]: expected a string of 1-");
    expect_database_error(cJSON_CreateString(""),
                          "$.geoip.database: expected a string of 1-");
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

    cJSON_ReplaceItemInArray(o, 1, cJSON_CreateString("https://a.example/path"));
    expect_error(r, "$.sites[0].origins[1]: expected an origin");
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

/* Without "texts" there are no defaults: every language says everything. */
Test(config, a_missing_banner_text_is_refused_without_default_texts)
{
    cJSON *r = example();
    cJSON *en = cJSON_GetObjectItem(cJSON_GetObjectItem(site0(r), "languages"), "en");

    cJSON_DeleteItemFromObject(r, "texts");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(en, "opt-in"), "reject_all");
    expect_error(r, "$.sites[0].languages.en.opt-in.reject_all: missing (required: "
                    "no default texts for this language)");
}

Test(config, a_category_without_a_default_text_is_refused)
{
    cJSON *r = example();

    add_category(r, "loyalty");
    expect_error(r, "$.sites[0].languages.en.categories.loyalty: missing (required: "
                    "no default text for it in en.json)");
}

Test(config, a_category_without_a_default_text_loads_with_its_own_text_in_every_language)
{
    cJSON *r = example();
    cJSON *langs = cJSON_GetObjectItem(site0(r), "languages"), *l;
    const struct config_site *s;
    struct config cfg;
    char err[512];

    add_category(r, "loyalty");
    cJSON_ArrayForEach(l, langs) {
        cJSON *cats = cJSON_GetObjectItem(l, "categories"), *t = cJSON_CreateObject();

        if (cats == NULL)
            cats = cJSON_AddObjectToObject(l, "categories");
        cJSON_AddStringToObject(t, "name", "Loyalty");
        cJSON_AddStringToObject(t, "purpose", "Points for purchases.");
        cJSON_AddItemToObject(cats, "loyalty", t);
    }
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    s = config_site_find(&cfg, "demo");
    cr_assert(strstr(s->languages[2].texts[MODEL_OPT_IN],
                     "\"loyalty\":{\"name\":\"Loyalty\"") != NULL);
    config_free(&cfg);
}

Test(config, a_language_without_a_default_file_must_be_complete)
{
    cJSON *r = example();

    cJSON_AddItemToObject(cJSON_GetObjectItem(site0(r), "languages"), "fa",
                          cJSON_CreateObject());
    expect_error(r, "$.sites[0].languages.fa.opt-in: missing (required: "
                    "no default texts for this language)");
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
    cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), CONFIG_INVALID);
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

    cJSON_DeleteItemFromObject(r, "texts");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(en, "notice"), "policy");
    expect_error(r, "$.sites[0].languages.en.notice.policy: missing (required");
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

/* ---- default texts (i18n/): merging, fallback, and broken files ---- */

static cJSON *language(cJSON *root, const char *tag)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(site0(root), "languages"), tag);
}

/* The merged opt-in texts of tag in the example changed by change (may be
 * NULL); malloc'd, or NULL with the error in err. */
/* A language added to the example would also need a purpose for every
 * declared cookie; these texts tests leave the declaration out. */
static void without_declaration(cJSON *r)
{
    cJSON_DeleteItemFromObject(site0(r), "declaration");
}

static char *opt_in_texts(cJSON *r, const char *tag, char *err, size_t errlen)
{
    struct config cfg;
    const struct config_site *s;
    char *out = NULL;

    if (load_tree(r, err, errlen, &cfg) != 0)
        return NULL;
    s = config_site_find(&cfg, "demo");
    for (size_t i = 0; i < s->nlanguages; i++)
        if (strcmp(s->languages[i].tag, tag) == 0)
            out = strdup(s->languages[i].texts[MODEL_OPT_IN]);
    config_free(&cfg);
    return out;
}

/* A copy of i18n/ in build/ (absolute path into dir, PATH_MAX bytes). */
static void copy_i18n(char *dir)
{
    char tmpl[] = "build/i18n-XXXXXX", cmd[PATH_MAX + 64];

    cr_assert_not_null(mkdtemp(tmpl));
    cr_assert_not_null(realpath(tmpl, dir));
    snprintf(cmd, sizeof(cmd), "cp i18n/*.json '%s'/", dir);
    cr_assert_eq(system(cmd), 0);
}

static void remove_dir(const char *dir)
{
    char cmd[PATH_MAX + 64];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static cJSON *read_json(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    static char buf[128 * 1024];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

/* Writes tree (deleted) to dir/name. */
static void write_json(const char *dir, const char *name, cJSON *tree)
{
    char path[PATH_MAX + 64], *text = cJSON_Print(tree);
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cJSON_free(text);
    cJSON_Delete(tree);
}

/* The example using the default texts in dir. */
static cJSON *example_with_texts(const char *dir)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(r, "texts", cJSON_CreateString(dir));
    return r;
}

Test(config, a_language_given_as_empty_takes_its_default_file)
{
    char err[512], *t = opt_in_texts(example(), "fr", err, sizeof(err));

    cr_assert_not_null(t, "%s", err);
    cr_assert(strstr(t, "\"title\":\"Vos choix en matière de confidentialité\"") != NULL, "%s", t);
    cr_assert(strstr(t, "\"save\":\"Enregistrer mes choix\"") != NULL);
    cr_assert(strstr(t, "\"analytics\":{\"name\":\"Mesure d’audience\"") != NULL);
    free(t);
}

Test(config, a_site_text_wins_field_by_field_over_the_default)
{
    cJSON *r = example(), *fr = language(r, "fr"), *o = cJSON_AddObjectToObject(fr, "opt-in");
    cJSON *cats = cJSON_AddObjectToObject(fr, "categories"), *a = cJSON_AddObjectToObject(cats, "analytics");
    char err[512], *t;

    cJSON_AddStringToObject(o, "title", "Vos choix, chez nous");
    cJSON_AddStringToObject(a, "purpose", "Mesure maison.");
    t = opt_in_texts(r, "fr", err, sizeof(err));
    cr_assert_not_null(t, "%s", err);
    cr_assert(strstr(t, "\"title\":\"Vos choix, chez nous\"") != NULL, "%s", t);
    /* what the site does not say stays the default */
    cr_assert(strstr(t, "\"body\":\"Nous utilisons des cookies nécessaires") != NULL, "%s", t);
    cr_assert(strstr(t, "\"analytics\":{\"name\":\"Mesure d’audience\",\"purpose\":\"Mesure maison.\"}") != NULL,
              "%s", t);
    free(t);
}

Test(config, true_takes_the_default_texts_as_they_are)
{
    cJSON *r = example();
    char err[512], *t;

    cJSON_AddBoolToObject(cJSON_GetObjectItem(site0(r), "languages"), "it", 1);
    without_declaration(r);
    t = opt_in_texts(r, "it", err, sizeof(err));
    cr_assert_not_null(t, "%s", err);
    cr_assert(strstr(t, "\"accept_all\":\"Accetta tutti\"") != NULL, "%s", t);
    free(t);
}

Test(config, a_regional_tag_without_a_file_falls_back_to_its_base_language)
{
    cJSON *r = example();
    char err[512], *t;

    cJSON_AddItemToObject(cJSON_GetObjectItem(site0(r), "languages"), "de-AT", cJSON_CreateObject());
    without_declaration(r);
    t = opt_in_texts(r, "de-at", err, sizeof(err));
    cr_assert_not_null(t, "%s", err);
    /* i18n/de.json's text, not the site's own "de" */
    cr_assert(strstr(t, "\"save\":\"Meine Auswahl speichern\"") != NULL, "%s", t);
    free(t);
}

Test(config, a_regional_file_is_used_before_the_base_language)
{
    char err[512], *t = opt_in_texts(example(), "pt-br", err, sizeof(err));

    cr_assert_not_null(t, "%s", err);
    cr_assert(strstr(t, "\"save\":\"Salvar minhas escolhas\"") != NULL, "%s", t);
    cr_assert(strstr(t, "Guardar") == NULL, "not pt.json: %s", t);
    free(t);
}

Test(config, chinese_by_region_takes_the_script_file)
{
    cJSON *r = example();
    char err[512], *t;

    cJSON_AddBoolToObject(cJSON_GetObjectItem(site0(r), "languages"), "zh-TW", 1);
    without_declaration(r);
    t = opt_in_texts(r, "zh-tw", err, sizeof(err));
    cr_assert_not_null(t, "%s", err);
    cr_assert(strstr(t, "隱私權聲明") != NULL, "zh-Hant: %s", t);
    free(t);
}

Test(config, arabic_is_right_to_left_and_english_is_not)
{
    struct config cfg;
    char err[512];
    const struct config_site *s;

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
    s = config_site_find(&cfg, "demo");
    for (size_t i = 0; i < s->nlanguages; i++)
        cr_assert_eq(s->languages[i].rtl, strcmp(s->languages[i].tag, "ar") == 0,
                     "%s", s->languages[i].tag);
    config_free(&cfg);
    cr_assert(texts_rtl("he") && texts_rtl("fa") && texts_rtl("ur") && texts_rtl("az-arab"));
    cr_assert(!texts_rtl("ja") && !texts_rtl("ks-deva") && !texts_rtl("arn"));
}

Test(config, placeholders_are_compared_as_sets)
{
    char what[32] = "";

    cr_assert(texts_same_placeholders("{a} and {b} and {a}", "{b}, {a}", what, sizeof(what)));
    cr_assert_not(texts_same_placeholders("on {date}.", "on date.", what, sizeof(what)));
    cr_assert_str_eq(what, "{date}");
    cr_assert_not(texts_same_placeholders("x", "x {provider}", what, sizeof(what)));
    cr_assert_str_eq(what, "{provider}");
}

Test(config, an_unknown_text_in_a_site_language_is_refused)
{
    cJSON *r = example();

    cJSON_AddStringToObject(cJSON_AddObjectToObject(language(r, "fr"), "opt-in"), "colour", "x");
    expect_error(r, "$.sites[0].languages.fr.opt-in.colour: unknown key");
}

Test(config, a_language_that_is_neither_texts_nor_true_is_refused)
{
    cJSON *r = example();

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(site0(r), "languages"), "fr", cJSON_CreateFalse());
    expect_error(r, "$.sites[0].languages.fr: expected an object of texts, or true");
}

Test(config, a_changed_default_text_changes_the_hash_of_the_sites_showing_it)
{
    char dir[PATH_MAX], fr1[CONSENT_SHA256_HEX], en1[CONSENT_SHA256_HEX], err[512];
    struct config cfg;
    cJSON *fr;

    copy_i18n(dir);
    cr_assert_eq(load_tree(example_with_texts(dir), err, sizeof(err), &cfg), 0, "%s", err);
    strcpy(en1, cfg.sites[0].languages[0].texts_sha256[MODEL_OPT_IN]);
    strcpy(fr1, cfg.sites[0].languages[2].texts_sha256[MODEL_OPT_IN]);
    config_free(&cfg);

    fr = read_json(dir, "fr.json");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(fr, "panel"), "close",
                              cJSON_CreateString("Fermer le panneau"));
    write_json(dir, "fr.json", fr);
    cr_assert_eq(load_tree(example_with_texts(dir), err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_str_eq(cfg.sites[0].languages[2].tag, "fr");
    cr_assert_str_neq(cfg.sites[0].languages[2].texts_sha256[MODEL_OPT_IN], fr1);
    /* the site's own English says everything itself: unchanged */
    cr_assert_str_eq(cfg.sites[0].languages[0].texts_sha256[MODEL_OPT_IN], en1);
    config_free(&cfg);
    remove_dir(dir);
}

Test(config, a_default_file_missing_a_key_is_refused_naming_file_and_key)
{
    char dir[PATH_MAX];
    cJSON *de;

    copy_i18n(dir);
    de = read_json(dir, "de.json");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(de, "panel"), "saved");
    write_json(dir, "de.json", de);
    expect_error(example_with_texts(dir), "$.texts: ");
    expect_error(example_with_texts(dir), "/de.json: $.panel.saved: missing (en.json has it)");
    remove_dir(dir);
}

Test(config, a_default_file_losing_a_placeholder_is_refused)
{
    char dir[PATH_MAX];
    cJSON *ja;

    copy_i18n(dir);
    ja = read_json(dir, "ja.json");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(ja, "placeholder"), "title",
                              cJSON_CreateString("コンテンツはブロックされています"));
    write_json(dir, "ja.json", ja);
    expect_error(example_with_texts(dir), "/ja.json: $.placeholder.title: placeholder {provider}");
    remove_dir(dir);
}

Test(config, a_default_file_with_an_extra_category_is_refused)
{
    char dir[PATH_MAX];
    cJSON *sv, *t = cJSON_CreateObject();

    copy_i18n(dir);
    sv = read_json(dir, "sv.json");
    cJSON_AddStringToObject(t, "name", "Lojalitet");
    cJSON_AddStringToObject(t, "purpose", "Poäng.");
    cJSON_AddItemToObject(cJSON_GetObjectItem(sv, "categories"), "loyalty", t);
    write_json(dir, "sv.json", sv);
    expect_error(example_with_texts(dir), "/sv.json: $.categories.loyalty: unknown key (not in en.json)");
    remove_dir(dir);
}

Test(config, an_en_json_without_a_text_the_banner_needs_is_refused)
{
    char dir[PATH_MAX], cmd[PATH_MAX + 64];
    cJSON *en;

    copy_i18n(dir);
    snprintf(cmd, sizeof(cmd), "cd '%s' && ls | grep -vx en.json | xargs rm", dir);
    cr_assert_eq(system(cmd), 0);
    en = read_json(dir, "en.json");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(en, "panel"), "reopen");
    write_json(dir, "en.json", en);
    expect_error(example_with_texts(dir), "/en.json: $.panel.reopen: missing (required)");
    remove_dir(dir);
}

Test(config, a_default_file_not_named_by_a_language_tag_is_refused)
{
    char dir[PATH_MAX], cmd[2 * PATH_MAX + 64];

    copy_i18n(dir);
    snprintf(cmd, sizeof(cmd), "cp '%s/de.json' '%s/de_DE.json'", dir, dir);
    cr_assert_eq(system(cmd), 0);
    expect_error(example_with_texts(dir), "de_DE.json: expected a language tag");
    remove_dir(dir);
}

Test(config, a_default_file_with_an_empty_text_is_refused)
{
    char dir[PATH_MAX];
    cJSON *ar;

    copy_i18n(dir);
    ar = read_json(dir, "ar.json");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(ar, "notice"), "ok", cJSON_CreateString(""));
    write_json(dir, "ar.json", ar);
    expect_error(example_with_texts(dir), "/ar.json: $.notice.ok: expected a string of 1-");
    remove_dir(dir);
}

Test(config, a_default_file_that_is_not_utf8_is_refused)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    FILE *f;

    copy_i18n(dir);
    snprintf(path, sizeof(path), "%s/pl.json", dir);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("{\"opt-in\": \"\xc3\x28\"}", f);
    fclose(f);
    expect_error(example_with_texts(dir), "/pl.json: $: not valid UTF-8");
    remove_dir(dir);
}

Test(config, a_folder_of_default_texts_without_en_json_is_refused)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];

    copy_i18n(dir);
    snprintf(path, sizeof(path), "%s/en.json", dir);
    cr_assert_eq(unlink(path), 0);
    expect_error(example_with_texts(dir), "$.texts: ");
    expect_error(example_with_texts(dir), ": $: no en.json (the master every language follows)");
    remove_dir(dir);
}

Test(config, a_missing_folder_of_default_texts_is_refused)
{
    expect_error(example_with_texts("/nonexistent/i18n"),
                 "$.texts: /nonexistent/i18n: $: cannot open the folder of default texts");
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

    cJSON_AddStringToObject(cJSON_GetObjectItem(storage0(r, "analytics"), "purpose"), "ko", "Compter");
    expect_error(r, "$.sites[0].declaration.analytics.storage[0].purpose.ko: not a language of this site");
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

/* The installed configuration names the keys where systemd hands them over;
 * $CREDENTIALS_DIRECTORY says where they really are (the service's own
 * folder, or /etc/consentd for a check before the service runs). */
Test(config, credential_paths_are_read_from_the_credentials_directory)
{
    cJSON *r = example();
    struct config cfg;
    char err[512];

    cJSON_ReplaceItemInObject(r, "signing_key",
                              cJSON_CreateString("/run/credentials/consentd.service/signing.key"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "cookie"), "secret",
                              cJSON_CreateString("/run/credentials/consentd-2.service/cookie.key"));
    cr_assert_eq(setenv("CREDENTIALS_DIRECTORY", "/etc/consentd", 1), 0);
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_str_eq(cfg.signing_key_path, "/etc/consentd/signing.key");
    cr_assert_str_eq(cfg.cookie_secret_path, "/etc/consentd/cookie.key");
    config_free(&cfg);
}

Test(config, credential_paths_stay_as_written_without_an_absolute_credentials_directory)
{
    const char *values[] = {NULL, "", "etc/consentd"};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        cJSON *r = example();
        struct config cfg;
        char err[512];

        cJSON_ReplaceItemInObject(r, "signing_key",
                                  cJSON_CreateString("/run/credentials/consentd.service/signing.key"));
        if (values[i] == NULL)
            unsetenv("CREDENTIALS_DIRECTORY");
        else
            setenv("CREDENTIALS_DIRECTORY", values[i], 1);
        cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
        cr_assert_str_eq(cfg.signing_key_path, "/run/credentials/consentd.service/signing.key");
        config_free(&cfg);
    }
}

Test(config, only_a_file_directly_under_a_unit_folder_is_a_credential)
{
    cJSON *r = example();
    struct config cfg;
    char err[512];

    cJSON_ReplaceItemInObject(r, "signing_key",
                              cJSON_CreateString("/run/credentials/consentd.service/keys/signing.key"));
    setenv("CREDENTIALS_DIRECTORY", "/etc/consentd", 1);
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_str_eq(cfg.signing_key_path, "/run/credentials/consentd.service/keys/signing.key");
    config_free(&cfg);
}

Test(config, a_tokens_file_others_can_read_is_refused_naming_it)
{
    char path[] = "build/consent-tokens-XXXXXX";
    const char *text = "[]";
    int fd = mkstemp(path);
    cJSON *r, *admin;
    char abs[PATH_MAX];

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_not_null(realpath(path, abs));
    /* 0644, and group-readable only: refused, naming the key and the file */
    for (int i = 0; i < 2; i++) {
        char needle[PATH_MAX + 96];

        cr_assert_eq(chmod(path, i == 0 ? 0644 : 0640), 0);
        r = example();
        admin = cJSON_GetObjectItem(r, "admin");
        cJSON_ReplaceItemInObject(admin, "tokens_file", cJSON_CreateString(abs));
        snprintf(needle, sizeof(needle), "$.admin.tokens_file: %s: readable by group or others",
                 abs);
        expect_error(r, needle);
    }
    /* 0600, and 0400 as systemd hands credentials over: loaded */
    for (int i = 0; i < 2; i++) {
        struct config cfg;
        char err[512];

        cr_assert_eq(chmod(path, i == 0 ? 0600 : 0400), 0);
        r = example();
        admin = cJSON_GetObjectItem(r, "admin");
        cJSON_ReplaceItemInObject(admin, "tokens_file", cJSON_CreateString(abs));
        cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
        config_free(&cfg);
    }
    unlink(path);
}

Test(config, audit_max_entries_out_of_range_or_not_an_integer_is_refused)
{
    static const char *const bad[] = {"0", "-1", "100000001", "1.5", "\"10\"", "true"};
    char text[96], err[512];
    struct config cfg;
    cJSON *r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = example();
        snprintf(text, sizeof(text), "{\"audit_max_entries\": %s}", bad[i]);
        cJSON_ReplaceItemInObject(r, "admin", cJSON_Parse(text));
        expect_error(r, "$.admin.audit_max_entries: expected an integer from 1 to 100000000");
    }
    r = example();
    cJSON_ReplaceItemInObject(r, "admin", cJSON_Parse("{\"audit_max_entries\": 100000000}"));
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.audit_max_entries, 100000000L);
    config_free(&cfg);
}

/* ---- head_cache ---- */

static cJSON *with_head_cache(const char *json)
{
    cJSON *root = example();

    cJSON_AddItemToObject(root, "head_cache", cJSON_Parse(json));
    return root;
}

Test(config, the_head_cache_has_defaults)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(example(), err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.head_cache_entries, HEADCACHE_DEFAULT_ENTRIES);
    cr_assert_eq(cfg.head_cache_max_age_ms, HEADCACHE_DEFAULT_MAX_AGE_MS);
    config_free(&cfg);
}

Test(config, the_head_cache_takes_entries_and_max_age)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(with_head_cache("{\"entries\": 0, \"max_age_ms\": 250}"), err,
                           sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.head_cache_entries, 0);
    cr_assert_eq(cfg.head_cache_max_age_ms, 250);
    config_free(&cfg);
}

Test(config, under_cluster_the_head_cache_age_defaults_to_one_second)
{
    struct config cfg;
    char err[512];

    cr_assert_eq(load_tree(with_redis("{\"cluster\": [\"10.0.0.1:7000\"]}"), err, sizeof(err),
                           &cfg), 0, "%s", err);
    cr_assert_eq(cfg.head_cache_max_age_ms, 1000);
    config_free(&cfg);
}

Test(config, head_cache_values_out_of_range_are_refused)
{
    expect_error(with_head_cache("{\"entries\": -1}"), "$.head_cache.entries");
    expect_error(with_head_cache("{\"entries\": 1000001}"), "$.head_cache.entries");
    expect_error(with_head_cache("{\"max_age_ms\": 0}"), "$.head_cache.max_age_ms");
    expect_error(with_head_cache("{\"max_age_ms\": 3600001}"), "$.head_cache.max_age_ms");
    expect_error(with_head_cache("{\"max_age_ms\": \"1s\"}"), "$.head_cache.max_age_ms");
    expect_error(with_head_cache("{\"size\": 10}"), "$.head_cache");
}

Test(config, analytics_keep_400_days_and_flush_every_2_s_by_default)
{
    struct config cfg;
    char err[512];
    cJSON *root = example();

    cJSON_DeleteItemFromObject(root, "stats");
    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.stats_retention_days, 400);
    cr_assert_eq(cfg.stats_flush_ms, 2000);
    config_free(&cfg);

    root = example();
    cJSON_DeleteItemFromObject(root, "stats");
    cJSON_AddItemToObject(root, "stats",
                          cJSON_Parse("{\"retention_days\": 30, \"flush_ms\": 500}"));
    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.stats_retention_days, 30);
    cr_assert_eq(cfg.stats_flush_ms, 500);
    config_free(&cfg);
}

Test(config, analytics_settings_out_of_range_or_unknown_are_refused)
{
    static const char *const bad[][2] = {
        {"{\"flush_ms\": 50}", "$.stats"},
        {"{\"flush_ms\": 600000}", "$.stats"},
        {"{\"retention_days\": 0}", "$.stats"},
        {"{\"retention_days\": 4000}", "$.stats"},
        {"{\"keep\": 1}", "$.stats"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *root = example();

        cJSON_DeleteItemFromObject(root, "stats");
        cJSON_AddItemToObject(root, "stats", cJSON_Parse(bad[i][0]));
        expect_error(root, bad[i][1]);
    }
}

Test(config, a_token_may_hold_the_stats_role)
{
    struct config cfg;
    char err[512];
    cJSON *root = example();

    cJSON_ReplaceItemInObject(root, "admin", cJSON_Parse(
        "{\"tokens\": [{\"name\": \"analyst\", \"roles\": [\"stats\"], \"sha256\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}"));
    cr_assert_eq(load_tree(root, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert_eq(cfg.tokens[0].roles, ROLE_STATS);
    config_free(&cfg);
    root = example();
    cJSON_ReplaceItemInObject(root, "admin", cJSON_Parse(
        "{\"tokens\": [{\"name\": \"analyst\", \"roles\": [\"statistics\"], \"sha256\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}"));
    expect_error(root, "\"stats\"");
}

Test(config, each_role_has_one_name_that_parses_back_to_it)
{
    static const enum config_role roles[] = {ROLE_READ, ROLE_ERASE, ROLE_AUDIT, ROLE_STATS};
    static const char *const names[] = {"read", "erase", "audit", "stats"};
    enum config_role back;

    cr_assert_eq(sizeof(roles) / sizeof(roles[0]), CONFIG_ROLE_COUNT);
    for (int i = 0; i < CONFIG_ROLE_COUNT; i++) {
        cr_assert_str_eq(config_role_name(roles[i]), names[i]);
        cr_assert_eq(config_role_parse(names[i], &back), CONFIG_OK);
        cr_assert_eq(back, roles[i]);
    }
    cr_assert_null(config_role_name((enum config_role)(ROLE_READ | ROLE_ERASE)));
    cr_assert_null(config_role_name((enum config_role)0));
    cr_assert_eq(config_role_parse("statistics", &back), CONFIG_BAD_ROLE);
    cr_assert_eq(config_role_parse("Read", &back), CONFIG_BAD_ROLE);
    cr_assert_eq(config_role_parse("", &back), CONFIG_BAD_ROLE);
}

Test(config, strerror_names_every_status)
{
    cr_assert_str_eq(config_strerror(CONFIG_OK), "ok");
    cr_assert_str_eq(config_strerror(CONFIG_INVALID), "configuration unreadable or invalid");
    cr_assert_str_eq(config_strerror(CONFIG_BAD_ROLE), "not a role (read, erase, audit, stats)");
    cr_assert_str_eq(config_strerror(12345), "unknown error");
    cr_assert_str_eq(texts_strerror(TEXTS_NO_FOLDER), "cannot open the folder of default texts");
    cr_assert_str_eq(texts_strerror(TEXTS_INVALID), "default texts invalid");
    cr_assert_str_eq(texts_strerror(12345), "unknown error");
    cr_assert_str_eq(declaration_strerror(DECLARATION_INVALID), "declaration invalid");
    cr_assert_str_eq(declaration_strerror(DECLARATION_NO_MEMORY), "out of memory");
    cr_assert_str_eq(declaration_strerror(12345), "unknown error");
}

/* The example's site with an experiment of two variants (b given as JSON). */
static cJSON *with_variants(const char *b)
{
    cJSON *root = example();
    char text[1024];

    snprintf(text, sizeof(text), "[{\"id\": \"a-control\", \"weight\": 3}, %s]", b);
    cJSON_AddItemToObject(site0(root), "variants", cJSON_Parse(text));
    return root;
}

Test(config, variants_get_their_own_texts_layout_and_share_of_buckets)
{
    struct config cfg;
    char err[512];
    const struct config_site *s;
    const struct config_language *found;
    int model = -1;

    cr_assert_eq(load_tree(with_variants(
        "{\"id\": \"b\", \"weight\": 1, \"layout\": \"box-center\", \"languages\": "
        "{\"en\": {\"opt-in\": {\"title\": \"Cookies?\"}}}}"), err, sizeof(err), &cfg), 0,
        "%s", err);
    s = &cfg.sites[0];
    cr_assert_eq(s->nvariants, 2);
    cr_assert_str_eq(s->variants[1].layout, "box-center");
    cr_assert_str_eq(s->variants[0].layout, "");
    /* a-control says nothing of its own: the site's texts, the same hash */
    cr_assert_str_eq(s->variants[0].languages[0].texts_sha256[MODEL_OPT_IN],
                     s->languages[0].texts_sha256[MODEL_OPT_IN]);
    cr_assert_str_neq(s->variants[1].languages[0].texts_sha256[MODEL_OPT_IN],
                      s->languages[0].texts_sha256[MODEL_OPT_IN]);
    cr_assert(strstr(s->variants[1].languages[0].texts[MODEL_OPT_IN], "Cookies?") != NULL);
    /* only the opt-in banner of English changed */
    cr_assert_str_eq(s->variants[1].languages[0].texts_sha256[MODEL_OPT_OUT],
                     s->languages[0].texts_sha256[MODEL_OPT_OUT]);
    cr_assert_str_eq(s->variants[1].languages[1].texts_sha256[MODEL_OPT_IN],
                     s->languages[1].texts_sha256[MODEL_OPT_IN]);
    found = config_texts_by_hash(s, 1, s->variants[1].languages[0].texts_sha256[MODEL_OPT_IN],
                                 &model);
    cr_assert_eq(found, &s->variants[1].languages[0]);
    cr_assert_eq(model, MODEL_OPT_IN);
    cr_assert_null(config_texts_by_hash(s, -1, s->variants[1].languages[0].texts_sha256[MODEL_OPT_IN],
                                        &model), "not the site's own texts");
    cr_assert_null(config_texts_by_hash(s, 2, s->languages[0].texts_sha256[MODEL_OPT_IN], &model));
    cr_assert_eq(config_variant_index(s, "b"), 1);
    cr_assert_eq(config_variant_index(s, "c"), -1);
    /* weights 3:1 -> buckets 0-74 and 75-99 */
    cr_assert_eq(config_variant_of_bucket(s, 0), 0);
    cr_assert_eq(config_variant_of_bucket(s, 74), 0);
    cr_assert_eq(config_variant_of_bucket(s, 75), 1);
    cr_assert_eq(config_variant_of_bucket(s, 99), 1);
    config_free(&cfg);
}

Test(config, a_variant_that_weakens_reject_all_is_refused)
{
    expect_error(with_variants("{\"id\": \"b\", \"languages\": {\"en\": {\"opt-in\": "
                               "{\"reject_all\": \" \\u00a0 \"}}}}"),
                 "$.sites[0].variants[1].languages.en.opt-in: reject_all: a variant must keep");
    expect_error(with_variants("{\"id\": \"b\", \"languages\": {\"en\": {\"opt-in\": "
                               "{\"reject_all\": \"OK\", \"accept_all\": \"OK\"}}}}"),
                 "reject_all: a variant must keep \"Reject all\" as visible");
    expect_error(with_variants("{\"id\": \"b\", \"languages\": {\"en\": {\"opt-in\": "
                               "{\"reject_all\": \"\"}}}}"),
                 "$.sites[0].variants[1].languages.en.opt-in");
}

Test(config, malformed_variants_are_refused)
{
    cJSON *root = example();

    cJSON_AddItemToObject(site0(root), "variants", cJSON_Parse("[{\"id\": \"a\"}]"));
    expect_error(root, "$.sites[0].variants: expected 2-8 variants");
    expect_error(with_variants("{\"id\": \"a-control\"}"), "is used twice");
    expect_error(with_variants("{\"id\": \"B!\"}"), "id: expected 1-32 characters");
    expect_error(with_variants("{\"id\": \"b\", \"weight\": 0}"), "$.sites[0].variants[1]");
    expect_error(with_variants("{\"id\": \"b\", \"layout\": \"popup\"}"),
                 "$.sites[0].variants[1].layout: expected bar-bottom");
    expect_error(with_variants("{\"id\": \"b\", \"languages\": {\"xx\": {}}}"),
                 "$.sites[0].variants[1].languages.xx: not a language of this site");
    expect_error(with_variants("{\"id\": \"b\", \"colour\": \"red\"}"), "$.sites[0].variants[1]");
}

Test(config, a_site_declares_gpp_fields_by_their_iab_names)
{
    cJSON *r = example(), *g = cJSON_CreateObject();
    struct config cfg;
    char err[512];

    cJSON_AddNumberToObject(g, "SaleOptOutNotice", 2);
    cJSON_AddNumberToObject(g, "MspaCoveredTransaction", 1);
    cJSON_AddItemToObject(site0(r), "gpp", g);
    cr_assert_eq(load_tree(r, err, sizeof(err), &cfg), 0, "%s", err);
    cr_assert(cfg.sites[0].gpp_set[GPP_F_SALE_OPT_OUT_NOTICE]);
    cr_assert_eq(cfg.sites[0].gpp_value[GPP_F_SALE_OPT_OUT_NOTICE], 2);
    cr_assert_eq(cfg.sites[0].gpp_value[GPP_F_MSPA_COVERED_TRANSACTION], 1);
    cr_assert_not(cfg.sites[0].gpp_set[GPP_F_SHARING_OPT_OUT_NOTICE]);
    config_free(&cfg);
}

Test(config, gpp_fields_out_of_range_or_unknown_are_refused_with_their_path)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"SaleOptOutNotice\": 3}", "$.sites[0].gpp.SaleOptOutNotice: expected an integer from 0 to 2"},
        {"{\"MspaCoveredTransaction\": 0}", "$.sites[0].gpp.MspaCoveredTransaction: expected an integer from 1 to 2"},
        {"{\"SaleOptOutNotice\": \"1\"}", "$.sites[0].gpp.SaleOptOutNotice: expected an integer"},
        {"{\"SaleOptOut\": 1}", "$.sites[0].gpp.SaleOptOut: not a GPP field a site declares"},
        {"{\"Gpc\": 1}", "$.sites[0].gpp.Gpc: not a GPP field a site declares"},
        {"{\"SensitiveDataProcessing\": 1}", "$.sites[0].gpp.SensitiveDataProcessing: not a GPP field"},
        {"{\"Colour\": 1}", "$.sites[0].gpp.Colour: not a GPP field a site declares"},
        {"[]", "$.sites[0].gpp: expected an object"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *r = example();

        cJSON_AddItemToObject(site0(r), "gpp", cJSON_Parse(bad[i].json));
        expect_error(r, bad[i].needle);
    }
}
