/*
 * stats.c - see stats.h.
 */
#include "stats.h"
#include "tally.h"
#include "../common/textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const by_names[] = {
    [STATS_BY_DAY] = "day", [STATS_BY_REGION] = "region", [STATS_BY_REGIME] = "regime",
    [STATS_BY_VERSION] = "version", [STATS_BY_VARIANT] = "variant",
    [STATS_BY_CATEGORY] = "category", [STATS_BY_DEVICE] = "device",
    [STATS_BY_LANGUAGE] = "language",
};

/* The answers by action, in the order reports list them. */
static const char *const actions[] = {"accept_all", "reject_all", "custom", "withdraw", "gpc"};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))
#define MANUAL_ACTIONS 4    /* the first four are answers by hand */

/* Which dimension each grouping reads (-1: the day, or the category). */
static const int by_dim[] = {
    [STATS_BY_DAY] = -1, [STATS_BY_REGION] = TALLY_REGION, [STATS_BY_REGIME] = TALLY_REGIME,
    [STATS_BY_VERSION] = TALLY_VERSION, [STATS_BY_VARIANT] = TALLY_VARIANT,
    [STATS_BY_CATEGORY] = -1, [STATS_BY_DEVICE] = TALLY_DEVICE,
    [STATS_BY_LANGUAGE] = TALLY_LANGUAGE,
};

int stats_by_parse(const char *s, enum stats_by *by)
{
    for (size_t i = 0; i < sizeof(by_names) / sizeof(by_names[0]); i++)
        if (strcmp(s, by_names[i]) == 0) {
            *by = (enum stats_by)i;
            return STATS_OK;
        }
    return STATS_BAD_BY;
}

const char *stats_by_name(enum stats_by by)
{
    return (size_t)by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "";
}

int stats_day_parse(const char *s, long *day)
{
    struct tm tm = {0};
    int y, m, d;
    char tail;
    time_t t;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return STATS_BAD_DAY;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return STATS_BAD_DAY;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return STATS_BAD_DAY;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    t = timegm(&tm);
    /* timegm normalises 2026-02-30 to March: refuse what moved */
    if (t < 0 || tm.tm_mday != d || tm.tm_mon != m - 1)
        return STATS_BAD_DAY;
    *day = (long)(t / 86400);
    return STATS_OK;
}

