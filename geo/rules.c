/*
 * rules.c - loading and matching the jurisdiction rules (see rules.h).
 *
 * Regions are kept in one sorted array and found by binary search: the table
 * is small (about a hundred entries) and a lookup happens on every banner
 * decision, so this costs two short searches and no allocation per request.
 */
#include "rules.h"
#include "../common/jcheck.h"
#include "../gpp/gpp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const top_keys[] = {"version", "default", "regimes", "gpp_sections", NULL};
static const char *const regime_keys[] = {
    "id", "name", "model", "gpc_binding", "gpc_binding_since",
    "consent_days", "optout_quiet_days", "notes", "regions", NULL};

const char *rules_model_name(enum consent_model m)
{
    switch (m) {
    case MODEL_OPT_IN:
        return "opt-in";
    case MODEL_OPT_OUT:
        return "opt-out";
    case MODEL_NOTICE:
        return "notice";
    }
    return "notice";
}

enum rules_status rules_model_parse(const char *name, enum consent_model *m)
{
    for (int i = 0; i < MODEL_COUNT; i++)
        if (strcmp(name, rules_model_name((enum consent_model)i)) == 0) {
            *m = (enum consent_model)i;
            return RULES_OK;
        }
    return RULES_BAD_MODEL;
}

const char *rules_strerror(int status)
{
    switch (status) {
    case RULES_OK:
        return "ok";
    case RULES_INVALID:
        return "rules unreadable or invalid";
    case RULES_BAD_MODEL:
        return "not a consent model (opt-in, opt-out, notice)";
    default:
        return "unknown error";
    }
}

/* "YYYY-MM-DD" -> epoch seconds at 00:00 UTC; -1 when malformed. */
static int64_t parse_date(const char *s)
{
    struct tm tm;
    int y, mo, d;
    char tail;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3)
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    return (int64_t)timegm(&tm);
}

/* "DE" or "US-CA": two capitals, optionally "-" and 1-3 of [A-Z0-9]. */
static int valid_region(const char *s)
{
    size_t n = strlen(s);

    if (n < 2 || !(s[0] >= 'A' && s[0] <= 'Z') || !(s[1] >= 'A' && s[1] <= 'Z'))
        return 0;
    if (n == 2)
        return 1;
    if (n < 4 || n > 6 || s[2] != '-')
        return 0;
    return strspn(s + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n - 3;
}

static int region_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rules_region *)a)->code,
                  ((const struct rules_region *)b)->code);
}

static const struct rules_region *find(const struct rules *r, const char *code);

/* "gpp_sections": {"US-CA": "usca", "US": "usnat", ...}: the GPP section
 * (gpp/gpp.h) a listed region's visitors get. Optional; a region not named
 * gets none. */
static int load_gpp_sections(struct rules *r, const cJSON *root, struct jcheck *jc)
{
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "gpp_sections"), *it;
    char p[JCHECK_MAX_PATH];

    if (map == NULL)
        return 0;
    if (!cJSON_IsObject(map))
        return jcheck_fail(jc, "$.gpp_sections", "expected an object of region: section");
    cJSON_ArrayForEach(it, map) {
        struct rules_region *reg = (struct rules_region *)find(r, it->string);
        int sid;

        jcheck_path_key(p, "$.gpp_sections", it->string);
        if (reg == NULL)
            return jcheck_fail(jc, p, "\"%s\" is not a region of any regime", it->string);
        if (!cJSON_IsString(it))
            return jcheck_fail(jc, p, "expected the name of a GPP section (\"usnat\", \"usca\", ...)");
        sid = gpp_section_id(it->valuestring);
        if (sid < 0)
            return jcheck_fail(jc, p, "\"%s\" is not a GPP section this consentd encodes "
                               "(usnat, usca, usva, usco, usut, usct, usfl, usmt, usor, ustx, "
                               "usde, usia, usne, usnh, usnj, ustn, usmn, usmd, usin, usky, usri)",
                               it->valuestring);
        if (reg->gpp_sid != 0)
            return jcheck_fail(jc, p, "region listed twice");
        reg->gpp_sid = sid;
    }
    return 0;
}

static int load_regime(struct jcheck *c, const cJSON *item, const char *path,
                       struct regime *g, size_t *nregions_total)
{
    const char *s;
    long v;
    const cJSON *regions;

