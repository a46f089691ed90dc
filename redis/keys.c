/*
 * keys.c - see keys.h: the store's pure rules (key names, buckets, shards,
 * what an error answer asks for, INFO fields). No connection, no hiredis.
 */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void store_key_of(char *out, size_t len, const char *consent_id, const char *suffix)
{
    snprintf(out, len, "c:{%s}%s", consent_id, suffix);
}

void store_bucket_of(const unsigned char id[16], char key[16])
{
    snprintf(key, 16, "r:%02x%x", id[0], id[1] >> 4);
}

int store_seq_of(const char *s, size_t len, uint32_t *seq)
{
    unsigned long long v = 0;

    if (len == 0 || len > 10 || s[0] == '0')
        return STORE_INVALID;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return STORE_INVALID;
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return STORE_INVALID;
    *seq = (uint32_t)v;
    return STORE_OK;
}

unsigned store_stats_shard(const char *field)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)field; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h % STORE_STATS_SHARDS;
}

int store_stats_key(char *out, size_t len, const char *site, long day, unsigned shard)
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    int n;

    if (day < 0 || gmtime_r(&t, &tm) == NULL)
        return STORE_INVALID;
    n = snprintf(out, len, "a:{%s:%04d-%02d-%02d:%u}", site, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, shard);
    return n > 0 && (size_t)n < len ? STORE_OK : STORE_INVALID;
}

void store_node_address(char *out, size_t len, const char *host, long long port)
{
    int n;

    if (strchr(host, ':') != NULL)
        n = snprintf(out, len, "[%.100s]:%lld", host, port);
    else
        n = snprintf(out, len, "%.100s:%lld", host, port);
    if (n < 0 || (size_t)n >= len)
        out[0] = '\0';
}

int store_is_noscript(const char *err)
{
    return strncmp(err, "NOSCRIPT", 8) == 0;
}

enum store_redirect store_redirect_of(const char *err, unsigned *slot, char *to,
                                      size_t tolen)
{
    char addr[128];

    if ((strncmp(err, "MOVED ", 6) == 0 || strncmp(err, "ASK ", 4) == 0) &&
        sscanf(strchr(err, ' ') + 1, "%u %127s", slot, addr) == 2) {
        snprintf(to, tolen, "%s", addr);
        return err[0] == 'M' ? STORE_MOVED : STORE_ASK;
    }
    if (strncmp(err, "TRYAGAIN", 8) == 0 || strncmp(err, "LOADING", 7) == 0)
        return STORE_WAIT_AND_RETRY;
    if (strncmp(err, "CLUSTERDOWN", 11) == 0 || strncmp(err, "READONLY", 8) == 0 ||
        strncmp(err, "MASTERDOWN", 10) == 0)
        return STORE_REFRESH;
    if (store_is_noscript(err))
        return STORE_LOAD_SCRIPT;
    return STORE_ANSWER;
}

long long store_info_field(const char *info, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = info; p != NULL && *p != '\0'; ) {
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}
