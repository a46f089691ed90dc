/*
 * receipt.c - see receipt.h.
 */
#include "receipt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define STORED_VERSION 2
#define HEAD_FIXED 146              /* bytes before the first site entry */
#define HEAD_SITE 21                /* a site entry after its id */

const char *const receipt_action_names[RECEIPT_ACTION_COUNT] = {
    "accept_all", "reject_all", "custom", "gpc", "withdraw"};

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- consent IDs ---- */

static void cookie_mac(const unsigned char key[32], const unsigned char secret[16],
                       unsigned char mac[16])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, key, 32, 16);
    crypto_generichash_update(&st, (const unsigned char *)"consent-cookie/2", 16);
    crypto_generichash_update(&st, secret, 16);
    crypto_generichash_final(&st, mac, 16);
}

/* The consent ID is a one-way hash of the secret: support staff and
 * receipts see it, and it cannot be turned back into a working cookie. */
static void id_of(const unsigned char secret[16], char id[CONSENT_ID_LEN + 1])
{
    unsigned char in[28], out[16];

    memcpy(in, "consent-id/2", 12);
    memcpy(in + 12, secret, 16);
    crypto_generichash(out, sizeof(out), in, sizeof(in), NULL, 0);
    sodium_bin2base64(id, CONSENT_ID_LEN + 1, out, sizeof(out), B64URL);
    sodium_memzero(in, sizeof(in));
}

void receipt_cookie_new(const unsigned char cookie_key[32],
                        char cookie[CONSENT_COOKIE_LEN + 1])
{
    unsigned char v[32];

    randombytes_buf(v, 16);
    cookie_mac(cookie_key, v, v + 16);
    sodium_bin2base64(cookie, CONSENT_COOKIE_LEN + 1, v, sizeof(v), B64URL);
    sodium_memzero(v, sizeof(v));
}

int receipt_cookie_id(const unsigned char cookie_key[32], const char *cookie,
                      char id[CONSENT_ID_LEN + 1])
{
    unsigned char v[33], mac[16];
    size_t bin = 0;
    int ok;

    id[0] = '\0';
    if (strlen(cookie) != CONSENT_COOKIE_LEN ||
        strspn(cookie, b64url_chars) != CONSENT_COOKIE_LEN ||
        sodium_base642bin(v, sizeof(v), cookie, CONSENT_COOKIE_LEN, NULL, &bin,
                          NULL, B64URL) != 0 || bin != 32)
        return -1;
    cookie_mac(cookie_key, v, mac);
    ok = sodium_memcmp(mac, v + 16, 16) == 0;
    if (ok)
        id_of(v, id);
    sodium_memzero(v, sizeof(v));
    return ok ? 0 : -1;
}

int receipt_valid_consent_id(const char *s)
{
    const char *last;

    if (strlen(s) != CONSENT_ID_LEN ||
        strspn(s, b64url_chars) != CONSENT_ID_LEN)
        return 0;
    /* 22 characters carry 132 bits: the last one's low 4 bits must be 0 */
    last = strchr(b64url_chars, s[CONSENT_ID_LEN - 1]);
    return ((last - b64url_chars) & 0x0f) == 0;
}

void receipt_id_hash(const unsigned char cookie_key[32], const char *consent_id,
                     char out[17])
{
    unsigned char h[8];
    crypto_generichash_state st;

    crypto_generichash_init(&st, cookie_key, 32, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)"audit/2", 7);
    crypto_generichash_update(&st, (const unsigned char *)consent_id, strlen(consent_id));
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(out, 17, h, sizeof(h));
}

/* ---- small pieces ---- */

int receipt_consent_id_bytes(const char *s, unsigned char out[16])
{
    size_t bin = 0;

    if (!receipt_valid_consent_id(s) ||
        sodium_base642bin(out, 16, s, CONSENT_ID_LEN, NULL, &bin, NULL, B64URL) != 0 ||
        bin != 16)
        return -1;
    return 0;
}

void receipt_consent_id_text(const unsigned char in[16], char out[CONSENT_ID_LEN + 1])
{
    sodium_bin2base64(out, CONSENT_ID_LEN + 1, in, 16, B64URL);
}

