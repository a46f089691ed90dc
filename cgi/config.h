/*
 * config.h - consentd's JSON configuration: listen address, workers, GeoIP,
 * rules, Redis and the sites with their categories and banner texts (a
 * site's own texts laid over the default texts of cgi/texts.h).
 *
 * Loaded once at start (and validated completely: an unknown key, a wrong type
 * or a missing field is refused with the file, the JSON path and what was
 * expected), then shared read-only by every worker thread.
 */
#ifndef CONSENT_CONFIG_H
#define CONSENT_CONFIG_H

#include <stddef.h>

#include "../common/attrs.h"
#include "../geo/geo.h"
#include "../geo/rules.h"
#include "../gpp/gpp.h"
#include "../redis/store.h"

#define CONSENT_MAX_CONFIG (1024 * 1024)
#define CONSENT_MAX_SITES 64
#define CONSENT_MAX_SITE_ID_LEN 32
#define CONSENT_MAX_CATEGORIES 16
#define CONSENT_MAX_CATEGORY_ID_LEN 32
#define CONSENT_MAX_LANGUAGES 32
#define CONSENT_LANG_LEN 16          /* "pt-br" style tag plus NUL */
#define CONSENT_MAX_ORIGINS 16
#define CONSENT_MAX_TEXT_LEN 2000
/* gpp_cmp_id: the IAB's CMP IDs are 12-bit numbers; a CMP without one
 * reports 1 (IAB, "CMP API Specification", "What is CMP ID?"). */
#define CONFIG_GPP_CMP_ID_UNREGISTERED 1
#define CONFIG_GPP_CMP_ID_MAX 4095
/* Where systemd puts a service's credentials (LoadCredential=). */
#define CONFIG_CREDENTIALS_PREFIX "/run/credentials/"
#define CONSENT_MAX_WORKERS 1024
#define CONSENT_DEFAULT_WORKERS 64
#define CONSENT_SHA256_HEX 65        /* 64 hex digits plus NUL */
#define CONSENT_MAX_COOKIE_NAME 64
#define CONSENT_DEFAULT_RETENTION_DAYS 1095  /* 3 years after the latest receipt */
#define CONSENT_DEFAULT_MAX_HISTORY 100
#define CONSENT_MAX_TOKENS 64
#define CONSENT_MAX_TOKEN_NAME 64
#define CONSENT_DEFAULT_AUDIT_DAYS 365
#define CONSENT_DEFAULT_AUDIT_ENTRIES 1000000L  /* audit stream length bound */
#define CONSENT_MAX_AUDIT_ENTRIES 100000000L
#define CONSENT_CONTROLLER_FIELD 256
#define CONSENT_DEFAULT_STATS_DAYS 400    /* analytics counts kept, by TTL */
#define CONSENT_DEFAULT_STATS_FLUSH_MS 2000 /* longest a count waits in memory */
#define CONSENT_MAX_VARIANTS 8       /* banner variants of one experiment */
#define CONSENT_MAX_VARIANT_ID_LEN 32
#define CONSENT_MAX_VARIANT_WEIGHT 1000
#define CONSENT_VARIANT_BUCKETS 100  /* the script's stable number: 0-99 */
#define CONSENT_ETAG_LEN 35          /* '"' + 32 hex digits + '"' + NUL */

enum config_status {
    CONFIG_OK = 0,
    CONFIG_INVALID,     /* unreadable, not JSON or not the schema: see err */
    CONFIG_BAD_ROLE     /* config_role_parse: not the name of a role */
};

/* Roles of a support token: a token may hold several. */
enum config_role {
    ROLE_READ = 1,      /* look up, export */
    ROLE_ERASE = 2,     /* erase a consent ID */
    ROLE_AUDIT = 4,     /* read the audit stream */
    ROLE_STATS = 8      /* read the analytics counts (nothing personal) */
};
#define CONFIG_ROLE_COUNT 4     /* role bits: 1 << 0 .. 1 << (COUNT - 1) */

