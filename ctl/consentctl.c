/*
 * consentctl - support staff's command line: look up and verify a visitor's
 * receipts, export them, erase them, verify exports offline, make tokens.
 *
 * It reads consentd's configuration (for Redis, the key and the sites) and
 * talks to Redis directly with the same code as the admin API (cgi/history.c),
 * so both verify the same way. Every lookup, export and erasure is appended to
 * the same audit stream as the API's, with via=cli.
 *
 * Exit codes: 0 ok, 1 not found, 2 usage or configuration, 3 verification
 * failed, 4 store unavailable.
 */
#include "../cgi/config.h"
#include "../cgi/history.h"
#include "../cgi/receipt.h"
#include "../redis/store.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define EXIT_NOT_FOUND 1
#define EXIT_USAGE 2
#define EXIT_VERIFY 3
#define EXIT_STORE 4
#define CTL_MAX_INPUT (16 * 1024 * 1024)
#define DEFAULT_CONFIG "/etc/consentd/consentd.json"

struct ctl {
    const char *config_path;
    int json;
    const char *format;         /* export: kantara | native */
    const char *jwks;           /* verify: public key file */
    unsigned roles;             /* token new */
    struct config cfg;
    struct receipt_key key;
    struct store store;
    int loaded;
};

static void usage(FILE *f)
{
    fputs("usage: consentctl [-c CONFIG] [--json] COMMAND\n"
          "  lookup CONSENT_ID            every receipt of a consent ID, verified\n"
          "  receipt RECEIPT_ID           one receipt, verified\n"
          "  export CONSENT_ID [--format kantara|native]\n"
          "  erase CONSENT_ID             erase, keeping a tombstone\n"
          "  verify FILE|- [--jwks FILE]  verify an export offline (no Redis)\n"
          "  token new NAME --role read|erase|audit [--role ...]\n"
          "CONFIG defaults to $CONSENTD_CONFIG or " DEFAULT_CONFIG ".\n"
          "exit: 0 ok, 1 not found, 2 usage, 3 verification failed, 4 store unavailable\n",
          f);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int load(struct ctl *c, int need_store)
{
    char err[512];
    int st;

    if (config_load(&c->cfg, c->config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "consentctl: %s\n", err);
        return EXIT_USAGE;
    }
    c->loaded = 1;
    st = receipt_key_load(&c->key, c->cfg.signing_key_path);
    if (st != RECEIPT_OK) {
        fprintf(stderr, "consentctl: %s: %s\n", c->cfg.signing_key_path,
                receipt_strerror(st));
        return EXIT_USAGE;
    }
    if (!need_store)
        return 0;
    st = store_open(&c->store, c->cfg.redis_address, c->cfg.redis_connect_timeout_ms,
                    c->cfg.redis_command_timeout_ms);
    if (st != STORE_OK) {
        fprintf(stderr, "consentctl: Redis %s: %s\n", c->cfg.redis_address,
                c->store.last_error[0] ? c->store.last_error : "unavailable");
        return EXIT_STORE;
    }
    return 0;
}

static void audit(struct ctl *c, const char *action, const char *target, int code)
{
    struct passwd *pw = getpwuid(getuid());
    char who[96], status[8], when[24];
    const char *f[] = {"time_ms", when, "who", who, "action", action,
                       "target", target, "status", status, "via", "cli"};

    snprintf(who, sizeof(who), "cli:%s", pw != NULL ? pw->pw_name : "?");
    snprintf(status, sizeof(status), "%d", code);
    snprintf(when, sizeof(when), "%lld", (long long)now_ms());
    store_audit(&c->store, f, 12, now_ms(),
                (long long)c->cfg.audit_retention_days * 86400000,
                c->cfg.audit_max_entries);
}

static void print_json(const cJSON *o)
{
    char *s = cJSON_Print(o);

    if (s != NULL)
        printf("%s\n", s);
    cJSON_free(s);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : "-";
}

/* One line per receipt: what support staff read to answer a visitor. */
static void print_table(const cJSON *history)
{
    const cJSON *item;

    printf("%-20s  %-8s %-16s %-11s %-5s %-12s %s\n", "TIME (UTC)", "REGION",
           "REGIME", "ACTION", "GPC", "BANNER", "CHOICES  PROOF");
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(history, "receipts")) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(item, "receipt");
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(r, "jurisdiction");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "time_ms"), *ch;
        const cJSON *gpc = cJSON_GetObjectItemCaseSensitive(r, "gpc");
        int sig = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "signature_valid"));
        int chain = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "chain_valid"));
        char when[32] = "-";

        if (cJSON_IsNumber(t)) {
            time_t secs = (time_t)(t->valuedouble / 1000);
            struct tm tm;

            gmtime_r(&secs, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        }
        printf("%-20s  %-8s %-16s %-11s %-5s %-12s ", when, jstr(j, "region"),
               jstr(j, "regime"), jstr(r, "action"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpc, "sent")) ? "yes" : "no",
               jstr(cJSON_GetObjectItemCaseSensitive(r, "banner"), "version"));
        cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(r, "choices"))
            printf("%s=%s ", ch->string, cJSON_IsTrue(ch) ? "on" : "off");
        printf(" %s\n", sig && chain ? "verified" : !sig ? "TAMPERED (signature)"
                                                         : "BROKEN CHAIN");
    }
}

