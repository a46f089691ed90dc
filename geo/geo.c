/*
 * geo.c - libmaxminddb lookups for the two database layouts we support.
 *
 * The flat @ip-location-db layout stores subdivision names, not codes. The
 * rules only ever name subdivisions of the US and Canada, so a static table of
 * their ISO 3166-2 codes is enough to turn a name into a rule region; names of
 * other countries' subdivisions are left unknown and fall to the country rule.
 */
#include "geo.h"

#include <arpa/inet.h>
#include <string.h>

struct subdivision_name {
    const char *country;
    const char *name;
    const char *code;
};

static const struct subdivision_name subdivision_names[] = {
    {"US", "Alabama", "AL"}, {"US", "Alaska", "AK"}, {"US", "Arizona", "AZ"},
    {"US", "Arkansas", "AR"}, {"US", "California", "CA"},
    {"US", "Colorado", "CO"}, {"US", "Connecticut", "CT"},
    {"US", "Delaware", "DE"}, {"US", "District of Columbia", "DC"},
    {"US", "Florida", "FL"}, {"US", "Georgia", "GA"}, {"US", "Hawaii", "HI"},
    {"US", "Idaho", "ID"}, {"US", "Illinois", "IL"}, {"US", "Indiana", "IN"},
    {"US", "Iowa", "IA"}, {"US", "Kansas", "KS"}, {"US", "Kentucky", "KY"},
    {"US", "Louisiana", "LA"}, {"US", "Maine", "ME"}, {"US", "Maryland", "MD"},
    {"US", "Massachusetts", "MA"}, {"US", "Michigan", "MI"},
    {"US", "Minnesota", "MN"}, {"US", "Mississippi", "MS"},
    {"US", "Missouri", "MO"}, {"US", "Montana", "MT"}, {"US", "Nebraska", "NE"},
    {"US", "Nevada", "NV"}, {"US", "New Hampshire", "NH"},
    {"US", "New Jersey", "NJ"}, {"US", "New Mexico", "NM"},
    {"US", "New York", "NY"}, {"US", "North Carolina", "NC"},
    {"US", "North Dakota", "ND"}, {"US", "Ohio", "OH"}, {"US", "Oklahoma", "OK"},
    {"US", "Oregon", "OR"}, {"US", "Pennsylvania", "PA"},
    {"US", "Rhode Island", "RI"}, {"US", "South Carolina", "SC"},
    {"US", "South Dakota", "SD"}, {"US", "Tennessee", "TN"},
    {"US", "Texas", "TX"}, {"US", "Utah", "UT"}, {"US", "Vermont", "VT"},
    {"US", "Virginia", "VA"}, {"US", "Washington", "WA"},
    {"US", "West Virginia", "WV"}, {"US", "Wisconsin", "WI"},
    {"US", "Wyoming", "WY"}, {"US", "Puerto Rico", "PR"},
    {"CA", "Alberta", "AB"}, {"CA", "British Columbia", "BC"},
    {"CA", "Manitoba", "MB"}, {"CA", "New Brunswick", "NB"},
    {"CA", "Newfoundland and Labrador", "NL"}, {"CA", "Nova Scotia", "NS"},
    {"CA", "Northwest Territories", "NT"}, {"CA", "Nunavut", "NU"},
    {"CA", "Ontario", "ON"}, {"CA", "Prince Edward Island", "PE"},
    {"CA", "Quebec", "QC"}, {"CA", "Qu\xc3\xa9" "bec", "QC"},
    {"CA", "Saskatchewan", "SK"}, {"CA", "Yukon", "YT"},
};

int geo_layout_parse(const char *name, enum geo_layout *layout)
{
    if (strcmp(name, "geoip2") == 0) {
        *layout = GEO_LAYOUT_GEOIP2;
        return GEO_OK;
    }
    if (strcmp(name, "flat") == 0) {
        *layout = GEO_LAYOUT_FLAT;
        return GEO_OK;
    }
    return GEO_BAD_LAYOUT;
}

int geo_open(struct geo *g, const char *path, enum geo_layout layout)
{
    memset(g, 0, sizeof(*g));
    g->layout = layout;
    g->mmdb_status = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (g->mmdb_status != MMDB_SUCCESS) {
        memset(&g->mmdb, 0, sizeof(g->mmdb));
        return GEO_OPEN_FAILED;
    }
    return GEO_OK;
}

void geo_close(struct geo *g)
{
    if (g->mmdb.file_size > 0)
        MMDB_close(&g->mmdb);
    memset(&g->mmdb, 0, sizeof(g->mmdb));
}

const char *geo_subdivision_code(const char *country, const char *name)
{
    size_t n = sizeof(subdivision_names) / sizeof(subdivision_names[0]);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(subdivision_names[i].country, country) == 0 &&
            strcmp(subdivision_names[i].name, name) == 0)
            return subdivision_names[i].code;
    }
    return NULL;
}

