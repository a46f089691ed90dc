/* Unit tests for geo/geo.c against the generated fixtures in both layouts,
 * as one file and as a pair of IPv4 and IPv6 files (build/fixtures, written
 * by tests/fixtures/make-mmdb.pl). */
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
    {"2001:410::1", "CA", "QC", GEO_OK},
    {"2604:3d00::1", "US", "CO", GEO_OK},
    {"::ffff:12.0.0.1", "US", "CA", GEO_OK},
    {"::ffff:24.48.0.1", "CA", "QC", GEO_OK},
    {"8.8.8.8", "", "", GEO_NOT_FOUND},
    {"2001:db8::1", "", "", GEO_NOT_FOUND},
    {"10.0.0.1", "", "", GEO_NOT_FOUND},
    {"127.0.0.1", "", "", GEO_NOT_FOUND},
};

#define FIX "build/fixtures/"

/* Opens one file the way a "database" string does. */
static int open_one(struct geo *g, const char *path, enum geo_layout layout)
{
    char err[GEO_MAX_ERROR];

    return geo_open(g, &path, 1, layout, GEO_COVER_ANY, err, sizeof(err));
}

/* Opens a list the way a "database" list does; err gets the message. */
static int open_list(struct geo *g, const char *a, const char *b,
                     enum geo_layout layout, char *err, size_t errlen)
{
    const char *paths[] = {a, b};

    return geo_open(g, paths, b != NULL ? 2 : 1, layout, GEO_COVER_BOTH, err, errlen);
}

/* Every case against an opened struct geo (one file or a pair). */
static void check_cases(const struct geo *g, enum geo_layout layout)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct geo_location loc;
        const struct geo_case *c = &cases[i];
        const char *sub = c->subdivision;

        /* The flat layout stores names, and only US and Canadian ones map
         * to codes: elsewhere the subdivision stays unknown. */
        if (layout == GEO_LAYOUT_FLAT && strcmp(c->country, "US") != 0 &&
            strcmp(c->country, "CA") != 0)
            sub = "";
        cr_expect_eq(geo_lookup(g, c->address, &loc), c->status, "%s",
                     c->address);
        cr_expect_str_eq(loc.country, c->country, "%s", c->address);
        cr_expect_str_eq(loc.subdivision, sub, "%s", c->address);
    }
}

static void check(const char *file, enum geo_layout layout)
{
    struct geo g;

    cr_assert_eq(open_one(&g, file, layout), GEO_OK, "%s", file);
    check_cases(&g, layout);
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

    cr_assert_eq(open_one(&g, FIX "flat-city.mmdb", GEO_LAYOUT_GEOIP2), GEO_OK);
    cr_assert_eq(geo_lookup(&g, "46.4.0.1", &loc), GEO_NOT_FOUND);
    geo_close(&g);
}

Test(geo, lookup_rejects_a_hostname_and_garbage)
{
    struct geo g;
    struct geo_location loc;
    const char *bad[] = {"example.com", "", "1.2.3", "46.4.0.1 ", "::g",
                         "0000000000000000000000000000000000000000000000000001"};

    cr_assert_eq(open_one(&g, FIX "geoip2-city.mmdb", GEO_LAYOUT_GEOIP2), GEO_OK);
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

    cr_assert_eq(open_one(&g, FIX "no-such.mmdb", GEO_LAYOUT_GEOIP2),
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
    cr_assert_eq(open_one(&g, path, GEO_LAYOUT_GEOIP2), GEO_OPEN_FAILED);
    cr_assert_eq(g.mmdb_status, MMDB_INVALID_METADATA_ERROR);
    geo_close(&g);
}

Test(geo, a_missing_or_corrupt_file_is_named_with_the_mmdb_reason)
{
    static const struct {
        const char *path;
        int mmdb_status;
    } bad[] = {{FIX "no-such.mmdb", MMDB_FILE_OPEN_ERROR},
               {"build/fixtures/corrupt-named.mmdb", MMDB_INVALID_METADATA_ERROR}};
    char err[GEO_MAX_ERROR], want[GEO_MAX_ERROR];
    FILE *f = fopen(bad[1].path, "wb");
    struct geo g;

    cr_assert_not_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(geo_open(&g, &bad[i].path, 1, GEO_LAYOUT_GEOIP2, GEO_COVER_ANY, err,
                              sizeof(err)), GEO_OPEN_FAILED);
        snprintf(want, sizeof(want), "%s: cannot open the GeoIP database: %s", bad[i].path,
                 MMDB_strerror(bad[i].mmdb_status));
        cr_assert_str_eq(err, want);
        geo_close(&g);
    }
}

