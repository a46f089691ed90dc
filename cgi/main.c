/*
 * main.c - consentd: start-up, the worker threads, the access log, reload
 * and shutdown.
 *
 * Threading follows what was measured on these machines (see the README's
 * THREAD SAFETY section):
 * - no mutex around FCGX_Accept_r: accept() is thread-safe, and a lock held
 *   by a thread that then blocks on its kept-alive connection stalls all the
 *   others;
 * - libfcgi serves one connection per thread, so a kept-alive idle
 *   connection pins its thread: the default worker count leaves room for
 *   nginx's keepalive cache plus the concurrent requests;
 * - libfcgi's own SIGTERM handler only sets a flag, so the signals are
 *   blocked in every thread and the main thread takes them with sigwait().
 *
 * Reload (SIGHUP): configuration, rules, GeoIP database and key are loaded
 * into a new struct app while the old one keeps serving. Only a complete,
 * valid new state is published (one atomic pointer swap); the old one is
 * freed once every worker that was busy at the swap has finished that
 * request, so no request ever sees a half-loaded or freed state.
 */
#include "app.h"
#include "decision.h"
#include "router.h"
#include "../common/clock.h"

#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONSENTD_VERSION "0.1.0"
#define LISTEN_BACKLOG 1024
#define SHUTDOWN_GRACE_MS 10000

/* One per worker: whether it is inside a request, and how many it ended. */
struct worker_slot {
    atomic_int busy;
    atomic_ulong done;
};

static _Atomic(struct app *) current;
static const char *config_path;
static int listen_fd = -1;
static atomic_int stopping;
static atomic_int active;
/* Worker state lives as long as the process: idle threads may still hold it
 * when main() exits after a drain. */
static struct worker *workers;
static struct worker_slot *slots;
static pthread_t *threads;
static int nworkers;
/* The verified heads of returning visitors and the watcher that drops the
 * ones that change (headcache.h, watch.h): one per process, shared by the
 * workers; set up at start like the workers' stores (head_cache and redis
 * take effect on restart). */
static struct headcache heads;
static struct watch *watcher;

/*
 * The analytics flusher: one thread that, every stats.flush_ms, drains
 * every worker's counts (tally.h; only a pointer swap under the worker's
 * own lock) and adds them to Redis over its own connection. Workers never
 * wait for it, and a decision never waits for Redis because of analytics.
 * Counts Redis did not take stay pending for the next flush; at shutdown,
 * after the drain, one last flush sends what is left. A crash loses at most
 * the counts of one flush interval (plus any Redis refused meanwhile).
 */
static pthread_t flusher;
static int flusher_started;
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cond = PTHREAD_COND_INITIALIZER;
static int flush_stop;
static struct store flush_store;
static struct tally_table *pending;
static struct metrics flusher_metrics;  /* written by the flusher thread only */
/* Published by the main thread with every state it loads: the flusher
 * never reads a struct app, which a reload may free. */
static atomic_int stats_flush_ms = CONSENT_DEFAULT_STATS_FLUSH_MS;
static atomic_int stats_retention_days = CONSENT_DEFAULT_STATS_DAYS;

/* CONSENTD_TEST_CLOCK names a file holding epoch seconds that replaces the
 * wall clock, re-read on every call, so tests can move time without sleeping
 * (expiry, re-ask periods). Unset in production. */
static const char *test_clock;

int64_t app_now_ms(void)
{
    if (test_clock != NULL) {
        FILE *f = fopen(test_clock, "r");
        long long secs = 0;

        if (f != NULL) {
            if (fscanf(f, "%lld", &secs) != 1)
                secs = 0;
            fclose(f);
        }
        if (secs > 0)
            return (int64_t)secs * 1000;
    }
    return clock_wall_ms();
}

/* One JSON line, one write(2), so lines of different threads never mix. */
static void log_line(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    size_t n;

    if (s == NULL)
        return;
    n = strlen(s);
    s[n] = '\n';
    if (write(STDERR_FILENO, s, n + 1) < 0) {
        /* nothing sensible to do: the log itself is gone */
    }
    cJSON_free(s);
}

static void log_message(const char *level, const char *msg, const char *detail)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "time", (double)time(NULL));
    cJSON_AddStringToObject(o, "level", level);
    cJSON_AddStringToObject(o, "msg", msg);
    if (detail != NULL)
        cJSON_AddStringToObject(o, "detail", detail);
    log_line(o);
    cJSON_Delete(o);
}

