/*
 * built_history.h - the shared setup of the suites that judge histories
 * (test_verify.c, test_history.c): one signing key, one receipt context,
 * and histories of signed receipts with a sealed head built in memory the
 * way consentd writes them, for the tests to alter as a database-level
 * adversary or a forger would. Header-only (static inline): each suite
 * links libconsent.a and nothing else.
 */
#ifndef CONSENT_TEST_BUILT_HISTORY_H
#define CONSENT_TEST_BUILT_HISTORY_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi/jws.h"
#include "../cgi/receipt.h"
#include "../cgi/verify.h"

#define ID "AAAAAAAAAAAAAAAAAAAAAQ"
#define MAXN 8

static struct jws_keyset keys __attribute__((unused));
static struct receipt_context ctx __attribute__((unused));
static struct verify_contexts ctxs __attribute__((unused));

/* A history of n receipts as the store hands it back, and the payloads. */
struct built {
    struct store_history h;
    struct store_item items[MAXN];
    unsigned char stored[MAXN][RECEIPT_MAX_STORED];
    unsigned char head[RECEIPT_MAX_HEAD];
    char *payload[MAXN];
    size_t len[MAXN];
    struct receipt_head hd;
};

static inline void built_setup(void)
{
    unsigned char seed[crypto_sign_SEEDBYTES] = {42};

    cr_assert_geq(sodium_init(), 0);
    memset(&keys, 0, sizeof(keys));
    crypto_sign_seed_keypair(keys.current.pk, keys.current.sk, seed);
    jws_kid(keys.current.pk, keys.current.kid);
    keys.has_current = 1;
    memcpy(keys.keys[0].pk, keys.current.pk, sizeof(keys.current.pk));
    memcpy(keys.keys[0].kid, keys.current.kid, sizeof(keys.current.kid));
    keys.nkeys = 1;
    {
        char text[1024];

        snprintf(text, sizeof(text),
                 "{\"site\":\"demo\",\"jurisdiction\":{\"region\":\"DE\",\"regime\":\"gdpr\","
                 "\"model\":\"opt-in\"},\"categories\":[\"necessary\",\"analytics\",\"ads\"],"
                 "\"purposes\":{\"necessary\":{\"name\":\"Necessary\",\"necessary\":true,"
                 "\"sale_sharing\":false},\"analytics\":{\"name\":\"Analytics\",\"necessary\":false,"
                 "\"sale_sharing\":false},\"ads\":{\"name\":\"Ads\",\"necessary\":false,"
                 "\"sale_sharing\":true}},\"banner\":{\"version\":\"v1\",\"consent_revision\":1,"
                 "\"texts_sha256\":\"00\",\"model\":\"opt-in\"},\"language\":\"en\","
                 "\"policy_url\":\"/p\",\"controller\":{\"name\":\"Demo Ltd.\"},"
                 "\"consent_days\":365,\"kid\":\"%s\"}", keys.current.kid);
        cr_assert_eq(receipt_context_make(&ctx, cJSON_Parse(text)), RECEIPT_OK);
    }
    ctxs.items = &ctx;
    ctxs.n = 1;
}

static inline void built_teardown(void)
{
    receipt_context_free(&ctx);
    jws_keyset_wipe(&keys);
}

/* Seals b->hd again with the real key (what only consentd can do) and
 * stores it. */
static inline void reseal(struct built *b, const char *id)
{
    cr_assert_eq(receipt_head_seal(&b->hd, id, &keys.current), JWS_OK);
    b->h.head.len = receipt_head_encode(&b->hd, b->head);
    b->h.head.data = (char *)b->head;
}

/* Writes n receipts the way consents.c does: seq, prev, signature, head. */
static inline void build(struct built *b, int n, const char *id)
{
    char prev[RECEIPT_HASH_HEX] = RECEIPT_ZERO_HASH, hash[RECEIPT_HASH_HEX];
    size_t bin = 0;

    memset(b, 0, sizeof(*b));
    b->hd.first = 1;
    for (int i = 0; i < n; i++) {
        struct receipt r;

        memset(&r, 0, sizeof(r));
        r.seq = (uint32_t)i + 1;
        sodium_hex2bin(r.prev, 32, prev, 64, NULL, &bin, NULL);
        sodium_hex2bin(r.ctx, RECEIPT_CTX_BYTES, ctx.ref, 16, NULL, &bin, NULL);
        r.time_ms = 1795380669000LL + i;
        r.action = i % 2 == 0 ? RECEIPT_ACCEPT_ALL : RECEIPT_REJECT_ALL;
        r.choices = i % 2 == 0 ? 7 : 1;
        r.opted_out = i % 2;
        r.net_family = 4;
        b->payload[i] = receipt_payload(&r, &ctx, id, &b->len[i]);
        cr_assert_eq(jws_sign(&keys.current, b->payload[i], b->len[i], r.sig), JWS_OK);
        b->items[i].seq = r.seq;
        b->items[i].blob.len = receipt_encode(&r, b->stored[i]);
        b->items[i].blob.data = (char *)b->stored[i];
        receipt_sha256_hex(b->payload[i], b->len[i], hash);
        memcpy(prev, hash, sizeof(prev));
        b->hd.count = r.seq;
        sodium_hex2bin(b->hd.head, 32, hash, 64, NULL, &bin, NULL);
        b->hd.nsites = 1;
        strcpy(b->hd.sites[0].site, "demo");
        b->hd.sites[0].seq = r.seq;
        b->hd.sites[0].time_ms = r.time_ms;
        memcpy(b->hd.sites[0].ctx, r.ctx, RECEIPT_CTX_BYTES);
        b->hd.sites[0].action = r.action;
        b->hd.sites[0].opted_out = r.opted_out;
        b->hd.sites[0].choices = r.choices;
    }
    reseal(b, id);
    b->h.items = b->items;
    b->h.nitems = (size_t)n;
    b->h.pttl_ms = -2;
}

static inline void release(struct built *b)
{
    for (int i = 0; i < MAXN; i++)
        cJSON_free(b->payload[i]);
}

static inline void drop(struct built *b, size_t at)
{
    memmove(&b->items[at], &b->items[at + 1], (b->h.nitems - at - 1) * sizeof(b->items[0]));
    b->h.nitems--;
}

#endif
