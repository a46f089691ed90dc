/*
 * address.c - the store's address rule and the names of its topologies
 * (store.h). No connection and no hiredis here, so the configuration
 * loader and its fuzz harness link this file alone.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

int store_address_parse(const char *address, char *host, size_t hostlen, int *port)
{
    const char *colon, *h;
    size_t len;
    long p;
    char *end;

    if (strncmp(address, "unix:", 5) == 0) {
        len = strlen(address + 5);
        if (address[5] != '/' || len >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
            len >= hostlen)
            return STORE_INVALID;
        memcpy(host, address + 5, len + 1);
        *port = 0;
        return STORE_OK;
    }
    colon = strrchr(address, ':');
    if (colon == NULL || colon == address)
        return STORE_INVALID;
    p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || p <= 0 || p > 65535)
        return STORE_INVALID;
    h = address;
    len = (size_t)(colon - address);
    if (h[0] == '[' && len >= 2 && h[len - 1] == ']') {    /* "[::1]:6379" */
        h++;
        len -= 2;
    }
    if (len == 0 || len >= hostlen || memchr(h, ' ', len) != NULL)
        return STORE_INVALID;
    memcpy(host, h, len);
    host[len] = '\0';
    *port = (int)p;
    return STORE_OK;
}

const char *store_topology_name(enum store_topology t)
{
    switch (t) {
    case STORE_SINGLE:
        return "single";
    case STORE_SENTINEL:
        return "sentinel";
    case STORE_CLUSTER:
        return "cluster";
    default:
        return "unknown";
    }
}
