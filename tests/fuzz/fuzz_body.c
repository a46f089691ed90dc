/*
 * fuzz_body.c - the body of POST /consent/v1/consents (cgi/choice.c) and
 * the banner decision it is resolved against (cgi/decision.c).
 *
 * The site configuration is cgi/consentd.example.json (or $FUZZ_CONFIG),
 * read once at start relative to the working folder: run from the
 * repository root (tests/fuzz/run.sh does). Its relative paths are taken
 * from cgi/, as config_load would: the default texts (i18n/) are read with
 * it; GeoIP, rules and keys are not read by the configuration loader.
 *
 * Per input: choice_parse; on success, for every regime model (opt-in,
 * opt-out with binding GPC, opt-out without, notice) and GPC 0/1:
 * decision_make then choice_resolve, with these invariants:
 * - a refusal names a status and code; a success leaves err untouched;
 * - a refusal's echoed value is valid UTF-8; a success had a UTF-8 body;
 * - after resolve, necessary categories are on and GPC-locked ones off;
 * - the state follows the action (accept_all: everything not locked on,
 *   reject_all/withdraw: everything optional off, custom: as given,
 *   gpc: sale/sharing off).
 */
#include "fuzz.h"
#include "../../cgi/choice.h"
#include "../../common/jcheck.h"

#include <string.h>

static struct config cfg;
static struct regime regimes[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("FUZZ_CONFIG");
    char err[512], *text;
    FILE *f;
    long n;

    (void)argc;
    (void)argv;
    if (path == NULL)
        path = "cgi/consentd.example.json";
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fuzz_body: cannot read %s (run from the repository root)\n", path);
        exit(2);
    }
    text = malloc((size_t)n);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fuzz_body: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    if (config_parse(&cfg, text, (size_t)n, path, "cgi", err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_body: %s\n", err);
        exit(2);
    }
    free(text);

    strcpy(regimes[0].id, "opt-in");
    regimes[0].model = MODEL_OPT_IN;
    strcpy(regimes[1].id, "opt-out-binding");
    regimes[1].model = MODEL_OPT_OUT;
    regimes[1].gpc_binding = 1;
    strcpy(regimes[2].id, "opt-out");
    regimes[2].model = MODEL_OPT_OUT;
    strcpy(regimes[3].id, "notice");
    regimes[3].model = MODEL_NOTICE;
    regimes[3].gpc_binding = 1;
    regimes[3].gpc_binding_since = 2000000000;  /* not yet binding */
    for (int i = 0; i < 4; i++) {
        regimes[i].consent_days = 365;
        regimes[i].metric_slot = -1;
    }
    return 0;
}

static void check_error(const struct choice_error *err)
{
    FUZZ_CHECK(err->status == 400 || err->status == 404 || err->status == 409 ||
               err->status == 422);
    FUZZ_CHECK(err->code != NULL && err->message != NULL);
    FUZZ_CHECK(memchr(err->value, '\0', sizeof(err->value)) != NULL);
    /* what an answer echoes is UTF-8 and whole characters, whatever came in */
    FUZZ_CHECK(jcheck_utf8(err->value, strlen(err->value), NULL) == JCHECK_UTF8_OK);
    if (strcmp(err->code, "duplicate_key") == 0)
        FUZZ_CHECK(err->status == 400 && err->key != NULL);
}

static void resolve(const struct choice *parsed, const struct regime *g, int gpc)
{
    const struct config_site *site = parsed->site;
    struct choice c = *parsed;
    struct decision d;
    struct choice_error err, pristine;
    int rc;

    decision_make(site, g, gpc, 1700000000, &d);
    FUZZ_CHECK(d.regime == g);
    for (size_t i = 0; i < site->ncategories; i++) {
        if (site->categories[i].necessary)
            FUZZ_CHECK(d.categories[i].on && d.categories[i].lock == LOCK_NECESSARY);
        if (d.categories[i].lock == LOCK_GPC)
            FUZZ_CHECK(!d.categories[i].on && gpc && d.gpc_binding);
    }

    memset(&err, 0xa5, sizeof(err));
    pristine = err;
    rc = choice_resolve(&c, &d, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == CHOICE_REFUSED);
        check_error(&err);
        FUZZ_CHECK(err.status == 422);
        return;
    }
    FUZZ_CHECK(memcmp(&err, &pristine, sizeof(err)) == 0);
    for (size_t i = 0; i < site->ncategories; i++) {
        const struct config_category *cat = &site->categories[i];
        int on = c.on[i];

        FUZZ_CHECK(on == 0 || on == 1);
        if (cat->necessary) {
            FUZZ_CHECK(on == 1);
            continue;
        }
        if (d.categories[i].lock == LOCK_GPC)
            FUZZ_CHECK(on == 0);
        switch (c.action) {
        case CHOICE_ACCEPT_ALL:
            FUZZ_CHECK(on == (d.categories[i].lock != LOCK_GPC));
            break;
        case CHOICE_REJECT_ALL:
        case CHOICE_WITHDRAW:
            FUZZ_CHECK(on == 0);
            break;
        case CHOICE_CUSTOM:
            FUZZ_CHECK(on == c.given[i]);
            break;
        case CHOICE_GPC:
            if (cat->sale_sharing)
                FUZZ_CHECK(on == 0);
            break;
        default:
            FUZZ_CHECK(0);
        }
        if (c.given[i] >= 0)
            FUZZ_CHECK(on == c.given[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct choice c;
    struct choice_error err, pristine;
    char *body;
    int rc;

    /* an exact-size copy: ASan then sees any read past the body */
    body = malloc(size > 0 ? size : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data, size);
    memset(&err, 0xa5, sizeof(err));
    pristine = err;
    rc = choice_parse(&cfg, body, size, &c, &err);
    free(body);
    if (rc != 0) {
        FUZZ_CHECK(rc == CHOICE_REFUSED);
        check_error(&err);
        return 0;
    }
    FUZZ_CHECK(memcmp(&err, &pristine, sizeof(err)) == 0);
    /* only a UTF-8 body is ever recorded */
    FUZZ_CHECK(jcheck_utf8((const char *)data, size, NULL) == JCHECK_UTF8_OK);
    FUZZ_CHECK(c.site != NULL && c.lang != NULL);
    FUZZ_CHECK(c.action >= CHOICE_ACCEPT_ALL && c.action < CHOICE_ACTION_COUNT);
    FUZZ_CHECK(c.texts_model >= 0 && c.texts_model < MODEL_COUNT);
    FUZZ_CHECK(c.texts_sha256 == c.lang->texts_sha256[c.texts_model]);
    for (size_t i = 0; i < c.site->ncategories; i++) {
        FUZZ_CHECK(c.given[i] >= -1 && c.given[i] <= 1);
        if (c.site->categories[i].necessary)
            FUZZ_CHECK(c.given[i] != 0);
    }
    for (size_t g = 0; g < sizeof(regimes) / sizeof(regimes[0]); g++)
        for (int gpc = 0; gpc <= 1; gpc++)
            resolve(&c, &regimes[g], gpc);
    return 0;
}
