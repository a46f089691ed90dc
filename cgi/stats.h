/*
 * stats.h - reading the analytics counts: the report that
 * GET /consent/v1/admin/stats answers and `consentctl stats` prints, from
 * the counts the store hands back (store_stats_read). Pure functions, so
 * consentd and consentctl share one definition of every rate.
 *
 * Rates (each with its 95% Wilson score interval):
 *   answer_rate = answered / shown, answered = accept_all + reject_all +
 *                 custom + withdraw (answers by hand; GPC's automatic
 *                 records are counted apart, as answers.gpc);
 *   accept_rate = accept_all / answered;
 *   on_rate     = on / (on + off) of a category over the answers by hand.
 */
#ifndef CONSENT_STATS_H
#define CONSENT_STATS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "../common/attrs.h"
#include "../redis/store.h"

#define STATS_Z95 1.959963984540054   /* the normal quantile of 97.5% */
#define STATS_MAX_KEYS 4096           /* distinct rows a report holds */

enum stats_by {
    STATS_BY_DAY = 0,
    STATS_BY_REGION,
    STATS_BY_REGIME,
    STATS_BY_VERSION,
    STATS_BY_VARIANT,
    STATS_BY_CATEGORY,
    STATS_BY_DEVICE,
    STATS_BY_LANGUAGE
};

enum stats_status {
    STATS_OK = 0,
    STATS_BAD_FROM,         /* "from" is not a date YYYY-MM-DD */
    STATS_BAD_TO,           /* "to" is not a date YYYY-MM-DD */
    STATS_FROM_AFTER_TO,
    STATS_TO_FUTURE,        /* "to" is after today (UTC) */
    STATS_OVER_RETENTION,   /* "from" is older than the counts are kept */
    STATS_BAD_DAY,          /* not a date YYYY-MM-DD (1970 or later) */
    STATS_BAD_BY,           /* not a grouping stats_by_parse knows */
    STATS_NO_MEMORY
};

/* A rate and its 95% interval; n == 0 gives no rate (valid 0). */
struct stats_interval {
    int valid;
    double rate, low, high;
};

/* "day", "region", ... -> *by: STATS_OK, or STATS_BAD_BY for anything else. */
CONSENT_MUST_CHECK
int stats_by_parse(const char *s, enum stats_by *by);
const char *stats_by_name(enum stats_by by);

/* "YYYY-MM-DD" (a real date, 1970 or later) -> days since 1970-01-01:
 * STATS_OK, or STATS_BAD_DAY when malformed. */
CONSENT_MUST_CHECK
int stats_day_parse(const char *s, long *day);

/* days since 1970-01-01 -> "YYYY-MM-DD" (out: 11 bytes or more). */
void stats_day_format(long day, char *out, size_t len);

/*
 * The range of days a report covers, from the parameters as given (NULL:
 * absent): to defaults to today, from to 29 days before to (or the oldest
 * day kept). Returns STATS_OK with *from_day and *to_day, or what is wrong.
 * consentd and consentctl take the same range by this one rule.
 */
CONSENT_MUST_CHECK
int stats_range(long today, int retention_days, const char *from, const char *to,
                long *from_day, long *to_day);

/* Static message for a stats_status. */
const char *stats_strerror(int status);

/* The Wilson score interval of x successes in n trials at z. */
void stats_wilson(long long x, long long n, double z, struct stats_interval *out);

/*
 * Two-sided p-value of the pooled two-proportion z-test of x1/n1 against
 * x2/n2 (1 when either n is 0 or nothing varies).
 */
double stats_two_proportion_p(long long x1, long long n1, long long x2, long long n2);

#define STATS_ALPHA 0.05      /* a difference is significant below this p */

/*
 * The report of rows (site's counts from from to to) grouped by by:
 * {"site", "from", "to", "by", "rows": [...], "total": {...}}. Rows that
 * are not analytics fields are ignored. With by == STATS_BY_VARIANT and a
 * baseline variant (the experiment's first; NULL: none), "experiment"
 * compares every other variant's answer and accept rates with the
 * baseline's (two-proportion z-test, p and significant at STATS_ALPHA).
 * Caller frees with cJSON_Delete; NULL when out of memory.
 */
cJSON *stats_report(const char *site, long from, long to, enum stats_by by,
                    const char *baseline, const struct store_stat *rows, size_t n);

/* The report as CSV (a header line, one line per row, then "total"),
 * malloc'd; NULL when out of memory. */
char *stats_csv(const cJSON *report);

#endif
