/* Unit tests for gpp/gpp.c: Fibonacci coding, base64 padding, header ID
 * ranges (the specification's own examples), each section's field widths
 * against strings the IAB's reference library (@iabgpp/cmpapi 3.2.0) wrote,
 * and every way a string or a struct can be refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../gpp/gpp.h"

/* A bit string of '0'/'1' as web-safe base64, padded with zeros to a
 * multiple of 6: the test's own, independent of the module's writer. */
static void b64_of_bits(const char *bits, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(bits), o = 0;

    for (size_t i = 0; i < n; i += 6) {
        unsigned v = 0;

        for (size_t k = 0; k < 6; k++)
            v = v * 2 + (i + k < n && bits[i + k] == '1');
        out[o++] = a[v];
    }
    out[o] = '\0';
}

static int decode(const char *s, struct gpp_string *g)
{
    char err[256];

    return gpp_decode(s, strlen(s), g, err, sizeof(err));
}

/* encode(decode(s)) == s */
static void assert_round_trip(const char *s)
{
    struct gpp_string g;
    char err[256], out[GPP_MAX_STRING + 1];

    cr_assert_eq(gpp_decode(s, strlen(s), &g, err, sizeof(err)), GPP_OK, "%s: %s", s, err);
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_OK, "%s", s);
    cr_assert_str_eq(out, s);
}

/* ---- Fibonacci coding (the specification's table, and beyond) ---- */

Test(gpp, fibonacci_codes_match_the_specification_table)
{
    /* Header type 3, version 1, one group, single: the code is what follows. */
    static const char *codes[] = {"", "11", "011", "0011", "1011", "00011", "10011", "01011",
                                  "000011", "100011", "010011", "001011", "101011"};

    for (int v = 1; v <= 12; v++) {
        char bits[128], want[64], got[64];
        int id = v;
        int ids[GPP_HEADER_MAX_IDS];
        size_t n;

        snprintf(bits, sizeof(bits), "000011000001000000000001" "0%s", codes[v]);
        b64_of_bits(bits, want);
        cr_assert_eq(gpp_header_encode(&id, 1, GPP_PAD_SPEC, got, sizeof(got)), GPP_OK);
        cr_assert_str_eq(got, want, "Fibonacci code of %d", v);
        cr_assert_eq(gpp_header_decode(want, strlen(want), ids, &n), GPP_OK);
        cr_assert_eq(n, 1);
        cr_assert_eq(ids[0], v);
    }
}

Test(gpp, fibonacci_code_longer_than_any_section_id_is_refused)
{
    char bits[128], s[64];
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;

    /* 20 zero bits never end a code word within the module's limit. */
    snprintf(bits, sizeof(bits), "000011000001000000000001" "0" "00000000000000000000" "11");
    b64_of_bits(bits, s);
    cr_assert_eq(gpp_header_decode(s, strlen(s), ids, &n), GPP_ERR_RANGE);
}

/* ---- the specification's header examples ---- */

Test(gpp, header_examples_of_the_specification_encode_and_decode)
{
    static const struct {
        const char *s;
        int ids[2];
        size_t n;
    } ex[] = {{"DBABM", {2}, 1}, {"DBACNY", {2, 6}, 2}, {"DBABjw", {5, 6}, 2}};

    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        char out[64];
        int ids[GPP_HEADER_MAX_IDS];
        size_t n;

        cr_assert_eq(gpp_header_encode(ex[i].ids, ex[i].n, GPP_PAD_SPEC, out, sizeof(out)), GPP_OK);
        cr_assert_str_eq(out, ex[i].s);
        cr_assert_eq(gpp_header_decode(ex[i].s, strlen(ex[i].s), ids, &n), GPP_OK);
        cr_assert_eq(n, ex[i].n);
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(ids[k], ex[i].ids[k]);
    }
}

Test(gpp, header_decode_stops_at_the_first_tilde)
{
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;

    cr_assert_eq(gpp_header_decode("DBACNY~CPXxRfAPXxRfA~1YNN", 25, ids, &n), GPP_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], 6);
}

/* ---- base64 padding ---- */

Test(gpp, reference_pads_to_a_byte_then_to_six_bits)
{
    int id = 2;
    char out[64];

    /* 28 bits: the specification writes 30 (DBABM), the library 36. */
    cr_assert_eq(gpp_header_encode(&id, 1, GPP_PAD_REFERENCE, out, sizeof(out)), GPP_OK);
    cr_assert_str_eq(out, "DBABMA");
}

