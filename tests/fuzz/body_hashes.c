/*
 * body_hashes.c - prints "SITE BANNER_VERSION LANG MODEL TEXTS_SHA256" for
 * every site, language and model of a configuration: what a valid body of
 * POST /consent/v1/consents must name. Used to write the fuzz_body seeds
 * (see README.md); not part of any build target.
 */
#include "../../cgi/config.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];

    if (config_load(&cfg, argc > 1 ? argv[1] : "cgi/consentd.example.json", err,
                    sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (size_t s = 0; s < cfg.nsites; s++)
        for (size_t l = 0; l < cfg.sites[s].nlanguages; l++)
            for (int m = 0; m < MODEL_COUNT; m++)
                printf("%s %s %s %s %s\n", cfg.sites[s].id,
                       cfg.sites[s].banner_version, cfg.sites[s].languages[l].tag,
                       rules_model_name((enum consent_model)m),
                       cfg.sites[s].languages[l].texts_sha256[m]);
    config_free(&cfg);
    return 0;
}
