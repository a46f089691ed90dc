/*
 * rules.h - jurisdiction rules: which consent regime applies to a region.
 *
 * The rules are data (geo/rules.json), loaded once at start and shared
 * read-only by every worker. A region is an ISO 3166-1 country ("DE") or an
 * ISO 3166-2 subdivision ("US-CA"); the most specific match wins
 * (US-CA over US over the default regime).
 */
#ifndef CONSENT_RULES_H
#define CONSENT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "../common/attrs.h"

#define RULES_MAX_FILE (256 * 1024)
#define RULES_MAX_REGIMES 128
#define RULES_MAX_ID_LEN 32
/* "CC-SSS" plus NUL */
#define RULES_REGION_LEN 8
#define RULES_MAX_DAYS 3650

enum rules_status {
    RULES_OK = 0,
    RULES_INVALID,  /* file missing, not JSON, or not the schema: see err */
    RULES_BAD_MODEL /* rules_model_parse: not the name of a model */
};

enum consent_model {
    MODEL_OPT_IN = 0,
    MODEL_OPT_OUT,
    MODEL_NOTICE
};
#define MODEL_COUNT 3

struct regime {
    char id[RULES_MAX_ID_LEN + 1];
    char *name;                 /* human name of the law(s) */
    enum consent_model model;
    int gpc_binding;            /* GPC is a legal opt-out here ... */
    int64_t gpc_binding_since;  /* ... from this epoch second (0: always) */
    int consent_days;           /* a stored choice lasts this long */
    int optout_quiet_days;      /* after an opt-out, do not re-ask for this long */
    int metric_slot;            /* set by consentd for its metrics; -1 */
};

struct rules_region {
    char code[RULES_REGION_LEN];
    int regime;                 /* index into rules.regimes */
    int gpp_sid;                /* GPP section (gpp/gpp.h) or 0: "gpp_sections" */
};

struct rules {
    char *version;
    struct regime *regimes;
    size_t nregimes;
    struct rules_region *regions;   /* sorted by code */
    size_t nregions;
    int default_regime;
};

/* What rules_match() found for a visitor. */
struct jurisdiction {
    const struct regime *regime;    /* borrowed from the rules */
    char region[RULES_REGION_LEN];  /* the rule region that matched, or "" */
    int gpp_sid;                    /* its GPP section (gpp/gpp.h), 0: none */
};

/*
 * Loads and validates a rules file. Returns RULES_OK, or RULES_INVALID with
 * "FILE: JSON-PATH: what was expected" in err. On success free with
 * rules_free(); on failure nothing needs freeing.
 */
CONSENT_MUST_CHECK
enum rules_status rules_load(struct rules *r, const char *path, char *err,
                             size_t errlen);

/* The same from len bytes of text; name is used in messages. */
CONSENT_MUST_CHECK
enum rules_status rules_parse(struct rules *r, const char *text, size_t len,
                              const char *name, char *err, size_t errlen);

/* Static message for a rules_status; "unknown error" for anything else. */
const char *rules_strerror(int status);

/* Frees what rules_load() allocated. Safe on a zeroed struct. */
void rules_free(struct rules *r);

/*
 * The most specific regime for a country and subdivision (either may be ""):
 * "CC-SUB", then "CC", then the default. Never fails.
 */
void rules_match(const struct rules *r, const char *country,
                 const char *subdivision, struct jurisdiction *out);

/* Whether GPC is legally binding under a regime at time now (epoch s). */
int rules_gpc_binding(const struct regime *g, int64_t now);

/* "opt-in", "opt-out" or "notice". */
const char *rules_model_name(enum consent_model m);

/* Parses a model name into *m: RULES_OK, or RULES_BAD_MODEL. */
CONSENT_MUST_CHECK
enum rules_status rules_model_parse(const char *name, enum consent_model *m);

#endif