/* ---- a database as a pair of files, one per address family ---- */

Test(geo, a_pair_of_files_answers_each_family_from_its_own_file)
{
    const enum geo_layout layouts[] = {GEO_LAYOUT_FLAT, GEO_LAYOUT_GEOIP2};
    const char *const pairs[][2] = {
        {FIX "flat-city-ipv4.mmdb", FIX "flat-city-ipv6.mmdb"},
        {FIX "geoip2-city-ipv4.mmdb", FIX "geoip2-city-ipv6.mmdb"},
    };

    for (int l = 0; l < 2; l++)
        for (int order = 0; order < 2; order++) {
            struct geo g;
            char err[GEO_MAX_ERROR];

            cr_assert_eq(open_list(&g, pairs[l][order], pairs[l][1 - order],
                                   layouts[l], err, sizeof(err)), GEO_OK, "%s", err);
            cr_assert_eq(g.nfiles, 2);
            cr_assert_eq(g.ipv4_file, order);
            cr_assert_eq(g.ipv6_file, 1 - order);
            cr_assert_eq(g.files[g.ipv4_file].families, GEO_FAMILY_IPV4);
            cr_assert_eq(g.files[g.ipv6_file].families, GEO_FAMILY_IPV6);
            check_cases(&g, layouts[l]);
            geo_close(&g);
        }
}

/* Each file alone knows only its own family's networks: what the pair
 * answers for an address came from the file of that address's family. */
Test(geo, each_file_of_the_pair_holds_only_its_family)
{
    struct geo g;
    struct geo_location loc;

    cr_assert_eq(open_one(&g, FIX "flat-city-ipv4.mmdb", GEO_LAYOUT_FLAT), GEO_OK);
    cr_expect_eq(g.files[0].families, GEO_FAMILY_IPV4);
    cr_expect_eq(geo_lookup(&g, "12.0.0.1", &loc), GEO_OK);
    cr_expect_str_eq(loc.subdivision, "CA");
    cr_expect_eq(geo_lookup(&g, "2600:1700::1", &loc), GEO_NOT_FOUND);
    geo_close(&g);

    cr_assert_eq(open_one(&g, FIX "flat-city-ipv6.mmdb", GEO_LAYOUT_FLAT), GEO_OK);
    cr_expect_eq(g.files[0].families, GEO_FAMILY_IPV6);
    cr_expect_eq(geo_lookup(&g, "2001:410::1", &loc), GEO_OK);
    cr_expect_str_eq(loc.subdivision, "QC");
    cr_expect_eq(geo_lookup(&g, "12.0.0.1", &loc), GEO_NOT_FOUND);
    cr_expect_eq(geo_lookup(&g, "::ffff:12.0.0.1", &loc), GEO_NOT_FOUND);
    geo_close(&g);
}

Test(geo, a_file_with_both_families_is_a_list_of_one)
{
    struct geo g;
    char err[GEO_MAX_ERROR];

    cr_assert_eq(open_list(&g, FIX "flat-city.mmdb", NULL, GEO_LAYOUT_FLAT, err,
                           sizeof(err)), GEO_OK, "%s", err);
    cr_assert_eq(g.files[0].families, GEO_FAMILY_IPV4 | GEO_FAMILY_IPV6);
    cr_assert_eq(g.ipv4_file, 0);
    cr_assert_eq(g.ipv6_file, 0);
    check_cases(&g, GEO_LAYOUT_FLAT);
    geo_close(&g);
}

Test(geo, a_list_that_leaves_ipv6_uncovered_is_refused)
{
    struct geo g;
    char err[GEO_MAX_ERROR];

    cr_assert_eq(open_list(&g, FIX "flat-city-ipv4.mmdb", NULL, GEO_LAYOUT_FLAT,
                           err, sizeof(err)), GEO_FAMILY_MISSING);
    cr_assert(strstr(err, "no file of the list holds IPv6 addresses") != NULL, "%s", err);
    cr_assert(strstr(err, FIX "flat-city-ipv4.mmdb holds IPv4 only") != NULL, "%s", err);
    geo_close(&g);
}

Test(geo, a_list_that_leaves_ipv4_uncovered_is_refused)
{
    struct geo g;
    char err[GEO_MAX_ERROR];

    cr_assert_eq(open_list(&g, FIX "flat-city-ipv6.mmdb", NULL, GEO_LAYOUT_FLAT,
                           err, sizeof(err)), GEO_FAMILY_MISSING);
    cr_assert(strstr(err, "no file of the list holds IPv4 addresses") != NULL, "%s", err);
    geo_close(&g);
}

