/*
 * slot.c - see slot.h.
 */
#include "slot.h"

#include <string.h>

uint16_t slot_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned slot_of(const void *key, size_t len)
{
    const char *k = key;
    const char *open = memchr(k, '{', len), *close;

    if (open != NULL) {
        size_t rest = len - (size_t)(open - k) - 1;

        close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1)
            return slot_crc16(open + 1, (size_t)(close - open - 1)) & (SLOT_COUNT - 1);
    }
    return slot_crc16(k, len) & (SLOT_COUNT - 1);
}

void slot_map_init(struct slot_map *m)
{
    m->nnodes = 0;
    for (size_t i = 0; i < SLOT_COUNT; i++)
        m->owner[i] = -1;
}

int slot_map_find(const struct slot_map *m, const char *address)
{
    for (size_t i = 0; i < m->nnodes; i++)
        if (strcmp(m->nodes[i], address) == 0)
            return (int)i;
    return -1;
}

int slot_map_add(struct slot_map *m, const char *address, int *node)
{
    size_t len = strlen(address);
    int i = slot_map_find(m, address);

    if (i < 0) {
        if (len == 0 || len >= SLOT_MAX_ADDRESS)
            return SLOT_BAD_ADDRESS;
        if (m->nnodes == SLOT_MAX_NODES)
            return SLOT_TOO_MANY;
        memcpy(m->nodes[m->nnodes], address, len + 1);
        i = (int)m->nnodes++;
    }
    if (node != NULL)
        *node = i;
    return SLOT_OK;
}

/* Checks ranges before anything is changed, so that a bad answer leaves
 * the caller's map as it was: each range inside 0-16383 and not reversed,
 * no slot twice, every address usable, at most SLOT_MAX_NODES of them. */
static int check(const struct slot_range *ranges, size_t n)
{
    unsigned char seen[SLOT_COUNT / 8] = {0};
    const char *names[SLOT_MAX_NODES];
    size_t nnames = 0;

    for (size_t r = 0; r < n; r++) {
        const struct slot_range *g = &ranges[r];
        size_t len = strnlen(g->address, SLOT_MAX_ADDRESS), k;

        if (g->first > g->last || g->last >= SLOT_COUNT)
            return SLOT_INVALID;
        if (len == 0 || len == SLOT_MAX_ADDRESS)
            return SLOT_BAD_ADDRESS;
        for (unsigned s = g->first; s <= g->last; s++) {
            if (seen[s / 8] & (1u << (s % 8)))
                return SLOT_INVALID;
            seen[s / 8] |= (unsigned char)(1u << (s % 8));
        }
        for (k = 0; k < nnames && strcmp(names[k], g->address) != 0; k++)
            ;
        if (k == nnames) {
            if (nnames == SLOT_MAX_NODES)
                return SLOT_TOO_MANY;
            names[nnames++] = g->address;
        }
    }
    return SLOT_OK;
}

int slot_map_set(struct slot_map *m, const struct slot_range *ranges, size_t n)
{
    int st = check(ranges, n);

    if (st != SLOT_OK)
        return st;
    slot_map_init(m);
    for (size_t r = 0; r < n; r++) {
        int node = 0;

        (void)slot_map_add(m, ranges[r].address, &node);    /* check() vouched for it */
        for (unsigned s = ranges[r].first; s <= ranges[r].last; s++)
            m->owner[s] = (int16_t)node;
    }
    return SLOT_OK;
}

int slot_map_moved(struct slot_map *m, unsigned slot, const char *address, int *node)
{
    int i, st;

    if (slot >= SLOT_COUNT)
        return SLOT_INVALID;
    st = slot_map_add(m, address, &i);
    if (st != SLOT_OK)
        return st;
    m->owner[slot] = (int16_t)i;
    if (node != NULL)
        *node = i;
    return SLOT_OK;
}

size_t slot_map_covered(const struct slot_map *m)
{
    size_t n = 0;

    for (size_t i = 0; i < SLOT_COUNT; i++)
        n += m->owner[i] >= 0;
    return n;
}

const char *slot_strerror(int status)
{
    switch (status) {
    case SLOT_OK:
        return "success";
    case SLOT_INVALID:
        return "slot ranges out of 0-16383, reversed or overlapping";
    case SLOT_TOO_MANY:
        return "more primaries than a slot map holds";
    case SLOT_BAD_ADDRESS:
        return "a node address is empty or too long";
    default:
        return "unknown error";
    }
}
