/* Unit tests for redis/slot.c: the key slot function (CRC16 vectors and
 * hash tags from the Redis Cluster specification) and the slot map the
 * store keeps of which primary serves which slot. The store's use of it
 * against a real cluster is in tests/integration/cluster.test.js. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../redis/slot.h"

static unsigned slot(const char *key)
{
    return slot_of(key, strlen(key));
}

Test(slot, crc16_matches_the_specification_s_check_value)
{
    /* "The CRC16 ... Output for "123456789": 31C3" (Redis Cluster spec). */
    cr_assert_eq(slot_crc16("123456789", 9), 0x31C3);
    cr_assert_eq(slot_crc16("", 0), 0);
}

Test(slot, keys_map_to_the_slots_redis_computes)
{
    /* CLUSTER KEYSLOT on redis-server 7.0 gave these. */
    cr_assert_eq(slot("123456789"), 0x31C3 & 0x3FFF);
    cr_assert_eq(slot("foo"), 12182);
    cr_assert_eq(slot("bar"), 5061);
    cr_assert_eq(slot("consent:audit"), 15963);
    cr_assert_eq(slot("foo{}{bar}"), 8363);
    cr_assert_eq(slot("foo{{bar}}zap"), 4015);
    cr_assert_eq(slot("c:{AbCdEfGhIjKlMnOpQrStUv}"), 5826);
}

Test(slot, keys_with_one_hash_tag_share_a_slot)
{
    cr_assert_eq(slot("{user1000}.following"), slot("{user1000}.followers"));
    cr_assert_eq(slot("{user1000}.following"), slot("user1000"));
    cr_assert_eq(slot("c:{AbCdEfGhIjKlMnOpQrStUv}"), slot("c:{AbCdEfGhIjKlMnOpQrStUv}:t"));
    cr_assert_eq(slot("c:{AbCdEfGhIjKlMnOpQrStUv}"), slot("AbCdEfGhIjKlMnOpQrStUv"));
}

Test(slot, only_the_first_tag_counts)
{
    /* The specification's examples. */
    cr_assert_eq(slot("foo{bar}{zap}"), slot("bar"));
    cr_assert_eq(slot("foo{{bar}}zap"), slot("{bar"));
}

Test(slot, an_empty_or_unclosed_tag_hashes_the_whole_key)
{
    cr_assert_eq(slot("foo{}{bar}"), slot_crc16("foo{}{bar}", 10) & 0x3FFF);
    cr_assert_neq(slot("foo{}{bar}"), slot("bar"));
    cr_assert_eq(slot("foo{bar"), slot_crc16("foo{bar", 7) & 0x3FFF);
    cr_assert_eq(slot("}foo{"), slot_crc16("}foo{", 5) & 0x3FFF);
}

Test(slot, a_key_with_nul_bytes_is_hashed_by_length)
{
    cr_assert_eq(slot_of("a\0b", 3), slot_crc16("a\0b", 3) & 0x3FFF);
    cr_assert_neq(slot_of("a\0b", 3), slot_of("a", 1));
}

static struct slot_map map;     /* 33 KB: not on the stack */

Test(slot, a_map_is_filled_from_ranges_in_order_of_first_appearance)
{
    struct slot_range r[] = {
        {0, 5460, "127.0.0.1:7001"},
        {5461, 10922, "127.0.0.1:7002"},
        {10923, 16383, "127.0.0.1:7003"},
    };

    slot_map_init(&map);
    cr_assert_eq(slot_map_covered(&map), 0);
    cr_assert_eq(slot_map_set(&map, r, 3), SLOT_OK);
    cr_assert_eq(map.nnodes, 3);
    cr_assert_str_eq(map.nodes[map.owner[0]], "127.0.0.1:7001");
    cr_assert_str_eq(map.nodes[map.owner[5461]], "127.0.0.1:7002");
    cr_assert_str_eq(map.nodes[map.owner[16383]], "127.0.0.1:7003");
    cr_assert_eq(slot_map_covered(&map), SLOT_COUNT);
}

Test(slot, one_node_may_serve_several_ranges)
{
    struct slot_range r[] = {
        {0, 99, "10.0.0.1:6379"},
        {100, 199, "10.0.0.2:6379"},
        {200, 299, "10.0.0.1:6379"},
    };

    slot_map_init(&map);
    cr_assert_eq(slot_map_set(&map, r, 3), SLOT_OK);
    cr_assert_eq(map.nnodes, 2);
    cr_assert_eq(map.owner[50], map.owner[250]);
    cr_assert_eq(map.owner[300], -1);
    cr_assert_eq(slot_map_covered(&map), 300);
}

