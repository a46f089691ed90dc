/*
 * consentctl - support staff's command line: look up and verify a visitor's
 * receipts, export them, erase them, verify exports offline, make tokens,
 * decode GPP strings.
 *
 * It reads consentd's configuration (for Redis, the key and the sites) and
 * talks to Redis directly with the same code as the admin API (cgi/history.c),
 * so both verify the same way. Every lookup, export and erasure is appended to
 * the same audit stream as the API's, with via=cli.
 *
 * Exit codes: 0 ok, 1 not found, 2 usage or configuration, 3 verification
 * failed, 4 store unavailable.
 */
#include "../cgi/audit.h"
#include "../cgi/config.h"
#include "../cgi/decision.h"
#include "../cgi/history.h"
#include "../cgi/jws.h"
#include "../cgi/receipt.h"
#include "../cgi/stats.h"
#include "../cgi/verify.h"
#include "../gpp/gpp.h"
#include "../redis/store.h"
#include "migrate.h"
#include "../common/clock.h"
#include "../common/jcheck.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What every command returns: its exit status (usage() lists them). */
enum ctl_status {
    CTL_OK = 0,
    CTL_NOT_FOUND = 1,
    CTL_USAGE = 2,              /* usage or configuration */
    CTL_VERIFY = 3,             /* verification failed */
    CTL_STORE = 4               /* store unavailable */
};
#define CTL_MAX_INPUT (16 * 1024 * 1024)
#define DEFAULT_CONFIG "/etc/consentd/consentd.json"

struct ctl {
    const char *config_path;
    int json;
    const char *format;         /* export: kantara | native */
    const char *jwks;           /* verify: public key file */
    const char *receipt;        /* verify --receipt: a visitor-held JWS */
    const char *archive;        /* migrate --archive FILE */
    int dry_run;
    unsigned roles;             /* token new */
    const char *from, *to, *by; /* stats */
    int csv;
    struct config cfg;
    struct jws_keyset keys;
    unsigned char cookie_key[32];
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
          "  verify --receipt JWS         is this visitor-held receipt still the store's,\n"
          "                               and does a newer one follow it?\n"
          "  stats SITE [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by day|region|regime|\n"
          "        version|variant|category|device|language] [--csv]\n"
          "                               analytics counts and rates (a table, CSV or --json)\n"
          "  token new NAME --role read|erase|audit|stats [--role ...]\n"
          "  gpp decode STRING            the fields of an IAB GPP string (no configuration)\n"
          "  gpp encode JSON|-            the GPP string of fields as gpp decode --json prints them\n"
          "  migrate --archive FILE [--dry-run]\n"
          "                               format v1 histories to v2 (originals archived)\n"
          "CONFIG defaults to $CONSENTD_CONFIG or " DEFAULT_CONFIG ".\n"
          "exit: 0 ok, 1 not found, 2 usage, 3 verification failed, 4 store unavailable\n",
          f);
}

static int load(struct ctl *c, int need_store)
{
    char err[512];
    int st;

    if (config_load(&c->cfg, c->config_path, err, sizeof(err)) != CONFIG_OK) {
        fprintf(stderr, "consentctl: %s\n", err);
        return CTL_USAGE;
    }
    c->loaded = 1;
    st = jws_keyset_load(&c->keys, c->cfg.signing_key_path, c->cfg.retired_keys_path);
    if (st == JWS_OK)
        st = jws_secret_load(c->cfg.cookie_secret_path, c->cookie_key);
    if (st != JWS_OK) {
        fprintf(stderr, "consentctl: %s\n", jws_strerror(st));
        return CTL_USAGE;
    }
    if (!need_store)
        return CTL_OK;
    st = store_open(&c->store, &c->cfg.redis);
    if (st != STORE_OK) {
        fprintf(stderr, "consentctl: Redis (%s %s): %s\n",
                store_topology_name(c->cfg.redis.topology),
                c->cfg.redis.topology == STORE_SENTINEL ? c->cfg.redis.master_name
                : c->cfg.redis.topology == STORE_CLUSTER ? c->cfg.redis.seeds[0]
                : c->cfg.redis.address,
                c->store.last_error[0] ? c->store.last_error : "unavailable");
        return CTL_STORE;
    }
    return CTL_OK;
}

