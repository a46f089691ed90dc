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

/* A path that did not fit: as much of full as fits before "...", cut after
 * a whole character. */
static void path_shorten(char *out, const char *full)
{
    size_t n = jcheck_utf8_copy(out, JCHECK_MAX_PATH - 3, full, strlen(full));

    memcpy(out + n, "...", 4);
}

void jcheck_path_key(char *out, const char *parent, const char *key)
{
    char full[2 * JCHECK_MAX_PATH];
    int n = snprintf(out, JCHECK_MAX_PATH, "%s.%s", parent, key);

    if (n < 0 || n >= JCHECK_MAX_PATH) {
        snprintf(full, sizeof(full), "%s.%s", parent, key);
        path_shorten(out, full);
    }
}

void jcheck_path_index(char *out, const char *parent, int index)
{
    char full[2 * JCHECK_MAX_PATH];
    int n = snprintf(out, JCHECK_MAX_PATH, "%s[%d]", parent, index);

    if (n < 0 || n >= JCHECK_MAX_PATH) {
        snprintf(full, sizeof(full), "%s[%d]", parent, index);
        path_shorten(out, full);
    }
}

/* 1 when a member of obj before item has item's key. The one duplicate-key
 * rule, for configuration files and request bodies alike. */
static int key_repeated(const cJSON *obj, const cJSON *item)
{
    for (const cJSON *o = obj->child; o != item; o = o->next)
        if (strcmp(o->string, item->string) == 0)
            return 1;
    return 0;
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
        if (key_repeated(obj, item)) {
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

/* Line and column (1-based) of byte off of text. */
static void line_column(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

cJSON *jcheck_parse_text(struct jcheck *c, const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *root;
    const char *stop = text + len;
    size_t bad;
    int st = jcheck_utf8(text, len, &bad);
    int line, col;

    if (st != JCHECK_UTF8_OK) {
        line_column(text, bad, &line, &col);
        jcheck_fail(c, "$", "not valid UTF-8 (line %d, column %d): %s", line,
                    col, jcheck_utf8_strerror(st));
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root != NULL) {
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\n' ||
                              *end == '\r'))
            end++;
        if (end == stop)
            return root;
        cJSON_Delete(root);
    }
    /* Line and column of the first byte cJSON could not take. */
    line_column(text, (end != NULL && end >= text && end <= stop) ? (size_t)(end - text) : 0,
                &line, &col);
    jcheck_fail(c, "$", "not valid JSON (line %d, column %d)", line, col);
    return NULL;
}

int jcheck_is_token(const char *s, size_t maxlen)
{
    size_t n = strlen(s);

    if (n == 0 || n > maxlen)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/*
 * One character at s (len >= 1 bytes): its length into *n, or for a bad
 * sequence the length of its longest valid-looking start (at least 1),
 * which is what one U+FFFD replaces (the "maximal subpart" of Unicode
 * section 3.9, as browsers decode). The ranges are Unicode's Table 3-7:
 * the second byte alone decides overlong, surrogate and too-large forms.
 */
static int utf8_next(const unsigned char *s, size_t len, size_t *n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    *n = 1;
    if (c < 0x80)
        return JCHECK_UTF8_OK;
    if (c < 0xC0)
        return JCHECK_UTF8_BAD_BYTE;
    if (c < 0xC2)
        return JCHECK_UTF8_OVERLONG;
    if (c < 0xE0) {
        need = 1;
    } else if (c < 0xF0) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c < 0xF5) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return c < 0xF8 ? JCHECK_UTF8_TOO_LARGE : JCHECK_UTF8_BAD_BYTE;
    }
    if (len < 2 || (s[1] & 0xC0) != 0x80)
        return JCHECK_UTF8_TRUNCATED;
    if (s[1] < lo)
        return JCHECK_UTF8_OVERLONG;
    if (s[1] > hi)
        return c == 0xED ? JCHECK_UTF8_SURROGATE : JCHECK_UTF8_TOO_LARGE;
    for (size_t i = 2; i <= need; i++)
        if (i >= len || (s[i] & 0xC0) != 0x80) {
            *n = i;
            return JCHECK_UTF8_TRUNCATED;
        }
    *n = need + 1;
    return JCHECK_UTF8_OK;
}

int jcheck_utf8(const char *s, size_t len, size_t *off)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        int st;

        /* ASCII runs are most of any body: skip them a byte at a time
         * without the decoder. */
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        st = utf8_next(u + i, len - i, &n);
        if (st != JCHECK_UTF8_OK) {
            if (off != NULL)
                *off = i;
            return st;
        }
        i += n;
    }
    return JCHECK_UTF8_OK;
}

const char *jcheck_utf8_strerror(int status)
{
    switch (status) {
    case JCHECK_UTF8_OK:
        return "valid UTF-8";
    case JCHECK_UTF8_BAD_BYTE:
        return "a byte that starts no UTF-8 character";
    case JCHECK_UTF8_OVERLONG:
        return "an overlong encoding";
    case JCHECK_UTF8_SURROGATE:
        return "an encoded surrogate (U+D800..U+DFFF)";
    case JCHECK_UTF8_TOO_LARGE:
        return "a code point past U+10FFFF";
    case JCHECK_UTF8_TRUNCATED:
        return "a truncated multi-byte sequence";
    default:
        return "unknown error";
    }
}

size_t jcheck_utf8_copy(char *out, size_t outlen, const char *s, size_t len)
{
    static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */
    size_t o = 0, i = 0;

    if (outlen == 0)
        return 0;
    while (i < len) {
        size_t n;
        int ok = utf8_next((const unsigned char *)s + i, len - i, &n) == JCHECK_UTF8_OK;
        const char *from = ok ? s + i : replacement;
        size_t w = ok ? n : sizeof(replacement) - 1;

        if (w >= outlen - o)
            break;
        memcpy(out + o, from, w);
        o += w;
        i += n;
    }
    out[o] = '\0';
    return o;
}

/* Depth first below node, whose path is at. Recursion is bounded by cJSON's
 * own nesting limit (CJSON_NESTING_LIMIT, 1000), like cJSON_Parse itself;
 * a frame is one JCHECK_MAX_PATH buffer. */
static const cJSON *duplicate_below(const cJSON *node, const char *at,
                                    char *path)
{
    const cJSON *item, *found;
    char p[JCHECK_MAX_PATH];
    int i = 0;

    cJSON_ArrayForEach(item, node) {
        int object = cJSON_IsObject(node);

        if (object && key_repeated(node, item)) {
            jcheck_path_key(path, at, item->string);
            return item;
        }
        if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
            if (object)
                jcheck_path_key(p, at, item->string);
            else
                jcheck_path_index(p, at, i);
            found = duplicate_below(item, p, path);
            if (found != NULL)
                return found;
        }
        i++;
    }
    return NULL;
}

const cJSON *jcheck_duplicate_key(const cJSON *tree, char *path)
{
    path[0] = '\0';
    if (!cJSON_IsObject(tree) && !cJSON_IsArray(tree))
        return NULL;
    return duplicate_below(tree, "$", path);
}

const char *jcheck_get_string(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : dflt;
}

double jcheck_get_number(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}
