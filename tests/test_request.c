/* Unit tests for cgi/request.c: parsing, limits, GPC, query, cookies,
 * language negotiation and address truncation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../cgi/request.h"

Test(request, parse_reads_the_fastcgi_parameters)
{
    const char *env[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/consent/v1/banner",
                   "QUERY_STRING=site=demo", "REMOTE_ADDR=46.4.0.1",
                   "HTTP_ACCEPT_LANGUAGE=de", "HTTP_ORIGIN=https://a.example",
                   "HTTP_COOKIE=consent_id=abc", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(r.method, METHOD_GET);
    cr_assert_str_eq(r.path, "/consent/v1/banner");
    cr_assert_str_eq(r.query, "site=demo");
    cr_assert_str_eq(r.remote_addr, "46.4.0.1");
    cr_assert_str_eq(r.accept_language, "de");
    cr_assert_str_eq(r.origin, "https://a.example");
    cr_assert_str_eq(r.cookie, "consent_id=abc");
    cr_assert_eq(r.content_length, -1);
    cr_assert_eq(r.gpc, 0);
}

Test(request, parse_defaults_missing_parameters_to_empty)
{
    const char *env[] = {NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_str_eq(r.query, "");
    cr_assert_str_eq(r.cookie, "");
    cr_assert_null(r.origin);
    cr_assert_null(r.content_type);
}

Test(request, parse_rejects_a_non_numeric_content_length)
{
    const char *env[] = {"REQUEST_METHOD=POST", "CONTENT_LENGTH=12abc", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_BAD_LENGTH);
}

Test(request, parse_rejects_a_negative_content_length)
{
    const char *env[] = {"REQUEST_METHOD=POST", "CONTENT_LENGTH=-5", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_BAD_LENGTH);
}

Test(request, parse_reads_a_huge_content_length_without_trusting_it)
{
    const char *env[] = {"REQUEST_METHOD=POST", "CONTENT_LENGTH=99999999999", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_gt(r.content_length, CONSENT_MAX_BODY);
}

Test(request, parse_refuses_a_query_over_the_limit)
{
    static char q[CONSENT_MAX_QUERY + 32] = "QUERY_STRING=";
    const char *env[] = {q, NULL};
    struct request r;

    memset(q + 13, 'a', CONSENT_MAX_QUERY + 1);
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_QUERY_TOO_LONG);
}

Test(request, parse_refuses_headers_over_their_limits)
{
    static char al[CONSENT_MAX_HEADER + 64] = "HTTP_ACCEPT_LANGUAGE=";
    static char ck[CONSENT_MAX_COOKIE_HEADER + 64] = "HTTP_COOKIE=";
    const char *env1[] = {al, NULL};
    const char *env2[] = {ck, NULL};
    struct request r;

    memset(al + strlen(al), 'a', CONSENT_MAX_HEADER + 1);
    memset(ck + strlen(ck), 'a', CONSENT_MAX_COOKIE_HEADER + 1);
    cr_assert_eq(request_parse(&r, env1, NULL), REQUEST_HEADER_TOO_LARGE);
    cr_assert_eq(request_parse(&r, env2, NULL), REQUEST_HEADER_TOO_LARGE);
}

Test(request, method_names_map_and_unknown_ones_are_other)
{
    const char *env1[] = {"REQUEST_METHOD=DELETE", NULL};
    const char *env2[] = {"REQUEST_METHOD=PATCH", NULL};
    struct request r;

    request_parse(&r, env1, NULL);
    cr_assert_eq(r.method, METHOD_DELETE);
    request_parse(&r, env2, NULL);
    cr_assert_eq(r.method, METHOD_OTHER);
}

/* Several Cookie headers: nginx 1.22 passes each as its own HTTP_COOKIE
 * parameter, in order, an empty header as "" (seen through the integration
 * stack, tests/integration/input.test.js). */
