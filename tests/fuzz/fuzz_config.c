/*
 * fuzz_config.c - the configuration loader (cgi/config.c, cgi/declaration.c, common/jcheck.c,
 * geo/rules.c's model names, geo/geo.c's layout names), geoip.database as a
 * string or a list of files.
 *
 * Relative paths in the text are taken from "/nonexistent", so nothing on
 * disk is read unless the input names an absolute admin.tokens_file or
 * texts folder (default texts, cgi/texts.c).
 */
#include "fuzz.h"
#include "../../cgi/config.h"

#include <string.h>

static void check_loaded(const struct config *cfg)
{
    FUZZ_CHECK(cfg->nsites <= CONSENT_MAX_SITES);
    /* geoip.database: a string is one file, a list 1-GEO_MAX_FILES files */
    FUZZ_CHECK(cfg->ngeoip_paths >= 1 && cfg->ngeoip_paths <= GEO_MAX_FILES);
    FUZZ_CHECK(cfg->geoip_coverage == GEO_COVER_BOTH || cfg->ngeoip_paths == 1);
    for (size_t i = 0; i < cfg->ngeoip_paths; i++) {
        FUZZ_CHECK(cfg->geoip_paths[i] != NULL && cfg->geoip_paths[i][0] != '\0');
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(cfg->geoip_paths[k], cfg->geoip_paths[i]) != 0);
    }
    for (size_t s = 0; s < cfg->nsites; s++) {
        const struct config_site *site = &cfg->sites[s];

        FUZZ_CHECK(config_site_find(cfg, site->id) == site);
        FUZZ_CHECK(site->ncategories <= CONSENT_MAX_CATEGORIES);
        FUZZ_CHECK(site->nlanguages >= 1 && site->nlanguages <= CONSENT_MAX_LANGUAGES);
        for (size_t c = 0; c < site->ncategories; c++)
            FUZZ_CHECK(config_category_index(site, site->categories[c].id) == (int)c);
        for (size_t o = 0; o < site->norigins; o++) {
            FUZZ_CHECK(config_origin_allowed(site, site->origins[o]));
            FUZZ_CHECK(config_origin_known(cfg, site->origins[o]));
        }
        for (size_t l = 0; l < site->nlanguages; l++) {
            const struct config_language *lang = &site->languages[l];

            /* the /declaration answer and its ETag, in every language */
            FUZZ_CHECK(lang->declaration != NULL && lang->declaration[0] == '{');
            FUZZ_CHECK(strlen(lang->declaration_etag) == CONSENT_ETAG_LEN - 1);

            for (int m = 0; m < MODEL_COUNT; m++) {
                const struct config_language *found;
                int model = -1;

                FUZZ_CHECK(lang->texts[m] != NULL);
                FUZZ_CHECK(strlen(lang->texts_sha256[m]) == 64);
                found = config_texts_by_hash(site, -1, lang->texts_sha256[m], &model);
                FUZZ_CHECK(found != NULL && model >= 0 && model < MODEL_COUNT);
                /* the same texts may be shared: the hash must match */
                FUZZ_CHECK(strcmp(found->texts_sha256[model],
                                  lang->texts_sha256[m]) == 0);
            }
        }
        /* an experiment: 2-8 variants, each found by id and by its texts'
         * hashes, every bucket in one of them */
        FUZZ_CHECK(site->nvariants == 0 ||
                   (site->nvariants >= 2 && site->nvariants <= CONSENT_MAX_VARIANTS));
        for (size_t v = 0; v < site->nvariants; v++) {
            FUZZ_CHECK(config_variant_index(site, site->variants[v].id) == (int)v);
            for (size_t l = 0; l < site->nlanguages; l++)
                for (int m = 0; m < MODEL_COUNT; m++) {
                    int model = -1;
                    const struct config_language *found = config_texts_by_hash(
                        site, (int)v, site->variants[v].languages[l].texts_sha256[m], &model);

                    FUZZ_CHECK(found != NULL && model >= 0 && model < MODEL_COUNT);
                }
        }
        for (int b = 0; b < CONSENT_VARIANT_BUCKETS; b++) {
            int v = config_variant_of_bucket(site, b);

            FUZZ_CHECK(site->nvariants == 0 ? v == -1 : v >= 0 && v < (int)site->nvariants);
        }
    }
    (void)config_token_find(cfg, "fuzz-token");
    (void)config_site_find(cfg, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    char err[512];
    int rc;

    memset(err, 'x', sizeof(err));
    rc = config_parse(&cfg, (const char *)data, size, "fuzz.json", "/nonexistent",
                      err, sizeof(err));
    if (rc == 0) {
        check_loaded(&cfg);
        config_free(&cfg);
        return 0;
    }
    FUZZ_CHECK(rc == CONFIG_INVALID);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    FUZZ_CHECK(err[0] != '\0');
    /* "nothing needs freeing" on failure: LeakSanitizer checks that */
    return 0;
}
