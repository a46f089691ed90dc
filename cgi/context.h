/*
 * context.h - the stored state's format: the receipt context.
 *
 * A write records, once per distinct banner shown, a context: the site,
 * region, regime, the categories with their names in the language shown,
 * the banner's version, revision, texts hash and model, the controller,
 * the signing key and the GPP string in force (receipt.h keeps it by a
 * hash reference). A later decision reads back from it which site, model
 * and revision a stored choice was made under. Writer and reader live
 * here, side by side, so the two cannot drift apart.
 */
#ifndef CONSENT_CONTEXT_H
#define CONSENT_CONTEXT_H

#include <cjson/cJSON.h>

#include "config.h"
#include "../geo/rules.h"

/* What a write's context is made of; every pointer is borrowed. */
struct context_facts {
    const struct config_site *site;
    const char *region;                 /* "US-CA", "DE", or "" when unknown */
    const struct regime *regime;
    const struct config_language *lang; /* the language shown */
    enum consent_model texts_model;     /* the model of the texts shown */
    const char *texts_sha256;
    const char *variant;                /* the experiment's variant, or NULL */
    const char *gpp;                    /* the GPP string after the choice, or NULL */
    const char *kid;                    /* the signing key's ID */
};

/* What a decision reads back from a stored context. */
struct context_state {
    enum consent_model model;           /* the banner model the choice was made on */
    int consent_revision;               /* the site's revision then */
};

enum context_status {
    CONTEXT_OK = 0,
    CONTEXT_OTHER_SITE,     /* the context is another site's */
    CONTEXT_MALFORMED,      /* no banner model this version knows */
    CONTEXT_NO_MEMORY
};

/*
 * The context tree of a write (for receipt_context_make, which takes it
 * over). Returns CONTEXT_OK with *tree set (caller frees with cJSON_Delete
 * unless handed on), or CONTEXT_NO_MEMORY (*tree NULL).
 */
enum context_status context_build(const struct context_facts *f, cJSON **tree);

/*
 * Reads a stored context tree back for site_id: CONTEXT_OK with out set,
 * CONTEXT_OTHER_SITE, or CONTEXT_MALFORMED. tree is only read.
 */
enum context_status context_read(const cJSON *tree, const char *site_id,
                                 struct context_state *out);

/* Static message for a context_status. */
const char *context_strerror(int status);

#endif
