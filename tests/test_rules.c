/* Unit tests for geo/rules.c: the shipped table, most-specific matching,
 * GPC dates and every kind of bad rules file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../geo/rules.h"

static struct rules shipped;

static void load_shipped(void)
{
    char err[512];

    cr_assert_eq(rules_load(&shipped, "geo/rules.json", err, sizeof(err)),
                 RULES_OK, "%s", err);
}

static void free_shipped(void)
{
    rules_free(&shipped);
}

static const char *match(const char *country, const char *sub)
{
    struct jurisdiction j;

    rules_match(&shipped, country, sub, &j);
    return j.regime->id;
}

TestSuite(rules, .init = load_shipped, .fini = free_shipped);

Test(rules, eea_and_uk_are_opt_in)
{
    const char *eea[] = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI",
                         "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
                         "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
                         "LI", "NO", "FR", "GB"};
    struct jurisdiction j;

    for (size_t i = 0; i < sizeof(eea) / sizeof(eea[0]); i++) {
        rules_match(&shipped, eea[i], "", &j);
        cr_expect_eq(j.regime->model, MODEL_OPT_IN, "%s", eea[i]);
        cr_expect_eq(j.regime->gpc_binding, 0, "%s", eea[i]);
    }
    cr_assert_str_eq(match("FR", "IDF"), "gdpr-fr");
}

Test(rules, the_most_specific_region_wins)
{
    struct jurisdiction j;

    rules_match(&shipped, "US", "CA", &j);
    cr_assert_str_eq(j.regime->id, "ccpa");
    cr_assert_str_eq(j.region, "US-CA");
    rules_match(&shipped, "US", "WA", &j);
    cr_assert_str_eq(j.regime->id, "us-notice");
    cr_assert_str_eq(j.region, "US");
    rules_match(&shipped, "CA", "QC", &j);
    cr_assert_str_eq(j.regime->model == MODEL_OPT_IN ? "opt-in" : "x", "opt-in");
    cr_assert_str_eq(match("CA", "ON"), "pipeda");
    cr_assert_str_eq(match("DE", "BY"), "gdpr");
}

Test(rules, unknown_and_empty_regions_fall_to_the_default)
{
    struct jurisdiction j;

    rules_match(&shipped, "", "", &j);
    cr_assert_str_eq(j.regime->id, "default");
    cr_assert_str_eq(j.region, "");
    cr_assert_str_eq(match("ZZ", ""), "default");
    cr_assert_str_eq(match("", "CA"), "default");
    cr_assert_str_eq(match("USA", "CA"), "default");
}

Test(rules, the_default_table_models)
{
    cr_assert_str_eq(rules_model_name(shipped.regimes[0].model), "opt-in");
    cr_assert_str_eq(match("BR", ""), "lgpd");
    cr_assert_str_eq(match("CN", ""), "pipl");
    cr_assert_str_eq(match("KR", ""), "pipa");
    cr_assert_str_eq(match("JP", ""), "appi");
    cr_assert_str_eq(match("AU", "NSW"), "au-privacy");
    cr_assert_str_eq(match("CH", ""), "ch-revfadp");
}

Test(rules, gpc_is_binding_only_from_its_date)
{
    struct jurisdiction j;

    rules_match(&shipped, "US", "OR", &j);
    cr_assert(j.regime->gpc_binding);
    /* 2025-12-31 vs 2026-01-01 00:00 UTC */
    cr_assert_eq(rules_gpc_binding(j.regime, 1767139200), 0);
    cr_assert_eq(rules_gpc_binding(j.regime, 1767225600), 1);
    rules_match(&shipped, "US", "VA", &j);
    cr_assert_eq(rules_gpc_binding(j.regime, 1767225600), 0);
    rules_match(&shipped, "US", "CA", &j);
    cr_assert_eq(j.regime->optout_quiet_days, 365);
}

/* ---- bad files ---- */

static int load_text(const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/consent-rules-XXXXXX";
    int fd = mkstemp(path);
    struct rules r;
    int st;

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    st = rules_load(&r, path, err, errlen);
    unlink(path);
    if (st == RULES_OK)
        rules_free(&r);
    return st;
}

