/*
 * fuzz_gpp.c - GPP strings (gpp/gpp.c).
 *
 * The input is used twice:
 * - as a GPP string: when gpp_decode accepts it, gpp_encode of the result
 *   gives back exactly the input (same bytes, same length), and decoding
 *   that again gives the same struct; when gpp_header_decode accepts the
 *   header part, encoding those IDs with one of the two paddings gives the
 *   header part back;
 * - as a struct: the bytes pick sections, field values, sub-sections, GPC
 *   and paddings; when gpp_encode accepts the struct, gpp_decode accepts
 *   its string and gives the same struct back.
 * A refusal must come with a reason (err not empty).
 */
#include "fuzz.h"
#include "../../gpp/gpp.h"

#include <string.h>

static int same(const struct gpp_string *a, const struct gpp_string *b)
{
    if (a->nsections != b->nsections || a->header_pad != b->header_pad)
        return 0;
    for (size_t i = 0; i < a->nsections; i++) {
        const struct gpp_section *x = &a->sections[i], *y = &b->sections[i];

        if (x->id != y->id || x->sub != y->sub || x->gpc != y->gpc ||
            memcmp(x->v, y->v, sizeof(x->v)) != 0)
            return 0;
        if (x->pad[0] != y->pad[0] || (x->sub && x->pad[1] != y->pad[1]))
            return 0;
    }
    return 1;
}

static void as_string(const uint8_t *data, size_t size)
{
    static struct gpp_string g, again;
    char out[GPP_MAX_STRING + 1], err[256];
    int ids[GPP_HEADER_MAX_IDS];
    size_t n, hlen;
    const char *s = (const char *)data;
    int st;

    err[0] = '\0';
    st = gpp_decode(s, size, &g, err, sizeof(err));
    if (st != GPP_OK) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(strcmp(gpp_strerror(st), "unknown error") != 0);
    } else {
        FUZZ_CHECK(gpp_encode(&g, out, sizeof(out)) == GPP_OK);
        FUZZ_CHECK(strlen(out) == size && memcmp(out, s, size) == 0);
        FUZZ_CHECK(gpp_decode(out, strlen(out), &again, err, sizeof(err)) == GPP_OK);
        FUZZ_CHECK(same(&g, &again));
    }
    if (gpp_header_decode(s, size, ids, &n) == GPP_OK) {
        char ref[GPP_MAX_STRING + 1], spec[GPP_MAX_STRING + 1];

        hlen = memchr(s, '~', size) ? (size_t)((const char *)memchr(s, '~', size) - s) : size;
        FUZZ_CHECK(gpp_header_encode(ids, n, GPP_PAD_REFERENCE, ref, sizeof(ref)) == GPP_OK);
        FUZZ_CHECK(gpp_header_encode(ids, n, GPP_PAD_SPEC, spec, sizeof(spec)) == GPP_OK);
        FUZZ_CHECK((strlen(ref) == hlen && memcmp(ref, s, hlen) == 0) ||
                   (strlen(spec) == hlen && memcmp(spec, s, hlen) == 0));
    }
}

static void as_struct(const uint8_t *data, size_t size)
{
    static struct gpp_string g, back;
    char out[GPP_MAX_STRING + 1], again[GPP_MAX_STRING + 1], err[256];
    size_t at = 0;
    int id = GPP_SID_MIN - 1;

#define NEXT() (at < size ? data[at++] : 0)
    memset(&g, 0, sizeof(g));
    g.header_pad = (enum gpp_padding)(NEXT() & 1);
    g.nsections = NEXT() % 4;
    for (size_t i = 0; i < g.nsections; i++) {
        struct gpp_section *s = &g.sections[i];
        size_t nf;
        const struct gpp_field_desc *f;
        uint8_t flags;

        /* mostly valid: ascending IDs, values 0-2; sometimes not */
        id += 1 + NEXT() % 8;
        if (id > GPP_SID_MAX + 1)
            id = GPP_SID_MAX + 1;
        if (gpp_section_init(s, id) != GPP_OK)
            s->id = (enum gpp_sid)id;
        f = gpp_section_fields(id, &nf);
        for (size_t r = 0; r < nf; r++)
            if (f[r].field != GPP_F_VERSION)
                for (unsigned k = 0; k < f[r].count; k++)
                    s->v[f[r].field][k] = (unsigned char)(NEXT() % 4);
        flags = NEXT();
        s->sub = (flags & 1) != 0;
        s->gpc = (flags & 2) != 0;
        s->pad[0] = (enum gpp_padding)((flags >> 2) & 1);
        s->pad[1] = (enum gpp_padding)((flags >> 3) & 1);
        if (flags & 0x80) {
            unsigned fi = NEXT() % GPP_FIELD_COUNT;
            unsigned k = NEXT() % GPP_MAX_LIST;

            s->v[fi][k] = NEXT();
        }
    }
#undef NEXT
    if (gpp_encode(&g, out, sizeof(out)) != GPP_OK) {
        FUZZ_CHECK(out[0] == '\0');
        return;
    }
    err[0] = '\0';
    FUZZ_CHECK(gpp_decode(out, strlen(out), &back, err, sizeof(err)) == GPP_OK);
    /* A padding that gives the same length reads back as the reference's:
     * with the struct's own paddings put back, the string is the same. */
    for (size_t i = 0; i < g.nsections; i++) {
        back.sections[i].pad[0] = g.sections[i].pad[0];
        if (g.sections[i].sub)
            back.sections[i].pad[1] = g.sections[i].pad[1];
    }
    back.header_pad = g.header_pad;
    FUZZ_CHECK(gpp_encode(&back, again, sizeof(again)) == GPP_OK);
    FUZZ_CHECK(strcmp(again, out) == 0);
    FUZZ_CHECK(same(&g, &back));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_string(data, size);
    as_struct(data, size);
    return 0;
}
