/*
 * declaration.h - a site's cookie declaration: per category, the cookies
 * and other storage it sets (name or prefix, provider, first or third
 * party, duration, type, a purpose in every language of the site) and the
 * third parties it shares data with (name, privacy policy URL).
 *
 * Validated with the rest of the configuration, then printed once per
 * language as the exact answer of GET /consent/v1/declaration (with its
 * ETag), and once per site as the compact clean-up list the banner
 * decision carries. Requests only splice these strings.
 */
#ifndef CONSENT_DECLARATION_H
#define CONSENT_DECLARATION_H

#include <cjson/cJSON.h>

#include "config.h"
#include "../common/attrs.h"
#include "../common/jcheck.h"

#define DECLARATION_MAX_STORAGE 64      /* storage items per category */
#define DECLARATION_MAX_VENDORS 32      /* third parties per category */
#define DECLARATION_MAX_NAME 128        /* cookie or key name, provider, vendor */
#define DECLARATION_MAX_DAYS 36500      /* 0 is a session cookie */
#define DECLARATION_MAX_URL 500

enum declaration_status {
    DECLARATION_OK = 0,
    DECLARATION_INVALID,    /* not the schema: the path and why are in c */
    DECLARATION_NO_MEMORY   /* printing an answer failed (also recorded in c) */
};

/*
 * Checks decl (the site's "declaration" member at path, or NULL when the
 * site has none) against the site's categories and languages (langs: the
 * site's "languages" object, in the order of site->languages), and sets
 * each language's declaration answer and ETag and the site's clean-up
 * list (NULL when nothing first-party can be cleaned). Returns
 * DECLARATION_OK, or a status with the JSON path and what was expected
 * recorded in c. What it set is freed by config_free() either way.
 */
CONSENT_MUST_CHECK
enum declaration_status declaration_load(struct jcheck *c, const cJSON *decl,
                                         const char *path, const cJSON *langs,
                                         struct config_site *site);

/* Static message for a declaration_status; "unknown error" for anything
 * else. */
const char *declaration_strerror(int status);

#endif