#define ADMIN_PREFIX "/consent/v1/admin/"

/* Whether a request is on the support API, as the router sees paths. */
static int admin_path(const char *path)
{
    return strncmp(path, ADMIN_PREFIX, sizeof(ADMIN_PREFIX) - 1) == 0;
}

/*
 * The path as the access log shows it. Consent and receipt IDs in support
 * API paths are replaced by ":id": the log is kept apart from Redis, so an
 * ID in it would outlive the erasure of that consent ID. Case is ignored
 * (a wrong-case path is a 404 whose ID is just as real), and an unknown
 * path under the support API is not shown at all.
 */
static const char *log_path(const char *path, char *buf, size_t len)
{
    static const char *const with_id[] = {"consents/", "receipts/"};
    const char *rest = path + sizeof(ADMIN_PREFIX) - 1;

    if (strncasecmp(path, ADMIN_PREFIX, sizeof(ADMIN_PREFIX) - 1) != 0 ||
        strcmp(rest, "audit") == 0 || strcmp(rest, "stats") == 0)
        return path;
    for (size_t i = 0; i < sizeof(with_id) / sizeof(with_id[0]); i++)
        if (strncasecmp(rest, with_id[i], strlen(with_id[i])) == 0) {
            snprintf(buf, len, "%s%s:id", ADMIN_PREFIX, with_id[i]);
            return buf;
        }
    snprintf(buf, len, "%s:other", ADMIN_PREFIX);
    return buf;
}

static void log_request(const struct app *a, const struct request *req,
                        const struct response *res, const struct request_log *rl,
                        int64_t us)
{
    char addr[64], path[64];
    cJSON *o;

    if (!a->cfg.access_log && res->status < 500)
        return;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "time", (double)time(NULL));
    cJSON_AddStringToObject(o, "method", req->method_name);
    cJSON_AddStringToObject(o, "path", log_path(req->path, path, sizeof(path)));
    cJSON_AddNumberToObject(o, "status", res->status);
    cJSON_AddNumberToObject(o, "us", (double)us);
    request_truncate_address(req->remote_addr, addr, sizeof(addr));
    cJSON_AddStringToObject(o, "client", addr);
    if (rl->regime != NULL)
        cJSON_AddStringToObject(o, "regime", rl->regime);
    cJSON_AddBoolToObject(o, "gpc", rl->gpc);
    if (res->error_code != NULL)
        cJSON_AddStringToObject(o, "error", res->error_code);
    log_line(o);
    cJSON_Delete(o);
}

char *app_metrics_text(void)
{
    const struct metrics *all[CONSENT_MAX_WORKERS + 1];
    const char *const *names;
    size_t nroutes = router_route_names(&names);

    for (int i = 0; i < nworkers; i++)
        all[i] = &workers[i].metrics;
    all[nworkers] = &flusher_metrics;
    return metrics_render(all, (size_t)nworkers + 1, names, nroutes);
}

/* One flush: drain every worker, send the pending counts. Flusher thread
 * (or main, once the flusher has ended). Returns the store's status. */
static int flush_once(void)
{
    unsigned long dropped = 0;
    int st;

    for (int i = 0; i < nworkers; i++) {
        tally_drain(&workers[i].tally, pending, &dropped);
        dropped += atomic_exchange(&workers[i].tally.dropped, 0);
    }
    st = tally_flush(pending, &flush_store,
                     (long)atomic_load(&stats_retention_days) * 86400, &dropped);
    if (st != STORE_OK)
        atomic_fetch_add_explicit(&flusher_metrics.stats_flush_failures, 1,
                                  memory_order_relaxed);
    if (dropped > 0)
        atomic_fetch_add_explicit(&flusher_metrics.stats_dropped, dropped,
                                  memory_order_relaxed);
    return st;
}

static void *flusher_main(void *arg)
{
    int failing = 0;

    (void)arg;
    pthread_mutex_lock(&flush_lock);
    while (!flush_stop) {
        struct timespec until;
        int ms = atomic_load(&stats_flush_ms), st;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (long)(ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!flush_stop &&
               pthread_cond_timedwait(&flush_cond, &flush_lock, &until) == 0)
            ;
        if (flush_stop)
            break;
        pthread_mutex_unlock(&flush_lock);
        st = flush_once();
        if (st != STORE_OK && !failing)
            log_message("warning", "analytics flush failed; counts kept for the next one",
                        flush_store.last_error[0] ? flush_store.last_error : store_strerror(st));
        failing = st != STORE_OK;
        pthread_mutex_lock(&flush_lock);
    }
    pthread_mutex_unlock(&flush_lock);
    return NULL;
}

