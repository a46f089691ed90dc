/* Unit tests for redis/: the address rule the configuration and the store
 * share, the store's other pure rules (keys.h: key names, index buckets,
 * sequence fields, analytics keys, what a cluster error answer asks for,
 * INFO fields), what a store does with no server to reach (its status,
 * its reason and its backoff), and with a redis-server of its own the
 * script rules (a script Redis lost is loaded again, a moved head, an
 * erased ID) and the pipelined reads and batches. Sentinel, Cluster and
 * failures under load are in tests/integration/ (sentinel.test.js,
 * cluster.test.js, faults.test.js). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../redis/keys.h"
#include "../redis/store.h"
#include "../redis/watch.h"

static int parse(const char *a, char *host, int *port)
{
    return store_address_parse(a, host, STORE_MAX_ADDRESS, port);
}

Test(store, an_address_is_host_and_port)
{
    char host[STORE_MAX_ADDRESS];
    int port;

    cr_assert_eq(parse("127.0.0.1:6379", host, &port), 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 6379);
    cr_assert_eq(parse("redis-a.internal:26379", host, &port), 0);
    cr_assert_str_eq(host, "redis-a.internal");
    cr_assert_eq(port, 26379);
}

Test(store, an_ipv6_address_may_be_bracketed)
{
    char host[STORE_MAX_ADDRESS];
    int port;

    cr_assert_eq(parse("[::1]:6379", host, &port), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 6379);
}

Test(store, a_unix_socket_needs_an_absolute_path_that_fits)
{
    char host[STORE_MAX_ADDRESS], longpath[200];
    int port = 1;

    cr_assert_eq(parse("unix:/run/redis/redis.sock", host, &port), 0);
    cr_assert_str_eq(host, "/run/redis/redis.sock");
    cr_assert_eq(port, 0);
    cr_assert_eq(parse("unix:run/redis.sock", host, &port), STORE_INVALID);
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "unix:/", 6);
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_eq(parse(longpath, host, &port), STORE_INVALID);
}

Test(store, malformed_addresses_are_refused)
{
    const char *bad[] = {"localhost", ":6379", "host:", "host:0", "host:65536",
                         "host:6379x", "host: 6379", "host:+6379", "my host:6379",
                         "[]:6379", ""};
    char host[STORE_MAX_ADDRESS];
    int port;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(parse(bad[i], host, &port), STORE_INVALID, "\"%s\" is refused", bad[i]);
}

Test(store, a_host_longer_than_the_buffer_is_refused)
{
    char host[8];
    int port;

    cr_assert_eq(store_address_parse("abcdefgh:1", host, sizeof(host), &port), STORE_INVALID);
    cr_assert_eq(store_address_parse("abcdefg:1", host, sizeof(host), &port), STORE_OK);
}

/* A loopback port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static struct store_options options(enum store_topology t)
{
    struct store_options o;

    memset(&o, 0, sizeof(o));
    o.topology = t;
    o.connect_timeout_ms = 200;
    o.command_timeout_ms = 200;
    o.ack_timeout_ms = 100;
    return o;
}

Test(store, a_server_that_is_down_leaves_a_usable_store_with_a_reason)
{
    struct store_options o = options(STORE_SINGLE);
    struct store s;
    char where[64];

    snprintf(o.address, sizeof(o.address), "127.0.0.1:%d", closed_port());
    cr_assert_eq(store_open(&s, &o), STORE_UNAVAILABLE);
    cr_assert(strstr(s.last_error, "connect 127.0.0.1:") != NULL, "%s", s.last_error);
    cr_assert_eq(store_ping(&s), STORE_UNAVAILABLE, "backing off: fails at once");
    store_where(&s, where, sizeof(where));
    cr_assert_str_eq(where, "", "not connected anywhere");
    store_close(&s);
    store_close(&s);    /* safe again: zeroed */
}