void stats_day_format(long day, char *out, size_t len)
{
    time_t t = (time_t)day * 86400;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, len, "?");
        return;
    }
    snprintf(out, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int stats_range(long today, int retention_days, const char *from, const char *to,
                long *from_day, long *to_day)
{
    long first = today - retention_days + 1;

    *to_day = today;
    if (to != NULL && stats_day_parse(to, to_day) != STATS_OK)
        return STATS_BAD_TO;
    *from_day = *to_day - 29 < first ? first : *to_day - 29;
    if (from != NULL && stats_day_parse(from, from_day) != STATS_OK)
        return STATS_BAD_FROM;
    if (*from_day > *to_day)
        return STATS_FROM_AFTER_TO;
    if (*to_day > today)
        return STATS_TO_FUTURE;
    if (*from_day < first)
        return STATS_OVER_RETENTION;
    return STATS_OK;
}

const char *stats_strerror(int status)
{
    switch (status) {
    case STATS_OK:
        return "success";
    case STATS_BAD_FROM:
        return "\"from\" must be a date YYYY-MM-DD";
    case STATS_BAD_TO:
        return "\"to\" must be a date YYYY-MM-DD";
    case STATS_FROM_AFTER_TO:
        return "\"from\" is after \"to\"";
    case STATS_TO_FUTURE:
        return "\"to\" is after today (UTC)";
    case STATS_OVER_RETENTION:
        return "\"from\" is older than the counts are kept (stats.retention_days)";
    case STATS_BAD_DAY:
        return "not a date YYYY-MM-DD";
    case STATS_BAD_BY:
        return "\"by\" must be one of day, region, regime, version, variant, category, "
               "device, language";
    case STATS_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}

void stats_wilson(long long x, long long n, double z, struct stats_interval *out)
{
    double p, z2n, centre, half;

    memset(out, 0, sizeof(*out));
    if (n <= 0 || x < 0 || x > n)
        return;
    p = (double)x / (double)n;
    z2n = z * z / (double)n;
    centre = (p + z2n / 2) / (1 + z2n);
    half = z / (1 + z2n) * sqrt(p * (1 - p) / (double)n + z2n / (4 * (double)n));
    out->valid = 1;
    out->rate = p;
    out->low = centre - half < 0 ? 0 : centre - half;
    out->high = centre + half > 1 ? 1 : centre + half;
}

double stats_two_proportion_p(long long x1, long long n1, long long x2, long long n2)
{
    double p1, p2, pool, se, z;

    if (n1 <= 0 || n2 <= 0)
        return 1;
    p1 = (double)x1 / (double)n1;
    p2 = (double)x2 / (double)n2;
    pool = (double)(x1 + x2) / (double)(n1 + n2);
    se = sqrt(pool * (1 - pool) * (1.0 / (double)n1 + 1.0 / (double)n2));
    if (se == 0)
        return 1;
    z = fabs(p1 - p2) / se;
    return erfc(z / sqrt(2.0));
}

/* ---- grouping ---- */

struct agg {
    char key[TALLY_MAX_PART];
    long long shown, shown_gpc, settings, opted_out, on, off;
    long long answers[NACTIONS];
};

struct cat {
    char id[TALLY_MAX_PART];
    long long on, off;
};

struct group {
    struct agg *rows;
    size_t n, cap;
    struct agg total;
    struct cat *cats;
    size_t ncats, catcap;
};

/* arr (n elements of size bytes used of *cap) with room for one more:
 * arr itself, or a copy of twice the room (from 16), *cap updated. NULL
 * when out of memory (arr still valid). */
static void *room_for_one(void *arr, size_t *cap, size_t n, size_t size)
{
    size_t want = *cap ? 2 * *cap : 16;
    void *p;

    if (n < *cap)
        return arr;
    p = realloc(arr, want * size);
    if (p != NULL)
        *cap = want;
    return p;
}

static struct agg *row_of(struct group *g, const char *key)
{
    struct agg *rows;

    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->rows[i].key, key) == 0)
            return &g->rows[i];
    if (g->n == STATS_MAX_KEYS)
        return NULL;
    rows = room_for_one(g->rows, &g->cap, g->n, sizeof(*rows));
    if (rows == NULL)
        return NULL;
    g->rows = rows;
    memset(&g->rows[g->n], 0, sizeof(g->rows[0]));
    snprintf(g->rows[g->n].key, sizeof(g->rows[0].key), "%s", key);
    return &g->rows[g->n++];
}

static struct cat *cat_of(struct group *g, const char *id)
{
    struct cat *cats;

    for (size_t i = 0; i < g->ncats; i++)
        if (strcmp(g->cats[i].id, id) == 0)
            return &g->cats[i];
    cats = room_for_one(g->cats, &g->catcap, g->ncats, sizeof(*cats));
    if (cats == NULL)
        return NULL;
    g->cats = cats;
    memset(&g->cats[g->ncats], 0, sizeof(g->cats[0]));
    snprintf(g->cats[g->ncats].id, sizeof(g->cats[0].id), "%s", id);
    return &g->cats[g->ncats++];
}

