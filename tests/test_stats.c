/* Unit tests for consent analytics: cgi/tally.c (fields, the per-worker
 * table, draining, device and bot classes) and cgi/stats.c (the Wilson
 * interval and the two-proportion test against published values, dates,
 * ranges, grouping and CSV). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi/stats.h"
#include "../cgi/tally.h"

static void where(struct tally_where *w, const char *region, const char *version)
{
    memset(w, 0, sizeof(*w));
    w->site = "demo";
    w->day = 20426;
    w->dims[TALLY_REGION] = region;
    w->dims[TALLY_REGIME] = "gdpr";
    w->dims[TALLY_VERSION] = version;
    w->dims[TALLY_VARIANT] = NULL;
    w->dims[TALLY_DEVICE] = "desktop";
    w->dims[TALLY_LANGUAGE] = "en";
}

/* ---- the Wilson interval: Newcombe (1998), Statistics in Medicine 17,
 * table I, method 3 (z = 1.96) ---- */

static void wilson_is(long long x, long long n, double low, double high)
{
    struct stats_interval iv;

    stats_wilson(x, n, 1.96, &iv);
    cr_assert(iv.valid);
    cr_assert_float_eq(iv.rate, (double)x / (double)n, 1e-12);
    cr_assert_float_eq(iv.low, low, 5e-5, "%lld/%lld low %f", x, n, iv.low);
    cr_assert_float_eq(iv.high, high, 5e-5, "%lld/%lld high %f", x, n, iv.high);
}

Test(stats, wilson_matches_newcombes_published_intervals)
{
    wilson_is(81, 263, 0.2553, 0.3662);
    wilson_is(15, 148, 0.0624, 0.1605);
    wilson_is(0, 20, 0.0, 0.1611);
    wilson_is(1, 29, 0.0061, 0.1718);
}

Test(stats, wilson_stays_within_zero_and_one_and_refuses_no_trials)
{
    struct stats_interval iv;

    stats_wilson(10, 10, STATS_Z95, &iv);
    cr_assert(iv.valid);
    cr_assert_float_eq(iv.high, 1.0, 1e-12);
    cr_assert(iv.low > 0.69 && iv.low < 0.73);
    stats_wilson(0, 0, STATS_Z95, &iv);
    cr_assert_not(iv.valid);
    stats_wilson(3, 2, STATS_Z95, &iv);
    cr_assert_not(iv.valid, "more successes than trials is no proportion");
}

Test(stats, two_proportion_test_gives_the_normal_p_value)
{
    /* 30/100 vs 50/100: pooled z = 2.8868, two-sided p = 0.003892 */
    cr_assert_float_eq(stats_two_proportion_p(30, 100, 50, 100), 0.0038924, 1e-6);
    cr_assert_float_eq(stats_two_proportion_p(50, 100, 50, 100), 1.0, 1e-12);
    cr_assert_float_eq(stats_two_proportion_p(1, 0, 1, 10), 1.0, 1e-12);
    cr_assert_float_eq(stats_two_proportion_p(0, 10, 0, 10), 1.0, 1e-12);
}

/* ---- dates and ranges ---- */