Test(gpp, both_paddings_decode_and_each_round_trips_as_it_came)
{
    /* usnat, header and GPC sub-section padded the specification's way,
     * then the library's way (what @iabgpp/cmpapi wrote). */
    assert_round_trip("DBABL~CYYYYYYYYYaE.Y");
    assert_round_trip("DBABLA~CYYYYYYYYYaE.YA");
    assert_round_trip("DBABL~CYYYYYYYYYaE.YA");
}

Test(gpp, padding_beyond_either_rule_is_refused)
{
    struct gpp_string g;
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;

    cr_assert_eq(gpp_header_decode("DBABMAA", 7, ids, &n), GPP_ERR_LENGTH);
    cr_assert_eq(decode("DBABLAA~CYYYYYYYYYaE.YA", &g), GPP_ERR_LENGTH);
    cr_assert_eq(decode("DBABLA~CYYYYYYYYYaEA.YA", &g), GPP_ERR_LENGTH);
    cr_assert_eq(decode("DBABLA~CYYYYYYYYYaE.YAA", &g), GPP_ERR_LENGTH);
}

Test(gpp, padding_bits_must_be_zero)
{
    struct gpp_string g;
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;

    /* M = 001100, N = 001101: the last bit is padding. */
    cr_assert_eq(gpp_header_decode("DBABN", 5, ids, &n), GPP_ERR_PADDING);
    cr_assert_eq(decode("DBABLB~CYYYYYYYYYaE.YA", &g), GPP_ERR_PADDING);
    cr_assert_eq(decode("DBABLA~CYYYYYYYYYaE.YB", &g), GPP_ERR_PADDING);
}

/* ---- header ranges ---- */

Test(gpp, consecutive_ids_make_one_range_and_gaps_make_singles)
{
    char out[64], want[64];
    int a[] = {7, 8, 9};
    int b[] = {7, 9};

    /* one group: range, start 7 (01011), end offset 2 (011) */
    b64_of_bits("000011000001000000000001" "1" "01011" "011", want);
    cr_assert_eq(gpp_header_encode(a, 3, GPP_PAD_SPEC, out, sizeof(out)), GPP_OK);
    cr_assert_str_eq(out, want);
    /* two groups: single 7, single +2 */
    b64_of_bits("000011000001000000000010" "0" "01011" "0" "011", want);
    cr_assert_eq(gpp_header_encode(b, 2, GPP_PAD_SPEC, out, sizeof(out)), GPP_OK);
    cr_assert_str_eq(out, want);
}

Test(gpp, mixed_ranges_decode_to_the_same_ids)
{
    int in[] = {1, 2, 7, 8, 10, 11, 12, 20, 27, 255};
    size_t nin = sizeof(in) / sizeof(in[0]);
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;
    char out[64];

    cr_assert_eq(gpp_header_encode(in, nin, GPP_PAD_REFERENCE, out, sizeof(out)), GPP_OK);
    cr_assert_eq(gpp_header_decode(out, strlen(out), ids, &n), GPP_OK);
    cr_assert_eq(n, nin);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids[i], in[i]);
}

Test(gpp, adjacent_groups_are_not_canonical_and_are_refused)
{
    char s[64];
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;

    /* single 7 then single +1 (8): a writer makes this one range */
    b64_of_bits("000011000001000000000010" "0" "01011" "0" "11", s);
    cr_assert_eq(gpp_header_decode(s, strlen(s), ids, &n), GPP_ERR_RANGE);
    /* range 7-8 then single +1 (9) */
    b64_of_bits("000011000001000000000010" "1" "01011" "11" "0" "11", s);
    cr_assert_eq(gpp_header_decode(s, strlen(s), ids, &n), GPP_ERR_RANGE);
}

Test(gpp, header_type_and_version_are_checked)
{
    char s[64];
    int ids[GPP_HEADER_MAX_IDS];
    size_t n;

    b64_of_bits("000100000001000000000001" "0" "01011", s);
    cr_assert_eq(gpp_header_decode(s, strlen(s), ids, &n), GPP_ERR_HEADER);
    b64_of_bits("000011000010000000000001" "0" "01011", s);
    cr_assert_eq(gpp_header_decode(s, strlen(s), ids, &n), GPP_ERR_HEADER);
    cr_assert_eq(gpp_header_decode("DBA", 3, ids, &n), GPP_ERR_LENGTH);
    cr_assert_eq(gpp_header_decode("DBAB", 4, ids, &n), GPP_ERR_RANGE);
    cr_assert_eq(gpp_header_decode("", 0, ids, &n), GPP_ERR_EMPTY);
}