/* The caller as the audit stream and tombstones name them: "cli:<user>". */
static void cli_who(char *who, size_t len)
{
    struct passwd *pw = getpwuid(getuid());

    snprintf(who, len, "cli:%s", pw != NULL ? pw->pw_name : "?");
}

/* Appends the action to the API's audit stream, via=cli. A command whose
 * action cannot be audited says so (it has run: there is no undoing it). */
static void audit(struct ctl *c, const char *action, const char *target, int code)
{
    char who[96];
    struct audit_action a = {clock_wall_ms(), who, action, target, code, NULL, "cli"};
    struct audit_limits l = {c->cookie_key, c->cfg.audit_retention_days,
                             c->cfg.audit_max_entries};
    int st;

    cli_who(who, sizeof(who));
    st = audit_append(&c->store, &a, &l);
    if (st != STORE_OK && code < 500)
        fprintf(stderr, "consentctl: audit write failed: %s\n", store_strerror(st));
}

static void print_json(const cJSON *o)
{
    char *s = cJSON_Print(o);

    if (s != NULL)
        printf("%s\n", s);
    cJSON_free(s);
}

static const char *jstr(const cJSON *o, const char *k) { return jcheck_get_string(o, k, "-"); }

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
        return CTL_NOT_FOUND;
    fprintf(stderr, "consentctl: %s\n", store_strerror(st));
    return CTL_STORE;
}

static void print_findings(const struct verify_result *r)
{
    for (unsigned bit = 1; bit != 0 && bit <= VERIFY_F_NEWER_FOLLOWS; bit <<= 1)
        if (r->findings & bit)
            printf("finding: %s\n", verify_finding_name(bit));
}

static int cmd_lookup(struct ctl *c, const char *id, int export_kantara)
{
    struct history h;
    cJSON *out;
    int st, rc = 0;

    if (!receipt_valid_consent_id(id)) {
        fprintf(stderr, "consentctl: %s is not a well-formed consent ID\n", id);
        return CTL_USAGE;
    }
    st = history_load(&c->store, &c->keys, id, NULL, &h);
    if (st != STORE_OK)
        return store_exit(st);
    audit(c, export_kantara >= 0 ? "export" : "lookup", id, h.result.nitems > 0 ? 200 : 404);
    if (h.result.nitems == 0 && h.stored.head.data == NULL) {
        if (h.tombstone.nerasures > 0)
            fprintf(stderr, "consentctl: %s was erased by %s (%ld erasure(s))\n", id,
                    h.tombstone.erasures[0].by, h.tombstone.count);
        else
            fprintf(stderr, "consentctl: nothing is stored for %s\n", id);
        history_free(&h);
        return CTL_NOT_FOUND;
    }
    if (!verify_passed(&h.result))
        rc = CTL_VERIFY;
    out = export_kantara == 1 ? history_kantara(&h, &c->keys) : history_json(&h, clock_wall_ms(), 1);
    if (c->json || export_kantara >= 0) {
        print_json(out);
    } else {
        printf("consent ID %s: %zu receipt(s), %s\n", id, h.result.nitems,
               rc == CTL_OK ? "all verified" : "VERIFICATION FAILED");
        print_findings(&h.result);
        print_table(out);
    }
    cJSON_Delete(out);
    history_free(&h);
    return rc;
}

static int cmd_receipt(struct ctl *c, const char *rid)
{
    struct history h;
    cJSON *r = NULL;
    int st, rc;

    if (!receipt_valid_uuid(rid)) {
        fprintf(stderr, "consentctl: %s is not a receipt ID (UUID v4)\n", rid);
        return CTL_USAGE;
    }
    st = history_receipt(&c->store, &c->keys, rid, &h, &r);
    audit(c, "receipt", rid, st == STORE_OK ? 200 : st == STORE_NOT_FOUND ? 404 : 503);
    if (st != STORE_OK) {
        if (st == STORE_NOT_FOUND)
            fprintf(stderr, "consentctl: no stored receipt %s\n", rid);
        return store_exit(st);
    }
    rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "signature_valid")) &&
         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "chain_valid")) ? 0 : CTL_VERIFY;
    if (c->json) {
        print_json(r);
    } else {
        cJSON *t = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(t, "receipts");

        cJSON_AddItemReferenceToArray(arr, r);
        print_table(t);
        cJSON_Delete(t);
    }
    cJSON_Delete(r);
    history_free(&h);
    return rc;
}