/* Ends the flusher and sends what is left (at shutdown, after the drain). */
static void flusher_finish(void)
{
    char detail[96];

    if (!flusher_started)
        return;
    pthread_mutex_lock(&flush_lock);
    flush_stop = 1;
    pthread_cond_signal(&flush_cond);
    pthread_mutex_unlock(&flush_lock);
    pthread_join(flusher, NULL);
    if (flush_once() != STORE_OK) {
        snprintf(detail, sizeof(detail), "%zu counts not written",
                 tally_table_size(pending));
        log_message("error", "analytics: last flush failed", detail);
    }
}

/* The watcher's callbacks, on its thread. */
static void heads_changed(void *arg, const char *consent_id)
{
    headcache_drop(arg, consent_id);
}

static void heads_state(void *arg, int subscribed, const char *why)
{
    headcache_live(arg, subscribed);
    if (subscribed)
        log_message("info", "head cache on (subscribed to changes)", NULL);
    else if (why != NULL)
        log_message("warning", "head cache off until Redis is reachable again", why);
}

int app_head_cache(char *where, size_t len, unsigned long *hits, unsigned long *misses,
                   size_t *entries)
{
    *hits = atomic_load(&heads.hits);
    *misses = atomic_load(&heads.misses);
    *entries = headcache_count(&heads);
    where[0] = '\0';
    if (watcher == NULL)
        return -1;
    watch_where(watcher, where, len);
    return atomic_load(&heads.live) ? 1 : 0;
}

/* Reads the body into buf (CONSENT_MAX_BODY bytes): REQUEST_OK, or
 * REQUEST_BODY_TOO_LARGE / REQUEST_INCOMPLETE_BODY. */
static enum request_status read_body(FCGX_Request *fr, struct request *req, char *buf)
{
    int n;

    if (req->content_length <= 0)
        return REQUEST_OK;
    if (req->content_length > CONSENT_MAX_BODY)
        return REQUEST_BODY_TOO_LARGE;
    n = FCGX_GetStr(buf, (int)req->content_length, fr->in);
    if (n != req->content_length)
        return REQUEST_INCOMPLETE_BODY;
    req->body = buf;
    req->body_len = (size_t)n;
    return REQUEST_OK;
}

/* The JSON error of a request that request_parse or read_body refused. */
static void answer_bad_request(struct response *res, enum request_status st)
{
    static const struct {
        enum request_status st;
        int http;
        const char *code;
    } answers[] = {
        {REQUEST_HEADER_TOO_LARGE, 431, "header_too_large"},
        {REQUEST_PATH_TOO_LONG, 400, "path_too_long"},
        {REQUEST_QUERY_TOO_LONG, 400, "query_too_long"},
        {REQUEST_BAD_LENGTH, 400, "bad_content_length"},
        {REQUEST_BODY_TOO_LARGE, 413, "body_too_large"},
        {REQUEST_INCOMPLETE_BODY, 400, "incomplete_body"},
    };

    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
        if (answers[i].st == st) {
            response_error(res, answers[i].http, answers[i].code, request_strerror(st));
            return;
        }
    response_error(res, 500, "internal", request_strerror(st));
}

