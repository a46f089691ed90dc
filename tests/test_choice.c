/* Unit tests for the body of POST /consent/v1/consents (cgi/choice.c) and
 * the JSON-text rules it shares with the configuration loader
 * (common/jcheck.c): UTF-8 well-formedness case by case, UTF-8-safe
 * shortening of echoed text, and duplicate keys at every level.
 *
 * The jcheck cases live here because the body is where outside text meets
 * them; tests/test_config.c covers jcheck's configuration errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../cgi/choice.h"
#include "../common/jcheck.h"
#include "../cgi/request.h"

#define EXAMPLE "cgi/consentd.example.json"

/* ---- jcheck_utf8: one test per kind of sequence ---- */

static int utf8(const char *s, size_t len, size_t *off)
{
    return jcheck_utf8(s, len, off);
}
#define UTF8(lit, off) utf8(lit, sizeof(lit) - 1, off)

Test(jcheck, utf8_accepts_ascii_and_every_length_of_character)
{
    /* $ (1 byte), é (2), € (3), 𝄞 (4) */
    cr_assert_eq(UTF8("$ \xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E", NULL), JCHECK_UTF8_OK);
    cr_assert_eq(UTF8("", NULL), JCHECK_UTF8_OK);
}

Test(jcheck, utf8_accepts_the_edges_of_each_range)
{
    cr_assert_eq(UTF8("\x7F", NULL), JCHECK_UTF8_OK);                 /* U+007F */
    cr_assert_eq(UTF8("\xC2\x80", NULL), JCHECK_UTF8_OK);             /* U+0080 */
    cr_assert_eq(UTF8("\xDF\xBF", NULL), JCHECK_UTF8_OK);             /* U+07FF */
    cr_assert_eq(UTF8("\xE0\xA0\x80", NULL), JCHECK_UTF8_OK);         /* U+0800 */
    cr_assert_eq(UTF8("\xED\x9F\xBF", NULL), JCHECK_UTF8_OK);         /* U+D7FF */
    cr_assert_eq(UTF8("\xEE\x80\x80", NULL), JCHECK_UTF8_OK);         /* U+E000 */
    cr_assert_eq(UTF8("\xEF\xBF\xBF", NULL), JCHECK_UTF8_OK);         /* U+FFFF */
    cr_assert_eq(UTF8("\xF0\x90\x80\x80", NULL), JCHECK_UTF8_OK);     /* U+10000 */
    cr_assert_eq(UTF8("\xF4\x8F\xBF\xBF", NULL), JCHECK_UTF8_OK);     /* U+10FFFF */
}

Test(jcheck, utf8_treats_nul_as_an_ordinary_byte)
{
    cr_assert_eq(UTF8("a\0b", NULL), JCHECK_UTF8_OK);
}

Test(jcheck, utf8_rejects_a_lone_continuation_byte_and_says_where)
{
    size_t off = 99;

    cr_assert_eq(UTF8("ab\x80", &off), JCHECK_UTF8_BAD_BYTE);
    cr_assert_eq(off, 2);
    cr_assert_eq(UTF8("\xBF", NULL), JCHECK_UTF8_BAD_BYTE);
}

Test(jcheck, utf8_rejects_bytes_that_never_start_a_character)
{
    cr_assert_eq(UTF8("\xF8\x88\x80\x80\x80", NULL), JCHECK_UTF8_BAD_BYTE);
    cr_assert_eq(UTF8("\xFE", NULL), JCHECK_UTF8_BAD_BYTE);
    cr_assert_eq(UTF8("\xFF", NULL), JCHECK_UTF8_BAD_BYTE);
}

Test(jcheck, utf8_rejects_a_two_byte_overlong_encoding)
{
    cr_assert_eq(UTF8("\xC0\xAF", NULL), JCHECK_UTF8_OVERLONG);   /* '/' */
    cr_assert_eq(UTF8("\xC1\xBF", NULL), JCHECK_UTF8_OVERLONG);
    cr_assert_eq(UTF8("\xC0\x80", NULL), JCHECK_UTF8_OVERLONG);   /* "modified UTF-8" NUL */
}

