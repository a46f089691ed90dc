/*
 * texts.c - the default banner texts (see texts.h).
 *
 * Why files and not code: translations are data that translators edit, and
 * an operator can point "texts" at an edited copy. Why en.json is the
 * master and not the C key lists: the C lists (cgi/config.c) say what a
 * banner needs; en.json is checked against them there, and every other file
 * only has to match en.json, so a translator reads one file to know what to
 * write, and a missing or extra key names the file it is in.
 */
#include "texts.h"
#include "../common/jcheck.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tags whose texts another file holds: Chinese by script (as browsers send
 * zh-TW or zh-CN), Norwegian Bokmål's own tag, Hebrew's old tag. */
static const char *const aliases[][2] = {
    {"zh", "zh-hans"}, {"zh-cn", "zh-hans"}, {"zh-sg", "zh-hans"},
    {"zh-my", "zh-hans"}, {"zh-tw", "zh-hant"}, {"zh-hk", "zh-hant"},
    {"zh-mo", "zh-hant"}, {"nb", "no"}, {"iw", "he"}, {NULL, NULL}};

/* Languages written right to left unless a script subtag says otherwise. */
static const char *const rtl_languages[] = {
    "ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "syr",
    "ug", "ur", "yi", NULL};
static const char *const rtl_scripts[] = {
    "arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg", "mand", "samr",
    NULL};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list != NULL; list++)
        if (strlen(*list) == n && strncmp(*list, s, n) == 0)
            return 1;
    return 0;
}

int texts_rtl(const char *tag)
{
    const char *sub = strchr(tag, '-');
    size_t n = sub != NULL ? (size_t)(sub - tag) : strlen(tag);

    /* A script subtag (four letters) decides: az-Arab is RTL, ks-Deva not. */
    while (sub != NULL) {
        const char *next = strchr(sub + 1, '-');
        size_t len = next != NULL ? (size_t)(next - sub - 1) : strlen(sub + 1);

        if (len == 4 && strspn(sub + 1, "abcdefghijklmnopqrstuvwxyz") >= 4)
            return in_list(rtl_scripts, sub + 1, 4);
        sub = next;
    }
    return in_list(rtl_languages, tag, n);
}

/* The next "{name}" (name of a-z and _) at or after s: its start and
 * length, or NULL. */
static const char *next_placeholder(const char *s, size_t *len)
{
    for (const char *p = strchr(s, '{'); p != NULL; p = strchr(p + 1, '{')) {
        size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");

        if (n > 0 && p[1 + n] == '}') {
            *len = n + 2;
            return p;
        }
    }
    return NULL;
}

/* The first placeholder of a that b lacks, or NULL. */
static const char *missing_placeholder(const char *a, const char *b,
                                       size_t *len)
{
    size_t n, m;

    for (const char *p = next_placeholder(a, &n); p != NULL;
         p = next_placeholder(p + n, &n)) {
        const char *q;

        for (q = next_placeholder(b, &m); q != NULL; q = next_placeholder(q + m, &m))
            if (m == n && strncmp(p, q, n) == 0)
                break;
        if (q == NULL) {
            *len = n;
            return p;
        }
    }
    return NULL;
}

int texts_same_placeholders(const char *a, const char *b, char *what,
                            size_t whatlen)
{
    size_t n = 0;
    const char *p = missing_placeholder(a, b, &n);

    if (p == NULL)
        p = missing_placeholder(b, a, &n);
    if (p == NULL)
        return 1;
    if (what != NULL)
        snprintf(what, whatlen, "%.*s", (int)n, p);
    return 0;
}

/* Checks file against master (en.json) at path, recursively. */
static int compare(struct jcheck *c, const cJSON *file, const cJSON *master,
                   const char *path, size_t maxlen)
{
    char q[JCHECK_MAX_PATH], what[64];
    const cJSON *m, *f;

    if (cJSON_IsObject(master)) {
        if (!cJSON_IsObject(file))
            return jcheck_fail(c, path, "expected an object, as in en.json");
        cJSON_ArrayForEach(m, master) {
            jcheck_path_key(q, path, m->string);
            f = cJSON_GetObjectItemCaseSensitive(file, m->string);
            if (f == NULL)
                return jcheck_fail(c, q, "missing (en.json has it)");
            if (compare(c, f, m, q, maxlen) != 0)
                return -1;
        }
        cJSON_ArrayForEach(f, file) {
            if (cJSON_GetObjectItemCaseSensitive(master, f->string) == NULL) {
                jcheck_path_key(q, path, f->string);
                return jcheck_fail(c, q, "unknown key (not in en.json)");
            }
        }
        return 0;
    }
    if (!cJSON_IsString(master))
        return jcheck_fail(c, path, "expected an object or a string");
    if (!cJSON_IsString(file))
        return jcheck_fail(c, path, "expected a string, as in en.json");
    if (file->valuestring[0] == '\0' || strlen(file->valuestring) > maxlen)
        return jcheck_fail(c, path, "expected a string of 1-%zu bytes", maxlen);
    if (!texts_same_placeholders(master->valuestring, file->valuestring, what,
                                 sizeof(what)))
        return jcheck_fail(c, path, "placeholder %s: en.json and this text must "
                           "have the same placeholders, verbatim", what);
    return 0;
}

/* "pt-BR.json" -> "pt-br"; 0 when name is not TAG.json. */
static int file_tag(const char *name, char tag[TEXTS_TAG_LEN])
{
    size_t n = strlen(name);

    if (n < 7 || strcmp(name + n - 5, ".json") != 0)
        return 0;
    n -= 5;
    if (n >= TEXTS_TAG_LEN)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (ch == '-' && i >= 2 && i + 1 < n && tag[i - 1] != '-')))
            return -1;
        tag[i] = ch;
    }
    tag[n] = '\0';
    return strspn(tag, "abcdefghijklmnopqrstuvwxyz") >= 2 ? 1 : -1;
}