Test(gpp, header_refuses_unsorted_or_out_of_range_ids)
{
    int unsorted[] = {8, 7}, dup[] = {7, 7}, zero[] = {0}, big[] = {GPP_HEADER_MAX_ID + 1};
    char out[64];

    cr_assert_eq(gpp_header_encode(unsorted, 2, GPP_PAD_SPEC, out, sizeof(out)), GPP_ERR_SECTIONS);
    cr_assert_eq(gpp_header_encode(dup, 2, GPP_PAD_SPEC, out, sizeof(out)), GPP_ERR_SECTIONS);
    cr_assert_eq(gpp_header_encode(zero, 1, GPP_PAD_SPEC, out, sizeof(out)), GPP_ERR_SECTIONS);
    cr_assert_eq(gpp_header_encode(big, 1, GPP_PAD_SPEC, out, sizeof(out)), GPP_ERR_SECTIONS);
    cr_assert_str_eq(out, "");
}

Test(gpp, an_empty_model_is_the_bare_header)
{
    struct gpp_string g;
    char out[64];

    memset(&g, 0, sizeof(g));
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_OK);
    cr_assert_str_eq(out, "DBAA");      /* what the reference writes */
    assert_round_trip("DBAA");
}

/* ---- each section's field widths ---- */

static const struct {
    const char *name;
    int id;
    unsigned core_bits, sub_bits;
    const char *ref;    /* the reference library's string, fields set as pattern() */
} section_vectors[] = {
    {"usnat", 7, 70, 3, "DBABLA~CYYYYYYYYYaE.YA"},
    {"usca", 8, 46, 3, "DBABBg~BYYYYYaE.YA"},
    {"usva", 9, 40, 0, "DBABRg~BYYYYaE"},
    {"usco", 10, 38, 3, "DBABJg~BYYYYaA.YA"},
    {"usut", 11, 42, 0, "DBABFg~BYYYYYmA"},
    {"usct", 12, 44, 3, "DBABVg~BYYYYYaA.YA"},
    {"usfl", 13, 46, 0, "DBABAw~BYYYYYaE"},
    {"usmt", 14, 46, 3, "DBABQw~BYYYYYaE.YA"},
    {"usor", 15, 52, 3, "DBABIw~BYYYYYYaEA.YA"},
    {"ustx", 16, 42, 3, "DBABEw~BYYYYYmA.YA"},
    {"usde", 17, 52, 3, "DBABUw~BYYYYYYaEA.YA"},
    {"usia", 18, 42, 3, "DBABCw~BYYYYYmA.YA"},
    {"usne", 19, 42, 3, "DBABSw~BYYYYYmA.YA"},
    {"usnh", 20, 46, 3, "DBABKw~BYYYYYaE.YA"},
    {"usnj", 21, 54, 3, "DBABAYA~BYYYYYYYmA.YA"},
    {"ustn", 22, 42, 3, "DBABQYA~BYYYYYmA.YA"},
    {"usmn", 23, 42, 3, "DBABIYA~BYYYYYmA.YA"},
    {"usmd", 24, 22, 3, "DBABEYA~BmGE.YA"},
    {"usin", 25, 24, 16, "DBABUYA~BmGG.GGE"},
    {"usky", 26, 24, 16, "DBABCYA~BmGG.GGE"},
    {"usri", 27, 24, 16, "DBABSYA~BmGG.GGE"},
};

/* The values tests/gpp's generator gave the reference: in wire order,
 * skipping the version, value i+1 mod 3 for the i-th value, except
 * MspaCoveredTransaction = 2 (which takes no i); Gpc true. */
static void pattern(int id, struct gpp_section *s)
{
    size_t nf;
    const struct gpp_field_desc *f = gpp_section_fields(id, &nf);
    unsigned i = 0;

    cr_assert_eq(gpp_section_init(s, id), GPP_OK);
    for (size_t r = 0; r < nf; r++) {
        if (f[r].field == GPP_F_VERSION)
            continue;
        if (f[r].field == GPP_F_MSPA_COVERED_TRANSACTION) {
            s->v[f[r].field][0] = 2;
            continue;
        }
        for (unsigned k = 0; k < f[r].count; k++)
            s->v[f[r].field][k] = (unsigned char)((i + k + 1) % 3);
        i += f[r].count;
    }
    s->gpc = gpp_section_sub(id) == GPP_SUB_GPC;
}