#define REGIME(extra) \
    "{\"id\":\"a\",\"name\":\"A\",\"model\":\"opt-in\",\"gpc_binding\":false," \
    "\"consent_days\":30,\"regions\":[\"DE\"]" extra "}"

static void expect_error(const char *text, const char *needle)
{
    char err[512];

    cr_assert_eq(load_text(text, err, sizeof(err)), RULES_INVALID, "%s", text);
    cr_assert(strstr(err, needle) != NULL, "want \"%s\" in \"%s\"", needle, err);
}

Test(rules_file, a_minimal_file_loads)
{
    char err[512];

    cr_assert_eq(load_text("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("") "]}",
                           err, sizeof(err)), RULES_OK, "%s", err);
}

Test(rules_file, a_missing_file_names_the_file)
{
    struct rules r;
    char err[512];

    cr_assert_eq(rules_load(&r, "/nonexistent/rules.json", err, sizeof(err)), RULES_INVALID);
    cr_assert(strstr(err, "/nonexistent/rules.json") != NULL, "%s", err);
}

Test(rules_file, invalid_json_says_where)
{
    expect_error("{\"version\": \n  nope}", "not valid JSON (line 2");
}

Test(rules_file, an_unknown_key_is_refused_with_its_path)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME(",\"colour\":1") "]}",
                 "$.regimes[0].colour: unknown key");
}

Test(rules_file, a_wrong_type_is_refused)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":["
                 "{\"id\":\"a\",\"name\":\"A\",\"model\":\"opt-in\",\"gpc_binding\":\"no\","
                 "\"consent_days\":30,\"regions\":[]}]}",
                 "$.regimes[0].gpc_binding: expected true or false");
}

Test(rules_file, a_bad_model_and_bad_days_are_refused)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":["
                 "{\"id\":\"a\",\"name\":\"A\",\"model\":\"maybe\",\"gpc_binding\":false,"
                 "\"consent_days\":30,\"regions\":[]}]}",
                 "$.regimes[0].model: expected");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":["
                 "{\"id\":\"a\",\"name\":\"A\",\"model\":\"notice\",\"gpc_binding\":false,"
                 "\"consent_days\":0,\"regions\":[]}]}",
                 "$.regimes[0].consent_days: expected an integer from 1 to 3650");
}

Test(rules_file, a_missing_field_is_refused)
{
    expect_error("{\"version\":\"1\",\"regimes\":[" REGIME("") "]}",
                 "$.default: missing (required)");
}

Test(rules_file, the_default_must_name_a_regime)
{
    expect_error("{\"version\":\"1\",\"default\":\"zz\",\"regimes\":[" REGIME("") "]}",
                 "$.default: \"zz\" is not the id of a regime");
}

Test(rules_file, a_region_listed_twice_is_refused)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("") ","
                 "{\"id\":\"b\",\"name\":\"B\",\"model\":\"notice\",\"gpc_binding\":false,"
                 "\"consent_days\":30,\"regions\":[\"DE\"]}]}",
                 "region \"DE\" is listed twice");
}

Test(rules_file, malformed_region_codes_are_refused)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":["
                 "{\"id\":\"a\",\"name\":\"A\",\"model\":\"notice\",\"gpc_binding\":false,"
                 "\"consent_days\":30,\"regions\":[\"de\"]}]}",
                 "$.regimes[0].regions[0]: expected an ISO 3166 code");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":["
                 "{\"id\":\"a\",\"name\":\"A\",\"model\":\"notice\",\"gpc_binding\":false,"
                 "\"consent_days\":30,\"regions\":[\"US-CALIF\"]}]}",
                 "$.regimes[0].regions[0]");
}

Test(rules_file, gpc_dates_must_be_dates_and_need_binding)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME(",\"gpc_binding_since\":\"2025-01-01\"") "]}",
                 "only allowed with \"gpc_binding\": true");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":["
                 "{\"id\":\"a\",\"name\":\"A\",\"model\":\"notice\",\"gpc_binding\":true,"
                 "\"gpc_binding_since\":\"2025-13-01\",\"consent_days\":30,\"regions\":[]}]}",
                 "expected a date YYYY-MM-DD");
}