void receipt_id_of(const char *consent_id, uint32_t seq, unsigned char id[16])
{
    crypto_generichash_state st;
    unsigned char be[4] = {(unsigned char)(seq >> 24), (unsigned char)(seq >> 16),
                           (unsigned char)(seq >> 8), (unsigned char)seq};

    crypto_generichash_init(&st, NULL, 0, 16);
    crypto_generichash_update(&st, (const unsigned char *)"consent-receipt-id/2", 20);
    crypto_generichash_update(&st, (const unsigned char *)consent_id, strlen(consent_id));
    crypto_generichash_update(&st, be, sizeof(be));
    crypto_generichash_final(&st, id, 16);
    id[6] = (unsigned char)((id[6] & 0x0f) | 0x80);     /* version 8 */
    id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);     /* RFC 9562 variant */
}

void receipt_new_uuid_bytes(unsigned char id[16])
{
    randombytes_buf(id, 16);
    id[6] = (unsigned char)((id[6] & 0x0f) | 0x40);
    id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
}

void receipt_uuid_text(const unsigned char b[16], char out[RECEIPT_UUID_LEN + 1])
{
    snprintf(out, RECEIPT_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

int receipt_valid_uuid(const char *s)
{
    if (strlen(s) != RECEIPT_UUID_LEN)
        return 0;
    for (int i = 0; i < RECEIPT_UUID_LEN; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return (s[14] == '4' || s[14] == '8') && strchr("89ab", s[19]) != NULL;
}

int receipt_uuid_parse(const char *s, unsigned char id[16])
{
    char hex[33];
    size_t n = 0, bin = 0;

    if (!receipt_valid_uuid(s))
        return -1;
    for (const char *p = s; *p != '\0'; p++)
        if (*p != '-')
            hex[n++] = *p;
    hex[n] = '\0';
    return sodium_hex2bin(id, 16, hex, n, NULL, &bin, NULL) == 0 && bin == 16 ? 0 : -1;
}

void receipt_sha256_hex(const void *data, size_t len, char out[RECEIPT_HASH_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, RECEIPT_HASH_HEX, h, sizeof(h));
}

int receipt_action_parse(const char *name)
{
    for (int i = 0; i < RECEIPT_ACTION_COUNT; i++)
        if (strcmp(receipt_action_names[i], name) == 0)
            return i;
    return -1;
}

/* ---- contexts ---- */

static int context_index(struct receipt_context *ctx)
{
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(ctx->tree, "categories");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(ctx->tree, "consent_days");
    const cJSON *c;

    if (!cJSON_IsArray(cats) || !cJSON_IsNumber(days) ||
        cJSON_GetArraySize(cats) > RECEIPT_MAX_CATEGORIES)
        return RECEIPT_MALFORMED;
    cJSON_ArrayForEach(c, cats)
        if (!cJSON_IsString(c))
            return RECEIPT_MALFORMED;
    ctx->ncategories = (size_t)cJSON_GetArraySize(cats);
    ctx->consent_days = days->valueint;
    return RECEIPT_OK;
}

static void ref_of(const char *json, size_t len, char ref[RECEIPT_CTX_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)json, len);
    sodium_bin2hex(ref, RECEIPT_CTX_HEX, h, RECEIPT_CTX_BYTES);
}

int receipt_context_make(struct receipt_context *ctx, cJSON *tree)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->tree = tree;
    ctx->json = cJSON_PrintUnformatted(tree);
    if (ctx->json == NULL) {
        receipt_context_free(ctx);
        return RECEIPT_NO_MEMORY;
    }
    ctx->len = strlen(ctx->json);
    if (context_index(ctx) != RECEIPT_OK) {
        receipt_context_free(ctx);
        return RECEIPT_MALFORMED;
    }
    ref_of(ctx->json, ctx->len, ctx->ref);
    return RECEIPT_OK;
}

int receipt_context_parse(struct receipt_context *ctx, const char *ref,
                          const char *json, size_t len)
{
    memset(ctx, 0, sizeof(*ctx));
    if (len > RECEIPT_MAX_CONTEXT)
        return RECEIPT_BAD_CONTEXT;
    ref_of(json, len, ctx->ref);
    if (strcmp(ctx->ref, ref) != 0)
        return RECEIPT_BAD_CONTEXT;         /* edited: it no longer hashes to its name */
    ctx->json = malloc(len + 1);
    if (ctx->json == NULL)
        return RECEIPT_NO_MEMORY;
    memcpy(ctx->json, json, len);
    ctx->json[len] = '\0';
    ctx->len = len;
    ctx->tree = cJSON_ParseWithLength(json, len);
    if (ctx->tree == NULL || context_index(ctx) != RECEIPT_OK) {
        receipt_context_free(ctx);
        return RECEIPT_BAD_CONTEXT;
    }
    return RECEIPT_OK;
}

void receipt_context_free(struct receipt_context *ctx)
{
    cJSON_Delete(ctx->tree);
    cJSON_free(ctx->json);
    memset(ctx, 0, sizeof(*ctx));
}

int receipt_context_category(const struct receipt_context *ctx, const char *id)
{
    const cJSON *c;
    int i = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(ctx->tree, "categories")) {
        if (strcmp(c->valuestring, id) == 0)
            return i;
        i++;
    }
    return -1;
}