Test(store, sentinels_that_are_down_are_named_in_the_reason)
{
    struct store_options o = options(STORE_SENTINEL);
    struct store s;

    snprintf(o.sentinels[0], STORE_MAX_ADDRESS, "127.0.0.1:%d", closed_port());
    snprintf(o.sentinels[1], STORE_MAX_ADDRESS, "127.0.0.1:%d", closed_port());
    o.nsentinels = 2;
    snprintf(o.master_name, sizeof(o.master_name), "consent");
    cr_assert_eq(store_open(&s, &o), STORE_UNAVAILABLE);
    cr_assert(strstr(s.last_error, "no primary for \"consent\": sentinel connect 127.0.0.1:")
              != NULL, "%s", s.last_error);
    store_close(&s);
}

Test(store, bad_options_are_refused_before_any_connection)
{
    struct store_options o = options(STORE_SENTINEL);
    struct store s;

    cr_assert_eq(store_open(&s, &o), STORE_INVALID, "no sentinels");
    store_close(&s);
    o.nsentinels = 1;
    snprintf(o.sentinels[0], STORE_MAX_ADDRESS, "127.0.0.1:26379");
    cr_assert_eq(store_open(&s, &o), STORE_INVALID, "no master name");
    store_close(&s);
    o = options(STORE_SINGLE);
    snprintf(o.address, sizeof(o.address), "nowhere");
    cr_assert_eq(store_open(&s, &o), STORE_INVALID, "a malformed address");
    store_close(&s);
}

Test(store, a_zeroed_store_closes_and_is_unavailable)
{
    struct store s;

    memset(&s, 0, sizeof(s));
    cr_assert_eq(store_ping(&s), STORE_UNAVAILABLE);
    store_close(&s);
}

/* A write for the calls below: nothing is sent anywhere. */
static const unsigned char some_id[16] = {1, 2, 3};
static char some_head[] = "head", some_receipt[] = "receipt";

static struct store_write some_write(void)
{
    struct store_write w;

    memset(&w, 0, sizeof(w));
    w.consent_id = "AAAAAAAAAAAAAAAAAAAAAA";
    w.consent_id_bytes = some_id;
    w.receipt_id = some_id;
    w.new_head.data = some_head;
    w.new_head.len = 4;
    w.seq = 1;
    w.receipt.data = some_receipt;
    w.receipt.len = 7;
    w.ttl_seconds = 60;
    return w;
}

Test(store, writes_to_a_zeroed_store_are_unavailable)
{
    struct store s;
    struct store_write w = some_write();
    struct store_blob current = {some_head, 4};
    struct store_counter c = {"shop", 20454, "decision:accept", 1, 1};
    long long erased = 5, number = 5;

    memset(&s, 0, sizeof(s));
    cr_assert_eq(store_record(&s, &w, &current), STORE_UNAVAILABLE);
    cr_assert_null(current.data, "no current head handed back");
    cr_assert_eq(store_erase(&s, w.consent_id, NULL, 0, "test", 1, 60, &erased, &number),
                 STORE_UNAVAILABLE);
    cr_assert_eq(erased, 0);
    cr_assert_eq(number, 0);
    cr_assert_eq(store_stats_add(&s, &c, 1, 60), STORE_UNAVAILABLE);
    cr_assert_eq(c.written, 0, "not counted as written");
    store_close(&s);
}

Test(store, a_write_that_trims_too_much_is_refused_before_sending)
{
    struct store_options o = options(STORE_SINGLE);
    struct store s;
    struct store_write w = some_write();
    struct store_blob current;
    uint32_t trim[17] = {0};
    unsigned char trim_ids[17][16] = {{0}};

    snprintf(o.address, sizeof(o.address), "127.0.0.1:%d", closed_port());
    cr_assert_eq(store_open(&s, &o), STORE_UNAVAILABLE);
    w.trim = trim;
    w.trim_ids = (const unsigned char (*)[16])trim_ids;
    w.ntrim = 17;
    cr_assert_eq(store_record(&s, &w, &current), STORE_ERROR);
    w.ntrim = 16;
    cr_assert_eq(store_record(&s, &w, &current), STORE_UNAVAILABLE, "16 may be sent");
    store_close(&s);
}

Test(store, analytics_days_before_1970_are_refused)
{
    struct store s;
    struct store_counter c = {"shop", -1, "decision:accept", 1, 1};

    memset(&s, 0, sizeof(s));
    cr_assert_eq(store_stats_add(&s, &c, 1, 60), STORE_ERROR);
    cr_assert_eq(c.written, 0);
}