/* Adds count of event to a; returns the category it names (on/off), if any. */
static const char *add_event(struct agg *a, const char *event, long long count)
{
    if (strcmp(event, TALLY_SHOWN) == 0)
        a->shown += count;
    else if (strcmp(event, TALLY_SHOWN_GPC) == 0)
        a->shown_gpc += count;
    else if (strcmp(event, TALLY_SETTINGS) == 0)
        a->settings += count;
    else if (strcmp(event, TALLY_OPTED_OUT) == 0)
        a->opted_out += count;
    else if (strncmp(event, TALLY_ANSWER_PREFIX, 2) == 0) {
        for (size_t i = 0; i < NACTIONS; i++)
            if (strcmp(event + 2, actions[i]) == 0)
                a->answers[i] += count;
    } else if (strncmp(event, "on:", 3) == 0) {
        a->on += count;
        return event + 3;
    } else if (strncmp(event, "off:", 4) == 0) {
        a->off += count;
        return event + 4;
    }
    return NULL;
}

static long long answered(const struct agg *a)
{
    long long n = 0;

    for (size_t i = 0; i < MANUAL_ACTIONS; i++)
        n += a->answers[i];
    return n;
}

static void add_interval(cJSON *o, const char *name, long long x, long long n)
{
    struct stats_interval iv;
    cJSON *r;

    stats_wilson(x, n, STATS_Z95, &iv);
    if (!iv.valid) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    r = cJSON_AddObjectToObject(o, name);
    cJSON_AddNumberToObject(r, "rate", iv.rate);
    cJSON_AddNumberToObject(r, "low", iv.low);
    cJSON_AddNumberToObject(r, "high", iv.high);
}

static cJSON *agg_json(const struct agg *a)
{
    cJSON *o = cJSON_CreateObject(), *ans;
    long long ans_n = answered(a);

    cJSON_AddStringToObject(o, "key", a->key);
    cJSON_AddNumberToObject(o, "shown", (double)a->shown);
    cJSON_AddNumberToObject(o, "shown_gpc", (double)a->shown_gpc);
    cJSON_AddNumberToObject(o, "settings", (double)a->settings);
    cJSON_AddNumberToObject(o, "answered", (double)ans_n);
    cJSON_AddNumberToObject(o, "ignored", (double)(a->shown > ans_n ? a->shown - ans_n : 0));
    ans = cJSON_AddObjectToObject(o, "answers");
    for (size_t i = 0; i < NACTIONS; i++)
        cJSON_AddNumberToObject(ans, actions[i], (double)a->answers[i]);
    cJSON_AddNumberToObject(o, "opted_out", (double)a->opted_out);
    /* answers from the settings panel without a banner may exceed shown */
    add_interval(o, "answer_rate", ans_n < a->shown ? ans_n : a->shown, a->shown);
    add_interval(o, "accept_rate", a->answers[0], ans_n);
    return o;
}

static cJSON *cat_json(const char *key, long long on, long long off)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddNumberToObject(o, "on", (double)on);
    cJSON_AddNumberToObject(o, "off", (double)off);
    add_interval(o, "on_rate", on, on + off);
    return o;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct agg *)a)->key, ((const struct agg *)b)->key);
}

static int cat_by_id(const void *a, const void *b)
{
    return strcmp(((const struct cat *)a)->id, ((const struct cat *)b)->id);
}

/* One comparison of the experiment table: x/n of a variant against the
 * baseline's bx/bn. */
static void add_test(cJSON *o, const char *name, long long x, long long n_, long long bx,
                     long long bn)
{
    cJSON *t = cJSON_AddObjectToObject(o, name);
    double p = stats_two_proportion_p(x, n_, bx, bn);

    cJSON_AddNumberToObject(t, "difference", n_ > 0 && bn > 0
                            ? (double)x / (double)n_ - (double)bx / (double)bn : 0);
    cJSON_AddNumberToObject(t, "p", p);
    cJSON_AddBoolToObject(t, "significant", p < STATS_ALPHA);
}

