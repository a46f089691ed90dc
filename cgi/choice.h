/*
 * choice.h - what a visitor asks to record: the body of POST
 * /consent/v1/consents checked against the site's configuration, and the
 * final state of every category for the chosen action.
 *
 * Pure functions (no I/O), so the handler, the unit tests and the fuzz
 * harness all run the same checks.
 */
#ifndef CONSENT_CHOICE_H
#define CONSENT_CHOICE_H

#include <stddef.h>

#include "config.h"
#include "decision.h"
#include "../common/attrs.h"

#define CHOICE_MAX_VERSION_LEN 64

enum choice_action {
    CHOICE_ACCEPT_ALL = 0,
    CHOICE_REJECT_ALL,
    CHOICE_CUSTOM,
    CHOICE_GPC,
    CHOICE_WITHDRAW,
    CHOICE_ACTION_COUNT
};

extern const char *const choice_action_names[CHOICE_ACTION_COUNT];

/* What choice_parse and choice_resolve return. A refusal's details (the
 * HTTP status, error code and message the client gets) are in the
 * struct choice_error the caller passed. */
enum choice_status {
    CHOICE_OK = 0,
    CHOICE_REFUSED
};

/* "ok", "refused ..."; "unknown error" for anything else. */
const char *choice_strerror(int status);

/* A refusal: HTTP status, error code, message, and one optional detail
 * (key, value) such as the field or category at fault. Strings are static
 * except value, which is copied: always valid UTF-8, shortened to fit after
 * a whole character (jcheck_utf8_copy), so it can be echoed as it is. */
struct choice_error {
    int status;
    const char *code;
    const char *message;
    const char *key;
    char value[CONSENT_MAX_CATEGORY_ID_LEN + CHOICE_MAX_VERSION_LEN + 1];
};

struct choice {
    const struct config_site *site;     /* borrowed from the configuration */
    enum choice_action action;
    const struct config_language *lang; /* the texts the visitor saw ... */
    int texts_model;                    /* ... of this banner model */
    const char *texts_sha256;           /* borrowed from the configuration */
    int variant;                        /* index in site->variants, -1 none */
    int given[CONSENT_MAX_CATEGORIES];  /* from the body: 1, 0, -1 not given */
    int on[CONSENT_MAX_CATEGORIES];     /* after choice_resolve() */
};

/*
 * Parses and checks a body (len bytes, not NUL-terminated): valid UTF-8
 * without \u0000 escapes, one JSON object with no key repeated at any level,
 * with site, banner_version, texts_sha256, action and optional choices;
 * a known site; known categories; necessary ones not off; the site's current
 * banner version and texts. Returns CHOICE_OK, or CHOICE_REFUSED with err
 * filled (400 invalid_json
 * / duplicate_key / unknown_field / invalid_field, 404 unknown_site,
 * 409 stale_banner, 422 unknown_category / necessary_category). Nothing of
 * body is kept.
 */
CONSENT_MUST_CHECK
int choice_parse(const struct config *cfg, const char *body, size_t len,
                 struct choice *out, struct choice_error *err);

/*
 * Works out every category's final state for the action under the
 * decision's locks into c->on. Returns CHOICE_OK, or CHOICE_REFUSED with
 * err (422
 * missing_category, choices_mismatch, category_locked).
 */
CONSENT_MUST_CHECK
int choice_resolve(struct choice *c, const struct decision *d,
                   struct choice_error *err);

#endif
