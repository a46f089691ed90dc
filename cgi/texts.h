/*
 * texts.h - the default banner texts: one JSON file per language tag in one
 * folder (i18n/ in the source tree, named by the configuration's "texts"),
 * en.json the master every other file must match key for key.
 *
 * Loaded and checked with the configuration (cgi/config.c), used while the
 * sites' texts are merged and then freed: nothing of it is shared with the
 * workers. A file that is incomplete, has a key en.json lacks, an empty or
 * over-long string, or loses a placeholder such as {date} stops the load,
 * naming the file and the key.
 */
#ifndef CONSENT_TEXTS_H
#define CONSENT_TEXTS_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "../common/attrs.h"

#define TEXTS_MAX_FILES 64
#define TEXTS_MAX_FILE (64 * 1024)
#define TEXTS_TAG_LEN 16            /* "zh-hant" style tag plus NUL */
#define TEXTS_MASTER "en"

struct texts_file {
    char tag[TEXTS_TAG_LEN];        /* lower case: "pt-br", from "pt-BR.json" */
    char file[TEXTS_TAG_LEN + 5];   /* the name on disk: "pt-BR.json" */
    cJSON *tree;                    /* owned */
};

/* Caller-owned, safe to texts_free() when zeroed. */
struct texts {
    struct texts_file *files;       /* [0] is the master, en.json */
    size_t nfiles;
};

enum texts_status {
    TEXTS_OK = 0,
    TEXTS_NO_FOLDER,    /* dir cannot be opened */
    TEXTS_INVALID       /* a file name, a file or the set of files: see err */
};

/*
 * Reads every "TAG.json" of dir (other names are ignored) and checks each
 * against en.json: the same keys at every level, strings of 1..maxlen bytes
 * of valid UTF-8, the same {placeholders} in each string. Returns TEXTS_OK,
 * or a status with "PATH: JSON-PATH: what is wrong" in err (PATH the
 * offending file, or dir). Free with texts_free() either way.
 */
CONSENT_MUST_CHECK
enum texts_status texts_load(struct texts *t, const char *dir, size_t maxlen,
                             char *err, size_t errlen);

/* Static message for a texts_status; "unknown error" for anything else. */
const char *texts_strerror(int status);

/* Frees what texts_load() read. Safe on a zeroed struct. */
void texts_free(struct texts *t);

/*
 * The default texts for a lower-case language tag: its own file, else the
 * file of a shorter tag (de-at -> de, zh-hant-tw -> zh-hant) or of a
 * well-known alias (zh-tw -> zh-hant, zh-cn -> zh-hans, nb -> no); NULL when
 * none. Borrowed from t; sets *from (may be NULL) to the file's name
 * ("pt-BR.json"), also borrowed from t.
 */
const cJSON *texts_find(const struct texts *t, const char *tag,
                        const char **from);

/*
 * 1 when the same {name} placeholders occur in a and b (each at least once,
 * however often), else 0 with the first one that differs in what
 * (whatlen bytes, "{date}"), when what is not NULL.
 */
int texts_same_placeholders(const char *a, const char *b, char *what,
                            size_t whatlen);

/* 1 when a lower-case language tag is written right to left (ar, he, fa,
 * ur, ...; a script subtag such as -arab or -latn decides first). */
int texts_rtl(const char *tag);

#endif