    g->metric_slot = -1;
    if (jcheck_object(c, item, path, regime_keys) != 0)
        return -1;
    if (jcheck_string(c, item, path, "id", 1, 1, RULES_MAX_ID_LEN, &s) != 0)
        return -1;
    if (!jcheck_is_token(s, RULES_MAX_ID_LEN))
        return jcheck_fail(c, path, "id: expected 1-32 characters of a-z, 0-9, - and _");
    strcpy(g->id, s);
    if (jcheck_string(c, item, path, "name", 1, 1, 200, &s) != 0)
        return -1;
    g->name = strdup(s);
    if (g->name == NULL)
        return jcheck_fail(c, path, "out of memory");
    if (jcheck_string(c, item, path, "model", 1, 1, 16, &s) != 0)
        return -1;
    if (rules_model_parse(s, &g->model) != RULES_OK) {
        char p[JCHECK_MAX_PATH];
        jcheck_path_key(p, path, "model");
        return jcheck_fail(c, p, "expected \"opt-in\", \"opt-out\" or \"notice\"");
    }
    if (jcheck_bool(c, item, path, "gpc_binding", 1, &g->gpc_binding) != 0)
        return -1;
    s = NULL;
    if (jcheck_string(c, item, path, "gpc_binding_since", 0, 10, 10, &s) < 0)
        return -1;
    if (s != NULL) {
        char p[JCHECK_MAX_PATH];
        jcheck_path_key(p, path, "gpc_binding_since");
        g->gpc_binding_since = parse_date(s);
        if (g->gpc_binding_since < 0)
            return jcheck_fail(c, p, "expected a date YYYY-MM-DD");
        if (!g->gpc_binding)
            return jcheck_fail(c, p, "only allowed with \"gpc_binding\": true");
    }
    if (jcheck_int(c, item, path, "consent_days", 1, 1, RULES_MAX_DAYS, &v) != 0)
        return -1;
    g->consent_days = (int)v;
    v = 0;
    if (jcheck_int(c, item, path, "optout_quiet_days", 0, 0, RULES_MAX_DAYS, &v) < 0)
        return -1;
    g->optout_quiet_days = (int)v;
    if (jcheck_string(c, item, path, "notes", 0, 0, 2000, &s) < 0)
        return -1;
    if (jcheck_member(c, item, path, "regions", 1, cJSON_Array, &regions) != 0)
        return -1;
    *nregions_total += (size_t)cJSON_GetArraySize(regions);
    return 0;
}

static enum rules_status load_root(struct rules *r, cJSON *root, struct jcheck *jc);

enum rules_status rules_load(struct rules *r, const char *path, char *err,
                             size_t errlen)
{
    struct jcheck c;
    cJSON *root;

    memset(r, 0, sizeof(*r));
    jcheck_init(&c, path, err, errlen);
    root = jcheck_parse_file(&c, path, RULES_MAX_FILE);
    if (root == NULL)
        return RULES_INVALID;
    return load_root(r, root, &c);
}

enum rules_status rules_parse(struct rules *r, const char *text, size_t len,
                              const char *name, char *err, size_t errlen)
{
    struct jcheck c;
    cJSON *root;

    memset(r, 0, sizeof(*r));
    jcheck_init(&c, name, err, errlen);
    if (len > RULES_MAX_FILE) {
        jcheck_fail(&c, "$", "larger than %d bytes", RULES_MAX_FILE);
        return RULES_INVALID;
    }
    root = jcheck_parse_text(&c, text, len);
    if (root == NULL)
        return RULES_INVALID;
    return load_root(r, root, &c);
}

/*
 * The regimes (the array regimes, 1-RULES_MAX_REGIMES of them, each id
 * once) and which of them is the default (def); *total counts their
 * regions, read afterwards by load_regions.
 */