static int cmd_erase(struct ctl *c, const char *id)
{
    char who[96];
    cJSON *out = NULL;
    int st;

    if (!receipt_valid_consent_id(id)) {
        fprintf(stderr, "consentctl: %s is not a well-formed consent ID\n", id);
        return CTL_USAGE;
    }
    cli_who(who, sizeof(who));
    st = history_erase(&c->store, id, who, clock_wall_ms(), &out);
    audit(c, "erase", id, st == STORE_OK ? 200 : st == STORE_TIMEOUT ? 202 : 503);
    if (st != STORE_OK && st != STORE_TIMEOUT)
        return store_exit(st);
    if (c->json)
        print_json(out);
    else
        printf("erased %s: %d receipt(s); tombstone kept; %s\n", id,
               (int)cJSON_GetObjectItemCaseSensitive(out, "receipts_erased")->valuedouble,
               st == STORE_OK ? "no copy left in Redis's data files"
                              : "Redis had not finished rewriting its data files yet");
    cJSON_Delete(out);
    return CTL_OK;
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

/* The key set verification uses: a JWKS file (every key in it), or the
 * configured signing key and retired keys. */
static int verify_keys(struct ctl *c)
{
    if (c->jwks == NULL)
        return load(c, 0);
    if (jws_keyset_load(&c->keys, NULL, c->jwks) != JWS_OK || c->keys.nkeys == 0) {
        fprintf(stderr, "consentctl: %s: not a JWKS with Ed25519 keys\n", c->jwks);
        return CTL_USAGE;
    }
    return CTL_OK;
}

static void print_items(const struct verify_result *r)
{
    for (size_t i = 0; i < r->nitems; i++) {
        const struct verify_item *it = &r->items[i];
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(it->parsed, "receipt_id");

        printf("receipt seq %u (%s): %s\n", it->seq,
               cJSON_IsString(rid) ? rid->valuestring : "-",
               it->verdict == VERIFY_OK ? "signature valid, chained"
                                        : verify_verdict_name(it->verdict));
    }
}

/* A bare JWS: one receipt, held to the rule of every signed receipt
 * (verify_receipt_jws), as an export's items are. */
static int verify_bare(struct ctl *c, char *text)
{
    struct verify_item it;
    char *nl = strpbrk(text, "\r\n");
    int verdict;

    if (nl != NULL)
        *nl = '\0';
    verdict = verify_receipt_jws(text, &c->keys, &it);
    verify_item_free(&it);
    printf("%s\n", verdict == VERIFY_OK ? "signature valid" : verify_verdict_name(verdict));
    return verdict == VERIFY_OK ? 0 : CTL_VERIFY;
}

static int cmd_verify(struct ctl *c, const char *path)
{
    struct verify_result r;
    size_t len = 0;
    char *text;
    cJSON *root;
    int rc;

    if (verify_keys(c) != CTL_OK)
        return CTL_USAGE;
    text = read_all(path, &len);
    if (text == NULL) {
        fprintf(stderr, "consentctl: cannot read %s\n", path);
        return CTL_USAGE;
    }
    root = cJSON_ParseWithLength(text, len);
    if (root == NULL) {
        rc = verify_bare(c, text);
        free(text);
        return rc;
    }
    free(text);
    rc = verify_export(root, &c->keys, &r);
    cJSON_Delete(root);
    print_items(&r);
    print_findings(&r);
    printf("%zu receipt(s): %s\n", r.nitems,
           rc == VERIFY_PASSED ? "all verified" : "VERIFICATION FAILED");
    verify_result_free(&r);
    return rc == VERIFY_PASSED ? CTL_OK : CTL_VERIFY;
}

/* A visitor-held receipt against the store: still there, unchanged, and
 * whether newer receipts follow it (or the store was rolled back past it). */
static int cmd_verify_receipt(struct ctl *c, const char *jws)
{
    struct history h;
    struct verify_item it;
    char id[CONSENT_ID_LEN + 1] = "";
    int st, rc;

    st = verify_receipt_jws(jws, &c->keys, &it);
    snprintf(id, sizeof(id), "%s", jcheck_get_string(it.parsed, "consent_id", ""));
    verify_item_free(&it);
    if (st != VERIFY_OK) {
        printf("the receipt itself does not verify: %s\n", verify_verdict_name(st));
        return CTL_VERIFY;
    }
    if (!receipt_valid_consent_id(id)) {
        printf("the receipt names no consent ID\n");
        return CTL_VERIFY;
    }
    st = history_load(&c->store, &c->keys, id, jws, &h);
    if (st != STORE_OK)
        return store_exit(st);
    audit(c, "verify", id, 200);
    printf("consent ID %s: the store has %u receipt(s); the visitor's is seq %u\n", id,
           h.result.has_head ? h.result.head.count : 0, h.result.visitor_seq);
    print_findings(&h.result);
    if (h.result.findings & VERIFY_F_ROLLED_BACK)
        printf("ROLLED BACK: the store lacks this receipt or has an older head\n");
    else if (h.result.findings & VERIFY_F_VISITOR_MISMATCH)
        printf("CHANGED: the store holds a different receipt at this position\n");
    else if (h.result.findings & VERIFY_F_NEWER_FOLLOWS)
        printf("the store still has this receipt; newer receipts follow it\n");
    else
        printf("the store still has this receipt; it is the newest\n");
    rc = verify_passed(&h.result) ? 0 : CTL_VERIFY;
    history_free(&h);
    return rc;
}

/* Format v1 histories to v2; the original receipts are appended to the
 * archive file first (never truncated), so nothing is lost. */
static int cmd_migrate(struct ctl *c)
{
    struct migrate_counts counts;
    FILE *archive = fopen(c->archive, "a");
    int st;

    if (archive == NULL) {
        fprintf(stderr, "consentctl: cannot open %s for appending\n", c->archive);
        return CTL_USAGE;
    }
    st = migrate_run(&c->store, &c->cfg, &c->keys, archive, stdout, c->dry_run, &counts);
    if (fclose(archive) != 0 && st == STORE_OK)
        st = STORE_ERROR;
    audit(c, "migrate", "-", st == STORE_OK ? 200 : 503);
    printf("%ld histor%s (%ld receipts) %s, %ld failed verification and were left as they were\n",
           counts.migrated, counts.migrated == 1 ? "y" : "ies", counts.receipts,
           c->dry_run ? "verified" : "migrated", counts.failed);
    if (st != STORE_OK)
        return store_exit(st);
    return counts.failed > 0 ? CTL_VERIFY : 0;
}

/* One rate as "0.750 [0.409-0.929]", or "-" without trials. */
static void rate_text(const cJSON *row, const char *name, char *out, size_t len)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(row, name);

    if (!cJSON_IsObject(r)) {
        snprintf(out, len, "-");
        return;
    }
    snprintf(out, len, "%.3f [%.3f-%.3f]",
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "rate")),
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "low")),
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "high")));
}

