/*
 * geo.h - client address -> ISO country and first subdivision.
 *
 * One struct geo is opened at start and then shared read-only by every
 * worker thread: libmaxminddb lookups on an opened MMDB_s do not write to it.
 *
 * A struct geo holds one database file, or two that split the address
 * families between them (the IPv4 and the IPv6 file of a database such as
 * DB-IP's): each address is looked up in the file that covers its family.
 */
#ifndef CONSENT_GEO_H
#define CONSENT_GEO_H

#include <stddef.h>
#include <maxminddb.h>

#include "../common/attrs.h"

/* ISO 3166-1 alpha-2 plus NUL; ISO 3166-2 subdivision part (1-3) plus NUL. */
#define GEO_COUNTRY_LEN 3
#define GEO_SUBDIVISION_LEN 4
/* Longest textual address accepted (IPv6 with an IPv4 tail is 45). */
#define GEO_MAX_ADDRESS_LEN 46
/* Files of one struct geo: one per address family at most. */
#define GEO_MAX_FILES 2
/* Room for a geo_open message (longer paths are cut at the end). */
#define GEO_MAX_ERROR 512

enum geo_status {
    GEO_OK = 0,
    GEO_NOT_FOUND,      /* address valid but in no network of the database */
    GEO_BAD_ADDRESS,    /* not a numeric IPv4/IPv6 address */
    GEO_OPEN_FAILED,    /* MMDB_open failed: see geo.mmdb_status */
    GEO_BAD_LAYOUT,     /* layout name not one of geo_layout */
    GEO_LOOKUP_FAILED,  /* database error while reading an entry */
    GEO_FAMILY_TWICE,   /* two files of a list cover the same family */
    GEO_FAMILY_MISSING  /* no file of a list covers IPv4, or none IPv6 */
};

/* Address families a file holds networks of (bits). */
enum geo_family {
    GEO_FAMILY_IPV4 = 1,
    GEO_FAMILY_IPV6 = 2
};

/* How geo_open treats the files' families. */
enum geo_coverage {
    /* One file that answers every address it is asked about, whatever it
     * holds: what a "database" string has always meant. */
    GEO_COVER_ANY = 0,
    /* Each family in exactly one file: what a "database" list means. */
    GEO_COVER_BOTH
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

struct geo_file {
    MMDB_s mmdb;
    int families;       /* enum geo_family bits the file holds */
};

struct geo {
    struct geo_file files[GEO_MAX_FILES];
    size_t nfiles;      /* files opened (all of them after GEO_OK) */
    int ipv4_file;      /* index into files for IPv4 addresses, -1 for none */
    int ipv6_file;      /* index into files for IPv6 addresses, -1 for none */
    enum geo_layout layout;
    int mmdb_status;    /* last libmaxminddb status, for messages */
};

struct geo_location {
    char country[GEO_COUNTRY_LEN];          /* "" when unknown */
    char subdivision[GEO_SUBDIVISION_LEN];  /* "" when unknown */
};

/*
 * Opens the npaths (1..GEO_MAX_FILES) database files at paths
 * (memory-mapped), all read with one layout, and decides which file answers
 * which family: an IPv4 file (metadata ip_version 4) holds IPv4; an IPv6
 * file holds IPv6, and IPv4 too when its ::/96 subtree has any data (the
 * way MaxMind and combined @ip-location-db files keep IPv4).
 *
 * With GEO_COVER_ANY (npaths must be 1) the one file answers both families.
 * With GEO_COVER_BOTH each family must be in exactly one file.
 *
 * Returns GEO_OK, or
 *   GEO_OPEN_FAILED     a file is missing or not a MaxMind DB (g->mmdb_status
 *                       set; MMDB_strerror() names the cause)
 *   GEO_FAMILY_TWICE    two files hold the same family
 *   GEO_FAMILY_MISSING  no file holds IPv4, or none IPv6
 * and in each case a message naming the file (its path as given) in err
 * (errlen bytes; GEO_MAX_ERROR is enough). Close with geo_close(), even
 * after a failure. paths are not kept.
 */
CONSENT_MUST_CHECK
enum geo_status geo_open(struct geo *g, const char *const *paths, size_t npaths,
                         enum geo_layout layout, enum geo_coverage coverage,
                         char *err, size_t errlen);

/* Releases the mappings. Safe on a zeroed or failed struct geo. */
void geo_close(struct geo *g);

/*
 * Looks up a numeric IPv4 or IPv6 address in the file that covers its
 * family; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as the
 * IPv4 address it carries. On GEO_OK, loc holds the country and, where the
 * database has one, the subdivision. Any other status leaves loc empty (both
 * strings ""). Thread-safe on a shared struct geo.
 */
enum geo_status geo_lookup(const struct geo *g, const char *address,
                           struct geo_location *loc);

/* Parses "geoip2" or "flat". Returns GEO_OK or GEO_BAD_LAYOUT. */
CONSENT_MUST_CHECK
enum geo_status geo_layout_parse(const char *name, enum geo_layout *layout);

/*
 * ISO 3166-2 subdivision code for an English subdivision name of a country
 * (the flat layout stores names). NULL when the name is not known; the
 * string is static.
 */
const char *geo_subdivision_code(const char *country, const char *name);

/* Static message for a geo_status; "unknown error" for anything else. */
const char *geo_strerror(int status);

#endif