Test(rules_file, duplicate_ids_and_duplicate_keys_are_refused)
{
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("") ","
                 "{\"id\":\"a\",\"name\":\"B\",\"model\":\"notice\",\"gpc_binding\":false,"
                 "\"consent_days\":30,\"regions\":[]}]}",
                 "\"a\" is used by another regime");
    expect_error("{\"version\":\"1\",\"version\":\"2\",\"default\":\"a\",\"regimes\":[" REGIME("") "]}",
                 "$.version: key given twice");
}

static int gpp_of(const char *country, const char *sub)
{
    struct jurisdiction j;

    rules_match(&shipped, country, sub, &j);
    return j.gpp_sid;
}

Test(rules, us_states_get_their_gpp_section_and_the_rest_of_the_us_usnat)
{
    cr_assert_eq(gpp_of("US", "CA"), 8);      /* usca */
    cr_assert_eq(gpp_of("US", "CO"), 10);     /* usco */
    cr_assert_eq(gpp_of("US", "VA"), 9);      /* usva */
    cr_assert_eq(gpp_of("US", "MD"), 24);     /* usmd */
    cr_assert_eq(gpp_of("US", "RI"), 27);     /* usri */
    cr_assert_eq(gpp_of("US", "WA"), 7);      /* no state rule: usnat */
    cr_assert_eq(gpp_of("US", ""), 7);
    cr_assert_eq(gpp_of("DE", ""), 0);        /* no GPP section outside the US */
    cr_assert_eq(gpp_of("CA", "QC"), 0);
    cr_assert_eq(gpp_of("", ""), 0);
}

Test(rules_file, gpp_sections_name_listed_regions_and_known_sections)
{
    char err[512];

    cr_assert_eq(load_text("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                           "],\"gpp_sections\":{\"DE\":\"usnat\"}}", err, sizeof(err)),
                 RULES_OK, "%s", err);
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                 "],\"gpp_sections\":{\"DE\":\"usxx\"}}",
                 "$.gpp_sections.DE: \"usxx\" is not a GPP section this consentd encodes");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                 "],\"gpp_sections\":{\"DE\":\"tcfeuv2\"}}",
                 "$.gpp_sections.DE: \"tcfeuv2\" is not a GPP section");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                 "],\"gpp_sections\":{\"DE\":\"uspv1\"}}",
                 "$.gpp_sections.DE: \"uspv1\" is not a GPP section this consentd encodes");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                 "],\"gpp_sections\":{\"US-WA\":\"usnat\"}}",
                 "$.gpp_sections.US-WA: \"US-WA\" is not a region of any regime");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                 "],\"gpp_sections\":{\"DE\":7}}",
                 "$.gpp_sections.DE: expected the name of a GPP section");
    expect_error("{\"version\":\"1\",\"default\":\"a\",\"regimes\":[" REGIME("")
                 "],\"gpp_sections\":[]}",
                 "$.gpp_sections: expected an object");
}

Test(rules, model_names_parse_back_and_anything_else_is_refused)
{
    enum consent_model m;

    for (int i = 0; i < MODEL_COUNT; i++) {
        cr_assert_eq(rules_model_parse(rules_model_name((enum consent_model)i), &m), RULES_OK);
        cr_assert_eq(m, (enum consent_model)i);
    }
    cr_assert_eq(rules_model_parse("opt_in", &m), RULES_BAD_MODEL);
    cr_assert_eq(rules_model_parse("", &m), RULES_BAD_MODEL);
}

Test(rules, strerror_names_every_status)
{
    cr_assert_str_eq(rules_strerror(RULES_OK), "ok");
    cr_assert_str_eq(rules_strerror(RULES_INVALID), "rules unreadable or invalid");
    cr_assert_str_eq(rules_strerror(RULES_BAD_MODEL),
                     "not a consent model (opt-in, opt-out, notice)");
    cr_assert_str_eq(rules_strerror(12345), "unknown error");
}