Test(jcheck, utf8_rejects_a_three_byte_overlong_encoding)
{
    cr_assert_eq(UTF8("\xE0\x80\xAF", NULL), JCHECK_UTF8_OVERLONG);
    cr_assert_eq(UTF8("\xE0\x9F\xBF", NULL), JCHECK_UTF8_OVERLONG);  /* U+07FF in 3 */
}

Test(jcheck, utf8_rejects_a_four_byte_overlong_encoding)
{
    cr_assert_eq(UTF8("\xF0\x80\x80\xAF", NULL), JCHECK_UTF8_OVERLONG);
    cr_assert_eq(UTF8("\xF0\x8F\xBF\xBF", NULL), JCHECK_UTF8_OVERLONG);  /* U+FFFF in 4 */
}

Test(jcheck, utf8_rejects_encoded_surrogates)
{
    size_t off = 99;

    cr_assert_eq(UTF8("x\xED\xA0\x80", &off), JCHECK_UTF8_SURROGATE);    /* U+D800 */
    cr_assert_eq(off, 1);
    cr_assert_eq(UTF8("\xED\xBF\xBF", NULL), JCHECK_UTF8_SURROGATE);     /* U+DFFF */
    /* A CESU-8 pair (U+1F600 as two surrogates) is refused too. */
    cr_assert_eq(UTF8("\xED\xA0\xBD\xED\xB8\x80", NULL), JCHECK_UTF8_SURROGATE);
}

Test(jcheck, utf8_rejects_code_points_past_u_10ffff)
{
    cr_assert_eq(UTF8("\xF4\x90\x80\x80", NULL), JCHECK_UTF8_TOO_LARGE);  /* U+110000 */
    cr_assert_eq(UTF8("\xF5\x80\x80\x80", NULL), JCHECK_UTF8_TOO_LARGE);
    cr_assert_eq(UTF8("\xF7\xBF\xBF\xBF", NULL), JCHECK_UTF8_TOO_LARGE);
}

Test(jcheck, utf8_rejects_a_sequence_cut_short_by_the_end)
{
    size_t off = 99;

    cr_assert_eq(UTF8("ab\xC3", &off), JCHECK_UTF8_TRUNCATED);
    cr_assert_eq(off, 2);
    cr_assert_eq(UTF8("\xE2\x82", NULL), JCHECK_UTF8_TRUNCATED);
    cr_assert_eq(UTF8("\xF0\x9D\x84", NULL), JCHECK_UTF8_TRUNCATED);
}

Test(jcheck, utf8_rejects_a_sequence_cut_short_by_another_character)
{
    cr_assert_eq(UTF8("\xC3\"", NULL), JCHECK_UTF8_TRUNCATED);
    cr_assert_eq(UTF8("\xE2\x82\"", NULL), JCHECK_UTF8_TRUNCATED);
    cr_assert_eq(UTF8("\xF0\x9D\x84\xC3\xA9", NULL), JCHECK_UTF8_TRUNCATED);
}

Test(jcheck, utf8_only_reads_the_length_it_is_given)
{
    /* The valid character's last byte lies past len. */
    cr_assert_eq(utf8("\xE2\x82\xAC", 2, NULL), JCHECK_UTF8_TRUNCATED);
}

Test(jcheck, utf8_strerror_names_each_status_and_has_a_default)
{
    cr_assert_str_eq(jcheck_utf8_strerror(JCHECK_UTF8_SURROGATE),
                     "an encoded surrogate (U+D800..U+DFFF)");
    cr_assert_str_eq(jcheck_utf8_strerror(JCHECK_UTF8_OVERLONG), "an overlong encoding");
    cr_assert_str_eq(jcheck_utf8_strerror(12345), "unknown error");
}

/* ---- jcheck_utf8_copy: the one way text is shortened ---- */

Test(jcheck, utf8_copy_keeps_text_that_fits_unchanged)
{
    char out[16];

    cr_assert_eq(jcheck_utf8_copy(out, sizeof(out), "caf\xC3\xA9", 5), 5);
    cr_assert_str_eq(out, "caf\xC3\xA9");
}