static int by_tag(const void *a, const void *b)
{
    const struct texts_file *x = a, *y = b;

    /* The master first, then alphabetical, so errors come in one order. */
    if (strcmp(x->tag, TEXTS_MASTER) == 0 || strcmp(y->tag, TEXTS_MASTER) == 0)
        return strcmp(x->tag, TEXTS_MASTER) == 0 ? -1 : 1;
    return strcmp(x->tag, y->tag);
}

/* Reads one file into f (tag set by the caller). */
static int load_file(struct texts_file *f, const char *path, size_t maxlen,
                     const cJSON *master, char *err, size_t errlen)
{
    struct jcheck c;
    char dup[JCHECK_MAX_PATH];

    jcheck_init(&c, path, err, errlen);
    f->tree = jcheck_parse_file(&c, path, TEXTS_MAX_FILE);
    if (f->tree == NULL)
        return -1;
    if (jcheck_duplicate_key(f->tree, dup) != NULL)
        return jcheck_fail(&c, dup, "key given twice");
    return compare(&c, f->tree, master != NULL ? master : f->tree, "$", maxlen);
}

/* Notes the name and tag of every TAG.json in d (other names ignored),
 * each tag once, at most TEXTS_MAX_FILES of them. */
static int list_files(struct texts *t, DIR *d, struct jcheck *c)
{
    struct dirent *e;

    while ((e = readdir(d)) != NULL) {
        char tag[TEXTS_TAG_LEN];
        int ok = file_tag(e->d_name, tag);

        if (ok == 0)
            continue;
        if (ok < 0)
            return jcheck_fail(c, "$", "%s: expected a language tag such as pt-BR.json",
                               e->d_name);
        for (size_t i = 0; i < t->nfiles; i++)
            if (strcmp(t->files[i].tag, tag) == 0)
                return jcheck_fail(c, "$", "%s: a second file for language %s",
                                   e->d_name, tag);
        if (t->nfiles == TEXTS_MAX_FILES)
            return jcheck_fail(c, "$", "more than %d files", TEXTS_MAX_FILES);
        strcpy(t->files[t->nfiles].tag, tag);
        strcpy(t->files[t->nfiles++].file, e->d_name);
    }
    return 0;
}

/* Reads the listed files of dir, the master first, each checked against
 * it; a file's own problem goes to err under its own name. */
static int read_files(struct texts *t, const char *dir, size_t maxlen,
                      struct jcheck *c, char *err, size_t errlen)
{
    char path[PATH_MAX];

    qsort(t->files, t->nfiles, sizeof(*t->files), by_tag);
    if (t->nfiles == 0 || strcmp(t->files[0].tag, TEXTS_MASTER) != 0)
        return jcheck_fail(c, "$", "no %s.json (the master every language follows)",
                           TEXTS_MASTER);
    for (size_t i = 0; i < t->nfiles; i++) {
        if (snprintf(path, sizeof(path), "%s/%s", dir, t->files[i].file) >=
            (int)sizeof(path))
            return jcheck_fail(c, "$", "path too long");
        if (load_file(&t->files[i], path, maxlen,
                      i == 0 ? NULL : t->files[0].tree, err, errlen) != 0)
            return -1;
    }
    return 0;
}

enum texts_status texts_load(struct texts *t, const char *dir, size_t maxlen,
                             char *err, size_t errlen)
{
    DIR *d;
    struct jcheck c;
    int rc = -1;

    memset(t, 0, sizeof(*t));
    jcheck_init(&c, dir, err, errlen);
    d = opendir(dir);
    if (d == NULL) {
        jcheck_fail(&c, "$", "cannot open the folder of default texts");
        return TEXTS_NO_FOLDER;
    }
    t->files = calloc(TEXTS_MAX_FILES, sizeof(*t->files));
    if (t->files == NULL)
        jcheck_fail(&c, "$", "out of memory");
    else
        rc = list_files(t, d, &c) == 0 ? read_files(t, dir, maxlen, &c, err, errlen) : -1;
    closedir(d);
    return rc == 0 ? TEXTS_OK : TEXTS_INVALID;
}

const char *texts_strerror(int status)
{
    switch (status) {
    case TEXTS_OK:
        return "ok";
    case TEXTS_NO_FOLDER:
        return "cannot open the folder of default texts";
    case TEXTS_INVALID:
        return "default texts invalid";
    default:
        return "unknown error";
    }
}

void texts_free(struct texts *t)
{
    for (size_t i = 0; i < t->nfiles; i++)
        cJSON_Delete(t->files[i].tree);
    free(t->files);
    memset(t, 0, sizeof(*t));
}

static const struct texts_file *find_exact(const struct texts *t, const char *tag)
{
    for (size_t i = 0; i < t->nfiles; i++)
        if (strcmp(t->files[i].tag, tag) == 0)
            return &t->files[i];
    for (size_t i = 0; aliases[i][0] != NULL; i++)
        if (strcmp(aliases[i][0], tag) == 0)
            return find_exact(t, aliases[i][1]);
    return NULL;
}

const cJSON *texts_find(const struct texts *t, const char *tag,
                        const char **from)
{
    char buf[TEXTS_TAG_LEN];
    const struct texts_file *f;
    char *dash;

    snprintf(buf, sizeof(buf), "%s", tag);
    /* de-at -> de: drop the last subtag until a file answers. */
    while ((f = find_exact(t, buf)) == NULL && (dash = strrchr(buf, '-')) != NULL)
        *dash = '\0';
    if (f == NULL || f->tree == NULL)
        return NULL;
    if (from != NULL)
        *from = f->file;
    return f->tree;
}
