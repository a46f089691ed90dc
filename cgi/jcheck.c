/*
 * jcheck.c - see jcheck.h.
 */
#include "jcheck.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jcheck_init(struct jcheck *c, const char *file, char *err, size_t errlen)
{
    c->file = file;
    c->err = err;
    c->errlen = errlen;
    c->failed = 0;
    if (errlen > 0)
        err[0] = '\0';
}

int jcheck_fail(struct jcheck *c, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->failed)
        return -1;
    c->failed = 1;
    if (c->errlen == 0)
        return -1;
    n = snprintf(c->err, c->errlen, "%s: %s: ", c->file, path);
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

void jcheck_path_key(char *out, const char *parent, const char *key)
{
    int n = snprintf(out, JCHECK_MAX_PATH, "%s.%s", parent, key);

    if (n < 0 || n >= JCHECK_MAX_PATH)
        memcpy(out + JCHECK_MAX_PATH - 4, "...", 4);
}

void jcheck_path_index(char *out, const char *parent, int index)
{
    int n = snprintf(out, JCHECK_MAX_PATH, "%s[%d]", parent, index);

    if (n < 0 || n >= JCHECK_MAX_PATH)
        memcpy(out + JCHECK_MAX_PATH - 4, "...", 4);
}

int jcheck_object(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *const *allowed)
{
    const cJSON *item;
    char p[JCHECK_MAX_PATH];

    if (c->failed)
        return -1;
    if (!cJSON_IsObject(obj))
        return jcheck_fail(c, path, "expected an object");
    cJSON_ArrayForEach(item, obj) {
        const char *const *a;

        for (a = allowed; *a != NULL; a++)
            if (strcmp(*a, item->string) == 0)
                break;
        if (*a == NULL) {
            jcheck_path_key(p, path, item->string);
            return jcheck_fail(c, p, "unknown key");
        }
        /* A key given twice would make the second one silently ignored. */
        for (const cJSON *o = obj->child; o != item; o = o->next)
            if (strcmp(o->string, item->string) == 0) {
                jcheck_path_key(p, path, item->string);
                return jcheck_fail(c, p, "key given twice");
            }
    }
    return 0;
}

/* Shared first half of the typed getters: 1 missing-but-optional, 0 found,
 * -1 error. */
static int lookup(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *key, int required, const cJSON **item,
                  char *p)
{
    jcheck_path_key(p, path, key);
    if (c->failed)
        return -1;
    *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (*item == NULL || cJSON_IsNull(*item)) {
        if (required)
            return jcheck_fail(c, p, "missing (required)");
        return 1;
    }
    return 0;
}

int jcheck_string(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *key, int required, size_t minlen,
                  size_t maxlen, const char **out)
{
    const cJSON *item;
    char p[JCHECK_MAX_PATH];
    size_t len;
    int st = lookup(c, obj, path, key, required, &item, p);

    if (st != 0)
        return st;
    if (!cJSON_IsString(item))
        return jcheck_fail(c, p, "expected a string of %zu-%zu characters",
                           minlen, maxlen);
    len = strlen(item->valuestring);
    if (len < minlen || len > maxlen)
        return jcheck_fail(c, p, "expected a string of %zu-%zu characters",
                           minlen, maxlen);
    *out = item->valuestring;
    return 0;
}

int jcheck_int(struct jcheck *c, const cJSON *obj, const char *path,
               const char *key, int required, long min, long max, long *out)
{
    const cJSON *item;
    char p[JCHECK_MAX_PATH];
    double v;
    int st = lookup(c, obj, path, key, required, &item, p);

    if (st != 0)
        return st;
    if (!cJSON_IsNumber(item))
        return jcheck_fail(c, p, "expected an integer from %ld to %ld", min,
                           max);
    v = item->valuedouble;
    /* Range first: casting a double outside long's range (1e300, inf) is
     * undefined behaviour (found by fuzz_config). */
    if (!isfinite(v) || v < (double)min || v > (double)max || v != floor(v))
        return jcheck_fail(c, p, "expected an integer from %ld to %ld", min,
                           max);
    *out = (long)v;
    return 0;
}

int jcheck_bool(struct jcheck *c, const cJSON *obj, const char *path,
                const char *key, int required, int *out)
{
    const cJSON *item;
    char p[JCHECK_MAX_PATH];
    int st = lookup(c, obj, path, key, required, &item, p);

    if (st != 0)
        return st;
    if (!cJSON_IsBool(item))
        return jcheck_fail(c, p, "expected true or false");
    *out = cJSON_IsTrue(item);
    return 0;
}

int jcheck_member(struct jcheck *c, const cJSON *obj, const char *path,
                  const char *key, int required, int type, const cJSON **out)
{
    const cJSON *item;
    char p[JCHECK_MAX_PATH];
    int st = lookup(c, obj, path, key, required, &item, p);

    if (st != 0)
        return st;
    if ((item->type & 0xFF) != type)
        return jcheck_fail(c, p, "expected %s",
                           type == cJSON_Array ? "an array" : "an object");
    *out = item;
    return 0;
}

cJSON *jcheck_parse_file(struct jcheck *c, const char *path, size_t max)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len;
    cJSON *root = NULL;

    f = fopen(path, "rb");
    if (f == NULL) {
        jcheck_fail(c, "$", "cannot open: %s", strerror(errno));
        goto cleanup;
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        jcheck_fail(c, "$", "out of memory");
        goto cleanup;
    }
    len = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        jcheck_fail(c, "$", "cannot read: %s", strerror(errno));
        goto cleanup;
    }
    if (len > max) {
        jcheck_fail(c, "$", "file larger than %zu bytes", max);
        goto cleanup;
    }
    root = jcheck_parse_text(c, buf, len);
cleanup:
    free(buf);
    if (f != NULL)
        fclose(f);
    return root;
}

cJSON *jcheck_parse_text(struct jcheck *c, const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    const char *stop = text + len;

    if (root != NULL) {
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\n' ||
                              *end == '\r'))
            end++;
        if (end == stop)
            return root;
        cJSON_Delete(root);
    }
    {
        /* Line and column of the first byte cJSON could not take. */
        size_t off = (end != NULL && end >= text && end <= stop) ? (size_t)(end - text) : 0;
        int line = 1, col = 1;

        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        jcheck_fail(c, "$", "not valid JSON (line %d, column %d)", line, col);
    }
    return NULL;
}

int jcheck_is_token(const char *s, size_t maxlen)
{
    size_t n = strlen(s);

    if (n == 0 || n > maxlen)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}