static int store_exit(int st)
{
    if (st == STORE_NOT_FOUND)
        return EXIT_NOT_FOUND;
    fprintf(stderr, "consentctl: %s\n", store_strerror(st));
    return EXIT_STORE;
}

static int cmd_lookup(struct ctl *c, const char *id, int export_kantara)
{
    cJSON *h = NULL;
    int st, rc = 0;

    if (!receipt_valid_consent_id(id)) {
        fprintf(stderr, "consentctl: %s is not a well-formed consent ID\n", id);
        return EXIT_USAGE;
    }
    st = history_load(&c->store, &c->key, id, 1, now_ms(), &h);
    if (st != STORE_OK)
        return store_exit(st);
    audit(c, export_kantara >= 0 ? "export" : "lookup", id,
          cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "receipts")) > 0 ? 200 : 404);
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "receipts")) == 0) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "tombstone");

        if (t != NULL)
            fprintf(stderr, "consentctl: %s was erased by %s\n", id, jstr(t, "by"));
        else
            fprintf(stderr, "consentctl: nothing is stored for %s\n", id);
        cJSON_Delete(h);
        return EXIT_NOT_FOUND;
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "all_valid")))
        rc = EXIT_VERIFY;
    if (export_kantara == 1) {
        cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "receipts"), *it;

        cJSON_AddStringToObject(out, "consent_id", id);
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(h, "receipts")) {
            cJSON *k = history_kantara(cJSON_GetObjectItemCaseSensitive(it, "receipt"),
                                       &c->cfg, &c->key);
            if (k != NULL) {
                cJSON_AddItemToObject(k, "x-jws", cJSON_Duplicate(
                    cJSON_GetObjectItemCaseSensitive(it, "jws"), 0));
                cJSON_AddItemToArray(arr, k);
            }
        }
        print_json(out);
        cJSON_Delete(out);
    } else if (c->json || export_kantara == 0) {
        print_json(h);
    } else {
        printf("consent ID %s: %d receipt(s), %s\n", id,
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "receipts")),
               rc == 0 ? "all verified" : "VERIFICATION FAILED");
        print_table(h);
    }
    cJSON_Delete(h);
    return rc;
}

static int cmd_receipt(struct ctl *c, const char *rid)
{
    cJSON *r = NULL;
    int st, rc;

    if (!receipt_valid_uuid(rid)) {
        fprintf(stderr, "consentctl: %s is not a receipt ID (UUID v4)\n", rid);
        return EXIT_USAGE;
    }
    st = history_receipt(&c->store, &c->key, rid, &r);
    audit(c, "receipt", rid, st == STORE_OK ? 200 : st == STORE_NOT_FOUND ? 404 : 503);
    if (st != STORE_OK) {
        if (st == STORE_NOT_FOUND)
            fprintf(stderr, "consentctl: no stored receipt %s\n", rid);
        return store_exit(st);
    }
    rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "signature_valid")) &&
         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "chain_valid")) ? 0 : EXIT_VERIFY;
    if (c->json) {
        print_json(r);
    } else {
        cJSON *h = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(h, "receipts");

        cJSON_AddItemReferenceToArray(arr, r);
        print_table(h);
        cJSON_Delete(h);
    }
    cJSON_Delete(r);
    return rc;
}