Test(gpp, every_section_has_the_reference_width)
{
    for (size_t i = 0; i < sizeof(section_vectors) / sizeof(section_vectors[0]); i++) {
        size_t nf;
        const struct gpp_field_desc *f = gpp_section_fields(section_vectors[i].id, &nf);
        unsigned bits[2] = {0, 0};

        cr_assert_not_null(f);
        cr_assert_str_eq(gpp_section_name(section_vectors[i].id), section_vectors[i].name);
        cr_assert_eq(gpp_section_id(section_vectors[i].name), section_vectors[i].id);
        for (size_t r = 0; r < nf; r++)
            bits[f[r].sub] += (unsigned)f[r].count * f[r].bits;
        if (gpp_section_sub(section_vectors[i].id) == GPP_SUB_GPC)
            bits[1] += 3;
        cr_assert_eq(bits[0], section_vectors[i].core_bits, "%s core", section_vectors[i].name);
        cr_assert_eq(bits[1], section_vectors[i].sub_bits, "%s sub", section_vectors[i].name);
    }
}

Test(gpp, every_section_decodes_the_reference_string_to_its_fields)
{
    for (size_t i = 0; i < sizeof(section_vectors) / sizeof(section_vectors[0]); i++) {
        struct gpp_string g;
        struct gpp_section want;
        char err[256];
        const char *s = section_vectors[i].ref;

        pattern(section_vectors[i].id, &want);
        cr_assert_eq(gpp_decode(s, strlen(s), &g, err, sizeof(err)), GPP_OK, "%s: %s", s, err);
        cr_assert_eq(g.nsections, 1);
        cr_assert_eq(g.sections[0].id, section_vectors[i].id);
        cr_assert_eq(memcmp(g.sections[0].v, want.v, sizeof(want.v)), 0, "%s fields",
                     section_vectors[i].name);
        cr_assert_eq(g.sections[0].sub, section_vectors[i].sub_bits > 0);
        cr_assert_eq(g.sections[0].gpc, want.gpc);
    }
}

Test(gpp, every_section_encodes_its_fields_to_the_reference_string)
{
    for (size_t i = 0; i < sizeof(section_vectors) / sizeof(section_vectors[0]); i++) {
        struct gpp_string g;
        char out[GPP_MAX_STRING + 1];

        memset(&g, 0, sizeof(g));
        g.nsections = 1;
        pattern(section_vectors[i].id, &g.sections[0]);
        cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_OK);
        cr_assert_str_eq(out, section_vectors[i].ref);
    }
}

Test(gpp, new_sections_carry_the_reference_defaults)
{
    static const struct {
        int id;
        const char *s;
    } d[] = {{GPP_USNAT, "DBABLA~CAAAAAAAAABA.QA"}, {GPP_USCA, "DBABBg~BAAAAABA.QA"},
             {GPP_USVA, "DBABRg~BAAAABA"}, {GPP_USIN, "DBABUYA~BQAA.AAA"},
             {GPP_USMD, "DBABEYA~BQAA.QA"}};

    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        struct gpp_string g;
        char out[GPP_MAX_STRING + 1];

        memset(&g, 0, sizeof(g));
        g.nsections = 1;
        cr_assert_eq(gpp_section_init(&g.sections[0], d[i].id), GPP_OK);
        cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_OK);
        cr_assert_str_eq(out, d[i].s);
    }
}

Test(gpp, several_sections_in_one_string_match_the_reference)
{
    /* usnat, usca, usco, usnj, usri with SaleOptOut 1, as the library wrote it */
    const char *s = "DBAErzFpgA~CAAQAAAAAABA.QA~BAQAAABA.QA~BAQAAEA.QA~BAQAAAAAQA.QA~BQBA.AAA";
    static const int ids[] = {7, 8, 10, 21, 27};
    struct gpp_string g;
    char out[GPP_MAX_STRING + 1];

    memset(&g, 0, sizeof(g));
    g.nsections = 5;
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(gpp_section_init(&g.sections[i], ids[i]), GPP_OK);
        g.sections[i].v[GPP_F_SALE_OPT_OUT][0] = 1;
    }
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_OK);
    cr_assert_str_eq(out, s);
    assert_round_trip(s);
}