Test(jcheck, utf8_copy_never_ends_inside_a_character)
{
    char out[5];    /* room for 4 bytes: "caf" and half of "é" */

    cr_assert_eq(jcheck_utf8_copy(out, sizeof(out), "caf\xC3\xA9", 5), 3);
    cr_assert_str_eq(out, "caf");
    /* A 4-byte character that does not fit is left out whole. */
    cr_assert_eq(jcheck_utf8_copy(out, sizeof(out), "a\xF0\x9D\x84\x9E", 5), 1);
    cr_assert_str_eq(out, "a");
}

Test(jcheck, utf8_copy_replaces_each_invalid_sequence_with_u_fffd)
{
    char out[32];

    jcheck_utf8_copy(out, sizeof(out), "a\xFF" "b\xED\xA0\x80" "c\xE2\x82", 10);
    cr_assert_str_eq(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                          "c\xEF\xBF\xBD");
    cr_assert_eq(jcheck_utf8(out, strlen(out), NULL), JCHECK_UTF8_OK);
}

Test(jcheck, utf8_copy_into_one_byte_is_empty)
{
    char out[1] = {'x'};

    cr_assert_eq(jcheck_utf8_copy(out, 1, "abc", 3), 0);
    cr_assert_str_eq(out, "");
}

Test(jcheck, a_long_path_is_shortened_after_a_whole_character)
{
    char key[JCHECK_MAX_PATH], out[JCHECK_MAX_PATH];

    /* "$.a" then 2-byte characters: a cut by byte count (the old
     * memcpy of "..." at JCHECK_MAX_PATH - 4) lands inside one. */
    key[0] = 'a';
    for (size_t i = 1; i + 2 < sizeof(key); i += 2)
        memcpy(key + i, "\xC3\xA9", 2);
    key[sizeof(key) - 2] = 'x';
    key[sizeof(key) - 1] = '\0';
    jcheck_path_key(out, "$", key);
    cr_assert_lt(strlen(out), JCHECK_MAX_PATH);
    cr_assert(strlen(out) > 3 && strcmp(out + strlen(out) - 3, "...") == 0, "%s", out);
    cr_assert_eq(jcheck_utf8(out, strlen(out), NULL), JCHECK_UTF8_OK, "%s", out);
}

/* ---- jcheck_duplicate_key ---- */

static const cJSON *dup_in(const char *text, char *path, cJSON **root)
{
    *root = cJSON_Parse(text);
    cr_assert_not_null(*root, "%s parses", text);
    return jcheck_duplicate_key(*root, path);
}

Test(jcheck, duplicate_key_finds_none_in_distinct_keys)
{
    char path[JCHECK_MAX_PATH];
    cJSON *root;

    cr_assert_null(dup_in("{\"a\":1,\"b\":{\"a\":2,\"b\":[{\"a\":1},{\"a\":1}]}}", path, &root));
    cr_assert_str_eq(path, "");
    cJSON_Delete(root);
}

Test(jcheck, duplicate_key_is_found_at_the_top_level)
{
    char path[JCHECK_MAX_PATH];
    cJSON *root;
    const cJSON *d = dup_in("{\"a\":1,\"b\":2,\"a\":3}", path, &root);

    cr_assert_not_null(d);
    cr_assert_eq(d->valueint, 3, "the second one is named");
    cr_assert_str_eq(path, "$.a");
    cJSON_Delete(root);
}

Test(jcheck, duplicate_key_is_found_in_nested_objects_and_arrays)
{
    char path[JCHECK_MAX_PATH];
    cJSON *root;

    cr_assert_not_null(dup_in("{\"c\":{\"x\":true,\"x\":false}}", path, &root));
    cr_assert_str_eq(path, "$.c.x");
    cJSON_Delete(root);
    cr_assert_not_null(dup_in("{\"l\":[1,{\"k\":{\"y\":1,\"y\":1}}]}", path, &root));
    cr_assert_str_eq(path, "$.l[1].k.y");
    cJSON_Delete(root);
}

Test(jcheck, duplicate_key_is_case_sensitive)
{
    char path[JCHECK_MAX_PATH];
    cJSON *root;

    cr_assert_null(dup_in("{\"a\":1,\"A\":1}", path, &root));
    cJSON_Delete(root);
}

/* ---- choice_parse ---- */

static struct config cfg;