static int cmd_erase(struct ctl *c, const char *id)
{
    struct passwd *pw = getpwuid(getuid());
    char who[96];
    cJSON *out = NULL;
    int st;

    if (!receipt_valid_consent_id(id)) {
        fprintf(stderr, "consentctl: %s is not a well-formed consent ID\n", id);
        return EXIT_USAGE;
    }
    snprintf(who, sizeof(who), "cli:%s", pw != NULL ? pw->pw_name : "?");
    st = history_erase(&c->store, id, who, now_ms(), 3650L * 86400, &out);
    audit(c, "erase", id, st == STORE_OK ? 200 : 503);
    if (st != STORE_OK)
        return store_exit(st);
    if (c->json)
        print_json(out);
    else
        printf("erased %s: %d receipt(s); tombstone kept\n", id,
               (int)cJSON_GetObjectItemCaseSensitive(out, "receipts_erased")->valuedouble);
    cJSON_Delete(out);
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;

    if (f == NULL)
        return NULL;
    buf = malloc(CTL_MAX_INPUT + 1);
    if (buf != NULL) {
        *len = fread(buf, 1, CTL_MAX_INPUT, f);
        buf[*len] = '\0';
    }
    if (f != stdin)
        fclose(f);
    return buf;
}

/* Public key from a JWKS file, or from the configured signing key. */
static int verify_key(struct ctl *c, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
    size_t len = 0, bin = 0;
    char *text;
    cJSON *j;
    const cJSON *x;
    int rc = -1;

    if (c->jwks == NULL) {
        if (load(c, 0) != 0)
            return -1;
        memcpy(pk, c->key.pk, crypto_sign_PUBLICKEYBYTES);
        return 0;
    }
    text = read_all(c->jwks, &len);
    j = text != NULL ? cJSON_Parse(text) : NULL;
    x = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "keys"), 0), "x");
    if (cJSON_IsString(x) &&
        sodium_base642bin(pk, crypto_sign_PUBLICKEYBYTES, x->valuestring,
                          strlen(x->valuestring), NULL, &bin, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
        bin == crypto_sign_PUBLICKEYBYTES)
        rc = 0;
    else
        fprintf(stderr, "consentctl: %s: not a JWKS with an Ed25519 key\n", c->jwks);
    cJSON_Delete(j);
    free(text);
    return rc;
}

/* A Kantara receipt says what the signed one says: same IDs, time, action
 * and choices, and exactly the categories that are on as purposes. */
static int kantara_matches(const cJSON *k, const cJSON *p)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(p, "choices"), *c;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(k, "consentTimestamp");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "time_ms");
    const cJSON *svc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "services"), 0);
    const cJSON *purposes = cJSON_GetObjectItemCaseSensitive(svc, "purposes");
    int on = 0;

    if (strcmp(jstr(k, "consentReceiptID"), jstr(p, "receipt_id")) != 0 ||
        strcmp(jstr(k, "piiPrincipalId"), jstr(p, "consent_id")) != 0 ||
        strcmp(jstr(k, "x-action"), jstr(p, "action")) != 0 ||
        strcmp(jstr(k, "policyUrl"), jstr(p, "policy_url")) != 0 ||
        strcmp(jstr(svc, "service"), jstr(p, "site")) != 0 ||
        !cJSON_IsNumber(ts) || !cJSON_IsNumber(t) ||
        (long long)ts->valuedouble != (long long)(t->valuedouble / 1000) ||
        !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(k, "x-choices"), choices, 1))
        return 0;
    cJSON_ArrayForEach(c, choices)
        on += cJSON_IsTrue(c);
    return cJSON_IsArray(purposes) && cJSON_GetArraySize(purposes) == on;
}