Test(request, parse_joins_several_cookie_headers_with_a_semicolon)
{
    const char *env[] = {"HTTP_COOKIE=a=1", "HTTP_HOST=x",
                         "HTTP_COOKIE=consent_id=abc; b=2", "HTTP_COOKIE=c=3", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_str_eq(r.cookie, "a=1; consent_id=abc; b=2; c=3");
}

Test(request, parse_leaves_out_empty_cookie_headers)
{
    const char *env[] = {"HTTP_COOKIE=", "HTTP_COOKIE=a=1", "HTTP_COOKIE=",
                         "HTTP_COOKIE=c=3", NULL};
    const char *one[] = {"HTTP_COOKIE=", "HTTP_COOKIE=a=1", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_str_eq(r.cookie, "a=1; c=3");
    cr_assert_eq(request_parse(&r, one, NULL), REQUEST_OK);
    cr_assert_str_eq(r.cookie, "a=1");
}

/* Each header under the limit, together over it: the bypass this closes. */
Test(request, parse_counts_every_cookie_header_against_the_cookie_limit)
{
    static char a[CONSENT_MAX_COOKIE_HEADER] = "HTTP_COOKIE=a=";
    static char b[CONSENT_MAX_COOKIE_HEADER] = "HTTP_COOKIE=b=";
    const char *env[] = {a, b, NULL};
    struct request r;

    /* "a=" + 2046 = 2048 bytes each; joined with "; ": 4098 > 4096. */
    memset(a + strlen(a), 'x', CONSENT_MAX_COOKIE_HEADER / 2 - 2);
    memset(b + strlen(b), 'y', CONSENT_MAX_COOKIE_HEADER / 2 - 2);
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_HEADER_TOO_LARGE);
    cr_assert_str_eq(r.cookie, "");
}

Test(request, parse_accepts_cookie_headers_that_join_to_exactly_the_limit)
{
    static char a[CONSENT_MAX_COOKIE_HEADER] = "HTTP_COOKIE=a=";
    static char b[CONSENT_MAX_COOKIE_HEADER] = "HTTP_COOKIE=b=";
    const char *env[] = {a, b, NULL};
    struct request r;

    /* 2048 + "; " + 2046 = 4096. */
    memset(a + strlen(a), 'x', CONSENT_MAX_COOKIE_HEADER / 2 - 2);
    memset(b + strlen(b), 'y', CONSENT_MAX_COOKIE_HEADER / 2 - 4);
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(strlen(r.cookie), CONSENT_MAX_COOKIE_HEADER);
    cr_assert_eq(strncmp(r.cookie + CONSENT_MAX_COOKIE_HEADER / 2, "; b=", 4), 0);
}

Test(request, parse_refuses_many_small_cookie_headers_over_the_limit)
{
    static const char *env[CONSENT_MAX_COOKIE_HEADER / 8 + 2];
    struct request r;
    size_t n = 0;

    /* 512 headers of "c=1": 512 * 3 + 511 * 2 = 2558 bytes joined, under ... */
    for (; n < CONSENT_MAX_COOKIE_HEADER / 8; n++)
        env[n] = "HTTP_COOKIE=c=1";
    env[n] = NULL;
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    /* ... and 512 of "c=12345": 4606 bytes joined, over. */
    for (size_t i = 0; i < n; i++)
        env[i] = "HTTP_COOKIE=c=12345";
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_HEADER_TOO_LARGE);
}

/* GPC: exactly "1"; any other value ignored; several headers: on if any is 1 */
Test(gpc, exactly_one_turns_it_on)
{
    const char *env[] = {"HTTP_SEC_GPC=1", NULL};
    cr_assert_eq(request_gpc(env), 1);
}

Test(gpc, other_values_are_treated_as_absent)
{
    const char *values[] = {"HTTP_SEC_GPC=0", "HTTP_SEC_GPC=true",
                            "HTTP_SEC_GPC=11", "HTTP_SEC_GPC=", "HTTP_SEC_GPC=yes",
                            "HTTP_SEC_GPC=1.0", "HTTP_X_SEC_GPC=1"};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *env[] = {values[i], NULL};
        cr_assert_eq(request_gpc(env), 0, "%s", values[i]);
    }
}

Test(gpc, any_of_several_headers_being_one_turns_it_on)
{
    const char *sep[] = {"HTTP_SEC_GPC=0", "HTTP_SEC_GPC=1", NULL};
    const char *joined[] = {"HTTP_SEC_GPC=0, 1", NULL};
    const char *none[] = {"HTTP_SEC_GPC=0, 2", NULL};

    cr_assert_eq(request_gpc(sep), 1);
    cr_assert_eq(request_gpc(joined), 1);
    cr_assert_eq(request_gpc(none), 0);
}

Test(gpc, no_header_is_off)
{
    const char *env[] = {"HTTP_HOST=x", NULL};
    cr_assert_eq(request_gpc(env), 0);
}

Test(query, finds_and_decodes_a_parameter)
{
    char out[64];

    cr_assert_eq(request_query_param("a=1&site=de%6Do&b=2", "site", out, sizeof(out)), REQUEST_PARAM_OK);
    cr_assert_str_eq(out, "demo");
    cr_assert_eq(request_query_param("x=a+b", "x", out, sizeof(out)), REQUEST_PARAM_OK);
    cr_assert_str_eq(out, "a b");
}