struct config_token {
    char name[CONSENT_MAX_TOKEN_NAME + 1];
    unsigned char sha256[32];   /* only the hash of the token is configured */
    unsigned roles;
};

/* Who is responsible for the data (Kantara piiControllers). */
struct config_controller {
    char name[CONSENT_CONTROLLER_FIELD];
    char contact[CONSENT_CONTROLLER_FIELD];
    char address[CONSENT_CONTROLLER_FIELD];
    char email[CONSENT_CONTROLLER_FIELD];
    char phone[CONSENT_CONTROLLER_FIELD];
};

struct config_category {
    char id[CONSENT_MAX_CATEGORY_ID_LEN + 1];
    int necessary;      /* always on, cannot be changed */
    int sale_sharing;   /* sale/sharing/targeted advertising: GPC turns it off */
};

/* One language of a site: the texts a banner of each model shows, printed
 * once at load as compact JSON together with their SHA-256. */
struct config_language {
    char tag[CONSENT_LANG_LEN];             /* lower case, e.g. "en", "pt-br" */
    int rtl;                                /* written right to left (ar, he, ...) */
    char *texts[MODEL_COUNT];               /* JSON object text, owned */
    char texts_sha256[MODEL_COUNT][CONSENT_SHA256_HEX];
    char *declaration;                      /* the /declaration answer, JSON, owned */
    char declaration_etag[CONSENT_ETAG_LEN];
};

/*
 * A banner variant of the site's experiment: its share (weight), an
 * optional layout the script uses instead of the page's data-layout, and
 * its texts: the site's own texts with the variant's laid over them, per
 * site language (same order as the site's languages; only tag, rtl, texts
 * and texts_sha256 are set). Checked at load: in the opt-in banner,
 * "Reject all" keeps a text of its own beside "Accept all" in every
 * variant and language, and the layout cannot move or hide one button
 * without the other (the script renders both alike).
 */
struct config_variant {
    char id[CONSENT_MAX_VARIANT_ID_LEN + 1];
    int weight;
    char layout[16];                /* "" or bar-bottom, bar-top, box-... */
    struct config_language *languages;
};

struct config_site {
    char id[CONSENT_MAX_SITE_ID_LEN + 1];
    char **origins;                 /* exact "scheme://host[:port]" */
    size_t norigins;
    char *policy_url;
    char *banner_version;
    int preview;                    /* ?preview=REGION allowed (demo sites) */
    int consent_revision;           /* raise to ask everyone again */
    struct config_controller controller;
    char *consent_mode;             /* printed JSON {category: [types]} or NULL */
    char *signals;                  /* printed JSON {vendor: category} or NULL */
    struct config_category *categories;
    size_t ncategories;
    struct config_language *languages;  /* [0] is the default language */
    size_t nlanguages;
    /* First-party cookies and storage keys of the optional categories,
     * printed JSON {category: {"cookies": [...], "storage": [...]}} ("name*"
     * for a prefix) that the banner decision carries for clean-up; NULL
     * when there is nothing to clean. Owned. */
    char *cleanup;
    struct config_variant *variants;    /* none, or 2-CONSENT_MAX_VARIANTS */
    size_t nvariants;
    /* "gpp": GPP fields the site declares (gpp/gpp.h; notices, MSPA
     * flags), gpp_set[f] for each one given; see decision_gpp. */
    unsigned char gpp_value[GPP_FIELD_COUNT];
    unsigned char gpp_set[GPP_FIELD_COUNT];
};

