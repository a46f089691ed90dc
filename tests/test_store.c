/* Unit tests for redis/: the address rule the configuration and the store
 * share, and what a store does with no server to reach (its status, its
 * reason and its backoff). Tests with servers are in tests/integration/
 * (sentinel.test.js, faults.test.js). */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../redis/store.h"

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
    cr_assert_eq(parse("unix:run/redis.sock", host, &port), -1);
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "unix:/", 6);
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_eq(parse(longpath, host, &port), -1);
}

Test(store, malformed_addresses_are_refused)
{
    const char *bad[] = {"localhost", ":6379", "host:", "host:0", "host:65536",
                         "host:6379x", "host: 6379", "host:+6379", "my host:6379",
                         "[]:6379", ""};
    char host[STORE_MAX_ADDRESS];
    int port;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(parse(bad[i], host, &port), -1, "\"%s\" is refused", bad[i]);
}

Test(store, a_host_longer_than_the_buffer_is_refused)
{
    char host[8];
    int port;

    cr_assert_eq(store_address_parse("abcdefgh:1", host, sizeof(host), &port), -1);
    cr_assert_eq(store_address_parse("abcdefg:1", host, sizeof(host), &port), 0);
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

    cr_assert_eq(store_open(&s, &o), -1, "no sentinels");
    store_close(&s);
    o.nsentinels = 1;
    snprintf(o.sentinels[0], STORE_MAX_ADDRESS, "127.0.0.1:26379");
    cr_assert_eq(store_open(&s, &o), -1, "no master name");
    store_close(&s);
    o = options(STORE_SINGLE);
    snprintf(o.address, sizeof(o.address), "nowhere");
    cr_assert_eq(store_open(&s, &o), -1, "a malformed address");
    store_close(&s);
}

Test(store, a_zeroed_store_closes_and_is_unavailable)
{
    struct store s;

    memset(&s, 0, sizeof(s));
    cr_assert_eq(store_ping(&s), STORE_UNAVAILABLE);
    store_close(&s);
}

Test(store, every_status_has_a_message)
{
    for (int st = STORE_OK; st <= STORE_NOT_DURABLE; st++)
        cr_assert(strcmp(store_strerror(st), "unknown error") != 0, "status %d", st);
    cr_assert_str_eq(store_strerror(999), "unknown error");
    cr_assert_str_eq(store_topology_name(STORE_SINGLE), "single");
    cr_assert_str_eq(store_topology_name(STORE_SENTINEL), "sentinel");
}