/* ---- receipts ---- */

static cJSON *dup(const cJSON *tree, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tree, key);

    return v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static void network_text(const struct receipt *r, char *out, size_t len)
{
    unsigned char a[16] = {0};
    char t[INET6_ADDRSTRLEN];

    out[0] = '\0';
    if (r->net_family == 4) {
        memcpy(a, r->net, 3);
        if (inet_ntop(AF_INET, a, t, sizeof(t)) != NULL)
            snprintf(out, len, "%s/24", t);
    } else if (r->net_family == 6) {
        memcpy(a, r->net, 6);
        if (inet_ntop(AF_INET6, a, t, sizeof(t)) != NULL)
            snprintf(out, len, "%s/48", t);
    }
}

char *receipt_payload(const struct receipt *r, const struct receipt_context *ctx,
                      const char *consent_id, size_t *len)
{
    cJSON *p = cJSON_CreateObject(), *o;
    const cJSON *c;
    char uuid[RECEIPT_UUID_LEN + 1], net[64], ua[17], prev[RECEIPT_HASH_HEX];
    unsigned char id[16];
    char *out;
    int i = 0;

    receipt_id_of(consent_id, r->seq, id);
    receipt_uuid_text(id, uuid);
    sodium_bin2hex(prev, sizeof(prev), r->prev, sizeof(r->prev));
    network_text(r, net, sizeof(net));
    sodium_bin2hex(ua, sizeof(ua), r->ua, sizeof(r->ua));
    cJSON_AddStringToObject(p, "receipt_version", RECEIPT_VERSION);
    cJSON_AddStringToObject(p, "receipt_id", uuid);
    cJSON_AddStringToObject(p, "consent_id", consent_id);
    cJSON_AddNumberToObject(p, "seq", (double)r->seq);
    cJSON_AddStringToObject(p, "prev_sha256", prev);
    cJSON_AddItemToObject(p, "site", dup(ctx->tree, "site"));
    cJSON_AddNumberToObject(p, "time_ms", (double)r->time_ms);
    cJSON_AddNumberToObject(p, "expires_ms",
                            (double)(r->time_ms + (int64_t)ctx->consent_days * 86400000));
    cJSON_AddItemToObject(p, "jurisdiction", dup(ctx->tree, "jurisdiction"));
    o = cJSON_AddObjectToObject(p, "gpc");
    cJSON_AddBoolToObject(o, "sent", r->gpc_sent);
    cJSON_AddBoolToObject(o, "honoured", r->gpc_honoured);
    cJSON_AddBoolToObject(o, "binding", r->gpc_binding);
    cJSON_AddStringToObject(p, "action", r->action >= 0 && r->action < RECEIPT_ACTION_COUNT
                                         ? receipt_action_names[r->action] : "?");
    o = cJSON_AddObjectToObject(p, "choices");
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(ctx->tree, "categories"))
        cJSON_AddBoolToObject(o, c->valuestring, (r->choices >> i++) & 1);
    cJSON_AddBoolToObject(p, "opted_out", r->opted_out);
    /* the GPP string in force after the choice, where the region has one */
    if (cJSON_GetObjectItemCaseSensitive(ctx->tree, "gpp") != NULL)
        cJSON_AddItemToObject(p, "gpp", dup(ctx->tree, "gpp"));
    cJSON_AddItemToObject(p, "purposes", dup(ctx->tree, "purposes"));
    cJSON_AddItemToObject(p, "banner", dup(ctx->tree, "banner"));
    cJSON_AddItemToObject(p, "language", dup(ctx->tree, "language"));
    cJSON_AddItemToObject(p, "policy_url", dup(ctx->tree, "policy_url"));
    cJSON_AddItemToObject(p, "controller", dup(ctx->tree, "controller"));
    if (net[0] != '\0')
        cJSON_AddStringToObject(p, "client_network", net);
    else
        cJSON_AddNullToObject(p, "client_network");
    cJSON_AddStringToObject(p, "user_agent_hash", ua);
    /* a receipt `consentctl migrate` re-signed from an earlier format */
    if (cJSON_GetObjectItemCaseSensitive(ctx->tree, "migrated_from") != NULL)
        cJSON_AddItemToObject(p, "migrated_from", dup(ctx->tree, "migrated_from"));
    cJSON_AddItemToObject(p, "kid", dup(ctx->tree, "kid"));
    out = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    if (out != NULL)
        *len = strlen(out);
    return out;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static unsigned char flags_of(int action, int sent, int honoured, int binding, int oo)
{
    return (unsigned char)((action & 7) | (sent ? 8 : 0) | (honoured ? 16 : 0) |
                           (binding ? 32 : 0) | (oo ? 64 : 0));
}