Test(store, every_status_has_a_message)
{
    for (int st = STORE_OK; st <= STORE_NO_MEMORY; st++)
        cr_assert(strcmp(store_strerror(st), "unknown error") != 0, "status %d", st);
    cr_assert_str_eq(store_strerror(999), "unknown error");
    cr_assert_str_eq(store_topology_name(STORE_SINGLE), "single");
    cr_assert_str_eq(store_topology_name(STORE_SENTINEL), "sentinel");
}

Test(store, only_a_store_that_may_reconnect_is_usable)
{
    cr_assert(store_usable(STORE_OK));
    cr_assert(store_usable(STORE_UNAVAILABLE));
    cr_assert(!store_usable(STORE_INVALID));
    cr_assert(!store_usable(STORE_NO_MEMORY));
}

Test(store, every_watch_status_has_a_message)
{
    for (int st = WATCH_OK; st <= WATCH_LOST; st++)
        cr_assert(strcmp(watch_strerror(st), "unknown error") != 0, "status %d", st);
    cr_assert_str_eq(watch_strerror(-1), "unknown error");
}

/* ---- keys.h ---- */

Test(rules, the_keys_of_a_consent_id_share_its_hash_tag)
{
    char key[64];

    store_key_of(key, sizeof(key), "AAAAAAAAAAAAAAAAAAAAAA", "");
    cr_assert_str_eq(key, "c:{AAAAAAAAAAAAAAAAAAAAAA}");
    store_key_of(key, sizeof(key), "AAAAAAAAAAAAAAAAAAAAAA", ":t");
    cr_assert_str_eq(key, "c:{AAAAAAAAAAAAAAAAAAAAAA}:t");
}

Test(rules, a_receipt_id_picks_one_of_4096_index_buckets)
{
    unsigned char id[16] = {0xab, 0xcd, 0xef};
    char key[16];

    store_bucket_of(id, key);
    cr_assert_str_eq(key, "r:abc", "the first 12 bits");
    memset(id, 0, sizeof(id));
    store_bucket_of(id, key);
    cr_assert_str_eq(key, "r:000");
    memset(id, 0xff, sizeof(id));
    store_bucket_of(id, key);
    cr_assert_str_eq(key, "r:fff");
}

Test(rules, a_sequence_field_is_a_number_without_leading_zeros)
{
    uint32_t seq = 7;

    cr_assert_eq(store_seq_of("1", 1, &seq), STORE_OK);
    cr_assert_eq(seq, 1);
    cr_assert_eq(store_seq_of("4294967295", 10, &seq), STORE_OK);
    cr_assert_eq(seq, UINT32_MAX);
    seq = 7;
    cr_assert_eq(store_seq_of("4294967296", 10, &seq), STORE_INVALID, "over 32 bits");
    cr_assert_eq(store_seq_of("12345678901", 11, &seq), STORE_INVALID, "11 digits");
    cr_assert_eq(store_seq_of("0", 1, &seq), STORE_INVALID);
    cr_assert_eq(store_seq_of("01", 2, &seq), STORE_INVALID);
    cr_assert_eq(store_seq_of("m", 1, &seq), STORE_INVALID, "the head's field");
    cr_assert_eq(store_seq_of("1x", 2, &seq), STORE_INVALID);
    cr_assert_eq(store_seq_of("", 0, &seq), STORE_INVALID);
    cr_assert_eq(seq, 7, "untouched when refused");
}

Test(rules, an_analytics_key_names_site_day_and_shard)
{
    char key[STORE_MAX_STATS_KEY];

    cr_assert_eq(store_stats_key(key, sizeof(key), "shop", 0, 3), STORE_OK);
    cr_assert_str_eq(key, "a:{shop:1970-01-01:3}");
    cr_assert_eq(store_stats_key(key, sizeof(key), "shop", 20454, 7), STORE_OK);
    cr_assert_str_eq(key, "a:{shop:2026-01-01:7}");
    cr_assert_eq(store_stats_key(key, sizeof(key), "shop", -1, 0), STORE_INVALID);
    cr_assert_eq(store_stats_key(key, 12, "shop", 0, 0), STORE_INVALID, "does not fit");
}