static void serve(FCGX_Request *fr, struct worker *w, char *body, char *outbuf)
{
    struct worker_slot *slot = &slots[w->id];
    struct request req;        /* about 12 KB: the parsed request */
    struct response res;
    struct request_log rl = {NULL, 0, -1};
    int64_t t0 = clock_mono_us();
    const struct app *a;
    enum request_status st;
    enum response_status rst;
    char *out;
    size_t len;

    /* busy before reading the state pointer: see reload() */
    atomic_store(&slot->busy, 1);
    a = atomic_load(&current);
    response_init(&res);
    st = request_parse(&req, (const char *const *)fr->envp, a->cookie_name);
    req.app = a;
    req.worker = w;
    if (st == REQUEST_OK)
        st = read_body(fr, &req, body);
    if (st != REQUEST_OK)
        answer_bad_request(&res, st);
    else
        router_dispatch(&req, &res, &rl);
    if ((rst = response_finish(&res)) != RESPONSE_OK)
        log_message("error", "response could not be built", response_strerror(rst));

    out = response_render(&res, req.method == METHOD_HEAD, outbuf, RESPONSE_BUFFER, &len);
    if (out != NULL) {
        FCGX_PutStr(out, (int)len, fr->out);
        if (out != outbuf)
            free(out);
    } else {
        static const char oom[] =
            "Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n"
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"try again\"}}";
        FCGX_PutStr(oom, (int)sizeof(oom) - 1, fr->out);
        res.status = 503;
    }
    if (req.gpc)
        atomic_fetch_add_explicit(&w->metrics.gpc_seen, 1, memory_order_relaxed);
    metrics_request(&w->metrics, rl.route, res.status, (long)(clock_mono_us() - t0));
    if (admin_path(req.path))
        metrics_admin_request(&w->metrics, res.status);
    log_request(a, &req, &res, &rl, clock_mono_us() - t0);
    response_cleanup(&res);
    atomic_fetch_add(&slot->done, 1);
    atomic_store(&slot->busy, 0);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    FCGX_Request fr;
    char *body = malloc(CONSENT_MAX_BODY + 1);
    char *outbuf = malloc(RESPONSE_BUFFER);

    if (body == NULL || outbuf == NULL || FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
        log_message("error", "worker cannot start", "out of memory");
        free(body);
        free(outbuf);
        return NULL;
    }
    while (!atomic_load(&stopping)) {
        if (FCGX_Accept_r(&fr) < 0)
            break;
        atomic_fetch_add(&active, 1);
        serve(&fr, w, body, outbuf);
        if (atomic_load(&stopping))
            fr.keepConnection = 0;
        FCGX_Finish_r(&fr);
        atomic_fetch_sub(&active, 1);
    }
    FCGX_Free(&fr, 1);
    free(body);
    free(outbuf);
    return NULL;
}

static void unload(struct app *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < CONSENT_MAX_SITES; i++)
        for (int m = 0; m < MODEL_COUNT; m++)
            for (int k = 0; k < 4; k++)
                cJSON_free(a->categories[i][m][k / 2][k % 2]);
    jws_keyset_wipe(&a->keys);
    sodium_memzero(a->cookie_key, sizeof(a->cookie_key));
    geo_close(&a->geo);
    rules_free(&a->rules);
    config_free(&a->cfg);
    free(a);
}

/* "GeoIP2-City" or, for a list, "city ipv4 + city ipv6": the files'
 * database types as their metadata names them. */