static double field(const cJSON *o, const char *name)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static void table_row(const cJSON *row, int category)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(row, "answers");
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "key"));
    char r1[40], r2[40];

    if (category) {
        rate_text(row, "on_rate", r1, sizeof(r1));
        printf("%-20s %8.0f %8.0f  %s\n", key, field(row, "on"), field(row, "off"), r1);
        return;
    }
    rate_text(row, "answer_rate", r1, sizeof(r1));
    rate_text(row, "accept_rate", r2, sizeof(r2));
    printf("%-20s %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f  %-22s %s\n", key,
           field(row, "shown"), field(row, "answered"), field(row, "ignored"),
           field(a, "accept_all"), field(a, "reject_all"), field(a, "custom"),
           field(a, "withdraw"), field(a, "gpc"), field(row, "settings"), r1, r2);
}

/* The experiment's lines: each variant against the first one. */
static void print_experiment(const cJSON *report)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(report, "experiment"), *row;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(exp, "variants")) {
        const cJSON *ar = cJSON_GetObjectItemCaseSensitive(row, "answer_rate");
        const cJSON *cr = cJSON_GetObjectItemCaseSensitive(row, "accept_rate");

        printf("%s vs %s: answer rate %+.3f (p=%.4f%s), accept rate %+.3f (p=%.4f%s)\n",
               jstr(row, "key"), jstr(exp, "baseline"),
               field(ar, "difference"), field(ar, "p"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ar, "significant"))
                   ? ", significant" : "",
               field(cr, "difference"), field(cr, "p"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cr, "significant"))
                   ? ", significant" : "");
    }
}