Test(slot, a_bad_answer_leaves_the_map_as_it_was)
{
    struct slot_range good[] = {{0, 16383, "127.0.0.1:7001"}};
    struct slot_range overlap[] = {{0, 10, "127.0.0.1:7002"}, {10, 20, "127.0.0.1:7003"}};
    struct slot_range reversed[] = {{20, 10, "127.0.0.1:7002"}};
    struct slot_range outside[] = {{0, 16384, "127.0.0.1:7002"}};
    struct slot_range empty[] = {{0, 1, ""}};

    slot_map_init(&map);
    cr_assert_eq(slot_map_set(&map, good, 1), SLOT_OK);
    cr_assert_eq(slot_map_set(&map, overlap, 2), SLOT_INVALID);
    cr_assert_eq(slot_map_set(&map, reversed, 1), SLOT_INVALID);
    cr_assert_eq(slot_map_set(&map, outside, 1), SLOT_INVALID);
    cr_assert_eq(slot_map_set(&map, empty, 1), SLOT_BAD_ADDRESS);
    cr_assert_eq(map.nnodes, 1);
    cr_assert_str_eq(map.nodes[0], "127.0.0.1:7001");
    cr_assert_eq(slot_map_covered(&map), SLOT_COUNT);
}

Test(slot, more_primaries_than_the_map_holds_are_refused)
{
    static struct slot_range r[SLOT_MAX_NODES + 1];

    for (unsigned i = 0; i <= SLOT_MAX_NODES; i++) {
        r[i].first = r[i].last = i;
        snprintf(r[i].address, sizeof(r[i].address), "10.0.0.%u:6379", i + 1);
    }
    slot_map_init(&map);
    cr_assert_eq(slot_map_set(&map, r, SLOT_MAX_NODES), SLOT_OK);
    cr_assert_eq(slot_map_set(&map, r, SLOT_MAX_NODES + 1), SLOT_TOO_MANY);
    cr_assert_eq(map.nnodes, SLOT_MAX_NODES);
}

Test(slot, moved_points_one_slot_at_its_new_primary)
{
    struct slot_range r[] = {{0, 8191, "127.0.0.1:7001"}, {8192, 16383, "127.0.0.1:7002"}};
    int node;

    slot_map_init(&map);
    cr_assert_eq(slot_map_set(&map, r, 2), SLOT_OK);
    /* A reshard moved slot 3999 to the second primary. */
    cr_assert_eq(slot_map_moved(&map, 3999, "127.0.0.1:7002", &node), SLOT_OK);
    cr_assert_eq(node, 1);
    cr_assert_eq(map.owner[3999], 1);
    cr_assert_eq(map.owner[3998], 0);
    cr_assert_eq(map.nnodes, 2);
    /* A failover: a replica, not yet known, now serves slot 100. */
    cr_assert_eq(slot_map_moved(&map, 100, "127.0.0.1:7004", &node), SLOT_OK);
    cr_assert_eq(node, 2);
    cr_assert_str_eq(map.nodes[map.owner[100]], "127.0.0.1:7004");
    node = -7;
    cr_assert_eq(slot_map_moved(&map, SLOT_COUNT, "127.0.0.1:7004", &node), SLOT_INVALID);
    cr_assert_eq(slot_map_moved(&map, 5, "", &node), SLOT_BAD_ADDRESS);
    cr_assert_eq(node, -7, "untouched on failure");
    cr_assert_eq(map.owner[5], 0);
    cr_assert_eq(slot_map_moved(&map, 6, "127.0.0.1:7002", NULL), SLOT_OK);
    cr_assert_eq(map.owner[6], 1);
}

Test(slot, moved_to_a_new_node_of_a_full_map_changes_nothing)
{
    struct slot_range r[SLOT_MAX_NODES];

    for (size_t i = 0; i < SLOT_MAX_NODES; i++) {
        r[i].first = r[i].last = (unsigned)i;
        snprintf(r[i].address, sizeof(r[i].address), "10.0.0.%zu:7000", i);
    }
    slot_map_init(&map);
    cr_assert_eq(slot_map_set(&map, r, SLOT_MAX_NODES), SLOT_OK);
    cr_assert_eq(slot_map_moved(&map, 3, "10.0.1.1:7000", NULL), SLOT_TOO_MANY);
    cr_assert_eq(map.owner[3], 3);
    cr_assert_eq(map.nnodes, SLOT_MAX_NODES);
}

Test(slot, an_ask_target_is_added_without_owning_slots)
{
    int node = -1;

    slot_map_init(&map);
    cr_assert_eq(slot_map_add(&map, "127.0.0.1:7005", &node), SLOT_OK);
    cr_assert_eq(node, 0);
    cr_assert_eq(slot_map_add(&map, "127.0.0.1:7005", &node), SLOT_OK);
    cr_assert_eq(node, 0, "the same node again");
    cr_assert_eq(slot_map_add(&map, "", &node), SLOT_BAD_ADDRESS);
    cr_assert_eq(slot_map_find(&map, "127.0.0.1:7005"), 0);
    cr_assert_eq(slot_map_find(&map, "127.0.0.1:7006"), -1);
    cr_assert_eq(slot_map_covered(&map), 0);
}

Test(slot, every_status_has_a_message)
{
    for (int st = SLOT_OK; st <= SLOT_BAD_ADDRESS; st++)
        cr_assert_str_neq(slot_strerror(st), "unknown error");
    cr_assert_str_eq(slot_strerror(99), "unknown error");
}