static void load_example(void)
{
    char err[512];

    cr_assert_eq(config_load(&cfg, EXAMPLE, err, sizeof(err)), 0, "%s", err);
}

static void free_example(void)
{
    config_free(&cfg);
}

/* The demo site's current banner version and opt-in texts hash, as a
 * banner would have given them. */
static const char *demo_hash(void)
{
    return config_site_find(&cfg, "demo")->languages[0].texts_sha256[MODEL_OPT_IN];
}

/* A good body for demo with extra members spliced in after "action"
 * (extra starts with a comma or is ""). */
static int parse_with(const char *action, const char *extra, struct choice *c,
                      struct choice_error *err)
{
    char body[CONSENT_MAX_BODY];
    int n = snprintf(body, sizeof(body),
                     "{\"site\":\"demo\",\"banner_version\":\"%s\",\"texts_sha256\":\"%s\","
                     "\"action\":\"%s\"%s}",
                     config_site_find(&cfg, "demo")->banner_version, demo_hash(), action,
                     extra);

    cr_assert(n > 0 && (size_t)n < sizeof(body));
    memset(err, 0, sizeof(*err));
    return choice_parse(&cfg, body, (size_t)n, c, err);
}

static int parse_raw(const char *body, size_t len, struct choice_error *err)
{
    struct choice c;

    memset(err, 0, sizeof(*err));
    return choice_parse(&cfg, body, len, &c, err);
}

static void assert_error(const struct choice_error *err, int status, const char *code,
                         const char *key, const char *value)
{
    cr_assert_eq(err->status, status, "status %d (%s)", err->status, err->code);
    cr_assert_str_eq(err->code, code);
    if (key == NULL) {
        cr_assert_null(err->key);
    } else {
        cr_assert_str_eq(err->key, key);
        cr_assert_str_eq(err->value, value);
    }
    cr_assert_eq(jcheck_utf8(err->value, strlen(err->value), NULL), JCHECK_UTF8_OK);
}

TestSuite(choice, .init = load_example, .fini = free_example);

Test(choice, a_good_body_parses)
{
    struct choice c;
    struct choice_error err;

    cr_assert_eq(parse_with("custom", ",\"choices\":{\"functional\":true,"
                            "\"analytics\":false,\"advertising\":false,"
                            "\"necessary\":true}", &c, &err), 0, "%s", err.code);
    cr_assert_eq(c.action, CHOICE_CUSTOM);
    cr_assert_str_eq(c.site->id, "demo");
}

Test(choice, non_ascii_strings_that_are_valid_utf8_are_accepted_as_text)
{
    struct choice c;
    struct choice_error err;

    /* Valid UTF-8 reaches the field checks: an unknown category is named. */
    cr_assert_eq(parse_with("accept_all", ",\"choices\":{\"caf\xC3\xA9\":true}", &c, &err), CHOICE_REFUSED);
    assert_error(&err, 422, "unknown_category", "category", "caf\xC3\xA9");
}

/* Each invalid form, once in a value and once in a key. */
static const struct {
    const char *name;
    const char *bytes;
} bad_utf8[] = {
    {"a lone continuation byte", "\x80"},
    {"an overlong slash", "\xC0\xAF"},
    {"an overlong three-byte form", "\xE0\x80\xAF"},
    {"an encoded surrogate", "\xED\xA0\x80"},
    {"a code point past U+10FFFF", "\xF4\x90\x80\x80"},
    {"a truncated sequence", "\xE2\x82"},
    {"an invalid byte", "\xFF"},
};

Test(choice, invalid_utf8_in_a_string_value_is_refused_as_invalid_json)
{
    struct choice c;
    struct choice_error err;

    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        char extra[64];

        snprintf(extra, sizeof(extra), ",\"choices\":{\"analytics%s\":true}", bad_utf8[i].bytes);
        cr_assert_eq(parse_with("accept_all", extra, &c, &err), CHOICE_REFUSED, "%s", bad_utf8[i].name);
        assert_error(&err, 400, "invalid_json", NULL, NULL);
        cr_assert_str_eq(err.message, "the body is not valid UTF-8", "%s", bad_utf8[i].name);
    }
}