Test(rules, a_field_always_lands_in_the_same_shard)
{
    unsigned seen[STORE_STATS_SHARDS] = {0};
    char field[16];

    cr_assert_eq(store_stats_shard("decision:accept"), store_stats_shard("decision:accept"));
    for (int i = 0; i < 200; i++) {
        snprintf(field, sizeof(field), "f%d", i);
        cr_assert_lt(store_stats_shard(field), STORE_STATS_SHARDS);
        seen[store_stats_shard(field)]++;
    }
    for (int k = 0; k < STORE_STATS_SHARDS; k++)
        cr_assert_gt(seen[k], 0, "shard %d is used", k);
}

Test(rules, a_node_address_brackets_ipv6)
{
    char out[128], tiny[8];

    store_node_address(out, sizeof(out), "127.0.0.1", 7001);
    cr_assert_str_eq(out, "127.0.0.1:7001");
    store_node_address(out, sizeof(out), "::1", 7001);
    cr_assert_str_eq(out, "[::1]:7001");
    store_node_address(tiny, sizeof(tiny), "127.0.0.1", 7001);
    cr_assert_str_eq(tiny, "", "what does not fit is empty");
}

Test(rules, moved_and_ask_name_the_slot_and_the_node)
{
    unsigned slot = 0;
    char to[128] = "";

    cr_assert_eq(store_redirect_of("MOVED 3999 127.0.0.1:7002", &slot, to, sizeof(to)),
                 STORE_MOVED);
    cr_assert_eq(slot, 3999);
    cr_assert_str_eq(to, "127.0.0.1:7002");
    cr_assert_eq(store_redirect_of("ASK 12 10.0.0.5:7003", &slot, to, sizeof(to)), STORE_ASK);
    cr_assert_eq(slot, 12);
    cr_assert_str_eq(to, "10.0.0.5:7003");
    cr_assert_eq(store_redirect_of("MOVED nonsense", &slot, to, sizeof(to)), STORE_ANSWER,
                 "a malformed MOVED is an answer, not a redirection");
}

Test(rules, each_cluster_error_asks_for_its_own_retry)
{
    unsigned slot;
    char to[128];
    struct { const char *err; enum store_redirect want; } cases[] = {
        {"TRYAGAIN Multiple keys request during rehashing of slot", STORE_WAIT_AND_RETRY},
        {"LOADING Redis is loading the dataset in memory", STORE_WAIT_AND_RETRY},
        {"CLUSTERDOWN The cluster is down", STORE_REFRESH},
        {"READONLY You can't write against a read only replica.", STORE_REFRESH},
        {"MASTERDOWN Link with MASTER is down", STORE_REFRESH},
        {"NOSCRIPT No matching script. Please use EVAL.", STORE_LOAD_SCRIPT},
        {"WRONGTYPE Operation against a key holding the wrong kind of value", STORE_ANSWER},
        {"ERR unknown command", STORE_ANSWER},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(store_redirect_of(cases[i].err, &slot, to, sizeof(to)), cases[i].want,
                     "%s", cases[i].err);
    cr_assert(store_is_noscript("NOSCRIPT No matching script."));
    cr_assert(!store_is_noscript("ERR NOSCRIPT"));
}

Test(rules, an_info_field_is_read_by_its_whole_name)
{
    const char *info = "# Persistence\r\naof_enabled:1\r\naof_rewrites:12\r\n"
                       "aof_rewrite_in_progress:0\r\n";

    cr_assert_eq(store_info_field(info, "aof_enabled"), 1);
    cr_assert_eq(store_info_field(info, "aof_rewrites"), 12);
    cr_assert_eq(store_info_field(info, "aof_rewrite"), -1, "a prefix is not the field");
    cr_assert_eq(store_info_field(info, "aof_rewrite_scheduled"), -1);
    cr_assert_eq(store_info_field("", "aof_enabled"), -1);
}

/* ---- with a redis-server of its own ----
 * One server per test on a free loopback port, without persistence, that
 * dies with the test (PR_SET_PDEATHSIG, and the fini below). */

static pid_t redis_pid = -1;

/* Sends one inline command to the server at port and reads the first line
 * of the answer into answer. 0 when it answered. */
static int redis_say(int port, const char *cmd, char *answer, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;
    ssize_t n;

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        dprintf(fd, "%s\r\n", cmd) > 0 && (n = read(fd, answer, len - 1)) > 0) {
        answer[n] = '\0';
        answer[strcspn(answer, "\r\n")] = '\0';
        rc = 0;
    }
    close(fd);
    return rc;
}

