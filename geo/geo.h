/*
 * geo.h - client address -> ISO country and first subdivision.
 *
 * One struct geo is opened at start and then shared read-only by every
 * worker thread: libmaxminddb lookups on an opened MMDB_s do not write to it.
 */
#ifndef CONSENT_GEO_H
#define CONSENT_GEO_H

#include <stddef.h>
#include <maxminddb.h>

/* ISO 3166-1 alpha-2 plus NUL; ISO 3166-2 subdivision part (1-3) plus NUL. */
#define GEO_COUNTRY_LEN 3
#define GEO_SUBDIVISION_LEN 4
/* Longest textual address accepted (IPv6 with an IPv4 tail is 45). */
#define GEO_MAX_ADDRESS_LEN 46

enum geo_status {
    GEO_OK = 0,
    GEO_NOT_FOUND,      /* address valid but in no network of the database */
    GEO_BAD_ADDRESS,    /* not a numeric IPv4/IPv6 address */
    GEO_OPEN_FAILED,    /* MMDB_open failed: see geo.mmdb_status */
    GEO_BAD_LAYOUT,     /* layout name not one of geo_layout */
    GEO_LOOKUP_FAILED   /* database error while reading an entry */
};

/* Which record layout the database uses. */
enum geo_layout {
    /* MaxMind GeoIP2/GeoLite2 City or Country: country.iso_code,
     * subdivisions.0.iso_code */
    GEO_LAYOUT_GEOIP2 = 0,
    /* The flat layout of the @ip-location-db databases: country_code,
     * and the subdivision's English name in state1 */
    GEO_LAYOUT_FLAT
};

struct geo {
    MMDB_s mmdb;
    enum geo_layout layout;
    int mmdb_status;    /* last libmaxminddb status, for messages */
};

struct geo_location {
    char country[GEO_COUNTRY_LEN];          /* "" when unknown */
    char subdivision[GEO_SUBDIVISION_LEN];  /* "" when unknown */
};

/*
 * Opens the database at path (memory-mapped). Returns GEO_OK, or
 * GEO_OPEN_FAILED with g->mmdb_status set (MMDB_strerror() names the cause).
 * Close with geo_close(), even after a failure.
 */
int geo_open(struct geo *g, const char *path, enum geo_layout layout);

/* Releases the mapping. Safe on a zeroed or failed struct geo. */
void geo_close(struct geo *g);

/*
 * Looks up a numeric IPv4 or IPv6 address. On GEO_OK, loc holds the
 * country and, where the database has one, the subdivision. Any other status
 * leaves loc empty (both strings ""). Thread-safe on a shared struct geo.
 */
int geo_lookup(const struct geo *g, const char *address,
               struct geo_location *loc);

/* Parses "geoip2" or "flat". Returns GEO_OK or GEO_BAD_LAYOUT. */
int geo_layout_parse(const char *name, enum geo_layout *layout);

/*
 * ISO 3166-2 subdivision code for an English subdivision name of a country
 * (the flat layout stores names). NULL when the name is not known; the
 * string is static.
 */
const char *geo_subdivision_code(const char *country, const char *name);

/* Static message for a geo_status; "unknown error" for anything else. */
const char *geo_strerror(int status);

#endif