static cJSON *experiment_json(const struct group *g, const char *baseline)
{
    const struct agg *base = NULL;
    cJSON *o, *arr;

    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->rows[i].key, baseline) == 0)
            base = &g->rows[i];
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "baseline", baseline);
    cJSON_AddNumberToObject(o, "alpha", STATS_ALPHA);
    arr = cJSON_AddArrayToObject(o, "variants");
    for (size_t i = 0; base != NULL && i < g->n; i++) {
        const struct agg *a = &g->rows[i];
        long long an = answered(a), bn = answered(base);
        cJSON *v;

        if (a == base || strcmp(a->key, TALLY_NONE) == 0)
            continue;
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "key", a->key);
        add_test(v, "answer_rate", an < a->shown ? an : a->shown, a->shown,
                 bn < base->shown ? bn : base->shown, base->shown);
        add_test(v, "accept_rate", a->answers[0], an, base->answers[0], bn);
        cJSON_AddItemToArray(arr, v);
    }
    return o;
}

/* Adds one stored count to the totals, its category and the row its key
 * names. Returns STATS_OK, or STATS_NO_MEMORY. */
static int group_add(struct group *g, enum stats_by by, const struct store_stat *row,
                     char dims[TALLY_NDIMS][TALLY_MAX_PART], const char *event)
{
    const char *cat = add_event(&g->total, event, row->count), *key;
    char day[16];
    struct agg *a;

    if (cat != NULL) {
        struct cat *c = cat_of(g, cat);

        if (c == NULL)
            return STATS_NO_MEMORY;
        if (event[1] == 'n')
            c->on += row->count;
        else
            c->off += row->count;
    }
    if (by == STATS_BY_CATEGORY)
        return STATS_OK;
    if (by == STATS_BY_DAY) {
        stats_day_format(row->day, day, sizeof(day));
        key = day;
    } else {
        key = dims[by_dim[by]];
    }
    a = row_of(g, key);
    if (a == NULL)
        return STATS_NO_MEMORY;
    add_event(a, event, row->count);
    return STATS_OK;
}

/* The stored counts of from..to grouped by by (every day of the range a
 * row when by day), sorted by key. STATS_OK or STATS_NO_MEMORY. */
static int group_rows(struct group *g, long from, long to, enum stats_by by,
                      const struct store_stat *rows, size_t n)
{
    char dims[TALLY_NDIMS][TALLY_MAX_PART], event[TALLY_MAX_PART], day[16];
    int st = STATS_OK;

    if (by == STATS_BY_DAY)     /* every day of the range, also the empty ones */
        for (long d = from; d <= to && st == STATS_OK; d++) {
            stats_day_format(d, day, sizeof(day));
            st = row_of(g, day) != NULL ? STATS_OK : STATS_NO_MEMORY;
        }
    for (size_t i = 0; i < n && st == STATS_OK; i++)
        if (rows[i].day >= from && rows[i].day <= to &&
            tally_field_parse(rows[i].field, dims, event, sizeof(event)) == 0)
            st = group_add(g, by, &rows[i], dims, event);
    if (st != STATS_OK)
        return st;
    if (g->n > 0)
        qsort(g->rows, g->n, sizeof(*g->rows), by_key);
    if (g->ncats > 0)
        qsort(g->cats, g->ncats, sizeof(*g->cats), cat_by_id);
    return STATS_OK;
}

/* The report's "total": every count, and each category's on/off. */
static cJSON *total_json(struct group *g)
{
    cJSON *total, *cats;

    snprintf(g->total.key, sizeof(g->total.key), "total");
    total = agg_json(&g->total);
    cats = cJSON_AddObjectToObject(total, "categories");
    for (size_t i = 0; i < g->ncats; i++) {
        cJSON *c = cat_json(g->cats[i].id, g->cats[i].on, g->cats[i].off);

        cJSON_DeleteItemFromObjectCaseSensitive(c, "key");
        cJSON_AddItemToObject(cats, g->cats[i].id, c);
    }
    return total;
}