Test(geo, two_files_for_one_family_are_refused_naming_the_second)
{
    struct geo g;
    char err[GEO_MAX_ERROR];

    cr_assert_eq(open_list(&g, FIX "flat-city-ipv4.mmdb", FIX "geoip2-city-ipv4.mmdb",
                           GEO_LAYOUT_FLAT, err, sizeof(err)), GEO_FAMILY_TWICE);
    cr_assert(strstr(err, FIX "geoip2-city-ipv4.mmdb: holds IPv4 addresses, and so does "
                     FIX "flat-city-ipv4.mmdb") != NULL, "%s", err);
    geo_close(&g);
    /* a file with both families next to an IPv6 file: IPv6 twice */
    cr_assert_eq(open_list(&g, FIX "flat-city.mmdb", FIX "flat-city-ipv6.mmdb",
                           GEO_LAYOUT_FLAT, err, sizeof(err)), GEO_FAMILY_TWICE);
    cr_assert(strstr(err, FIX "flat-city-ipv6.mmdb: holds IPv6 addresses") != NULL, "%s", err);
    geo_close(&g);
}

Test(geo, a_bad_second_file_fails_the_open_naming_it)
{
    struct geo g;
    char err[GEO_MAX_ERROR];

    cr_assert_eq(open_list(&g, FIX "flat-city-ipv4.mmdb", FIX "no-such-ipv6.mmdb",
                           GEO_LAYOUT_FLAT, err, sizeof(err)), GEO_OPEN_FAILED);
    cr_assert_eq(g.mmdb_status, MMDB_FILE_OPEN_ERROR);
    cr_assert_eq(g.nfiles, 1, "the first file was open and is closed by geo_close");
    cr_assert(strncmp(err, FIX "no-such-ipv6.mmdb: ", strlen(FIX "no-such-ipv6.mmdb: ")) == 0,
              "%s", err);
    cr_assert(strstr(err, MMDB_strerror(MMDB_FILE_OPEN_ERROR)) != NULL, "%s", err);
    geo_close(&g);
    cr_assert_eq(g.nfiles, 0);
}

Test(geo, a_string_keeps_a_one_family_file_working_for_its_family)
{
    struct geo g;
    struct geo_location loc;

    /* no coverage rule for one file given as a string (as before lists):
     * the other family is simply not in the database */
    cr_assert_eq(open_one(&g, FIX "flat-city-ipv4.mmdb", GEO_LAYOUT_FLAT), GEO_OK);
    cr_expect_eq(geo_lookup(&g, "24.48.0.1", &loc), GEO_OK);
    cr_expect_str_eq(loc.country, "CA");
    cr_expect_str_eq(loc.subdivision, "QC");
    cr_expect_eq(geo_lookup(&g, "::ffff:24.48.0.1", &loc), GEO_OK);
    cr_expect_str_eq(loc.subdivision, "QC");
    cr_expect_eq(geo_lookup(&g, "2001:410::1", &loc), GEO_NOT_FOUND);
    cr_expect_str_eq(loc.country, "");
    geo_close(&g);
}

Test(geo, open_refuses_a_list_of_zero_or_three_files)
{
    struct geo g;
    char err[GEO_MAX_ERROR];
    const char *paths[] = {FIX "flat-city-ipv4.mmdb", FIX "flat-city-ipv6.mmdb",
                           FIX "flat-city.mmdb"};

    cr_assert_eq(geo_open(&g, paths, 0, GEO_LAYOUT_FLAT, GEO_COVER_BOTH, err,
                          sizeof(err)), GEO_OPEN_FAILED);
    cr_assert_str_eq(err, "expected 1-2 GeoIP database files");
    geo_close(&g);
    cr_assert_eq(geo_open(&g, paths, 3, GEO_LAYOUT_FLAT, GEO_COVER_BOTH, err,
                          sizeof(err)), GEO_OPEN_FAILED);
    geo_close(&g);
    cr_assert_eq(geo_open(&g, paths, 2, GEO_LAYOUT_FLAT, GEO_COVER_ANY, err,
                          sizeof(err)), GEO_OPEN_FAILED);
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
    cr_assert_str_eq(geo_strerror(GEO_FAMILY_TWICE),
                     "two GeoIP files hold the same address family");
    cr_assert_str_eq(geo_strerror(GEO_FAMILY_MISSING),
                     "no GeoIP file holds an address family");
    cr_assert_str_eq(geo_strerror(12345), "unknown error");
}