Test(stats, day_parse_takes_real_dates_only)
{
    long d;
    char s[16];

    cr_assert_eq(stats_day_parse("1970-01-01", &d), STATS_OK);
    cr_assert_eq(d, 0);
    cr_assert_eq(stats_day_parse("2024-02-29", &d), STATS_OK);
    stats_day_format(d, s, sizeof(s));
    cr_assert_str_eq(s, "2024-02-29");
    cr_assert_eq(stats_day_parse("2026-02-29", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("2026-02-30", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("2026-13-01", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("2026-1-01", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("2026-01-01x", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("+026-01-01", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("1969-12-31", &d), STATS_BAD_DAY);
    cr_assert_eq(stats_day_parse("", &d), STATS_BAD_DAY);
}

Test(stats, range_defaults_to_thirty_days_and_refuses_what_is_wrong)
{
    long today, from, to, old;

    cr_assert_eq(stats_day_parse("2026-12-04", &today), STATS_OK);
    cr_assert_eq(stats_range(today, 400, NULL, NULL, &from, &to), STATS_OK);
    cr_assert_eq(to, today);
    cr_assert_eq(from, today - 29);
    cr_assert_eq(stats_range(today, 10, NULL, NULL, &from, &to), STATS_OK);
    cr_assert_eq(from, today - 9, "never older than the retention");
    cr_assert_eq(stats_range(today, 400, "2026-12-01", "2026-12-02", &from, &to), STATS_OK);
    cr_assert_eq(to - from, 1);
    cr_assert_eq(stats_range(today, 400, "2026-12-x1", NULL, &from, &to), STATS_BAD_FROM);
    cr_assert_eq(stats_range(today, 400, NULL, "tomorrow", &from, &to), STATS_BAD_TO);
    cr_assert_eq(stats_range(today, 400, "2026-12-03", "2026-12-02", &from, &to),
                 STATS_FROM_AFTER_TO);
    cr_assert_eq(stats_range(today, 400, NULL, "2026-12-05", &from, &to), STATS_TO_FUTURE);
    cr_assert_eq(stats_day_parse("2025-10-31", &old), STATS_OK);
    cr_assert_eq(today - old, 399);
    cr_assert_eq(stats_range(today, 400, "2025-10-31", NULL, &from, &to), STATS_OK);
    cr_assert_eq(stats_range(today, 400, "2025-10-30", NULL, &from, &to), STATS_OVER_RETENTION);
}

Test(stats, by_names_parse_and_unknown_ones_are_refused)
{
    enum stats_by by;

    cr_assert_eq(stats_by_parse("category", &by), STATS_OK);
    cr_assert_eq(by, STATS_BY_CATEGORY);
    cr_assert_str_eq(stats_by_name(STATS_BY_LANGUAGE), "language");
    cr_assert_eq(stats_by_parse("week", &by), STATS_BAD_BY);
    cr_assert_eq(stats_by_parse("Day", &by), STATS_BAD_BY);
}

/* ---- fields ---- */

Test(tally, field_escapes_separators_and_parses_back)
{
    struct tally_where w;
    char f[TALLY_MAX_FIELD], dims[TALLY_NDIMS][TALLY_MAX_PART], ev[64];

    where(&w, "US-CA", "v1|50%,b");
    cr_assert_eq(tally_field(&w, "a:accept_all", f, sizeof(f)), 0);
    cr_assert_str_eq(f, "US-CA|gdpr|v1%7C50%25,b|-|desktop|en|a:accept_all");
    cr_assert_eq(tally_field_parse(f, dims, ev, sizeof(ev)), 0);
    cr_assert_str_eq(dims[TALLY_VERSION], "v1|50%,b");
    cr_assert_str_eq(dims[TALLY_VARIANT], "-");
    cr_assert_str_eq(ev, "a:accept_all");
}

Test(tally, field_refuses_what_does_not_fit_and_parse_refuses_strangers)
{
    struct tally_where w;
    char f[32], dims[TALLY_NDIMS][TALLY_MAX_PART], ev[64];

    where(&w, "DE", "2026-11-01");
    cr_assert_eq(tally_field(&w, "shown", f, sizeof(f)), -1);
    cr_assert_eq(tally_field_parse("DE|gdpr|v|-|desktop|en", dims, ev, sizeof(ev)), -1);
    cr_assert_eq(tally_field_parse("DE|gdpr|v|-|desktop|en|shown|x", dims, ev, sizeof(ev)), -1);
    cr_assert_eq(tally_field_parse("DE|gdpr|v%7|-|desktop|en|shown", dims, ev, sizeof(ev)), -1);
    cr_assert_eq(tally_field_parse("DE|gdpr||-|desktop|en|shown", dims, ev, sizeof(ev)), -1);
}

Test(tally, device_and_bot_classes_are_coarse)
{
    cr_assert_str_eq(tally_device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"), "mobile");
    cr_assert_str_eq(tally_device("Mozilla/5.0 (Linux; Android 14) Mobile Safari"), "mobile");
    cr_assert_str_eq(tally_device("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"), "desktop");
    cr_assert(tally_is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)"));
    cr_assert(tally_is_bot("Mozilla/5.0 (compatible; bingbot/2.0)"));
    cr_assert(tally_is_bot(""));
    cr_assert_not(tally_is_bot("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"));
}

/* ---- the per-worker table ---- */

Test(tally, adds_sum_per_field_and_day_and_drain_empties_the_worker)
{
    struct tally t;
    struct tally_where w;
    struct tally_table *into = tally_table_new();
    char f[TALLY_MAX_FIELD];
    unsigned long dropped = 0;

    cr_assert_eq(tally_init(&t), 0);
    where(&w, "DE", "v");
    tally_add(&t, &w, "shown", 1);
    tally_add(&t, &w, "shown", 1);
    tally_add(&t, &w, "a:reject_all", 1);
    w.day++;
    tally_add(&t, &w, "shown", 5);
    tally_drain(&t, into, &dropped);
    cr_assert_eq(dropped, 0);
    cr_assert_eq(tally_table_size(into), 3);
    w.day--;
    tally_field(&w, "shown", f, sizeof(f));
    cr_assert_eq(tally_table_get(into, "demo", w.day, f), 2);
    cr_assert_eq(tally_table_get(into, "demo", w.day + 1, f), 5);
    cr_assert_eq(tally_table_get(into, "shop", w.day, f), 0);

    /* drained twice: the worker's tables are empty, the sums add up */
    tally_add(&t, &w, "shown", 1);
    tally_drain(&t, into, &dropped);
    tally_drain(&t, into, &dropped);
    cr_assert_eq(tally_table_get(into, "demo", w.day, f), 3);
    tally_table_free(into);
    tally_cleanup(&t);
}

Test(tally, a_full_table_drops_new_counts_and_says_so)
{
    struct tally t;
    struct tally_where w;
    char region[16];

    cr_assert_eq(tally_init(&t), 0);
    where(&w, region, "v");
    for (int i = 0; i < TALLY_MAX_ENTRIES + 5; i++) {
        snprintf(region, sizeof(region), "R%d", i);
        tally_add(&t, &w, "shown", 1);
    }
    cr_assert_eq(atomic_load(&t.dropped), 5, "dropped %lu", atomic_load(&t.dropped));
    snprintf(region, sizeof(region), "R0");
    tally_add(&t, &w, "shown", 1);     /* an existing count still adds */
    cr_assert_eq(atomic_load(&t.dropped), 5);
    tally_cleanup(&t);
}

Test(tally, flush_keeps_everything_when_redis_is_unavailable)
{
    struct store s;
    struct store_options o;
    struct tally_table *pending = tally_table_new();
    struct tally t;
    struct tally_where w;
    char f[TALLY_MAX_FIELD];
    unsigned long dropped = 0;

    memset(&o, 0, sizeof(o));
    o.topology = STORE_SINGLE;
    snprintf(o.address, sizeof(o.address), "127.0.0.1:1");  /* nothing listens */
    o.connect_timeout_ms = 200;
    o.command_timeout_ms = 200;
    memset(&s, 0, sizeof(s));
    cr_assert(store_usable(store_open(&s, &o)));
    cr_assert_eq(tally_init(&t), 0);
    where(&w, "DE", "v");
    tally_add(&t, &w, "shown", 4);
    tally_drain(&t, pending, &dropped);
    cr_assert_eq(tally_flush(pending, &s, 86400, &dropped), STORE_UNAVAILABLE);
    tally_field(&w, "shown", f, sizeof(f));
    cr_assert_eq(tally_table_get(pending, "demo", w.day, f), 4, "kept for the next flush");
    cr_assert_eq(dropped, 0);
    store_close(&s);
    tally_cleanup(&t);
    tally_table_free(pending);
}

/* ---- the report ---- */

static struct store_stat row(long day, const char *field, long long count)
{
    struct store_stat r = {day, strdup(field), count};

    return r;
}

Test(stats, report_groups_counts_and_derives_rates)
{
    struct store_stat rows[] = {
        row(10, "DE|gdpr|v|-|desktop|en|shown", 8),
        row(10, "DE|gdpr|v|-|desktop|en|a:accept_all", 3),
        row(10, "DE|gdpr|v|-|desktop|en|a:reject_all", 2),
        row(11, "US-CA|ccpa|v|-|mobile|en|shown", 2),
        row(11, "US-CA|ccpa|v|-|mobile|en|a:gpc", 1),
        row(11, "US-CA|ccpa|v|-|mobile|en|on:analytics", 1),
        row(11, "DE|gdpr|v|-|desktop|en|off:analytics", 3),
        row(11, "not a field", 99),
        row(40, "DE|gdpr|v|-|desktop|en|shown", 1000),     /* out of range */
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    cJSON *r = stats_report("demo", 10, 12, STATS_BY_REGION, NULL, rows, n);
    const cJSON *total, *de, *rate;
    char *csv;

    cr_assert_not_null(r);
    total = cJSON_GetObjectItemCaseSensitive(r, "total");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(total, "shown")), 10);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(total, "answered")), 5,
                 "gpc is not an answer by hand");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(total, "ignored")), 5);
    de = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "rows"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(de, "key")), "DE");
    rate = cJSON_GetObjectItemCaseSensitive(de, "accept_rate");
    cr_assert_float_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rate, "rate")), 0.6, 1e-12);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "rows")), 2);
    csv = stats_csv(r);
    cr_assert_not_null(csv);
    cr_assert(strncmp(csv, "region,shown,", 13) == 0);
    cr_assert_not_null(strstr(csv, "\r\nDE,8,0,0,5,3,3,2,0,0,0,0,0.625000,"), "%s", csv);
    cr_assert_not_null(strstr(csv, "\r\ntotal,10,"));
    free(csv);
    cJSON_Delete(r);

    r = stats_report("demo", 10, 12, STATS_BY_DAY, NULL, rows, n);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "rows")), 3,
                 "every day of the range, the empty one too");
    cJSON_Delete(r);

    r = stats_report("demo", 10, 12, STATS_BY_CATEGORY, NULL, rows, n);
    de = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "rows"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(de, "key")), "analytics");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(de, "on")), 1);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(de, "off")), 3);
    cJSON_Delete(r);
    for (size_t i = 0; i < n; i++)
        free(rows[i].field);
}