/* The report as a table: a row per key, the total, the experiment. */
static void print_stats_table(const cJSON *report, const char *site_id, enum stats_by by)
{
    int category = by == STATS_BY_CATEGORY;
    const cJSON *row;

    printf("%s, %s to %s (UTC), by %s\n", site_id, jstr(report, "from"), jstr(report, "to"),
           stats_by_name(by));
    if (category)
        printf("%-20s %8s %8s  %s\n", "category", "on", "off", "on rate [95%]");
    else
        printf("%-20s %7s %7s %7s %7s %7s %7s %7s %7s %7s  %-22s %s\n", stats_by_name(by),
               "shown", "answer", "ignored", "accept", "reject", "custom", "withdr",
               "gpc", "settngs", "answer rate [95%]", "accept rate [95%]");
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(report, "rows"))
        table_row(row, category);
    if (!category)
        table_row(cJSON_GetObjectItemCaseSensitive(report, "total"), 0);
    print_experiment(report);
}

/* The analytics report of a site, as GET /consent/v1/admin/stats gives it
 * (stats.h): the same range rule, grouping and rates. */
static int cmd_stats(struct ctl *c, const char *site_id)
{
    struct store_stat *rows = NULL;
    enum stats_by by = STATS_BY_DAY;
    cJSON *report;
    size_t n = 0;
    long from, to;
    int st;

    const struct config_site *site = config_site_find(&c->cfg, site_id);

    if (site == NULL) {
        fprintf(stderr, "consentctl: no site \"%s\" in the configuration\n", site_id);
        return CTL_NOT_FOUND;
    }
    if (c->by != NULL && stats_by_parse(c->by, &by) != STATS_OK) {
        fprintf(stderr, "consentctl: --by must be one of day, region, regime, version, "
                "variant, category, device, language\n");
        return CTL_USAGE;
    }
    st = stats_range((long)(clock_wall_ms() / 86400000), c->cfg.stats_retention_days, c->from,
                     c->to, &from, &to);
    if (st != STATS_OK) {
        fprintf(stderr, "consentctl: %s\n", stats_strerror(st));
        return CTL_USAGE;
    }
    st = store_stats_read(&c->store, site_id, from, to, &rows, &n);
    audit(c, "stats", site_id, st == STORE_OK ? 200 : 503);
    if (st != STORE_OK)
        return store_exit(st);
    report = stats_report(site_id, from, to, by,
                          site->nvariants > 0 ? site->variants[0].id : NULL, rows, n);
    store_stats_free(rows, n);
    if (report == NULL)
        return store_exit(STORE_ERROR);
    if (c->json) {
        print_json(report);
    } else if (c->csv) {
        char *csv = stats_csv(report);

        if (csv != NULL)
            fputs(csv, stdout);
        free(csv);
    } else {
        print_stats_table(report, site_id, by);
    }
    cJSON_Delete(report);
    return CTL_OK;
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
        return CTL_USAGE;
    }
    randombytes_buf(raw, sizeof(raw));
    memcpy(token, "cst_", 4);
    sodium_bin2base64(token + 4, sizeof(token) - 4, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "name", name);
    roles = cJSON_AddArrayToObject(line, "roles");
    for (int k = 0; k < CONFIG_ROLE_COUNT; k++)
        if (c->roles & (1u << k))
            cJSON_AddItemToArray(roles, cJSON_CreateString(
                config_role_name((enum config_role)(1u << k))));
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
    return CTL_OK;
}

/* The sub-section's presence and GPC under the reference library's names. */
static void gpp_sub_json(cJSON *o, const struct gpp_section *s)
{
    switch (gpp_section_sub(s->id)) {
    case GPP_SUB_GPC:
        cJSON_AddBoolToObject(o, "GpcSegmentIncluded", s->sub);
        cJSON_AddBoolToObject(o, "Gpc", s->gpc);
        break;
    case GPP_SUB_SENSITIVE:
        cJSON_AddBoolToObject(o, "SensitiveDataConsentSegmentIncluded", s->sub);
        break;
    case GPP_SUB_NONE:
        break;
    }
}

/*
 * consentctl gpp decode STRING: every field of every section, under the
 * IAB's field names (--json: the same as one object per section, as the
 * reference library's toObject() names them). A string the decoder refuses
 * is a usage error (exit 2) with the decoder's reason.
 */