struct config {
    char *listen;                   /* "host:port" or "unix:/path" */
    int workers;
    int access_log;
    /* geoip.database: one path (a string) or the files of a list, each
     * absolute or resolved against the config's folder */
    char *geoip_paths[GEO_MAX_FILES];
    size_t ngeoip_paths;
    enum geo_coverage geoip_coverage;   /* GEO_COVER_BOTH for a list */
    enum geo_layout geoip_layout;       /* one layout for every file */
    char *rules_path;
    struct store_options redis;     /* topology, addresses, timeouts, WAIT */
    char cookie_name[CONSENT_MAX_COOKIE_NAME + 1];
    int cookie_secure;
    char *cookie_secret_path;       /* 32-byte secret the cookie's MAC uses */
    char *signing_key_path;
    char *retired_keys_path;        /* JWKS of retired public keys, or NULL */
    int retention_days;
    int max_history;
    size_t head_cache_entries;      /* 0: no head cache */
    int head_cache_max_age_ms;
    struct config_token *tokens;
    size_t ntokens;
    int audit_retention_days;
    long audit_max_entries;         /* the audit stream keeps about this many */
    /* gpp_cmp_id: the IAB CMP ID the __gpp page API reports (cmpId) */
    int gpp_cmp_id;
    int stats_retention_days;       /* analytics counts: days kept after their day */
    int stats_flush_ms;             /* how often the counts go to Redis */
    struct config_site *sites;
    size_t nsites;
};

/*
 * Loads and validates the file at path. Relative paths inside it are taken
 * relative to the file's own folder. Returns CONFIG_OK, or CONFIG_INVALID
 * with "FILE: JSON-PATH: what was expected" in err. On success free with
 * config_free(); on failure nothing needs freeing.
 *
 * signing_key, cookie.secret and admin.tokens_file named
 * /run/credentials/UNIT/NAME are read from $CREDENTIALS_DIRECTORY/NAME when
 * that variable holds an absolute path (systemd sets it in the service; set
 * it to the folder of the originals to check the installed configuration
 * outside the service). admin.tokens_file must not be readable by group or
 * others, like the keys.
 */
CONSENT_MUST_CHECK
enum config_status config_load(struct config *cfg, const char *path, char *err,
                               size_t errlen);

/*
 * The same from len bytes of text: name is used in messages, relative paths
 * are taken from dir.
 */
CONSENT_MUST_CHECK
enum config_status config_parse(struct config *cfg, const char *text, size_t len,
                                const char *name, const char *dir, char *err,
                                size_t errlen);

/* Static message for a config_status; "unknown error" for anything else. */
const char *config_strerror(int status);

/*
 * How a role is spelt in the configuration ("roles" of a token) and by
 * `consentctl token new --role`: "read", "erase", "audit" or "stats".
 * Static string; NULL for anything but one role bit.
 */
const char *config_role_name(enum config_role role);

/* The role spelt name into *role: CONFIG_OK, or CONFIG_BAD_ROLE. */
CONSENT_MUST_CHECK
enum config_status config_role_parse(const char *name, enum config_role *role);

/* Frees everything config_load() allocated. Safe on a zeroed struct. */
void config_free(struct config *cfg);

/* The site with this id, or NULL. Borrowed from cfg. */
const struct config_site *config_site_find(const struct config *cfg,
                                           const char *id);

/* Index of a category id in a site, or -1. */
int config_category_index(const struct config_site *site, const char *id);

/* 1 when origin is one of the site's allowed origins. */
int config_origin_allowed(const struct config_site *site, const char *origin);

/*
 * The token whose SHA-256 matches token, or NULL. Compares against every
 * configured hash in constant time, so timing tells nothing.
 */
const struct config_token *config_token_find(const struct config *cfg,
                                             const char *token);

/* 1 when origin is allowed by any site (CORS preflight, which names none). */
int config_origin_known(const struct config *cfg, const char *origin);

/*
 * Which language and model of a site produced the texts with this SHA-256:
 * among the site's own texts (variant -1) or those of variant (an index of
 * site->variants). Returns the language (borrowed) and sets *model, or NULL
 * when none of those texts have that hash.
 */
const struct config_language *config_texts_by_hash(const struct config_site *site,
                                                   int variant, const char *sha256,
                                                   int *model);

/* Index of a variant id in a site, or -1. */
int config_variant_index(const struct config_site *site, const char *id);

/*
 * The variant a browser's bucket (0 to CONSENT_VARIANT_BUCKETS - 1) falls
 * in, by the weights: the buckets are split in proportion, in the order
 * the variants are listed. -1 when the site has no variants.
 */
int config_variant_of_bucket(const struct config_site *site, int bucket);

#endif
