/*
 * tally.c - see tally.h.
 */
#include "tally.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tally_entry {
    uint32_t hash;
    int used;
    long day;
    long long n;
    char site[TALLY_MAX_SITE];
    char field[TALLY_MAX_FIELD];
};

/* Open addressing, linear probing, at most half full. */
struct tally_table {
    struct tally_entry *e;
    size_t cap;                 /* a power of two */
    size_t used;
};

#define TABLE_MIN 16

static uint32_t fnv(uint32_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

static uint32_t hash_of(const char *site, long day, const char *field)
{
    char d[24];

    snprintf(d, sizeof(d), "%ld", day);
    return fnv(fnv(fnv(2166136261u, site), d), field);
}

/* Appends part to out at *o, escaped; -1 when it does not fit. */
static int put_part(char *out, size_t len, size_t *o, const char *part)
{
    if (part == NULL || part[0] == '\0')
        part = TALLY_NONE;
    for (const unsigned char *p = (const unsigned char *)part; *p != '\0'; p++) {
        if (*p == '%' || *p == '|' || *p < 0x20 || *p == 0x7f) {
            if (*o + 3 >= len)
                return -1;
            snprintf(out + *o, 4, "%%%02X", *p);
            *o += 3;
        } else {
            if (*o + 1 >= len)
                return -1;
            out[(*o)++] = (char)*p;
        }
    }
    out[*o] = '\0';
    return 0;
}

int tally_field(const struct tally_where *w, const char *event, char *out, size_t len)
{
    size_t o = 0;

    if (len == 0)
        return -1;
    out[0] = '\0';
    for (int i = 0; i < TALLY_NDIMS; i++) {
        if (put_part(out, len, &o, w->dims[i]) != 0 || o + 1 >= len)
            return -1;
        out[o++] = '|';
        out[o] = '\0';
    }
    if (event == NULL || event[0] == '\0' || strchr(event, '|') != NULL)
        return -1;
    return put_part(out, len, &o, event);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes [s, end) into out (len bytes). -1 on a bad escape or overflow. */
static int get_part(const char *s, const char *end, char *out, size_t len)
{
    size_t o = 0;

    if (s == end)
        return -1;
    while (s < end) {
        int c = (unsigned char)*s;

        if (c == '%') {
            if (end - s < 3 || hexval(s[1]) < 0 || hexval(s[2]) < 0)
                return -1;
            c = hexval(s[1]) * 16 + hexval(s[2]);
            s += 3;
        } else {
            s++;
        }
        if (o + 1 >= len || c == 0)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int tally_field_parse(const char *field, char dims[TALLY_NDIMS][TALLY_MAX_PART],
                      char *event, size_t evlen)
{
    const char *p = field;

    for (int i = 0; i < TALLY_NDIMS; i++) {
        const char *bar = strchr(p, '|');

        if (bar == NULL || get_part(p, bar, dims[i], TALLY_MAX_PART) != 0)
            return -1;
        p = bar + 1;
    }
    if (strchr(p, '|') != NULL)
        return -1;
    return get_part(p, p + strlen(p), event, evlen);
}

const char *tally_device(const char *ua)
{
    static const char *const mobile[] = {"Mobi", "Android", "iPhone", "iPad", "iPod"};

    for (size_t i = 0; ua != NULL && i < sizeof(mobile) / sizeof(mobile[0]); i++)
        if (strstr(ua, mobile[i]) != NULL)
            return "mobile";
    return "desktop";
}

int tally_is_bot(const char *ua)
{
    static const char *const bots[] = {"bot", "crawl", "spider", "slurp",
                                       "facebookexternalhit", "preview"};

    if (ua == NULL || ua[0] == '\0')
        return 1;
    for (size_t i = 0; i < sizeof(bots) / sizeof(bots[0]); i++)
        if (strcasestr(ua, bots[i]) != NULL)
            return 1;
    return 0;
}

struct tally_table *tally_table_new(void)
{
    struct tally_table *tt = calloc(1, sizeof(*tt));

    if (tt == NULL)
        return NULL;
    tt->e = calloc(TABLE_MIN, sizeof(*tt->e));
    if (tt->e == NULL) {
        free(tt);
        return NULL;
    }
    tt->cap = TABLE_MIN;
    return tt;
}

void tally_table_free(struct tally_table *tt)
{
    if (tt == NULL)
        return;
    free(tt->e);
    free(tt);
}

size_t tally_table_size(const struct tally_table *tt)
{
    return tt != NULL ? tt->used : 0;
}

static struct tally_entry *find(const struct tally_table *tt, uint32_t h, const char *site,
                                long day, const char *field)
{
    for (size_t i = h & (tt->cap - 1);; i = (i + 1) & (tt->cap - 1)) {
        struct tally_entry *e = &tt->e[i];

        if (!e->used || (e->hash == h && e->day == day && strcmp(e->site, site) == 0 &&
                         strcmp(e->field, field) == 0))
            return e;
    }
}

/* Doubles the table (only while below TALLY_MAX_ENTRIES). -1 out of memory. */
static int grow(struct tally_table *tt)
{
    struct tally_table bigger = {calloc(tt->cap * 2, sizeof(*tt->e)), tt->cap * 2, 0};

    if (bigger.e == NULL)
        return -1;
    for (size_t i = 0; i < tt->cap; i++)
        if (tt->e[i].used) {
            *find(&bigger, tt->e[i].hash, tt->e[i].site, tt->e[i].day, tt->e[i].field) =
                tt->e[i];
            bigger.used++;
        }
    free(tt->e);
    *tt = bigger;
    return 0;
}

/* Adds by to one count. -1 when the table is full (or memory ran out). */
static int table_add(struct tally_table *tt, uint32_t h, const char *site, long day,
                     const char *field, long long by)
{
    struct tally_entry *e = find(tt, h, site, day, field);

    if (e->used) {
        e->n += by;
        return 0;
    }
    if (tt->used >= TALLY_MAX_ENTRIES)
        return -1;
    if (2 * (tt->used + 1) > tt->cap) {
        if (grow(tt) != 0)
            return -1;
        e = find(tt, h, site, day, field);
    }
    e->used = 1;
    e->hash = h;
    e->day = day;
    e->n = by;
    snprintf(e->site, sizeof(e->site), "%s", site);
    snprintf(e->field, sizeof(e->field), "%s", field);
    tt->used++;
    return 0;
}

static void table_clear(struct tally_table *tt)
{
    memset(tt->e, 0, tt->cap * sizeof(*tt->e));
    tt->used = 0;
}

long long tally_table_get(const struct tally_table *tt, const char *site, long day,
                          const char *field)
{
    const struct tally_entry *e;

    if (tt == NULL)
        return 0;
    e = find(tt, hash_of(site, day, field), site, day, field);
    return e->used ? e->n : 0;
}

int tally_init(struct tally *t)
{
    memset(t, 0, sizeof(*t));
    if (pthread_mutex_init(&t->lock, NULL) != 0)
        return -1;
    t->live = tally_table_new();
    t->spare = tally_table_new();
    t->ready = 1;
    if (t->live == NULL || t->spare == NULL) {
        tally_cleanup(t);
        return -1;
    }
    return 0;
}

void tally_cleanup(struct tally *t)
{
    if (!t->ready)
        return;
    tally_table_free(t->live);
    tally_table_free(t->spare);
    pthread_mutex_destroy(&t->lock);
    t->live = t->spare = NULL;
    t->ready = 0;
}

void tally_add(struct tally *t, const struct tally_where *w, const char *event,
               long long by)
{
    char field[TALLY_MAX_FIELD];
    uint32_t h;
    int st;

    if (!t->ready || w->site == NULL || strlen(w->site) >= TALLY_MAX_SITE ||
        tally_field(w, event, field, sizeof(field)) != 0) {
        if (t->ready)
            atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
        return;
    }
    h = hash_of(w->site, w->day, field);
    pthread_mutex_lock(&t->lock);
    st = table_add(t->live, h, w->site, w->day, field, by);
    pthread_mutex_unlock(&t->lock);
    if (st != 0)
        atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
}

/* Adds every count of from to into; what does not fit goes to *dropped. */
static void merge(struct tally_table *into, const struct tally_table *from,
                  unsigned long *dropped)
{
    for (size_t i = 0; i < from->cap; i++) {
        const struct tally_entry *e = &from->e[i];

        if (e->used && e->n != 0 &&
            table_add(into, e->hash, e->site, e->day, e->field, e->n) != 0)
            (*dropped)++;
    }
}

void tally_drain(struct tally *t, struct tally_table *into, unsigned long *dropped)
{
    struct tally_table *full;

    if (!t->ready)
        return;
    /* Only the swap is under the lock: the worker goes on counting into
     * the empty table while the full one is merged. */
    pthread_mutex_lock(&t->lock);
    full = t->live;
    t->live = t->spare;
    t->spare = full;
    pthread_mutex_unlock(&t->lock);
    merge(into, full, dropped);
    table_clear(full);
}

int tally_flush(struct tally_table *pending, struct store *s, long ttl_s,
                unsigned long *dropped)
{
    struct store_counter *c;
    struct tally_entry **of;
    struct tally_table *keep;
    size_t n = 0;
    int st;

    if (pending->used == 0)
        return STORE_OK;
    c = calloc(pending->used, sizeof(*c));
    of = calloc(pending->used, sizeof(*of));
    if (c == NULL || of == NULL) {
        free(c);
        free(of);
        return STORE_ERROR;
    }
    for (size_t i = 0; i < pending->cap; i++) {
        struct tally_entry *e = &pending->e[i];

        if (!e->used)
            continue;
        c[n].site = e->site;
        c[n].day = e->day;
        c[n].field = e->field;
        c[n].by = e->n;
        of[n++] = e;
    }
    st = store_stats_add(s, c, n, ttl_s);
    keep = st == STORE_OK ? NULL : tally_table_new();
    if (keep != NULL) {
        for (size_t i = 0; i < n; i++)
            if (!c[i].written &&
                table_add(keep, of[i]->hash, of[i]->site, of[i]->day, of[i]->field,
                          of[i]->n) != 0)
                (*dropped)++;
        free(pending->e);
        *pending = *keep;
        free(keep);
    } else {
        for (size_t i = 0; i < n; i++)
            if (c[i].written)
                of[i]->n = 0;       /* keeps the rest when memory ran out */
        if (st == STORE_OK)
            table_clear(pending);
    }
    free(c);
    free(of);
    return st;
}