static int cmd_gpp_decode(const struct ctl *c, const char *str)
{
    struct gpp_string g;
    char err[256];
    cJSON *root, *ids, *secs;
    int st;

    st = gpp_decode(str, strlen(str), &g, err, sizeof(err));
    if (st != GPP_OK) {
        fprintf(stderr, "consentctl: not a valid GPP string: %s (%s)\n", err, gpp_strerror(st));
        return CTL_USAGE;
    }
    root = cJSON_CreateObject();
    ids = cJSON_AddArrayToObject(root, "sectionIds");
    secs = cJSON_AddObjectToObject(root, "sections");
    if (!c->json)
        printf("GPP header: type %d, version %d, %zu section%s\n", GPP_HEADER_TYPE,
               GPP_HEADER_VERSION, g.nsections, g.nsections == 1 ? "" : "s");
    for (size_t i = 0; i < g.nsections; i++) {
        const struct gpp_section *s = &g.sections[i];
        cJSON *o = cJSON_AddObjectToObject(secs, gpp_section_name(s->id));

        cJSON_AddItemToArray(ids, cJSON_CreateNumber(s->id));
        decision_gpp_fields_json(o, s, 0);
        gpp_sub_json(o, s);
        if (c->json)
            continue;
        printf("\n%s (section %d)\n", gpp_section_name(s->id), (int)s->id);
        for (const cJSON *it = o->child; it; it = it->next) {
            printf("  %-38s", it->string);
            if (cJSON_IsArray(it))
                for (const cJSON *e = it->child; e; e = e->next)
                    printf(" %d", e->valueint);
            else if (cJSON_IsBool(it))
                printf(" %s", cJSON_IsTrue(it) ? "true" : "false");
            else
                printf(" %d", it->valueint);
            printf("\n");
        }
    }
    if (c->json)
        print_json(root);
    cJSON_Delete(root);
    return CTL_OK;
}

/* One section of `gpp encode`'s input into s: IAB field names as `gpp
 * decode --json` prints them; fields left out keep the defaults. CTL_OK,
 * or CTL_USAGE with the reason in err. */
static int gpp_section_from_json(const cJSON *o, int id, struct gpp_section *s, char *err,
                                 size_t errlen)
{
    const char *name = gpp_section_name(id);

    gpp_section_init(s, id);
    if (!cJSON_IsObject(o))
        return snprintf(err, errlen, "%s: expected an object", name), CTL_USAGE;
    for (const cJSON *it = o->child; it; it = it->next) {
        size_t nf;
        const struct gpp_field_desc *f = gpp_section_fields(id, &nf), *fd = NULL;
        enum gpp_sub sub = gpp_section_sub(id);

        if ((sub == GPP_SUB_GPC && strcmp(it->string, "GpcSegmentIncluded") == 0) ||
            (sub == GPP_SUB_SENSITIVE &&
             strcmp(it->string, "SensitiveDataConsentSegmentIncluded") == 0) ||
            (sub == GPP_SUB_GPC && strcmp(it->string, "Gpc") == 0)) {
            if (!cJSON_IsBool(it))
                return snprintf(err, errlen, "%s.%s: expected true or false", name,
                                it->string), CTL_USAGE;
            if (strcmp(it->string, "Gpc") == 0)
                s->gpc = cJSON_IsTrue(it);
            else
                s->sub = cJSON_IsTrue(it);
            continue;
        }
        for (size_t r = 0; r < nf && !fd; r++)
            if (strcmp(f[r].name, it->string) == 0)
                fd = &f[r];
        if (!fd)
            return snprintf(err, errlen, "%s: no field %s in this section", name,
                            it->string), CTL_USAGE;
        if (fd->list) {
            int n = cJSON_GetArraySize(it), k = 0;

            if (!cJSON_IsArray(it) || n != fd->count)
                return snprintf(err, errlen, "%s.%s: expected an array of %u values", name,
                                fd->name, fd->count), CTL_USAGE;
            for (const cJSON *e = it->child; e; e = e->next, k++) {
                if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int)e->valuedouble ||
                    e->valueint < 0 || e->valueint > 255)
                    return snprintf(err, errlen, "%s.%s[%d]: expected an integer", name,
                                    fd->name, k), CTL_USAGE;
                s->v[fd->field][k] = (unsigned char)e->valueint;
            }
        } else {
            if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble ||
                it->valueint < 0 || it->valueint > 255)
                return snprintf(err, errlen, "%s.%s: expected an integer", name, fd->name), CTL_USAGE;
            s->v[fd->field][0] = (unsigned char)it->valueint;
        }
    }
    return CTL_OK;
}