static void geo_types(const struct geo *g, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < g->nfiles && used < outlen; i++) {
        int n = snprintf(out + used, outlen - used, "%s%s", i > 0 ? " + " : "",
                         g->files[i].mmdb.metadata.database_type);

        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* The signing key, the retired public keys and the cookie secret. -1 with
 * the file and the reason in err. */
static int load_keys(struct app *a, char *err, size_t errlen)
{
    int st = jws_keyset_load(&a->keys, a->cfg.signing_key_path, NULL);

    if (st != JWS_OK) {
        snprintf(err, errlen, "%s: %s", a->cfg.signing_key_path, jws_strerror(st));
        return -1;
    }
    st = jws_keyset_load(&a->keys, a->cfg.signing_key_path, a->cfg.retired_keys_path);
    if (st != JWS_OK) {
        snprintf(err, errlen, "%s: %s", a->cfg.retired_keys_path, jws_strerror(st));
        return -1;
    }
    st = jws_secret_load(a->cfg.cookie_secret_path, a->cookie_key);
    if (st != JWS_OK) {
        snprintf(err, errlen, "%s: %s", a->cfg.cookie_secret_path, jws_strerror(st));
        return -1;
    }
    return 0;
}

/* The GeoIP files of the configuration. -1 with the reason in err. */
static int load_geo(struct app *a, const char *path, char *err, size_t errlen)
{
    char geo_err[GEO_MAX_ERROR];
    int st = geo_open(&a->geo, (const char *const *)a->cfg.geoip_paths,
                      a->cfg.ngeoip_paths, a->cfg.geoip_layout, a->cfg.geoip_coverage,
                      geo_err, sizeof(geo_err));

    if (st == GEO_OPEN_FAILED) {
        snprintf(err, errlen, "%s", geo_err);
        return -1;
    }
    if (st != GEO_OK) {
        /* the files open but do not split the families: the list is wrong */
        snprintf(err, errlen, "%s: $.geoip.database: %s", path, geo_err);
        return -1;
    }
    return 0;
}

/* Each site's decision categories for every model, GPC and binding,
 * printed once (struct app). -1 when out of memory. */
static int print_categories(struct app *a)
{
    for (size_t i = 0; i < a->cfg.nsites; i++)
        for (int m = 0; m < MODEL_COUNT; m++)
            for (int gpc = 0; gpc < 2; gpc++)
                for (int binding = 0; binding <= gpc; binding++) {
                    struct regime g = {.model = (enum consent_model)m,
                                       .gpc_binding = binding};
                    struct decision d;

                    decision_make(&a->cfg.sites[i], &g, gpc, 0, &d);
                    a->categories[i][m][gpc][binding] =
                        decision_categories_json(&a->cfg.sites[i], &d);
                    if (a->categories[i][m][gpc][binding] == NULL)
                        return -1;
                }
    return 0;
}

/* Loads everything into a new state. NULL with the reason in err. */
static struct app *load(const char *path, char *err, size_t errlen)
{
    struct app *a = calloc(1, sizeof(*a));
    char why[512];

    static uint64_t loads;

    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->generation = ++loads;        /* main thread only: start and SIGHUP */
    if (config_load(&a->cfg, path, why, sizeof(why)) != CONFIG_OK) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    if (rules_load(&a->rules, a->cfg.rules_path, why, sizeof(why)) != RULES_OK) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    if (load_geo(a, path, err, errlen) != 0 || load_keys(a, err, errlen) != 0)
        goto fail;
    snprintf(a->cookie_name, sizeof(a->cookie_name), "%s%s",
             a->cfg.cookie_secure ? "__Host-" : "", a->cfg.cookie_name);
    for (size_t i = 0; i < a->rules.nregimes; i++)
        a->rules.regimes[i].metric_slot = metrics_regime_slot(a->rules.regimes[i].id);
    if (print_categories(a) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return a;
fail:
    unload(a);
    return NULL;
}

/* SIGHUP: publish a new state if it loads; keep the old one otherwise. */
static void reload(void)
{
    char err[600], detail[700];
    struct app *fresh = load(config_path, err, sizeof(err)), *old;
    unsigned long seen[CONSENT_MAX_WORKERS];
    int64_t deadline;

    if (fresh == NULL) {
        snprintf(detail, sizeof(detail), "kept the running configuration: %s", err);
        log_message("error", "reload refused", detail);
        return;
    }
    old = atomic_load(&current);
    if (strcmp(fresh->cfg.listen, old->cfg.listen) != 0 ||
        fresh->cfg.workers != old->cfg.workers ||
        memcmp(&fresh->cfg.redis, &old->cfg.redis, sizeof(fresh->cfg.redis)) != 0 ||
        fresh->cfg.head_cache_entries != old->cfg.head_cache_entries ||
        fresh->cfg.head_cache_max_age_ms != old->cfg.head_cache_max_age_ms)
        log_message("warning", "reload: listen, workers, redis and head_cache take effect "
                    "on restart", NULL);
    atomic_store(&stats_flush_ms, fresh->cfg.stats_flush_ms);
    atomic_store(&stats_retention_days, fresh->cfg.stats_retention_days);
    old = atomic_exchange(&current, fresh);
    /* Grace period: a worker busy now may hold the old pointer until its
     * request ends; one that becomes busy later reads the new one. */
    for (int i = 0; i < nworkers; i++) {
        /* done before busy: a request that ends between the two reads has
         * already counted, so we never wait for one that never comes */
        unsigned long d = atomic_load(&slots[i].done);

        seen[i] = atomic_load(&slots[i].busy) ? d + 1 : 0;
    }
    deadline = clock_mono_us() + 60 * 1000000LL;
    for (int i = 0; i < nworkers; i++)
        while (seen[i] != 0 && atomic_load(&slots[i].done) < seen[i] &&
               clock_mono_us() < deadline)
            usleep(1000);
    unload(old);
    snprintf(detail, sizeof(detail), "%zu sites, rules %s, GeoIP built %llu",
             fresh->cfg.nsites, fresh->rules.version,
             (unsigned long long)fresh->geo.files[0].mmdb.metadata.build_epoch);
    log_message("info", "reloaded", detail);
}

/* The JWK of a signing key file, for the retired_keys JWKS of a rotation. */
static int print_public_key(const char *path)
{
    struct jws_key key;
    cJSON *jwk;
    char *text;
    int st;

    if (sodium_init() < 0)
        return 1;
    st = jws_key_load(&key, path);
    if (st != JWS_OK) {
        fprintf(stderr, "consentd: %s: %s\n", path, jws_strerror(st));
        return 1;
    }
    jwk = jws_public_jwk(key.pk, key.kid);
    text = cJSON_PrintUnformatted(jwk);
    printf("%s\n", text != NULL ? text : "");
    cJSON_free(text);
    cJSON_Delete(jwk);
    sodium_memzero(&key, sizeof(key));
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: consentd -c CONFIG       run the FastCGI service\n"
               "       consentd --check CONFIG  validate CONFIG and exit\n"
               "       consentd --credentials DIR ...  read /run/credentials/UNIT/NAME\n"
               "                                as DIR/NAME ($CREDENTIALS_DIRECTORY)\n"
               "       consentd --new-key FILE  create a signing key or cookie secret (mode 0600)\n"
               "       consentd --public-key FILE  print the JWK of a signing key (for retired_keys)\n"
               "       consentd --version\n");
}

/* The command line. -1 when consentd is to load config_path and run (or
 * only check it: *check_only); else the exit code of a command that is
 * done (--new-key, --public-key, --version, --help, or bad usage). */
static int parse_args(int argc, char **argv, int *check_only)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--check") == 0) &&
            i + 1 < argc) {
            *check_only = argv[i][1] == '-';
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--credentials") == 0 && i + 1 < argc) {
            /* config_load() reads it, on reload too. */
            if (setenv("CREDENTIALS_DIRECTORY", argv[++i], 1) != 0) {
                fprintf(stderr, "consentd: %s\n", strerror(errno));
                return 1;
            }
        } else if (strcmp(argv[i], "--new-key") == 0 && i + 1 < argc) {
            if (sodium_init() < 0 || jws_secret_create(argv[i + 1]) != 0) {
                fprintf(stderr, "consentd: %s: %s\n", argv[i + 1], strerror(errno));
                return 1;
            }
            return 0;
        } else if (strcmp(argv[i], "--public-key") == 0 && i + 1 < argc) {
            return print_public_key(argv[i + 1]);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("consentd %s\n", CONSENTD_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL) {
        usage(stderr);
        return 2;
    }
    return -1;
}