Test(gpp, an_absent_sub_section_stays_absent)
{
    struct gpp_string g;

    assert_round_trip("DBABBg~BYYYYYaE");
    cr_assert_eq(decode("DBABBg~BYYYYYaE", &g), GPP_OK);
    cr_assert_eq(g.sections[0].sub, 0);
    cr_assert_eq(g.sections[0].gpc, 0);
    assert_round_trip("DBABUYA~BmGG");
}

/* ---- what the decoder refuses ---- */

Test(gpp, decode_refuses_malformed_strings_with_a_reason)
{
    static const struct {
        const char *s;
        int st;
    } bad[] = {
        {"", GPP_ERR_EMPTY},
        {"~BYYYYYaE", GPP_ERR_EMPTY},
        {"DBABBg~", GPP_ERR_EMPTY},
        {"DBABBg~.YA", GPP_ERR_EMPTY},
        {"DBABBg~BYYYYYaE.", GPP_ERR_EMPTY},
        {"DBABBg~BYYY+YaE.YA", GPP_ERR_CHARSET},
        {"DBABBg~BYYYYYaE.YA=", GPP_ERR_CHARSET},
        {"DBA.Bg~BYYYYYaE.YA", GPP_ERR_CHARSET},
        {"DBABBg", GPP_ERR_SECTIONS},
        {"DBABBg~BYYYYYaE.YA~BYYYYYaE.YA", GPP_ERR_SECTIONS},
        {"DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", GPP_ERR_SECTION},
        {"DBABLA~BVQqAAAAAgA.QA", GPP_ERR_VERSION},          /* usnat version 1 */
        {"DBABBg~CYYYYYaE.YA", GPP_ERR_VERSION},             /* usca version 2 */
        {"DBABBg~B4YYYYaE.YA", GPP_ERR_VALUE},               /* SaleOptOutNotice 3 */
        {"DBABBg~BYYYYYYE.YA", GPP_ERR_VALUE},               /* MspaCoveredTransaction 0 */
        {"DBABBg~BYYYYYaE.oA", GPP_ERR_SUBSECTION},          /* sub-section type 2 */
        {"DBABBg~BYYYYYaE.YA.YA", GPP_ERR_SUBSECTION},
        {"DBABRg~BYYYYaE.YA", GPP_ERR_SUBSECTION},           /* usva has none */
        {"DBABBg~BYYYYY", GPP_ERR_LENGTH},
        {"DBABBg~BYYYYYaE.Y", GPP_OK},                        /* spec padding: fine */
        {"DBABBg~BYYYYYaE.", GPP_ERR_EMPTY},
        {"DBABUYA~BmGG.GG", GPP_ERR_LENGTH},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct gpp_string g;
        char err[256];

        err[0] = 'x';
        err[1] = '\0';
        cr_assert_eq(gpp_decode(bad[i].s, strlen(bad[i].s), &g, err, sizeof(err)), bad[i].st,
                     "%s: %s", bad[i].s, err);
        if (bad[i].st != GPP_OK)
            cr_assert(strlen(err) > 1, "%s: no reason given", bad[i].s);
    }
}

Test(gpp, decode_names_the_field_out_of_range)
{
    struct gpp_string g;
    char err[256];
    const char *s = "DBABBg~B4YYYYaE.YA";

    cr_assert_eq(gpp_decode(s, strlen(s), &g, err, sizeof(err)), GPP_ERR_VALUE);
    cr_assert_str_eq(err, "usca: SaleOptOutNotice is 3, expected 0-2");
}

Test(gpp, decode_refuses_a_string_longer_than_the_limit)
{
    static char s[GPP_MAX_STRING + 2];
    struct gpp_string g;

    memset(s, 'A', GPP_MAX_STRING + 1);
    cr_assert_eq(decode(s, &g), GPP_ERR_TOO_LONG);
}

Test(gpp, decode_reads_only_len_bytes)
{
    struct gpp_string g;
    char err[256];
    const char *s = "DBABBg~BYYYYYaE.YAjunk";

    cr_assert_eq(gpp_decode(s, strlen(s) - 4, &g, err, sizeof(err)), GPP_OK, "%s", err);
}

/* ---- what the encoder refuses ---- */

