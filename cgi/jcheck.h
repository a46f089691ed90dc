/*
 * jcheck.h - typed reads from a parsed JSON configuration file, with errors
 * that name the file, the JSON path and what was expected:
 *
 *     consentd.json: $.sites[0].categories[1].id: expected a string of 1-32 characters
 *
 * Used by the configuration loader (cgi/config.c) and the rules loader
 * (geo/rules.c). A struct jcheck lives on the caller's stack; the first
 * failure is kept and later calls on the same checker are no-ops that fail.
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

/* Child path "parent.key" or "parent[i]" into out (JCHECK_MAX_PATH bytes). */
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
 * root, owned by the caller, or NULL with "not valid JSON (line, column)". */
cJSON *jcheck_parse_text(struct jcheck *c, const char *text, size_t len);

/* 1 when s is 1..maxlen characters of [a-z0-9_-], else 0. */
int jcheck_is_token(const char *s, size_t maxlen);

#endif