static int load_regimes(struct rules *r, const cJSON *regimes, const char *def,
                        struct jcheck *jc, size_t *total)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *item;
    size_t n = (size_t)cJSON_GetArraySize(regimes);

    if (n == 0 || n > RULES_MAX_REGIMES)
        return jcheck_fail(jc, "$.regimes", "expected 1-%d regimes", RULES_MAX_REGIMES);
    r->regimes = calloc(n, sizeof(*r->regimes));
    if (r->version == NULL || r->regimes == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    r->default_regime = -1;
    n = 0;
    cJSON_ArrayForEach(item, regimes) {
        jcheck_path_index(p, "$.regimes", (int)n);
        r->nregimes = n + 1;    /* so rules_free() sees a half-loaded one */
        if (load_regime(jc, item, p, &r->regimes[n], total) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (strcmp(r->regimes[i].id, r->regimes[n].id) == 0) {
                jcheck_path_key(q, p, "id");
                return jcheck_fail(jc, q, "\"%s\" is used by another regime",
                                   r->regimes[n].id);
            }
        if (strcmp(r->regimes[n].id, def) == 0)
            r->default_regime = (int)n;
        n++;
    }
    if (r->default_regime < 0)
        return jcheck_fail(jc, "$.default", "\"%s\" is not the id of a regime", def);
    return 0;
}

/* Every regime's regions (total of them) into one array sorted by code,
 * each region in one regime only. */
static int load_regions(struct rules *r, const cJSON *regimes, struct jcheck *jc,
                        size_t total)
{
    char p[JCHECK_MAX_PATH], q[JCHECK_MAX_PATH];
    const cJSON *item;
    int n = 0;

    r->regions = calloc(total > 0 ? total : 1, sizeof(*r->regions));
    if (r->regions == NULL)
        return jcheck_fail(jc, "$", "out of memory");
    cJSON_ArrayForEach(item, regimes) {
        const cJSON *reg;
        int idx = 0;

        jcheck_path_index(q, "$.regimes", n);
        jcheck_path_key(p, q, "regions");
        cJSON_ArrayForEach(reg, cJSON_GetObjectItemCaseSensitive(item, "regions")) {
            jcheck_path_index(q, p, idx++);
            if (!cJSON_IsString(reg) || !valid_region(reg->valuestring))
                return jcheck_fail(jc, q, "expected an ISO 3166 code like \"DE\" or \"US-CA\"");
            strcpy(r->regions[r->nregions].code, reg->valuestring);
            r->regions[r->nregions++].regime = n;
        }
        n++;
    }
    qsort(r->regions, r->nregions, sizeof(*r->regions), region_cmp);
    for (size_t i = 1; i < r->nregions; i++)
        if (strcmp(r->regions[i - 1].code, r->regions[i].code) == 0)
            return jcheck_fail(jc, "$.regimes", "region \"%s\" is listed twice",
                               r->regions[i].code);
    return 0;
}

/* Takes ownership of root (deleted on every path). */
static enum rules_status load_root(struct rules *r, cJSON *root, struct jcheck *jc)
{
    const cJSON *regimes;
    const char *s, *def;
    size_t total = 0;
    int rc = -1;

    if (jcheck_object(jc, root, "$", top_keys) != 0 ||
        jcheck_string(jc, root, "$", "version", 1, 1, 64, &s) != 0 ||
        jcheck_string(jc, root, "$", "default", 1, 1, RULES_MAX_ID_LEN, &def) != 0 ||
        jcheck_member(jc, root, "$", "regimes", 1, cJSON_Array, &regimes) != 0)
        goto cleanup;
    r->version = strdup(s);
    if (load_regimes(r, regimes, def, jc, &total) != 0 ||
        load_regions(r, regimes, jc, total) != 0 ||
        load_gpp_sections(r, root, jc) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    cJSON_Delete(root);
    if (rc != 0)
        rules_free(r);
    return rc == 0 ? RULES_OK : RULES_INVALID;
}

void rules_free(struct rules *r)
{
    if (r->regimes != NULL)
        for (size_t i = 0; i < r->nregimes; i++)
            free(r->regimes[i].name);
    free(r->regimes);
    free(r->regions);
    free(r->version);
    memset(r, 0, sizeof(*r));
}

static const struct rules_region *find(const struct rules *r, const char *code)
{
    struct rules_region key;

    strncpy(key.code, code, sizeof(key.code) - 1);
    key.code[sizeof(key.code) - 1] = '\0';
    return bsearch(&key, r->regions, r->nregions, sizeof(*r->regions),
                   region_cmp);
}

void rules_match(const struct rules *r, const char *country,
                 const char *subdivision, struct jurisdiction *out)
{
    const struct rules_region *hit = NULL;
    char code[RULES_REGION_LEN];

    if (country[0] != '\0' && strlen(country) == 2) {
        if (subdivision[0] != '\0' && strlen(subdivision) <= 3) {
            snprintf(code, sizeof(code), "%s-%s", country, subdivision);
            hit = find(r, code);
        }
        if (hit == NULL)
            hit = find(r, country);
    }
    if (hit != NULL) {
        out->regime = &r->regimes[hit->regime];
        strcpy(out->region, hit->code);
        out->gpp_sid = hit->gpp_sid;
    } else {
        out->regime = &r->regimes[r->default_regime];
        out->region[0] = '\0';
        out->gpp_sid = 0;
    }
}

int rules_gpc_binding(const struct regime *g, int64_t now)
{
    return g->gpc_binding && now >= g->gpc_binding_since;
}
