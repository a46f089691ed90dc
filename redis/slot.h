/*
 * slot.h - Redis Cluster key slots and the map of which primary serves
 * which slot, as the Redis Cluster specification defines them.
 *
 * Pure: no connection and no hiredis. The store (store.c) asks the cluster
 * for its slot ranges (CLUSTER SLOTS), hands them to slot_map_set, and
 * follows MOVED answers with slot_map_moved; which connection belongs to
 * which node stays in the store.
 */
#ifndef CONSENT_SLOT_H
#define CONSENT_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/attrs.h"

#define SLOT_COUNT 16384            /* hash slots in a Redis Cluster */
#define SLOT_MAX_NODES 64           /* primaries one map may name */
#define SLOT_MAX_ADDRESS 128        /* "host:port", with NUL */

enum slot_status {
    SLOT_OK = 0,
    SLOT_INVALID,       /* a range outside 0-16383, first > last, or overlapping */
    SLOT_TOO_MANY,      /* more than SLOT_MAX_NODES primaries */
    SLOT_BAD_ADDRESS    /* an address longer than SLOT_MAX_ADDRESS - 1 or empty */
};

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum
 * the specification names. */
uint16_t slot_crc16(const void *buf, size_t len);

/*
 * The slot of a key: CRC16 of the hash tag modulo 16384. The hash tag is
 * what lies between the first '{' and the first '}' after it, when that is
 * not empty; otherwise the whole key is hashed ("foo{}{bar}" hashes whole).
 */
unsigned slot_of(const void *key, size_t len);

/* One range of slots a primary serves. */
struct slot_range {
    unsigned first, last;               /* inclusive */
    char address[SLOT_MAX_ADDRESS];     /* "host:port" of the primary */
};

/* Which primary serves each slot; nodes[owner[slot]], owner -1 when no
 * node is known to serve it. Plain data; zero it with slot_map_init. */
struct slot_map {
    char nodes[SLOT_MAX_NODES][SLOT_MAX_ADDRESS];
    size_t nnodes;
    int16_t owner[SLOT_COUNT];
};

/* An empty map: no nodes, every slot unowned. */
void slot_map_init(struct slot_map *m);

/*
 * Replaces the map with ranges (a CLUSTER SLOTS answer): nodes are listed
 * in the order they first appear. On any error the map is left unchanged.
 */
CONSENT_MUST_CHECK
int slot_map_set(struct slot_map *m, const struct slot_range *ranges, size_t n);

/*
 * Records a MOVED answer: slot is now served by address, added as a node
 * when new; its index into *node (when not NULL). SLOT_INVALID for a slot
 * out of range, SLOT_BAD_ADDRESS, SLOT_TOO_MANY: the map is unchanged.
 */
int slot_map_moved(struct slot_map *m, unsigned slot, const char *address, int *node);

/* A lookup, not a status: the index of address among the nodes, or -1. */
int slot_map_find(const struct slot_map *m, const char *address);

/* Adds address as a node if new (an ASK target need not own slots yet);
 * its index into *node (when not NULL). SLOT_BAD_ADDRESS (empty or too
 * long), SLOT_TOO_MANY (the map is full): nothing added. */
int slot_map_add(struct slot_map *m, const char *address, int *node);

/* How many slots have an owner (SLOT_COUNT when the cluster is covered). */
size_t slot_map_covered(const struct slot_map *m);

/* Static message for a slot_status ("unknown error" for anything else). */
const char *slot_strerror(int status);

#endif