/* sectionIds, when given, name g's sections in order. */
static int gpp_ids_match(const cJSON *ids, const struct gpp_string *g)
{
    size_t k = 0;
    int ok;

    if (ids == NULL)
        return 1;
    ok = cJSON_IsArray(ids) && (size_t)cJSON_GetArraySize(ids) == g->nsections;
    for (const cJSON *e = ok ? ids->child : NULL; e; e = e->next, k++)
        ok = ok && cJSON_IsNumber(e) && e->valuedouble == (double)g->sections[k].id;
    return ok;
}

/*
 * consentctl gpp encode JSON|-: the GPP string of {"sections": {"usca":
 * {...}, ...}} as `gpp decode --json` prints it (sectionIds, if given, must
 * name the same sections). Sections are written in ID order; fields left
 * out have the reference library's defaults. Bad input: exit 2.
 */
static int cmd_gpp_encode(const char *arg)
{
    struct gpp_string g;
    char err[256], out[GPP_MAX_STRING + 1];
    char *text = NULL;
    size_t len;
    cJSON *root = NULL;
    const cJSON *secs;
    int rc = CTL_USAGE;

    memset(&g, 0, sizeof(g));
    if (strcmp(arg, "-") == 0) {
        text = read_all("-", &len);
        if (text == NULL) {
            fprintf(stderr, "consentctl: cannot read standard input\n");
            return CTL_USAGE;
        }
        arg = text;
    }
    len = strlen(arg);
    root = cJSON_ParseWithLengthOpts(arg, len, NULL, 0);
    secs = cJSON_GetObjectItemCaseSensitive(root, "sections");
    if (!cJSON_IsObject(root) || !cJSON_IsObject(secs)) {
        fprintf(stderr, "consentctl: gpp encode: expected {\"sections\": {\"usca\": {...}}}\n");
        goto cleanup;
    }
    for (int id = GPP_SID_MIN; id <= GPP_SID_MAX; id++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(secs, gpp_section_name(id));

        if (o && gpp_section_from_json(o, id, &g.sections[g.nsections++], err,
                                       sizeof(err)) != CTL_OK) {
            fprintf(stderr, "consentctl: gpp encode: %s\n", err);
            goto cleanup;
        }
    }
    for (const cJSON *it = secs->child; it; it = it->next)
        if (gpp_section_id(it->string) < 0) {
            fprintf(stderr, "consentctl: gpp encode: unknown section \"%s\"\n", it->string);
            goto cleanup;
        }
    if (!gpp_ids_match(cJSON_GetObjectItemCaseSensitive(root, "sectionIds"), &g)) {
        fprintf(stderr, "consentctl: gpp encode: sectionIds do not name the sections\n");
        goto cleanup;
    }
    if (gpp_check(&g, err, sizeof(err)) != GPP_OK || gpp_encode(&g, out, sizeof(out)) != GPP_OK) {
        fprintf(stderr, "consentctl: gpp encode: %s\n", err);
        goto cleanup;
    }
    printf("%s\n", out);
    rc = 0;
cleanup:
    cJSON_Delete(root);
    free(text);
    return rc;
}

/* Where an option with a value (-c FILE, --from DAY, ...) puts it, or NULL
 * when opt is no such option. */
static const char **value_option(struct ctl *c, const char *opt)
{
    const struct {
        const char *name;
        const char **to;
    } t[] = {{"-c", &c->config_path}, {"--format", &c->format}, {"--jwks", &c->jwks},
             {"--receipt", &c->receipt}, {"--archive", &c->archive}, {"--from", &c->from},
             {"--to", &c->to}, {"--by", &c->by}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(opt, t[i].name) == 0)
            return t[i].to;
    return NULL;
}

/* Where a flag (--json, --csv, --dry-run) is set, or NULL. */
static int *flag_option(struct ctl *c, const char *opt)
{
    return strcmp(opt, "--json") == 0 ? &c->json : strcmp(opt, "--csv") == 0 ? &c->csv
         : strcmp(opt, "--dry-run") == 0 ? &c->dry_run : NULL;
}