cJSON *stats_report(const char *site, long from, long to, enum stats_by by,
                    const char *baseline, const struct store_stat *rows, size_t n)
{
    struct group g = {0};
    char day[16];
    cJSON *root = NULL, *arr;

    if (group_rows(&g, from, to, by, rows, n) != STATS_OK)
        goto cleanup;
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "site", site);
    stats_day_format(from, day, sizeof(day));
    cJSON_AddStringToObject(root, "from", day);
    stats_day_format(to, day, sizeof(day));
    cJSON_AddStringToObject(root, "to", day);
    cJSON_AddStringToObject(root, "by", stats_by_name(by));
    arr = cJSON_AddArrayToObject(root, "rows");
    if (by == STATS_BY_CATEGORY)
        for (size_t i = 0; i < g.ncats; i++)
            cJSON_AddItemToArray(arr, cat_json(g.cats[i].id, g.cats[i].on, g.cats[i].off));
    else
        for (size_t i = 0; i < g.n; i++)
            cJSON_AddItemToArray(arr, agg_json(&g.rows[i]));
    cJSON_AddItemToObject(root, "total", total_json(&g));
    if (by == STATS_BY_VARIANT && baseline != NULL)
        cJSON_AddItemToObject(root, "experiment", experiment_json(&g, baseline));
cleanup:
    free(g.rows);
    free(g.cats);
    return root;
}

/* ---- CSV ---- */

/* A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180). */
static void put_cell(struct textbuf *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        textbuf_printf(b, "%s", s);
        return;
    }
    textbuf_printf(b, "\"");
    for (; *s != '\0'; s++)
        if (*s == '"')
            textbuf_printf(b, "\"\"");
        else
            textbuf_printf(b, "%c", *s);
    textbuf_printf(b, "\"");
}

static double num(const cJSON *o, const char *name)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static void put_rate(struct textbuf *b, const cJSON *o, const char *name)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsObject(r)) {
        textbuf_printf(b, ",,,");
        return;
    }
    textbuf_printf(b, ",%.6f,%.6f,%.6f", num(r, "rate"), num(r, "low"), num(r, "high"));
}

static void put_row(struct textbuf *b, const cJSON *row, int category)
{
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(row, "answers");

    put_cell(b, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "key")));
    if (category) {
        textbuf_printf(b, ",%.0f,%.0f", num(row, "on"), num(row, "off"));
        put_rate(b, row, "on_rate");
    } else {
        textbuf_printf(b, ",%.0f,%.0f,%.0f,%.0f,%.0f", num(row, "shown"), num(row, "shown_gpc"),
            num(row, "settings"), num(row, "answered"), num(row, "ignored"));
        for (size_t i = 0; i < NACTIONS; i++)
            textbuf_printf(b, ",%.0f", num(ans, actions[i]));
        textbuf_printf(b, ",%.0f", num(row, "opted_out"));
        put_rate(b, row, "answer_rate");
        put_rate(b, row, "accept_rate");
    }
    textbuf_printf(b, "\r\n");
}

char *stats_csv(const cJSON *report)
{
    struct textbuf b;
    const char *by = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(report, "by"));
    int category = by != NULL && strcmp(by, "category") == 0;
    const cJSON *row;

    if (textbuf_init(&b, 1024) != 0)
        return NULL;
    if (category)
        textbuf_printf(&b, "%s,on,off,on_rate,on_rate_low,on_rate_high\r\n", by);
    else
        textbuf_printf(&b, "%s,shown,shown_gpc,settings,answered,ignored,accept_all,reject_all,"
            "custom,withdraw,gpc,opted_out,answer_rate,answer_rate_low,answer_rate_high,"
            "accept_rate,accept_rate_low,accept_rate_high\r\n", by != NULL ? by : "key");
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(report, "rows"))
        put_row(&b, row, category);
    if (!category)
        put_row(&b, cJSON_GetObjectItemCaseSensitive(report, "total"), 0);
    return textbuf_take(&b);
}