size_t receipt_encode(const struct receipt *r, unsigned char *out)
{
    size_t n = 0;

    out[n++] = STORED_VERSION;
    memcpy(out + n, r->sig, JWS_SIG_LEN);
    n += JWS_SIG_LEN;
    memcpy(out + n, r->prev, 32);
    n += 32;
    memcpy(out + n, r->ctx, RECEIPT_CTX_BYTES);
    n += RECEIPT_CTX_BYTES;
    put_be(out + n, (uint64_t)r->time_ms, 6);
    n += 6;
    out[n++] = flags_of(r->action, r->gpc_sent, r->gpc_honoured, r->gpc_binding,
                        r->opted_out);
    put_be(out + n, r->choices, 2);
    n += 2;
    out[n++] = (unsigned char)r->net_family;
    if (r->net_family == 4) {
        memcpy(out + n, r->net, 3);
        n += 3;
    } else if (r->net_family == 6) {
        memcpy(out + n, r->net, 6);
        n += 6;
    }
    memcpy(out + n, r->ua, 8);
    return n + 8;
}

int receipt_decode(const unsigned char *in, size_t len, struct receipt *r)
{
    size_t n = 1, net;
    uint32_t seq = r->seq;

    memset(r, 0, sizeof(*r));
    r->seq = seq;
    if (len < RECEIPT_AT_NET + 9 || in[0] != STORED_VERSION)
        return RECEIPT_MALFORMED;
    memcpy(r->sig, in + n, JWS_SIG_LEN);
    n += JWS_SIG_LEN;
    memcpy(r->prev, in + n, 32);
    n += 32;
    memcpy(r->ctx, in + n, RECEIPT_CTX_BYTES);
    n += RECEIPT_CTX_BYTES;
    r->time_ms = (int64_t)get_be(in + n, 6);
    n += 6;
    r->action = in[n] & 7;
    r->gpc_sent = (in[n] & 8) != 0;
    r->gpc_honoured = (in[n] & 16) != 0;
    r->gpc_binding = (in[n] & 32) != 0;
    r->opted_out = (in[n] & 64) != 0;
    if ((in[n] & 0x80) || r->action >= RECEIPT_ACTION_COUNT)
        return RECEIPT_MALFORMED;
    n++;
    r->choices = (uint32_t)get_be(in + n, 2);
    n += 2;
    r->net_family = in[n++];
    net = r->net_family == 4 ? 3 : r->net_family == 6 ? 6 : 0;
    if ((r->net_family != 0 && net == 0) || len != n + net + 8)
        return RECEIPT_MALFORMED;
    memcpy(r->net, in + n, net);
    memcpy(r->ua, in + n + net, 8);
    return RECEIPT_OK;
}