Test(stats, csv_quotes_a_key_with_a_comma)
{
    struct store_stat rows[] = {row(10, "DE|gdpr|v1,2|-|desktop|en|shown", 1)};
    cJSON *r = stats_report("demo", 10, 10, STATS_BY_VERSION, NULL, rows, 1);
    char *csv = stats_csv(r);

    cr_assert_not_null(strstr(csv, "\r\n\"v1,2\",1,"), "%s", csv);
    free(csv);
    cJSON_Delete(r);
    free(rows[0].field);
}

Test(stats, by_variant_compares_each_variant_with_the_baseline)
{
    struct store_stat rows[] = {
        row(10, "DE|gdpr|v|a|desktop|en|shown", 100),
        row(10, "DE|gdpr|v|a|desktop|en|a:accept_all", 30),
        row(10, "DE|gdpr|v|a|desktop|en|a:reject_all", 30),
        row(10, "DE|gdpr|v|b|desktop|en|shown", 100),
        row(10, "DE|gdpr|v|b|desktop|en|a:accept_all", 50),
        row(10, "DE|gdpr|v|b|desktop|en|a:reject_all", 10),
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    cJSON *r = stats_report("demo", 10, 10, STATS_BY_VARIANT, "a", rows, n);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(r, "experiment"), *b, *ans, *acc;

    cr_assert_not_null(x);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "baseline")), "a");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(x, "variants")), 1);
    b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(x, "variants"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "key")), "b");
    /* answer rates 60/100 both: no difference */
    ans = cJSON_GetObjectItemCaseSensitive(b, "answer_rate");
    cr_assert_float_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ans, "p")), 1.0, 1e-9);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ans, "significant")));
    /* accept rates 30/60 vs 50/60: pooled z = 3.8730, p = 0.000108 */
    acc = cJSON_GetObjectItemCaseSensitive(b, "accept_rate");
    cr_assert_float_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(acc, "difference")),
                       50.0 / 60 - 30.0 / 60, 1e-9);
    cr_assert_float_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(acc, "p")),
                       stats_two_proportion_p(50, 60, 30, 60), 1e-12);
    cr_assert(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(acc, "p")) < 0.001);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(acc, "significant")));
    cJSON_Delete(r);

    r = stats_report("demo", 10, 10, STATS_BY_REGION, "a", rows, n);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(r, "experiment"), "only by variant");
    cJSON_Delete(r);
    for (size_t i = 0; i < n; i++)
        free(rows[i].field);
}