Test(query, a_missing_parameter_is_absent_not_a_prefix_match)
{
    char out[64];

    cr_assert_eq(request_query_param("sites=demo", "site", out, sizeof(out)), REQUEST_PARAM_ABSENT);
    cr_assert_eq(request_query_param("", "site", out, sizeof(out)), REQUEST_PARAM_ABSENT);
}

Test(query, rejects_bad_escapes_nul_and_overlong_values)
{
    char out[8];

    cr_assert_eq(request_query_param("site=%zz", "site", out, sizeof(out)), REQUEST_PARAM_MALFORMED);
    cr_assert_eq(request_query_param("site=%4", "site", out, sizeof(out)), REQUEST_PARAM_MALFORMED);
    cr_assert_eq(request_query_param("site=a%00b", "site", out, sizeof(out)), REQUEST_PARAM_MALFORMED);
    cr_assert_eq(request_query_param("site=abcdefgh", "site", out, sizeof(out)), REQUEST_PARAM_MALFORMED);
}

Test(cookie, finds_a_cookie_among_others)
{
    char out[64];

    cr_assert_eq(request_cookie("a=1; consent_id=XYZ; b=2", "consent_id", out, sizeof(out)), REQUEST_PARAM_OK);
    cr_assert_str_eq(out, "XYZ");
    cr_assert_eq(request_cookie("xconsent_id=1", "consent_id", out, sizeof(out)), REQUEST_PARAM_ABSENT);
    cr_assert_eq(request_cookie("consent_id=\"q\"", "consent_id", out, sizeof(out)), REQUEST_PARAM_OK);
    cr_assert_str_eq(out, "q");
}

Test(cookie, finds_a_cookie_sent_in_a_second_cookie_header)
{
    const char *env[] = {"HTTP_COOKIE=theme=dark", "HTTP_COOKIE=consent_id=AAAA", NULL};
    struct request r;
    char out[32];

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(request_cookie(r.cookie, "consent_id", out, sizeof(out)), REQUEST_PARAM_OK);
    cr_assert_str_eq(out, "AAAA");
    cr_assert_eq(request_cookie(r.cookie, "theme", out, sizeof(out)), REQUEST_PARAM_OK);
    cr_assert_str_eq(out, "dark");
}

Test(cookie, refuses_a_value_longer_than_the_buffer)
{
    char out[4];

    cr_assert_eq(request_cookie("consent_id=abcdef", "consent_id", out, sizeof(out)), REQUEST_PARAM_MALFORMED);
}

/* The best of tags for an Accept-Language header, as a handler gets it:
 * parsed once by request_parse, then negotiated. */
static size_t negotiate(const char *header, const char *const *tags, size_t n)
{
    static char al[CONSENT_MAX_HEADER + 32];
    const char *env[] = {al, NULL};
    static struct request r;

    snprintf(al, sizeof(al), "HTTP_ACCEPT_LANGUAGE=%s", header);
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    return request_negotiate_language(&r, tags, n);
}

Test(language, negotiates_by_quality_and_prefix)
{
    const char *tags[] = {"en", "de", "pt-br"};

    cr_assert_eq(negotiate("de-AT,de;q=0.9,en;q=0.5", tags, 3), 1);
    cr_assert_eq(negotiate("fr, en;q=0.1", tags, 3), 0);
    cr_assert_eq(negotiate("pt-BR", tags, 3), 2);
    cr_assert_eq(negotiate("pt", tags, 3), 2);
    cr_assert_eq(negotiate("en;q=0.2, de;q=0.8", tags, 3), 1);
}

Test(language, falls_back_to_the_default_for_nothing_usable)
{
    const char *tags[] = {"en", "de"};

    cr_assert_eq(negotiate("", tags, 2), 0);
    cr_assert_eq(negotiate("fr, ja", tags, 2), 0);
    cr_assert_eq(negotiate("de;q=0", tags, 2), 0);
    cr_assert_eq(negotiate(";;;,,,q=", tags, 2), 0);
}

