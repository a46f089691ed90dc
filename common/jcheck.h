/*
 * jcheck.h - typed reads from a parsed JSON configuration file, with errors
 * that name the file, the JSON path and what was expected:
 *
 *     consentd.json: $.sites[0].categories[1].id: expected a string of 1-32 characters
 *
 * Used by the configuration loader (cgi/config.c) and the rules loader
 * (geo/rules.c). A struct jcheck lives on the caller's stack; the first
 * failure is kept and later calls on the same checker are no-ops that fail.
 *
 * It is also where JSON text from outside is judged before anyone reads it:
 * UTF-8 well-formedness, duplicate keys, and the one way to shorten text
 * for a message (jcheck_utf8_copy). The request body checks (cgi/choice.c)
 * use these pure functions too, so a file and a request obey one rule.
 */
#ifndef CONSENT_JCHECK_H
#define CONSENT_JCHECK_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define JCHECK_MAX_PATH 192

struct jcheck {
    const char *file;   /* shown first in messages; borrowed */
    char *err;          /* caller's buffer for the message */
    size_t errlen;
    int failed;
};

/* Starts a checker writing its message into err (errlen bytes). */
void jcheck_init(struct jcheck *c, const char *file, char *err, size_t errlen);

/* Records "FILE: PATH: message" unless a failure is already recorded.
 * Returns -1 so callers can `return jcheck_fail(...)`. */
int jcheck_fail(struct jcheck *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Child path "parent.key" or "parent[i]" into out (JCHECK_MAX_PATH bytes);
 * a path that does not fit ends in "..." after a whole character. */
void jcheck_path_key(char *out, const char *parent, const char *key);
void jcheck_path_index(char *out, const char *parent, int index);

/* Fails unless obj is an object whose keys are all in the NULL-terminated
 * list allowed. Returns 0 or -1. */
int jcheck_object(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *const *allowed);

/*
 * Reads obj.key into *out. A missing key is an error when required, and
 * otherwise leaves *out untouched and returns 1. Returns 0 when read, -1 on
 * an error (recorded in c). Strings are borrowed from the cJSON tree.
 */
int jcheck_string(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *key, int required, size_t minlen,
                  size_t maxlen, const char **out);
int jcheck_int(struct jcheck *c, const cJSON *obj, const char *path,
               const char *key, int required, long min, long max, long *out);
int jcheck_bool(struct jcheck *c, const cJSON *obj, const char *path,
                const char *key, int required, int *out);
/* Objects and arrays: *out is the member itself (borrowed). */
int jcheck_member(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *key, int required, int type, const cJSON **out);

/*
 * Reads and parses a whole JSON file (at most max bytes). Returns the root,
 * owned by the caller (cJSON_Delete), or NULL with the reason recorded in c.
 */
cJSON *jcheck_parse_file(struct jcheck *c, const char *path, size_t max);

/* Parses len bytes of JSON text (need not be NUL-terminated). Returns the
 * root, owned by the caller, or NULL with "not valid UTF-8 (line, column):
 * <jcheck_utf8_strerror>" or "not valid JSON (line, column)". */
cJSON *jcheck_parse_text(struct jcheck *c, const char *text, size_t len);

/*
 * UTF-8 as RFC 3629 defines it (Unicode Table 3-7): no overlong forms, no
 * surrogates (U+D800..U+DFFF, ED A0..BF), nothing past U+10FFFF, no
 * sequence cut short. JSON text must be UTF-8 (RFC 8259 section 8.1), and
 * cJSON copies string bytes through unchecked, so whatever is not checked
 * here would be stored, compared and echoed as it came.
 */
enum jcheck_utf8_status {
    JCHECK_UTF8_OK = 0,
    JCHECK_UTF8_BAD_BYTE,   /* a byte that starts no character: 80..BF alone, F8..FF */
    JCHECK_UTF8_OVERLONG,   /* C0, C1, E0 80..9F, F0 80..8F: a longer form than needed */
    JCHECK_UTF8_SURROGATE,  /* ED A0..BF: U+D800..U+DFFF, which UTF-8 never encodes */
    JCHECK_UTF8_TOO_LARGE,  /* F4 90..BF, F5..F7: past U+10FFFF */
    JCHECK_UTF8_TRUNCATED   /* a lead byte without all its continuation bytes */
};

/*
 * Checks len bytes of s (NUL is an ordinary byte here). Returns
 * JCHECK_UTF8_OK, or the problem with the first bad sequence, whose byte
 * offset goes to *off when off is not NULL.
 */
int jcheck_utf8(const char *s, size_t len, size_t *off);

/* Static message for a jcheck_utf8_status ("an overlong encoding"). */
const char *jcheck_utf8_strerror(int status);

/*
 * Copies s (len bytes) into out (outlen bytes, outlen >= 1; always
 * NUL-terminated) so that out is valid UTF-8 whatever s is: each invalid
 * sequence becomes U+FFFD, and when s does not fit, the copy ends after the
 * last whole character that does, never inside one. This is the only way
 * caller text is shortened for an error answer or a message. Returns the
 * bytes written (without the NUL).
 */
size_t jcheck_utf8_copy(char *out, size_t outlen, const char *s, size_t len);

/*
 * The first member, anywhere in tree (depth first, in document order),
 * whose key an earlier member of the same object already has: cJSON keeps
 * both, and which one a reader sees depends on how it looks (the first with
 * cJSON_GetObjectItem, the last when iterating), so a duplicate would make
 * one document mean two things. Returns that member (borrowed from tree)
 * with its path ("$.choices.analytics", shortened like jcheck_path_key)
 * in path (JCHECK_MAX_PATH bytes), or NULL when every object's keys are
 * distinct.
 */
const cJSON *jcheck_duplicate_key(const cJSON *tree, char *path);

/* 1 when s is 1..maxlen characters of [a-z0-9_-], else 0. */
int jcheck_is_token(const char *s, size_t maxlen);

/* Lenient reads of an already judged tree (a signed payload, a report):
 * the string member key of o, or dflt when o has none (borrowed from o);
 * the number member key, or dflt. o may be NULL. */
const char *jcheck_get_string(const cJSON *o, const char *key, const char *dflt);
double jcheck_get_number(const cJSON *o, const char *key, double dflt);

#endif