/* ---- the head ---- */

char *receipt_head_statement(const struct receipt_head *h, const char *consent_id,
                             size_t *len)
{
    cJSON *p = cJSON_CreateObject(), *sites, *o;
    char hex[RECEIPT_HASH_HEX], uuid[RECEIPT_UUID_LEN + 1], ref[RECEIPT_CTX_HEX];
    unsigned char id[16];
    char *out;

    cJSON_AddStringToObject(p, "statement", RECEIPT_HEAD_STATEMENT);
    cJSON_AddStringToObject(p, "consent_id", consent_id);
    cJSON_AddNumberToObject(p, "count", (double)h->count);
    cJSON_AddNumberToObject(p, "first", (double)h->first);
    sodium_bin2hex(hex, sizeof(hex), h->head, 32);
    cJSON_AddStringToObject(p, "head_sha256", hex);
    sodium_bin2hex(hex, sizeof(hex), h->anchor, 32);
    cJSON_AddStringToObject(p, "anchor_sha256", hex);
    sites = cJSON_AddObjectToObject(p, "sites");
    for (size_t i = 0; i < h->nsites; i++) {
        const struct receipt_state *s = &h->sites[i];

        o = cJSON_AddObjectToObject(sites, s->site);
        cJSON_AddNumberToObject(o, "seq", (double)s->seq);
        receipt_id_of(consent_id, s->seq, id);
        receipt_uuid_text(id, uuid);
        cJSON_AddStringToObject(o, "receipt_id", uuid);
        cJSON_AddNumberToObject(o, "time_ms", (double)s->time_ms);
        sodium_bin2hex(ref, sizeof(ref), s->ctx, RECEIPT_CTX_BYTES);
        cJSON_AddStringToObject(o, "context", ref);
        cJSON_AddStringToObject(o, "action", s->action >= 0 && s->action < RECEIPT_ACTION_COUNT
                                             ? receipt_action_names[s->action] : "?");
        cJSON_AddNumberToObject(o, "choices", (double)s->choices);
        cJSON_AddBoolToObject(o, "opted_out", s->opted_out);
    }
    cJSON_AddStringToObject(p, "kid", h->kid);
    out = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    if (out != NULL)
        *len = strlen(out);
    return out;
}

size_t receipt_head_encode(const struct receipt_head *h, unsigned char *out)
{
    size_t n = 0, bin = 0;

    out[n++] = STORED_VERSION;
    put_be(out + n, h->count, 4);
    put_be(out + n + 4, h->first, 4);
    n += 8;
    memcpy(out + n, h->head, 32);
    memcpy(out + n + 32, h->anchor, 32);
    n += 64;
    memset(out + n, 0, JWS_KID_BYTES);
    sodium_hex2bin(out + n, JWS_KID_BYTES, h->kid, strlen(h->kid), NULL, &bin, NULL);
    n += JWS_KID_BYTES;
    memcpy(out + n, h->seal, JWS_SIG_LEN);
    n += JWS_SIG_LEN;
    out[n++] = (unsigned char)h->nsites;
    for (size_t i = 0; i < h->nsites; i++) {
        const struct receipt_state *s = &h->sites[i];
        size_t sl = strlen(s->site);

        out[n++] = (unsigned char)sl;
        memcpy(out + n, s->site, sl);
        n += sl;
        put_be(out + n, s->seq, 4);
        n += 4;
        put_be(out + n, (uint64_t)s->time_ms, 6);
        n += 6;
        memcpy(out + n, s->ctx, RECEIPT_CTX_BYTES);
        n += RECEIPT_CTX_BYTES;
        out[n++] = flags_of(s->action, 0, 0, 0, s->opted_out);
        put_be(out + n, s->choices, 2);
        n += 2;
    }
    return n;
}