static void redis_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
    }
    redis_pid = -1;
}

/* Starts the server; the options of a store that uses it. */
static struct store_options redis_start(int *port)
{
    struct store_options o = options(STORE_SINGLE);
    char p[16], answer[64] = "";

    *port = closed_port();
    snprintf(p, sizeof(p), "%d", *port);
    redis_pid = fork();
    cr_assert_geq(redis_pid, 0);
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    /* Until it answers (bounded: a server that never starts fails here). */
    for (int i = 0; i < 1000 && strcmp(answer, "+PONG") != 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};

        if (redis_say(*port, "PING", answer, sizeof(answer)) != 0)
            nanosleep(&ts, NULL);
    }
    cr_assert_str_eq(answer, "+PONG", "redis-server answers");
    snprintf(o.address, sizeof(o.address), "127.0.0.1:%d", *port);
    o.connect_timeout_ms = 2000;
    o.command_timeout_ms = 2000;
    return o;
}

static char head1[] = "head-1", head2[] = "head-2", receipt2[] = "receipt-2";
static const unsigned char id2[16] = {9, 9, 9};

/* The second receipt of some_write's consent ID, chained to head-1. */
static struct store_write second_write(void)
{
    struct store_write w = some_write();

    w.receipt_id = id2;
    w.expected_head = (struct store_blob){head1, 6};
    w.new_head = (struct store_blob){head2, 6};
    w.seq = 2;
    w.receipt = (struct store_blob){receipt2, 9};
    return w;
}

Test(server, a_script_redis_lost_is_loaded_again_and_written_once, .fini = redis_stop)
{
    struct store s;
    struct store_write w = some_write(), w2 = second_write();
    struct store_blob current;
    struct store_history h;
    long long erased, number;
    char answer[64];
    int port;
    struct store_options o = redis_start(&port);

    cr_assert_eq(store_open(&s, &o), STORE_OK, "%s", s.last_error);
    w.new_head = (struct store_blob){head1, 6};
    cr_assert_eq(store_record(&s, &w, &current), STORE_OK, "%s", s.last_error);
    cr_assert_eq(redis_say(port, "SCRIPT FLUSH", answer, sizeof(answer)), 0);
    cr_assert_str_eq(answer, "+OK");
    cr_assert_eq(store_record(&s, &w2, &current), STORE_OK, "after SCRIPT FLUSH: %s",
                 s.last_error);
    cr_assert_eq(store_history(&s, w.consent_id, &h), STORE_OK);
    cr_assert_eq(h.nitems, 2);
    cr_assert_eq(h.items[1].seq, 2);
    cr_assert_eq(h.items[1].blob.len, 9);
    cr_assert_eq(memcmp(h.items[1].blob.data, "receipt-2", 9), 0);
    cr_assert_eq(memcmp(h.head.data, "head-2", 6), 0);
    store_history_free(&h);
    cr_assert_eq(redis_say(port, "SCRIPT FLUSH", answer, sizeof(answer)), 0);
    cr_assert_eq(store_erase(&s, w.consent_id, NULL, 0, "test", 1000, 60, &erased, &number),
                 STORE_OK, "erase after SCRIPT FLUSH: %s", s.last_error);
    cr_assert_eq(erased, 2);
    cr_assert_eq(number, 1);
    store_close(&s);
}