Test(gpp, encode_refuses_bad_structs_and_writes_nothing)
{
    struct gpp_string g;
    char out[GPP_MAX_STRING + 1];

    memset(&g, 0, sizeof(g));
    g.nsections = 1;
    gpp_section_init(&g.sections[0], GPP_USCA);
    g.sections[0].v[GPP_F_SALE_OPT_OUT][0] = 3;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_VALUE);
    cr_assert_str_eq(out, "");

    gpp_section_init(&g.sections[0], GPP_USCA);
    g.sections[0].v[GPP_F_MSPA_COVERED_TRANSACTION][0] = 0;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_VALUE);

    gpp_section_init(&g.sections[0], GPP_USCA);
    g.sections[0].v[GPP_F_SHARING_NOTICE][0] = 1;          /* usca has no SharingNotice */
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_VALUE);

    gpp_section_init(&g.sections[0], GPP_USCA);
    g.sections[0].v[GPP_F_SENSITIVE_DATA_PROCESSING][9] = 1;   /* usca has 9 */
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_VALUE);

    gpp_section_init(&g.sections[0], GPP_USCA);
    g.sections[0].v[GPP_F_VERSION][0] = 2;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_VALUE);

    gpp_section_init(&g.sections[0], GPP_USCA);
    g.sections[0].sub = 0;
    g.sections[0].gpc = 1;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_SUBSECTION);

    gpp_section_init(&g.sections[0], GPP_USVA);
    g.sections[0].sub = 1;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_SUBSECTION);

    gpp_section_init(&g.sections[0], GPP_USIN);
    g.sections[0].sub = 0;
    g.sections[0].v[GPP_F_SENSITIVE_DATA_PROCESSING][0] = 1;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_SUBSECTION);

    g.sections[0].id = 6;
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_SECTION);
    cr_assert_eq(gpp_section_init(&g.sections[0], 6), GPP_ERR_SECTION);
    cr_assert_eq(gpp_section_init(&g.sections[0], 28), GPP_ERR_SECTION);
}

Test(gpp, encode_refuses_sections_out_of_order)
{
    struct gpp_string g;
    char out[GPP_MAX_STRING + 1];

    memset(&g, 0, sizeof(g));
    g.nsections = 2;
    gpp_section_init(&g.sections[0], GPP_USCA);
    gpp_section_init(&g.sections[1], GPP_USNAT);
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_SECTIONS);
    gpp_section_init(&g.sections[1], GPP_USCA);
    cr_assert_eq(gpp_encode(&g, out, sizeof(out)), GPP_ERR_SECTIONS);
}

Test(gpp, encode_into_a_small_buffer_fails_cleanly)
{
    struct gpp_string g;
    char out[GPP_MAX_STRING + 1];

    memset(&g, 0, sizeof(g));
    g.nsections = 1;
    gpp_section_init(&g.sections[0], GPP_USCA);
    for (size_t len = 0; len < strlen("DBABBg~BAAAAABA.QA") + 1; len++) {
        memset(out, 'z', sizeof(out));
        cr_assert_eq(gpp_encode(&g, out, len), GPP_ERR_NOSPACE, "len %zu", len);
        if (len > 0)
            cr_assert_eq(out[0], '\0');
        cr_assert_eq(out[len], 'z', "wrote past %zu", len);
    }
    cr_assert_eq(gpp_encode(&g, out, strlen("DBABBg~BAAAAABA.QA") + 1), GPP_OK);
}

Test(gpp, strerror_covers_every_status)
{
    for (int st = GPP_OK; st <= GPP_ERR_NOSPACE; st++)
        cr_assert_str_neq(gpp_strerror(st), "unknown error", "status %d", st);
    cr_assert_str_eq(gpp_strerror(999), "unknown error");
}

Test(gpp, check_names_the_section_and_field)
{
    struct gpp_string g;
    char err[256];

    memset(&g, 0, sizeof(g));
    g.nsections = 2;
    gpp_section_init(&g.sections[0], GPP_USNAT);
    gpp_section_init(&g.sections[1], GPP_USTX);
    cr_assert_eq(gpp_check(&g, err, sizeof(err)), GPP_OK);
    cr_assert_str_eq(err, "");
    g.sections[1].v[GPP_F_SENSITIVE_DATA_PROCESSING][7] = 3;
    cr_assert_eq(gpp_check(&g, err, sizeof(err)), GPP_ERR_VALUE);
    cr_assert_str_eq(err, "ustx: SensitiveDataProcessing is 3, expected 0-2");
    gpp_section_init(&g.sections[1], GPP_USNAT);
    cr_assert_eq(gpp_check(&g, err, sizeof(err)), GPP_ERR_SECTIONS);
    cr_assert_str_eq(err, "usnat after usnat: not in ascending order");
}