/* The commands that need the configuration and Redis, after load(). */
static int run_with_store(struct ctl *c, const char *const *args, int nargs)
{
    int rc = load(c, 1);

    if (rc != CTL_OK)
        return rc;
    if (nargs == 1 && strcmp(args[0], "migrate") == 0)
        return cmd_migrate(c);
    if (nargs == 1 && strcmp(args[0], "verify") == 0)
        return cmd_verify_receipt(c, c->receipt);
    if (strcmp(args[0], "stats") == 0)
        return cmd_stats(c, args[1]);
    if (strcmp(args[0], "lookup") == 0)
        return cmd_lookup(c, args[1], -1);
    if (strcmp(args[0], "export") == 0)
        return cmd_lookup(c, args[1], c->format != NULL && strcmp(c->format, "kantara") == 0);
    if (strcmp(args[0], "receipt") == 0)
        return cmd_receipt(c, args[1]);
    return cmd_erase(c, args[1]);
}

/* Closes what load() opened and wipes the keys. Safe on a zeroed ctl. */
static void ctl_close(struct ctl *c)
{
    store_close(&c->store);
    jws_keyset_wipe(&c->keys);
    sodium_memzero(c->cookie_key, sizeof(c->cookie_key));
    if (c->loaded)
        config_free(&c->cfg);
}

/* Runs the command args names (after the options), or answers usage. */
static int dispatch(struct ctl *c, const char *const *args, int nargs)
{
    if (nargs == 3 && strcmp(args[0], "token") == 0 && strcmp(args[1], "new") == 0)
        return cmd_token(c, args[2]);
    if (nargs == 3 && strcmp(args[0], "gpp") == 0 && strcmp(args[1], "decode") == 0)
        return cmd_gpp_decode(c, args[2]);
    if (nargs == 3 && strcmp(args[0], "gpp") == 0 && strcmp(args[1], "encode") == 0)
        return cmd_gpp_encode(args[2]);
    if (nargs == 2 && strcmp(args[0], "verify") == 0 && c->receipt == NULL)
        return cmd_verify(c, args[1]);
    if ((nargs == 1 && strcmp(args[0], "migrate") == 0 && c->archive != NULL) ||
        (nargs == 1 && strcmp(args[0], "verify") == 0 && c->receipt != NULL) ||
        (nargs == 2 && strcmp(args[0], "stats") == 0))
        return run_with_store(c, args, nargs);
    if (nargs != 2 || (strcmp(args[0], "lookup") != 0 && strcmp(args[0], "receipt") != 0 &&
                       strcmp(args[0], "export") != 0 && strcmp(args[0], "erase") != 0) ||
        (strcmp(args[0], "export") == 0 && c->format != NULL &&
         strcmp(c->format, "kantara") != 0 && strcmp(c->format, "native") != 0)) {
        usage(stderr);
        return CTL_USAGE;
    }
    return run_with_store(c, args, nargs);
}

int main(int argc, char **argv)
{
    struct ctl c;
    const char *args[4], **value;
    int nargs = 0, rc, *flag;

    memset(&c, 0, sizeof(c));
    c.config_path = getenv("CONSENTD_CONFIG") != NULL ? getenv("CONSENTD_CONFIG") : DEFAULT_CONFIG;
    for (int i = 1; i < argc; i++) {
        /* Consent IDs are base64url and may start with '-': after the
         * command word, anything that is not one of our options is an
         * argument; "--" ends the options. */
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc && nargs < 4)
                args[nargs++] = argv[i];
            if (i < argc) {
                usage(stderr);
                return CTL_USAGE;
            }
            break;
        }
        if ((value = value_option(&c, argv[i])) != NULL && i + 1 < argc) {
            *value = argv[++i];
        } else if ((flag = flag_option(&c, argv[i])) != NULL) {
            *flag = 1;
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            enum config_role role;

            if (config_role_parse(argv[++i], &role) != CONFIG_OK) {
                usage(stderr);
                return CTL_USAGE;
            }
            c.roles |= (unsigned)role;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CTL_OK;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0' && nargs == 0) {
            usage(stderr);
            return CTL_USAGE;
        } else if (nargs < 4) {
            args[nargs++] = argv[i];
        } else {
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (sodium_init() < 0)
        return CTL_USAGE;
    rc = dispatch(&c, args, nargs);
    ctl_close(&c);
    return rc;
}