Test(language, parse_keeps_usable_candidates_in_order_with_their_q)
{
    const char *env[] = {"HTTP_ACCEPT_LANGUAGE=de-AT, fr;q=0, ;q=0.5, EN;q=0.25, ja;q=x", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(r.nlanguages, 2);
    cr_assert_str_eq(r.languages[0].tag, "de-at");
    cr_assert_eq(r.languages[0].q, 1000);
    cr_assert_str_eq(r.languages[1].tag, "en");
    cr_assert_eq(r.languages[1].q, 250);
}

Test(language, parse_keeps_every_candidate_a_header_within_its_limit_holds)
{
    static char al[CONSENT_MAX_HEADER + 32] = "HTTP_ACCEPT_LANGUAGE=";
    const char *env[] = {al, NULL};
    const char *tags[] = {"en", "b"};
    struct request r;
    size_t o = strlen(al);

    /* 255 "a," and a last "b": the match is the very last candidate */
    for (int i = 0; i < REQUEST_MAX_LANGUAGES - 1; i++, o += 2)
        memcpy(al + o, "a,", 2);
    strcpy(al + o, "b");
    cr_assert_eq(strlen(al + 21), CONSENT_MAX_HEADER - 1);
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(r.nlanguages, REQUEST_MAX_LANGUAGES);
    cr_assert_eq(request_negotiate_language(&r, tags, 2), 1);
}

Test(language, an_over_long_tag_is_cut_not_overrun)
{
    const char *env[] = {"HTTP_ACCEPT_LANGUAGE=abcdefghijklmnopqrstuvwxyz-abcdefghijklmnop", NULL};
    struct request r;

    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(r.nlanguages, 1);
    cr_assert_eq(strlen(r.languages[0].tag), REQUEST_MAX_LANGUAGE_TAG);
}

/* ---- the query parameters and the consent cookie, parsed up front ---- */

static void parse_query(struct request *r, const char *query)
{
    static char q[CONSENT_MAX_QUERY + 32];
    const char *env[] = {q, "HTTP_COOKIE=a=1; consent=Zm9v; b=2", NULL};

    snprintf(q, sizeof(q), "QUERY_STRING=%s", query);
    cr_assert_eq(request_parse(r, env, "consent"), REQUEST_OK);
}

Test(parsed, every_handler_parameter_is_read_once_and_decoded)
{
    struct request r;

    parse_query(&r, "site=de%6Do&preview=US-CA&settings=1&bucket=42&format=kantara"
                    "&count=7&by=region&from=2026-01-01&to=2026-01-31&site=other");
    cr_assert_eq(r.q.site.state, REQUEST_PARAM_OK);
    cr_assert_str_eq(r.q.site.value, "demo", "the first of a name counts");
    cr_assert(r.q.preview_is_region);
    cr_assert_str_eq(r.q.preview_country, "US");
    cr_assert_str_eq(r.q.preview_subdivision, "CA");
    cr_assert(r.q.settings_open);
    cr_assert(r.q.bucket.is_number);
    cr_assert_eq(r.q.bucket.number, 42);
    cr_assert_str_eq(r.q.format.value, "kantara");
    cr_assert_eq(r.q.count.number, 7);
    cr_assert_str_eq(r.q.by.value, "region");
    cr_assert_str_eq(r.q.from.value, "2026-01-01");
    cr_assert_str_eq(r.q.to.value, "2026-01-31");
}

Test(parsed, parameters_not_sent_are_absent)
{
    struct request r;

    parse_query(&r, "");
    cr_assert_eq(r.q.site.state, REQUEST_PARAM_ABSENT);
    cr_assert_eq(r.q.preview.state, REQUEST_PARAM_ABSENT);
    cr_assert_eq(r.q.bucket.state, REQUEST_PARAM_ABSENT);
    cr_assert_not(r.q.preview_is_region);
    cr_assert_not(r.q.settings_open);
    cr_assert_str_eq(r.q.site.value, "");
}

Test(parsed, bad_escapes_and_values_over_their_limit_are_malformed)
{
    struct request r;

    parse_query(&r, "site=%zz&preview=DE%00&bucket=12345678&format=abcdefghijklmnop");
    cr_assert_eq(r.q.site.state, REQUEST_PARAM_MALFORMED);
    cr_assert_eq(r.q.preview.state, REQUEST_PARAM_MALFORMED);
    cr_assert_not(r.q.preview_is_region);
    cr_assert_eq(r.q.bucket.state, REQUEST_PARAM_MALFORMED, "over REQUEST_MAX_FLAG");
    cr_assert_not(r.q.bucket.is_number);
    cr_assert_eq(r.q.format.state, REQUEST_PARAM_MALFORMED, "over REQUEST_MAX_SHORT_PARAM");
    cr_assert_str_eq(r.q.site.value, "");
    cr_assert_str_neq(request_param_strerror(REQUEST_PARAM_MALFORMED), "unknown error");
    cr_assert_str_eq(request_param_strerror(99), "unknown error");
}

Test(parsed, a_preview_that_is_not_a_region_is_present_but_no_region)
{
    const char *bad[] = {"de", "D", "DEU", "US-", "US_CA", "US-CAXX", "US-ca"};
    struct request r;
    char q[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(q, sizeof(q), "preview=%s", bad[i]);
        parse_query(&r, q);
        cr_assert_eq(r.q.preview.state, REQUEST_PARAM_OK, "%s", bad[i]);
        cr_assert_not(r.q.preview_is_region, "%s", bad[i]);
    }
    parse_query(&r, "preview=DE");
    cr_assert(r.q.preview_is_region);
    cr_assert_str_eq(r.q.preview_subdivision, "");
}

Test(parsed, numbers_must_be_whole)
{
    struct request r;

    parse_query(&r, "bucket=&count=5x");
    cr_assert_eq(r.q.bucket.state, REQUEST_PARAM_OK);
    cr_assert_not(r.q.bucket.is_number, "empty is no number");
    cr_assert_not(r.q.count.is_number);
    parse_query(&r, "bucket=-3&settings=0");
    cr_assert(r.q.bucket.is_number);
    cr_assert_eq(r.q.bucket.number, -3);
    cr_assert_not(r.q.settings_open, "settings=0 is closed");
    parse_query(&r, "settings");
    cr_assert(r.q.settings_open, "a bare settings is open");
}

Test(parsed, the_consent_cookie_is_read_by_its_full_name)
{
    struct request r;
    const char *env[] = {"HTTP_COOKIE=__Host-consent=AAA; consent=BBB", NULL};
    static char big[CONSENT_MAX_PARAM + 64];
    const char *env_big[] = {big, NULL};

    parse_query(&r, "");
    cr_assert_eq(r.consent_cookie.state, REQUEST_PARAM_OK);
    cr_assert_str_eq(r.consent_cookie.value, "Zm9v");
    cr_assert_eq(request_parse(&r, env, "__Host-consent"), REQUEST_OK);
    cr_assert_str_eq(r.consent_cookie.value, "AAA");
    cr_assert_eq(request_parse(&r, env, "other"), REQUEST_OK);
    cr_assert_eq(r.consent_cookie.state, REQUEST_PARAM_ABSENT);
    cr_assert_eq(request_parse(&r, env, NULL), REQUEST_OK);
    cr_assert_eq(r.consent_cookie.state, REQUEST_PARAM_ABSENT, "no name: none read");
    snprintf(big, sizeof(big), "HTTP_COOKIE=consent=");
    memset(big + strlen(big), 'x', CONSENT_MAX_PARAM + 1);
    cr_assert_eq(request_parse(&r, env_big, "consent"), REQUEST_OK);
    cr_assert_eq(r.consent_cookie.state, REQUEST_PARAM_MALFORMED);
}

Test(parsed, nothing_is_parsed_from_a_request_over_its_limits)
{
    static char q[CONSENT_MAX_QUERY + 64] = "QUERY_STRING=site=demo&x=";
    const char *env[] = {q, "HTTP_ACCEPT_LANGUAGE=de", "HTTP_COOKIE=consent=AAA", NULL};
    struct request r;

    memset(q + strlen(q), 'a', CONSENT_MAX_QUERY);
    cr_assert_eq(request_parse(&r, env, "consent"), REQUEST_QUERY_TOO_LONG);
    cr_assert_eq(r.q.site.state, REQUEST_PARAM_ABSENT);
    cr_assert_eq(r.consent_cookie.state, REQUEST_PARAM_ABSENT);
    cr_assert_eq(r.nlanguages, 0);
}

Test(address, truncates_ipv4_to_24_and_ipv6_to_48)
{
    char out[64];

    cr_assert_eq(request_truncate_address("46.4.123.45", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "46.4.123.0/24");
    cr_assert_eq(request_truncate_address("2a01:4f8:abcd:1234::1", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "2a01:4f8:abcd::/48");
}

/* nginx hands an IPv4 client on a dual-stack socket over as ::ffff:a.b.c.d:
 * its network is the IPv4 /24, not ::/48 (which would lose the region). */
Test(address, an_ipv4_mapped_address_counts_as_ipv4)
{
    char out[64];
    unsigned char net[6];

    cr_assert_eq(request_truncate_address("::ffff:8.8.8.8", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "8.8.8.0/24");
    cr_assert_eq(request_client_network("::ffff:46.4.99.77", net), 4);
    cr_assert_eq(memcmp(net, "\x2e\x04\x63", 3), 0);
    cr_assert_eq(request_client_network("2a01:4f8:abcd:1234::1", net), 6);
    cr_assert_eq(memcmp(net, "\x2a\x01\x04\xf8\xab\xcd", 6), 0);
    cr_assert_eq(request_client_network("::ffff:0:1:2", net), 6, "not a mapped address");
    cr_assert_eq(request_client_network("nope", net), 0);
}

/* Who gets the health details (handle_health): the machine nginx runs on. */
Test(address, loopback_is_127_slash_8_and_colon_colon_1_only)
{
    cr_assert_eq(request_is_loopback("127.0.0.1"), 1);
    cr_assert_eq(request_is_loopback("127.255.3.4"), 1);
    cr_assert_eq(request_is_loopback("::1"), 1);
    cr_assert_eq(request_is_loopback("0:0:0:0:0:0:0:1"), 1);
    cr_assert_eq(request_is_loopback("::ffff:127.0.0.1"), 1);
    cr_assert_eq(request_is_loopback("128.0.0.1"), 0);
    cr_assert_eq(request_is_loopback("10.0.0.1"), 0, "a private network is not loopback");
    cr_assert_eq(request_is_loopback("192.168.1.1"), 0);
    cr_assert_eq(request_is_loopback("::2"), 0);
    cr_assert_eq(request_is_loopback("::"), 0);
    cr_assert_eq(request_is_loopback("::ffff:46.4.0.1"), 0);
    cr_assert_eq(request_is_loopback("fe80::1"), 0);
    cr_assert_eq(request_is_loopback("2a01:4f8::1"), 0);
    cr_assert_eq(request_is_loopback("localhost"), 0, "names are not addresses");
    cr_assert_eq(request_is_loopback("127.0.0.1 "), 0);
    cr_assert_eq(request_is_loopback(""), 0);
    cr_assert_eq(request_is_loopback(NULL), 0);
}

Test(address, refuses_what_is_not_an_address)
{
    char out[64];

    cr_assert_eq(request_truncate_address("example.com", out, sizeof(out)), -1);
    cr_assert_str_eq(out, "");
    cr_assert_eq(request_truncate_address("", out, sizeof(out)), -1);
}

Test(request, if_none_match_matches_by_the_weak_comparison)
{
    const char *tag = "\"0123abcd\"";

    cr_assert(request_etag_match("\"0123abcd\"", tag));
    cr_assert(request_etag_match("W/\"0123abcd\"", tag), "nginx's gzip weakens tags");
    cr_assert(request_etag_match("\"x\", W/\"y\" ,\"0123abcd\"", tag));
    cr_assert(request_etag_match("*", tag));
    cr_assert_not(request_etag_match(NULL, tag));
    cr_assert_not(request_etag_match("", tag));
    cr_assert_not(request_etag_match("\"0123abc\"", tag));
    cr_assert_not(request_etag_match("\"0123abcd\"x", tag));
    cr_assert_not(request_etag_match("0123abcd", tag), "an unquoted tag is not an entity tag");
    cr_assert_not(request_etag_match("\"unterminated", tag));
}

Test(request, an_over_long_if_none_match_is_ignored_not_refused)
{
    static char big[CONSENT_MAX_HEADER + 40];
    const char *env[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/consent/v1/declaration",
                         big, NULL};
    struct request req;

    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "HTTP_IF_NONE_MATCH=\"", 20);
    cr_assert_eq(request_parse(&req, env, NULL), REQUEST_OK);
    cr_assert_null(req.if_none_match);
    env[2] = "HTTP_IF_NONE_MATCH=\"abc\"";
    cr_assert_eq(request_parse(&req, env, NULL), REQUEST_OK);
    cr_assert_str_eq(req.if_none_match, "\"abc\"");
}

Test(request, every_status_has_a_message)
{
    for (int s = REQUEST_OK; s <= REQUEST_INCOMPLETE_BODY; s++)
        cr_assert_str_neq(request_strerror(s), "unknown error", "status %d", s);
    cr_assert_str_eq(request_strerror(-1), "unknown error");
    for (int s = REQUEST_PARAM_OK; s <= REQUEST_PARAM_MALFORMED; s++)
        cr_assert_str_neq(request_param_strerror(s), "unknown error", "state %d", s);
}