/* Checks one item holding "jws" (or "x-jws"): the signature, that the
 * readable copy beside it says the same, and its link to the previous one. */
static int verify_item(const unsigned char *pk, const cJSON *item, char *expect_prev,
                       int *n)
{
    const cJSON *jws = cJSON_GetObjectItemCaseSensitive(item, "jws");
    const cJSON *copy = cJSON_GetObjectItemCaseSensitive(item, "receipt");
    char *payload = NULL, h[RECEIPT_HASH_HEX];
    cJSON *p;
    const cJSON *prev;
    int ok;

    if (!cJSON_IsString(jws))
        jws = cJSON_GetObjectItemCaseSensitive(item, "x-jws");
    if (!cJSON_IsString(jws))
        return 0;
    (*n)++;
    if (receipt_verify_jws(pk, jws->valuestring, &payload) != RECEIPT_OK) {
        printf("receipt %d: SIGNATURE INVALID\n", *n);
        return -1;
    }
    p = cJSON_Parse(payload);
    receipt_sha256_hex(payload, strlen(payload), h);
    ok = p != NULL;
    if (ok && copy == NULL && !kantara_matches(item, p)) {
        printf("receipt %d (%s): the Kantara fields differ from the signed receipt\n", *n,
               jstr(p, "receipt_id"));
        ok = 0;
    }
    if (ok && copy != NULL && !cJSON_Compare(p, copy, 1)) {
        printf("receipt %d (%s): the readable copy differs from the signed one\n", *n,
               jstr(p, "receipt_id"));
        ok = 0;
    }
    if (ok && expect_prev[0] != '\0' && strcmp(expect_prev, h) != 0) {
        printf("receipt %d (%s): CHAIN BROKEN (a receipt is missing or changed)\n", *n,
               jstr(p, "receipt_id"));
        ok = 0;
    }
    if (ok)
        printf("receipt %d (%s, %s): signature valid\n", *n, jstr(p, "receipt_id"),
               jstr(p, "action"));
    prev = cJSON_GetObjectItemCaseSensitive(p, "prev_sha256");
    snprintf(expect_prev, RECEIPT_HASH_HEX, "%s", cJSON_IsString(prev) ? prev->valuestring : "");
    cJSON_Delete(p);
    free(payload);
    return ok ? 0 : -1;
}

static int cmd_verify(struct ctl *c, const char *path)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char prev[RECEIPT_HASH_HEX] = "";
    size_t len = 0;
    char *text;
    cJSON *root;
    const cJSON *list, *item;
    int bad = 0, n = 0;

    if (verify_key(c, pk) != 0)
        return EXIT_USAGE;
    text = read_all(path, &len);
    if (text == NULL) {
        fprintf(stderr, "consentctl: cannot read %s\n", path);
        return EXIT_USAGE;
    }
    root = cJSON_Parse(text);
    if (root == NULL) {
        /* A bare JWS */
        char *nl = strpbrk(text, "\r\n");
        char *payload = NULL;

        if (nl != NULL)
            *nl = '\0';
        bad = receipt_verify_jws(pk, text, &payload) != RECEIPT_OK;
        printf("%s\n", bad ? "SIGNATURE INVALID" : "signature valid");
        free(payload);
        free(text);
        return bad ? EXIT_VERIFY : 0;
    }
    list = cJSON_GetObjectItemCaseSensitive(root, "receipts");
    if (cJSON_IsArray(list)) {
        cJSON_ArrayForEach(item, list)
            bad |= verify_item(pk, item, prev, &n) != 0;
    } else {
        bad |= verify_item(pk, root, prev, &n) != 0;
    }
    cJSON_Delete(root);
    free(text);
    if (n == 0) {
        fprintf(stderr, "consentctl: %s holds no signed receipt\n", path);
        return EXIT_VERIFY;
    }
    printf("%d receipt(s): %s\n", n, bad ? "VERIFICATION FAILED" : "all verified");
    return bad ? EXIT_VERIFY : 0;
}

