/*
 * fuzz_rules.c - jurisdiction rules (geo/rules.c).
 *
 * Input: 6 header bytes pick a country and subdivision to match (bytes 0-1:
 * the country's letters, byte 2: the subdivision's length 0-3, bytes 3-5 its
 * characters), the rest is the rules text.
 */
#include "fuzz.h"
#include "../../geo/rules.h"
#include "../../gpp/gpp.h"

#include <string.h>

#define HEADER 6

static const char *const fixed[][2] = {
    {"DE", ""}, {"US", "CA"}, {"US", "TX"}, {"US", ""}, {"GB", "ENG"},
    {"BR", "SP"}, {"", ""}, {"XX", ""}, {"D", ""}, {"DEU", "X"}, {"US", "CALI"},
};

static void check_match(const struct rules *r, const char *country,
                        const char *sub)
{
    struct jurisdiction j;
    size_t idx;

    memset(&j, 0x5a, sizeof(j));
    rules_match(r, country, sub, &j);
    FUZZ_CHECK(j.regime != NULL);
    FUZZ_CHECK(j.regime >= r->regimes && j.regime < r->regimes + r->nregimes);
    FUZZ_CHECK(memchr(j.region, '\0', sizeof(j.region)) != NULL);
    idx = (size_t)(j.regime - r->regimes);
    /* a GPP section only for a listed region, and one gpp/ encodes */
    FUZZ_CHECK(j.gpp_sid == 0 || (j.region[0] != '\0' && gpp_section_name(j.gpp_sid) != NULL));
    if (j.region[0] == '\0') {
        FUZZ_CHECK((int)idx == r->default_regime);
    } else {
        size_t cl = strlen(country);

        /* the region that matched is the country or country-subdivision */
        FUZZ_CHECK(strncmp(j.region, country, cl) == 0);
        FUZZ_CHECK(j.region[cl] == '\0' ||
                   (j.region[cl] == '-' && strcmp(j.region + cl + 1, sub) == 0));
    }
    for (int t = 0; t < 4; t++) {
        static const int64_t when[] = {0, 1700000000, INT64_MAX, -1};
        int b = rules_gpc_binding(j.regime, when[t]);

        FUZZ_CHECK(b == 0 || b == 1);
        if (b)
            FUZZ_CHECK(j.regime->gpc_binding);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct rules r;
    char err[512], country[3], sub[4];
    int rc;

    if (size < HEADER)
        return 0;
    country[0] = (char)('A' + data[0] % 26);
    country[1] = (char)('A' + data[1] % 26);
    country[2] = '\0';
    for (int i = 0; i < data[2] % 4; i++)
        sub[i] = alnum[data[3 + i] % 36];
    sub[data[2] % 4] = '\0';

    memset(err, 'x', sizeof(err));
    rc = rules_parse(&r, (const char *)data + HEADER, size - HEADER, "fuzz.json",
                     err, sizeof(err));
    if (rc != RULES_OK) {
        static const struct rules zero;

        FUZZ_CHECK(rc == RULES_INVALID);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
        FUZZ_CHECK(memcmp(&r, &zero, sizeof(r)) == 0);
        return 0;
    }
    FUZZ_CHECK(r.nregimes >= 1 && r.nregimes <= RULES_MAX_REGIMES);
    FUZZ_CHECK(r.default_regime >= 0 && (size_t)r.default_regime < r.nregimes);
    FUZZ_CHECK(r.version != NULL);
    for (size_t i = 0; i < r.nregimes; i++) {
        FUZZ_CHECK(r.regimes[i].model <= MODEL_NOTICE);
        FUZZ_CHECK(strcmp(rules_model_name(r.regimes[i].model), "") != 0);
    }

    check_match(&r, country, sub);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_match(&r, fixed[i][0], fixed[i][1]);

    /* every listed region finds its own regime (sorted, searchable) */
    for (size_t i = 0; i < r.nregions && i < 64; i++) {
        const struct rules_region *reg = &r.regions[i];
        char cc[RULES_REGION_LEN];
        struct jurisdiction j;

        FUZZ_CHECK(reg->regime >= 0 && (size_t)reg->regime < r.nregimes);
        if (i > 0)
            FUZZ_CHECK(strcmp(r.regions[i - 1].code, reg->code) < 0);
        memcpy(cc, reg->code, 2);
        cc[2] = '\0';
        rules_match(&r, cc, reg->code[2] == '-' ? reg->code + 3 : "", &j);
        FUZZ_CHECK(j.regime == &r.regimes[reg->regime]);
        FUZZ_CHECK(strcmp(j.region, reg->code) == 0);
    }
    rules_free(&r);
    return 0;
}