int receipt_head_decode(const unsigned char *in, size_t len, struct receipt_head *h)
{
    size_t n = 1;

    memset(h, 0, sizeof(*h));
    if (len < HEAD_FIXED || in[0] != STORED_VERSION)
        return RECEIPT_MALFORMED;
    h->count = (uint32_t)get_be(in + n, 4);
    h->first = (uint32_t)get_be(in + n + 4, 4);
    n += 8;
    memcpy(h->head, in + n, 32);
    memcpy(h->anchor, in + n + 32, 32);
    n += 64;
    sodium_bin2hex(h->kid, sizeof(h->kid), in + n, JWS_KID_BYTES);
    n += JWS_KID_BYTES;
    memcpy(h->seal, in + n, JWS_SIG_LEN);
    n += JWS_SIG_LEN;
    h->nsites = in[n++];
    if (h->nsites > RECEIPT_MAX_SITES)
        return RECEIPT_MALFORMED;
    for (size_t i = 0; i < h->nsites; i++) {
        struct receipt_state *s = &h->sites[i];
        size_t sl;

        if (n >= len)
            return RECEIPT_MALFORMED;
        sl = in[n++];
        if (sl == 0 || sl >= sizeof(s->site) || n + sl + HEAD_SITE > len)
            return RECEIPT_MALFORMED;
        memcpy(s->site, in + n, sl);
        s->site[sl] = '\0';
        if (strlen(s->site) != sl)
            return RECEIPT_MALFORMED;
        n += sl;
        s->seq = (uint32_t)get_be(in + n, 4);
        n += 4;
        s->time_ms = (int64_t)get_be(in + n, 6);
        n += 6;
        memcpy(s->ctx, in + n, RECEIPT_CTX_BYTES);
        n += RECEIPT_CTX_BYTES;
        s->action = in[n] & 7;
        s->opted_out = (in[n] & 64) != 0;
        if (s->action >= RECEIPT_ACTION_COUNT || (in[n] & ~0x47) != 0)
            return RECEIPT_MALFORMED;
        n++;
        s->choices = (uint32_t)get_be(in + n, 2);
        n += 2;
    }
    return n == len ? RECEIPT_OK : RECEIPT_MALFORMED;
}

int receipt_head_append(struct receipt_head *h, const struct receipt *r,
                        const char *site, const unsigned char sha256[32])
{
    struct receipt_state *s = NULL;

    for (size_t i = 0; i < h->nsites && s == NULL; i++)
        if (strcmp(h->sites[i].site, site) == 0)
            s = &h->sites[i];
    if (s == NULL) {
        if (h->nsites == RECEIPT_MAX_SITES)
            return -1;
        s = &h->sites[h->nsites++];
        snprintf(s->site, sizeof(s->site), "%s", site);
    }
    if (h->count == 0)
        h->first = 1;
    h->count = r->seq;
    memcpy(h->head, sha256, 32);
    s->seq = r->seq;
    s->time_ms = r->time_ms;
    memcpy(s->ctx, r->ctx, RECEIPT_CTX_BYTES);
    s->action = r->action;
    s->opted_out = r->opted_out;
    s->choices = r->choices;
    return 0;
}

int receipt_head_seal(struct receipt_head *h, const char *consent_id,
                      const struct jws_key *key)
{
    size_t len = 0;
    char *st;
    int rc;

    memcpy(h->kid, key->kid, sizeof(h->kid));
    st = receipt_head_statement(h, consent_id, &len);
    if (st == NULL)
        return JWS_NO_MEMORY;
    rc = jws_sign(key, st, len, h->seal);
    cJSON_free(st);
    return rc;
}

int receipt_head_check(const struct receipt_head *h, const char *consent_id,
                       const struct jws_keyset *set)
{
    size_t len = 0;
    char *st = receipt_head_statement(h, consent_id, &len);
    int rc;

    if (st == NULL)
        return JWS_NO_MEMORY;
    rc = jws_check(set, h->kid, st, len, h->seal);
    cJSON_free(st);
    return rc;
}

const struct receipt_state *receipt_head_site(const struct receipt_head *h,
                                              const char *site)
{
    for (size_t i = 0; i < h->nsites; i++)
        if (strcmp(h->sites[i].site, site) == 0)
            return &h->sites[i];
    return NULL;
}

const char *receipt_strerror(int status)
{
    switch (status) {
    case RECEIPT_OK:
        return "success";
    case RECEIPT_MALFORMED:
        return "malformed stored receipt or head";
    case RECEIPT_BAD_CONTEXT:
        return "receipt context missing or altered";
    case RECEIPT_NO_MEMORY:
        return "out of memory";
    default:
        return "unknown error";
    }
}