static int cmd_token(struct ctl *c, const char *name)
{
    unsigned char raw[32], h[crypto_hash_sha256_BYTES];
    char token[4 + sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    char hex[65];
    cJSON *line, *roles;
    char *s;

    if (c->roles == 0 || strlen(name) == 0 || strlen(name) > CONSENT_MAX_TOKEN_NAME) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return EXIT_USAGE;
    memcpy(token, "cst_", 4);
    sodium_bin2base64(token + 4, sizeof(token) - 4, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "name", name);
    roles = cJSON_AddArrayToObject(line, "roles");
    if (c->roles & ROLE_READ)
        cJSON_AddItemToArray(roles, cJSON_CreateString("read"));
    if (c->roles & ROLE_ERASE)
        cJSON_AddItemToArray(roles, cJSON_CreateString("erase"));
    if (c->roles & ROLE_AUDIT)
        cJSON_AddItemToArray(roles, cJSON_CreateString("audit"));
    cJSON_AddStringToObject(line, "sha256", hex);
    s = cJSON_PrintUnformatted(line);
    if (c->json) {
        cJSON_AddStringToObject(line, "token", token);
        print_json(line);
    } else {
        printf("token (shown once, give it to %s): %s\n", name, token);
        printf("add to \"admin\": {\"tokens\": [...]} in the configuration:\n  %s\n", s);
    }
    cJSON_free(s);
    cJSON_Delete(line);
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(token, sizeof(token));
    return 0;
}

int main(int argc, char **argv)
{
    struct ctl c;
    const char *args[4];
    int nargs = 0, rc;

    memset(&c, 0, sizeof(c));
    c.config_path = getenv("CONSENTD_CONFIG");
    if (c.config_path == NULL)
        c.config_path = DEFAULT_CONFIG;
    for (int i = 1; i < argc; i++) {
        /* Consent IDs are base64url and may start with '-': after the
         * command word, anything that is not one of our options is an
         * argument; "--" ends the options. */
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc && nargs < 4)
                args[nargs++] = argv[i];
            if (i < argc) {
                usage(stderr);
                return EXIT_USAGE;
            }
            break;
        }
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            c.config_path = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = 1;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            c.format = argv[++i];
        } else if (strcmp(argv[i], "--jwks") == 0 && i + 1 < argc) {
            c.jwks = argv[++i];
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            const char *r = argv[++i];

            if (strcmp(r, "read") == 0)
                c.roles |= ROLE_READ;
            else if (strcmp(r, "erase") == 0)
                c.roles |= ROLE_ERASE;
            else if (strcmp(r, "audit") == 0)
                c.roles |= ROLE_AUDIT;
            else {
                usage(stderr);
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0' && nargs == 0) {
            usage(stderr);
            return EXIT_USAGE;
        } else if (nargs < 4) {
            args[nargs++] = argv[i];
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (sodium_init() < 0)
        return EXIT_USAGE;
    if (nargs == 3 && strcmp(args[0], "token") == 0 && strcmp(args[1], "new") == 0)
        return cmd_token(&c, args[2]);
    if (nargs == 2 && strcmp(args[0], "verify") == 0) {
        rc = cmd_verify(&c, args[1]);
        goto done;
    }
    if (nargs != 2 || (strcmp(args[0], "lookup") != 0 && strcmp(args[0], "receipt") != 0 &&
                       strcmp(args[0], "export") != 0 && strcmp(args[0], "erase") != 0)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(args[0], "export") == 0 && c.format != NULL &&
        strcmp(c.format, "kantara") != 0 && strcmp(c.format, "native") != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    rc = load(&c, 1);
    if (rc != 0)
        goto done;
    if (strcmp(args[0], "lookup") == 0)
        rc = cmd_lookup(&c, args[1], -1);
    else if (strcmp(args[0], "export") == 0)
        rc = cmd_lookup(&c, args[1], c.format != NULL && strcmp(c.format, "kantara") == 0);
    else if (strcmp(args[0], "receipt") == 0)
        rc = cmd_receipt(&c, args[1]);
    else
        rc = cmd_erase(&c, args[1]);
done:
    store_close(&c.store);
    receipt_key_wipe(&c.key);
    if (c.loaded)
        config_free(&c.cfg);
    return rc;
}