/* Copies an MMDB utf8_string into out when it has the form of an ISO code:
 * 1..max-1 characters of A-Z and 0-9. Anything else leaves out "". */
static void copy_code(const MMDB_entry_data_s *d, char *out, size_t max)
{
    out[0] = '\0';
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING ||
        d->data_size == 0 || d->data_size >= max)
        return;
    for (uint32_t i = 0; i < d->data_size; i++) {
        char c = d->utf8_string[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return;
    }
    memcpy(out, d->utf8_string, d->data_size);
    out[d->data_size] = '\0';
}

static int read_geoip2(MMDB_entry_s *entry, struct geo_location *loc)
{
    MMDB_entry_data_s d;
    int st;

    st = MMDB_get_value(entry, &d, "country", "iso_code", NULL);
    if (st == MMDB_SUCCESS)
        copy_code(&d, loc->country, sizeof(loc->country));
    else if (st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
        return GEO_LOOKUP_FAILED;

    st = MMDB_get_value(entry, &d, "subdivisions", "0", "iso_code", NULL);
    if (st == MMDB_SUCCESS)
        copy_code(&d, loc->subdivision, sizeof(loc->subdivision));
    else if (st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
             st != MMDB_INVALID_LOOKUP_PATH_ERROR)
        return GEO_LOOKUP_FAILED;
    return GEO_OK;
}

static int read_flat(MMDB_entry_s *entry, struct geo_location *loc)
{
    MMDB_entry_data_s d;
    char name[64];
    const char *code;
    int st;

    st = MMDB_get_value(entry, &d, "country_code", NULL);
    if (st == MMDB_SUCCESS)
        copy_code(&d, loc->country, sizeof(loc->country));
    else if (st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
        return GEO_LOOKUP_FAILED;

    st = MMDB_get_value(entry, &d, "state1", NULL);
    if (st != MMDB_SUCCESS) {
        if (st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
            return GEO_LOOKUP_FAILED;
        return GEO_OK;
    }
    if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
        d.data_size >= sizeof(name) || loc->country[0] == '\0')
        return GEO_OK;
    memcpy(name, d.utf8_string, d.data_size);
    name[d.data_size] = '\0';
    code = geo_subdivision_code(loc->country, name);
    if (code != NULL) {
        strncpy(loc->subdivision, code, sizeof(loc->subdivision) - 1);
        loc->subdivision[sizeof(loc->subdivision) - 1] = '\0';
    }
    return GEO_OK;
}

int geo_lookup(const struct geo *g, const char *address,
               struct geo_location *loc)
{
    MMDB_lookup_result_s res;
    unsigned char bin[16];
    int gai_error = 0, mmdb_error = MMDB_SUCCESS;
    int st;

    loc->country[0] = '\0';
    loc->subdivision[0] = '\0';
    /* Only canonical numeric forms: getaddrinfo alone would also take
     * shorthands such as "1.2.3" or "0x7f.1". */
    if (address == NULL || strlen(address) >= GEO_MAX_ADDRESS_LEN ||
        (inet_pton(AF_INET, address, bin) != 1 &&
         inet_pton(AF_INET6, address, bin) != 1))
        return GEO_BAD_ADDRESS;

    /* MMDB_lookup_string takes a non-const MMDB_s but only reads it. */
    res = MMDB_lookup_string((MMDB_s *)&g->mmdb, address, &gai_error,
                             &mmdb_error);
    if (gai_error != 0)
        return GEO_BAD_ADDRESS;
    if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
        return GEO_NOT_FOUND;
    if (mmdb_error != MMDB_SUCCESS)
        return GEO_LOOKUP_FAILED;
    if (!res.found_entry)
        return GEO_NOT_FOUND;

    if (g->layout == GEO_LAYOUT_FLAT)
        st = read_flat(&res.entry, loc);
    else
        st = read_geoip2(&res.entry, loc);
    if (st != GEO_OK) {
        loc->country[0] = '\0';
        loc->subdivision[0] = '\0';
        return st;
    }
    if (loc->country[0] == '\0') {
        loc->subdivision[0] = '\0';
        return GEO_NOT_FOUND;
    }
    return GEO_OK;
}

const char *geo_strerror(int status)
{
    switch (status) {
    case GEO_OK:
        return "success";
    case GEO_NOT_FOUND:
        return "address not in the database";
    case GEO_BAD_ADDRESS:
        return "not a numeric IP address";
    case GEO_OPEN_FAILED:
        return "cannot open the GeoIP database";
    case GEO_BAD_LAYOUT:
        return "layout must be \"geoip2\" or \"flat\"";
    case GEO_LOOKUP_FAILED:
        return "GeoIP database error";
    default:
        return "unknown error";
    }
}