Test(choice, invalid_utf8_in_a_key_is_refused_as_invalid_json)
{
    struct choice_error err;

    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        char body[64];
        int n = snprintf(body, sizeof(body), "{\"site%s\":\"demo\"}", bad_utf8[i].bytes);

        cr_assert_eq(parse_raw(body, (size_t)n, &err), CHOICE_REFUSED, "%s", bad_utf8[i].name);
        assert_error(&err, 400, "invalid_json", NULL, NULL);
        cr_assert_str_eq(err.message, "the body is not valid UTF-8", "%s", bad_utf8[i].name);
    }
}

Test(choice, invalid_utf8_is_refused_before_the_site_is_looked_at)
{
    struct choice_error err;
    static const char body[] = "{\"site\":\"nosuch\",\"x\xC0\xAF\":1}";

    cr_assert_eq(parse_raw(body, sizeof(body) - 1, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "invalid_json", NULL, NULL);
}

Test(choice, a_nul_escape_in_a_string_is_refused)
{
    struct choice_error err;
    static const char body[] = "{\"site\":\"demo\\u0000evil\"}";

    cr_assert_eq(parse_raw(body, sizeof(body) - 1, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "invalid_json", NULL, NULL);
    cr_assert(strstr(err.message, "\\u0000") != NULL, "%s", err.message);
}

Test(choice, an_escaped_backslash_before_u0000_text_is_not_a_nul_escape)
{
    struct choice_error err;
    /* "\\u0000" is a backslash and the letters u0000: an unknown field. */
    static const char body[] = "{\"x\\\\u0000\":1}";

    cr_assert_eq(parse_raw(body, sizeof(body) - 1, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "unknown_field", "field", "x\\u0000");
}

Test(choice, escaped_non_ascii_characters_are_accepted)
{
    struct choice c;
    struct choice_error err;

    /* \u00e9 and a surrogate pair decode to valid UTF-8. */
    cr_assert_eq(parse_with("accept_all", ",\"choices\":{\"caf\\u00e9\\ud834\\udd1e\":true}",
                            &c, &err), CHOICE_REFUSED);
    assert_error(&err, 422, "unknown_category", "category", "caf\xC3\xA9\xF0\x9D\x84\x9E");
}

Test(choice, a_duplicate_top_level_key_is_refused_and_named)
{
    struct choice c;
    struct choice_error err;

    /* Before: the first "action" won. */
    cr_assert_eq(parse_with("reject_all", ",\"action\":\"accept_all\"", &c, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "duplicate_key", "field", "action");
}

Test(choice, a_duplicate_key_inside_choices_is_refused_and_named)
{
    struct choice c;
    struct choice_error err;

    /* Before: the last "analytics" won, so this was accepted. */
    cr_assert_eq(parse_with("reject_all", ",\"choices\":{\"analytics\":true,\"analytics\":false}",
                            &c, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "duplicate_key", "field", "choices.analytics");
}

Test(choice, a_duplicate_key_is_refused_even_in_an_otherwise_refused_member)
{
    struct choice c;
    struct choice_error err;

    cr_assert_eq(parse_with("accept_all", ",\"choices\":{\"x\":{\"y\":1,\"y\":2}}", &c, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "duplicate_key", "field", "choices.x.y");
}

Test(choice, a_duplicate_unknown_field_is_refused_as_a_duplicate)
{
    struct choice_error err;
    static const char body[] = "{\"colour\":1,\"colour\":2}";

    cr_assert_eq(parse_raw(body, sizeof(body) - 1, &err), CHOICE_REFUSED);
    assert_error(&err, 400, "duplicate_key", "field", "colour");
}

Test(choice, a_long_unknown_field_name_is_echoed_shortened_after_a_whole_character)
{
    struct choice_error err;
    char body[512];
    size_t n = 0;

    /* "x" and 100 two-byte characters: longer than err.value (97 bytes),
     * and a copy that counted bytes would keep 96, ending in half an "é". */
    n += (size_t)snprintf(body, sizeof(body), "{\"x");
    for (int i = 0; i < 100; i++) {
        memcpy(body + n, "\xC3\xA9", 2);
        n += 2;
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\":1}");
    cr_assert_eq(parse_raw(body, n, &err), CHOICE_REFUSED);
    cr_assert_str_eq(err.code, "unknown_field");
    cr_assert_str_eq(err.key, "field");
    cr_assert_lt(strlen(err.value), sizeof(err.value));
    cr_assert_geq(strlen(err.value), sizeof(err.value) - 3, "as much as fits: %zu",
                  strlen(err.value));
    cr_assert_eq((strlen(err.value) - 1) % 2, 0, "whole characters only");
    cr_assert_eq(jcheck_utf8(err.value, strlen(err.value), NULL), JCHECK_UTF8_OK);
    cr_assert_eq(memcmp(err.value, body + 2, strlen(err.value)), 0, "a prefix of the name");
}

Test(choice, a_long_unknown_category_is_echoed_as_valid_utf8)
{
    struct choice c;
    struct choice_error err;
    char extra[600];
    size_t n = (size_t)snprintf(extra, sizeof(extra), ",\"choices\":{\"ab");

    for (int i = 0; i < 60; i++) {      /* "ab" and 180 bytes of "€" */
        memcpy(extra + n, "\xE2\x82\xAC", 3);
        n += 3;
    }
    snprintf(extra + n, sizeof(extra) - n, "\":true}");
    cr_assert_eq(parse_with("accept_all", extra, &c, &err), CHOICE_REFUSED);
    cr_assert_str_eq(err.code, "unknown_category");
    cr_assert_eq((strlen(err.value) - 2) % 3, 0, "whole characters only: %zu",
                 strlen(err.value));
    cr_assert_gt(strlen(err.value), 0);
    cr_assert_eq(jcheck_utf8(err.value, strlen(err.value), NULL), JCHECK_UTF8_OK);
}

/* The configuration and rules files get the same check, with a position. */
Test(jcheck, parse_text_refuses_invalid_utf8_with_its_line_and_column)
{
    static const char text[] = "{\n  \"a\": \"caf\xC3\"\n}";
    struct jcheck c;
    char err[256];

    jcheck_init(&c, "f.json", err, sizeof(err));
    cr_assert_null(jcheck_parse_text(&c, text, sizeof(text) - 1));
    cr_assert_str_eq(err, "f.json: $: not valid UTF-8 (line 2, column 12): "
                          "a truncated multi-byte sequence");
}

/* The GPC rule: where GPC is not binding it sets defaults only, so an
 * explicit "Accept all" or a custom choice turns sale/sharing on; where it
 * is binding, they stay off and asking for them is refused. */
static struct regime gpc_regime(int binding)
{
    struct regime g;

    memset(&g, 0, sizeof(g));
    g.model = binding ? MODEL_OPT_OUT : MODEL_OPT_IN;
    g.gpc_binding = binding;
    g.consent_days = 365;
    return g;
}

Test(choice, accept_all_under_gpc_turns_advertising_on_where_gpc_is_not_binding)
{
    struct regime g = gpc_regime(0);
    struct decision d;
    struct choice c;
    struct choice_error err;
    int ad;

    cr_assert_eq(parse_with("accept_all", "", &c, &err), 0, "%s", err.code);
    decision_make(c.site, &g, 1, 1000, &d);
    cr_assert_eq(choice_resolve(&c, &d, &err), 0, "%s", err.code);
    ad = config_category_index(c.site, "advertising");
    cr_assert(c.on[ad], "an explicit choice wins over a non-binding GPC default");
}

Test(choice, accept_all_under_binding_gpc_leaves_advertising_off_and_custom_on_is_refused)
{
    struct regime g = gpc_regime(1);
    struct decision d;
    struct choice c;
    struct choice_error err;

    cr_assert_eq(parse_with("accept_all", "", &c, &err), 0, "%s", err.code);
    decision_make(c.site, &g, 1, 1000, &d);
    cr_assert_eq(choice_resolve(&c, &d, &err), 0, "%s", err.code);
    cr_assert_not(c.on[config_category_index(c.site, "advertising")]);

    cr_assert_eq(parse_with("custom", ",\"choices\":{\"functional\":true,"
                            "\"analytics\":true,\"advertising\":true}", &c, &err), 0, "%s", err.code);
    cr_assert_eq(choice_resolve(&c, &d, &err), CHOICE_REFUSED);
    assert_error(&err, 422, "category_locked", "category", "advertising");
}