Test(server, a_moved_head_is_a_conflict_with_the_current_head, .fini = redis_stop)
{
    struct store s;
    struct store_write w = some_write(), w2 = second_write();
    struct store_blob current;
    struct store_tombstone t;
    long long erased, number;
    int port;
    struct store_options o = redis_start(&port);

    cr_assert_eq(store_open(&s, &o), STORE_OK, "%s", s.last_error);
    w.new_head = (struct store_blob){head2, 6};     /* not the head w2 expects */
    cr_assert_eq(store_record(&s, &w, &current), STORE_OK);
    cr_assert_null(current.data);
    w2.new_head = (struct store_blob){head1, 6};
    cr_assert_eq(store_record(&s, &w2, &current), STORE_CONFLICT);
    cr_assert_eq(current.len, 6);
    cr_assert_eq(memcmp(current.data, "head-2", 6), 0, "the head that is there");
    store_blob_free(&current);
    cr_assert_eq(store_erase(&s, w.consent_id, NULL, 0, "test", 1000, 60, &erased, &number),
                 STORE_OK);
    cr_assert_eq(store_record(&s, &w, &current), STORE_ERASED, "an erased ID stays erased");
    cr_assert_eq(store_tombstone(&s, w.consent_id, &t), STORE_OK);
    cr_assert_eq(t.count, 1);
    cr_assert_eq(t.nerasures, 1);
    cr_assert_str_eq(t.erasures[0].by, "test");
    store_close(&s);
}

Test(server, receipts_and_contexts_come_back_by_name, .fini = redis_stop)
{
    struct store s;
    struct store_write w = some_write();
    struct store_item items[2];
    struct store_blob ctx[2], current;
    const uint32_t seqs[] = {1, 5};
    const char *refs[] = {"abc", "missing"};
    static char context[] = "{\"k\":1}";
    int port;
    struct store_options o = redis_start(&port);

    cr_assert_eq(store_open(&s, &o), STORE_OK, "%s", s.last_error);
    w.context_ref = "abc";
    w.context = (struct store_blob){context, 7};
    cr_assert_eq(store_record(&s, &w, &current), STORE_OK);
    cr_assert_eq(store_receipts(&s, w.consent_id, seqs, 2, items), STORE_OK);
    cr_assert_eq(items[0].seq, 1);
    cr_assert_eq(items[0].blob.len, 7);
    cr_assert_null(items[1].blob.data, "no receipt 5");
    store_blob_free(&items[0].blob);
    cr_assert_eq(store_contexts(&s, refs, 2, ctx), STORE_OK);
    cr_assert_str_eq(ctx[0].data, "{\"k\":1}");
    cr_assert_null(ctx[1].data);
    store_blob_free(&ctx[0]);
    store_close(&s);
}

Test(server, counts_of_many_keys_and_batches_add_up, .fini = redis_stop)
{
    struct store s;
    struct store_counter c[150];
    struct store_stat *rows;
    char fields[150][16];
    size_t n;
    long long total = 0;
    int port;
    struct store_options o = redis_start(&port);

    cr_assert_eq(store_open(&s, &o), STORE_OK, "%s", s.last_error);
    /* 100 counts of one field (one key: two batches of 64 and the EXPIRE),
     * then 50 fields of the next day over the shards. */
    for (int i = 0; i < 150; i++) {
        snprintf(fields[i], sizeof(fields[i]), i < 100 ? "same" : "f%d", i);
        c[i] = (struct store_counter){"shop", i < 100 ? 20454 : 20455, fields[i], 1, 0};
    }
    cr_assert_eq(store_stats_add(&s, c, 150, 86400), STORE_OK, "%s", s.last_error);
    for (int i = 0; i < 150; i++)
        cr_assert_eq(c[i].written, 1, "counter %d confirmed", i);
    cr_assert_eq(store_stats_read(&s, "shop", 20454, 20455, &rows, &n), STORE_OK);
    for (size_t i = 0; i < n; i++) {
        total += rows[i].count;
        if (strcmp(rows[i].field, "same") == 0) {
            cr_assert_eq(rows[i].day, 20454);
            cr_assert_eq(rows[i].count, 100);
        }
    }
    cr_assert_eq(total, 150);
    cr_assert_eq(n, 51, "\"same\" and 50 fields of the next day");
    store_stats_free(rows, n);
    store_close(&s);
}
