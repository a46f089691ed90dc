/*
 * decision.h - what banner a visitor gets: the pure part of the banner
 * decision (no I/O), shared by the handler and the unit tests.
 */
#ifndef CONSENT_DECISION_H
#define CONSENT_DECISION_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "../geo/rules.h"

/* Why a category cannot be changed by the visitor. */
enum decision_lock {
    LOCK_NONE = 0,
    LOCK_NECESSARY,     /* strictly necessary: always on */
    LOCK_GPC            /* sale/sharing under a law that makes GPC binding */
};

struct decision_category {
    int on;                     /* default state shown / applied */
    enum decision_lock lock;
    int gpc_changed;            /* GPC turned this default from on to off */
};

struct decision {
    const struct regime *regime;
    int gpc_received;
    int gpc_binding;            /* the regime makes GPC binding now */
    int gpc_changed_any;
    struct decision_category categories[CONSENT_MAX_CATEGORIES];
};

/*
 * Default state of every category of a site for a regime and GPC at time
 * now (epoch seconds):
 * - necessary categories are on and locked;
 * - opt-in: everything else off until the visitor chooses;
 * - opt-out and notice: on, except that GPC turns sale/sharing categories
 *   off everywhere, and locks them off where the regime makes GPC binding.
 * Where GPC is not binding it sets defaults only: an explicit choice the
 * visitor then makes (shown the GPC line) may turn them on (see
 * decision_apply).
 */
void decision_make(const struct config_site *site, const struct regime *g,
                   int gpc, int64_t now, struct decision *out);

/*
 * What applies now, per category, into out (1 on, 0 off): the stored choice
 * (stored[i], where known[i]) when use_stored, else the defaults of d.
 * Necessary categories are on. Where GPC is binding, sale/sharing categories
 * are off whatever was stored; where it is not, a stored choice stands
 * exactly as it was recorded (the one GPC rule: README, "Global Privacy
 * Control"). stored and known may be NULL when use_stored is 0. Returns
 * whether GPC is honoured by the result: it was sent and every sale/sharing
 * category is off.
 */
/*
 * Whether GPC is honoured by the choices on[] (1 on, 0 off per category):
 * it was sent and every sale/sharing category is off. What the decision
 * answers and what a receipt records both use this one rule.
 */
int decision_gpc_honoured(const struct config_site *site, const struct decision *d,
                          const int *on);

int decision_apply(const struct config_site *site, const struct decision *d,
                   const int *stored, const int *known, int use_stored, int *out);

/* What is stored for a visitor and site (parsed from the store's state). */
struct decision_stored {
    int present;
    int64_t time_ms;            /* when the latest receipt was recorded */
    int64_t expires_ms;         /* when the choice stops counting */
    int revision;               /* the site's consent_revision then */
    enum consent_model model;   /* the model the visitor answered under */
    int opted_out;              /* sale/sharing categories were all off */
};

/*
 * Whether the banner must ask the visitor (again):
 * - always when the visitor opened the settings themselves;
 * - never during the regime's quiet period after an opt-out (12 months in
 *   California), whatever else changed;
 * - when nothing is stored, the choice expired, the site raised its
 *   consent_revision, or the regime is opt-in and the stored answer was
 *   given under a weaker model (a dismissed notice is not consent).
 */
int decision_prompt(const struct decision_stored *stored, const struct regime *g,
                    int site_revision, int64_t now_ms, int settings_opened);

/*
 * The decision's "categories" array as compact JSON (malloc'd via cJSON;
 * caller frees with cJSON_free): id, default, changeable, locked, sale_sharing
 * for every category of the site. It depends only on the site, the model,
 * GPC and whether GPC is binding, so consentd prints it once per combination
 * at load instead of on every request.
 */
char *decision_categories_json(const struct config_site *site,
                               const struct decision *d);

/*
 * The GPP string (gpp/gpp.h) in force for a visitor of site whose region
 * uses GPP section sid (jurisdiction.gpp_sid) with the choices on[] (1 on,
 * 0 off per category) and GPC as sent, into out (GPP_MAX_STRING + 1 bytes):
 * - the fields the site declares ("gpp"), else the defaults: where the site
 *   has a sale/sharing category, the notices of sharing, of the sale,
 *   sharing and targeted-advertising opt-outs given (1), else not
 *   applicable (0); ProcessingNotice 1 (the banner links the policy);
 *   MspaCoveredTransaction 2 (no MSPA covered transaction declared); every
 *   other field 0;
 * - SaleOptOut, SharingOptOut, TargetedAdvertisingOptOut: 0 where their
 *   notice is not 1 (as the IAB defines them), else 1 (opted out) when
 *   every sale/sharing category is off, 2 when one is on;
 * - the GPC sub-section where the section has one: Gpc = GPC sent.
 * Returns 0, or -1 with out "" when sid is 0 or not a section gpp/ knows.
 */
int decision_gpp(const struct config_site *site, int sid, int gpc, const int *on,
                 char *out, size_t outlen);

/*
 * What the __gpp page API (static/src/consent-gpp.js) answers to "ping",
 * less what only the page knows (cmpStatus, cmpDisplayStatus,
 * signalStatus), for the GPP string gpp of section sid (NULL or sid 0: no
 * section applies) and the configuration's CMP ID:
 * {"gppVersion": "1.1", "cmpId": N, "supportedAPIs": ["8:usca"],
 *  "sectionList": [8], "applicableSections": [8], "gppString": gpp,
 *  "parsedSections": {"usca": {"Version": 1, ...every field in wire order
 *  (N-Bitfields as arrays)..., "GpcSegmentType": 1, "Gpc": true}}}
 * with the sections as the IAB's reference library @iabgpp/cmpapi gives
 * them (its getSection and parsedSections), decoded here by gpp/ so that the
 * page needs no decoder. Without a section: applicableSections [-1],
 * gppString the header without sections ("DBAA"), the rest empty.
 * Returns a new object (free with cJSON_Delete), or NULL when gpp is not a
 * string gpp_decode() accepts or memory ran out.
 */
cJSON *decision_gpp_ping(const char *gpp, int sid, int cmp_id);

/*
 * Adds the fields of GPP section s to o under the IAB's field names, in
 * wire order (N-Bitfields as arrays of numbers). with_absent_sub 1 adds
 * the fields of an absent second sub-section too (as 0s, as the reference
 * library's toObject() does); 0 leaves them out (consentctl gpp decode).
 * The sub-section's own markers (Gpc, ...) are the caller's.
 */
void decision_gpp_fields_json(cJSON *o, const struct gpp_section *s, int with_absent_sub);

/* "necessary", "gpc" or NULL. */
const char *decision_lock_name(enum decision_lock lock);

#endif