/* --check: what was loaded, on one line. */
static void print_check(const struct app *a)
{
    char types[256];

    geo_types(&a->geo, types, sizeof(types));
    printf("consentd: %s: configuration ok (%zu sites, %zu regimes, "
           "GeoIP %s, signing key %s)\n", config_path, a->cfg.nsites,
           a->rules.nregimes, types, a->keys.current.kid);
}

/* FastCGI and the listening socket. -1 when either fails (said on stderr). */
static int open_listener(const struct app *a)
{
    const char *listen_at = a->cfg.listen;

    if (FCGX_Init() != 0) {
        fprintf(stderr, "consentd: FCGX_Init failed\n");
        return -1;
    }
    if (strncmp(listen_at, "unix:", 5) == 0)
        listen_at += 5;
    listen_fd = FCGX_OpenSocket(listen_at, LISTEN_BACKLOG);
    if (listen_fd < 0) {
        fprintf(stderr, "consentd: cannot listen on %s: %s\n", a->cfg.listen,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* The head cache and its watcher, when configured. -1 when they cannot start. */
static int start_head_cache(const struct app *a)
{
    struct watch_options wo;
    int ok;

    if (a->cfg.head_cache_entries == 0)
        return 0;
    memset(&wo, 0, sizeof(wo));
    wo.store = a->cfg.redis;
    wo.on_changed = heads_changed;
    wo.on_state = heads_state;
    wo.arg = &heads;
    ok = headcache_init(&heads, a->cfg.head_cache_entries,
                        a->cfg.head_cache_max_age_ms) == HEADCACHE_OK &&
         watch_start(&watcher, &wo) == 0;
    sodium_memzero(&wo, sizeof(wo));
    return ok ? 0 : -1;
}

/* One worker's state and thread; exits the process when it cannot start. */
static void start_worker(const struct app *a, int i)
{
    int st;

    workers[i].id = i;
    workers[i].heads = watcher != NULL ? &heads : NULL;
    workers[i].watch = watcher;
    if (tally_init(&workers[i].tally) != 0) {
        fprintf(stderr, "consentd: out of memory\n");
        _exit(1);
    }
    st = store_open(&workers[i].store, &a->cfg.redis);
    if (!store_usable(st)) {
        fprintf(stderr, "consentd: cannot prepare the Redis store\n");
        _exit(1);
    }
    /* Not fatal: every worker keeps trying (THREAD SAFETY); said once,
     * before the thread that owns the store starts. */
    if (i == 0 && st != STORE_OK)
        log_message("warning", "redis unavailable at start", workers[0].store.last_error);
    if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
        fprintf(stderr, "consentd: cannot start worker %d\n", i);
        _exit(1);
    }
}

/* The head cache, the analytics flusher and the workers. -1 when the
 * process cannot start them (said on stderr). */
static int start_threads(const struct app *a)
{
    nworkers = a->cfg.workers;
    workers = calloc((size_t)nworkers, sizeof(*workers));
    slots = calloc((size_t)nworkers, sizeof(*slots));
    threads = calloc((size_t)nworkers, sizeof(*threads));
    if (workers == NULL || slots == NULL || threads == NULL) {
        fprintf(stderr, "consentd: out of memory\n");
        return -1;
    }
    if (start_head_cache(a) != 0) {
        fprintf(stderr, "consentd: cannot start the head cache\n");
        return -1;
    }
    atomic_store(&stats_flush_ms, a->cfg.stats_flush_ms);
    atomic_store(&stats_retention_days, a->cfg.stats_retention_days);
    pending = tally_table_new();
    if (pending == NULL || !store_usable(store_open(&flush_store, &a->cfg.redis))) {
        fprintf(stderr, "consentd: cannot prepare the analytics flusher\n");
        return -1;
    }
    for (int i = 0; i < nworkers; i++)
        start_worker(a, i);
    if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0) {
        fprintf(stderr, "consentd: cannot start the analytics flusher\n");
        _exit(1);
    }
    flusher_started = 1;
    return 0;
}

/* Serves until SIGTERM or SIGINT (returned); SIGHUP reloads. */
static int serve_until_stopped(const sigset_t *set)
{
    int sig;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            return sig;
        reload();
    }
}

