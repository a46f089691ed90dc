/* Unit tests for geo/geo.c against the generated fixtures in both layouts
 * (build/fixtures, written by tests/fixtures/make-mmdb.pl). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "../geo/geo.h"

struct geo_case {
    const char *address;
    const char *country;
    const char *subdivision;
    int status;
};

static const struct geo_case cases[] = {
    {"46.4.0.1", "DE", "BY", GEO_OK},
    {"81.2.69.1", "GB", "ENG", GEO_OK},
    {"12.0.0.1", "US", "CA", GEO_OK},
    {"12.1.0.1", "US", "WA", GEO_OK},
    {"24.48.0.1", "CA", "QC", GEO_OK},
    {"200.147.0.1", "BR", "SP", GEO_OK},
    {"36.0.0.1", "CN", "", GEO_OK},
    {"1.0.16.1", "JP", "", GEO_OK},
    {"1.128.0.1", "AU", "NSW", GEO_OK},
    {"2a01:4f8::1", "DE", "BY", GEO_OK},
    {"2600:1700::1", "US", "CA", GEO_OK},
    {"8.8.8.8", "", "", GEO_NOT_FOUND},
    {"2001:db8::1", "", "", GEO_NOT_FOUND},
    {"10.0.0.1", "", "", GEO_NOT_FOUND},
    {"127.0.0.1", "", "", GEO_NOT_FOUND},
};

static void check(const char *file, enum geo_layout layout)
{
    struct geo g;

    cr_assert_eq(geo_open(&g, file, layout), GEO_OK, "%s", file);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct geo_location loc;
        const struct geo_case *c = &cases[i];
        const char *sub = c->subdivision;

        /* The flat layout stores names, and only US and Canadian ones map
         * to codes: elsewhere the subdivision stays unknown. */
        if (layout == GEO_LAYOUT_FLAT && strcmp(c->country, "US") != 0 &&
            strcmp(c->country, "CA") != 0)
            sub = "";
        cr_expect_eq(geo_lookup(&g, c->address, &loc), c->status, "%s",
                     c->address);
        cr_expect_str_eq(loc.country, c->country, "%s", c->address);
        cr_expect_str_eq(loc.subdivision, sub, "%s", c->address);
    }
    geo_close(&g);
}

Test(geo, lookup_finds_countries_and_subdivisions_in_the_geoip2_layout)
{
    check("build/fixtures/geoip2-city.mmdb", GEO_LAYOUT_GEOIP2);
}

Test(geo, lookup_finds_countries_and_subdivisions_in_the_flat_layout)
{
    check("build/fixtures/flat-city.mmdb", GEO_LAYOUT_FLAT);
}

Test(geo, lookup_with_the_wrong_layout_finds_no_country)
{
    struct geo g;
    struct geo_location loc;

    cr_assert_eq(geo_open(&g, "build/fixtures/flat-city.mmdb", GEO_LAYOUT_GEOIP2), GEO_OK);
    cr_assert_eq(geo_lookup(&g, "46.4.0.1", &loc), GEO_NOT_FOUND);
    geo_close(&g);
}

Test(geo, lookup_rejects_a_hostname_and_garbage)
{
    struct geo g;
    struct geo_location loc;
    const char *bad[] = {"example.com", "", "1.2.3", "46.4.0.1 ", "::g",
                         "0000000000000000000000000000000000000000000000000001"};

    cr_assert_eq(geo_open(&g, "build/fixtures/geoip2-city.mmdb", GEO_LAYOUT_GEOIP2), GEO_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(geo_lookup(&g, bad[i], &loc), GEO_BAD_ADDRESS, "%s", bad[i]);
        cr_expect_str_eq(loc.country, "");
    }
    cr_expect_eq(geo_lookup(&g, NULL, &loc), GEO_BAD_ADDRESS);
    geo_close(&g);
}

Test(geo, open_fails_on_a_missing_database_with_the_mmdb_reason)
{
    struct geo g;

    cr_assert_eq(geo_open(&g, "build/fixtures/no-such.mmdb", GEO_LAYOUT_GEOIP2),
                 GEO_OPEN_FAILED);
    cr_assert_eq(g.mmdb_status, MMDB_FILE_OPEN_ERROR);
    geo_close(&g);
}

Test(geo, open_fails_on_a_corrupt_database)
{
    struct geo g;
    const char *path = "build/fixtures/corrupt.mmdb";
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    cr_assert_eq(geo_open(&g, path, GEO_LAYOUT_GEOIP2), GEO_OPEN_FAILED);
    cr_assert_eq(g.mmdb_status, MMDB_INVALID_METADATA_ERROR);
    geo_close(&g);
}

Test(geo, layout_names_parse)
{
    enum geo_layout l;

    cr_assert_eq(geo_layout_parse("geoip2", &l), GEO_OK);
    cr_assert_eq(l, GEO_LAYOUT_GEOIP2);
    cr_assert_eq(geo_layout_parse("flat", &l), GEO_OK);
    cr_assert_eq(l, GEO_LAYOUT_FLAT);
    cr_assert_eq(geo_layout_parse("city", &l), GEO_BAD_LAYOUT);
}

Test(geo, subdivision_names_map_to_iso_codes)
{
    cr_assert_str_eq(geo_subdivision_code("US", "California"), "CA");
    cr_assert_str_eq(geo_subdivision_code("CA", "Qu\xc3\xa9" "bec"), "QC");
    cr_assert_null(geo_subdivision_code("US", "Bavaria"));
    cr_assert_null(geo_subdivision_code("DE", "California"));
}

Test(geo, strerror_names_every_status)
{
    cr_assert_str_eq(geo_strerror(GEO_NOT_FOUND), "address not in the database");
    cr_assert_str_eq(geo_strerror(12345), "unknown error");
}