/* Drain: stop accepting, let requests in flight finish, then flush the
 * analytics. Threads idle on a kept-alive connection hold no request; they
 * end with the process. */
static void drain(void)
{
    int64_t deadline = clock_mono_us() + (int64_t)SHUTDOWN_GRACE_MS * 1000;
    int quiet = 0;

    atomic_store(&stopping, 1);
    shutdown(listen_fd, SHUT_RDWR);
    while (clock_mono_us() < deadline && quiet < 2) {
        quiet = atomic_load(&active) == 0 ? quiet + 1 : 0;
        usleep(20000);
    }
    flusher_finish();
}

int main(int argc, char **argv)
{
    const char *env;
    int check_only = 0, sig, rc;
    struct app *a;
    char err[600], detail[256];
    sigset_t set;

    if ((rc = parse_args(argc, argv, &check_only)) >= 0)
        return rc;
    if (sodium_init() < 0) {
        fprintf(stderr, "consentd: libsodium cannot start\n");
        return 1;
    }
    env = getenv("CONSENTD_TEST_CLOCK");
    if (env != NULL && env[0] != '\0')
        test_clock = env;
    a = load(config_path, err, sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "consentd: %s\n", err);
        return 1;
    }
    if (check_only) {
        print_check(a);
        unload(a);
        return 0;
    }
    if (open_listener(a) != 0) {
        unload(a);
        return 1;
    }
    atomic_store(&current, a);

    /* Block the signals in every thread; the main thread sigwait()s. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (start_threads(a) != 0)
        return 1;
    snprintf(detail, sizeof(detail), "listen %s, %d workers, %zu sites",
             a->cfg.listen, nworkers, a->cfg.nsites);
    log_message("info", "consentd started", detail);

    sig = serve_until_stopped(&set);
    drain();
    log_message("info", "consentd stopped", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Workers may still be blocked reading an idle kept-alive connection:
     * leave shared state mapped and exit the whole process. */
    fflush(NULL);
    exit(0);
}
