/*
 * gpp.c - IAB GPP strings: header, usnat and the US state sections.
 *
 * Bits are kept packed, most significant first, in a struct on the stack;
 * each part of the string (the header, each sub-section) is read or written
 * on its own, so a bit count never crosses a '~' or a '.'.
 *
 * The decoder is strict so that the encoder can give back exactly what it
 * read: a part's length must be one of the two paddings (see gpp.h) of the
 * bits its fields use, padding bits must be 0, and the header's ID range
 * must be canonical (consecutive IDs always one range, as every writer
 * makes them). Anything else is refused with a reason, never guessed at.
 */
#include "gpp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the sections, from @iabgpp/cmpapi 3.2.0 and the IAB specifications */

#define VER(n) {GPP_F_VERSION, "Version", 1, 6, 0, n, n, 0}
#define MVER {GPP_F_VERSION, "MspaVersion", 1, 6, 0, 1, 1, 0}
#define I2(f, name) {f, name, 1, 2, 0, 0, GPP_VALUE_MAX, 0}
#define L2(f, name, n) {f, name, n, 2, 0, 0, GPP_VALUE_MAX, 1}
#define MSPA_CT {GPP_F_MSPA_COVERED_TRANSACTION, "MspaCoveredTransaction", 1, 2, 0, 1, 2, 0}
#define MSPA_3 MSPA_CT, \
    I2(GPP_F_MSPA_OPT_OUT_OPTION_MODE, "MspaOptOutOptionMode"), \
    I2(GPP_F_MSPA_SERVICE_PROVIDER_MODE, "MspaServiceProviderMode")

#define SHN I2(GPP_F_SHARING_NOTICE, "SharingNotice")
#define PRN I2(GPP_F_PROCESSING_NOTICE, "ProcessingNotice")
#define SON I2(GPP_F_SALE_OPT_OUT_NOTICE, "SaleOptOutNotice")
#define SHON I2(GPP_F_SHARING_OPT_OUT_NOTICE, "SharingOptOutNotice")
#define TAON I2(GPP_F_TARGETED_ADVERTISING_OPT_OUT_NOTICE, "TargetedAdvertisingOptOutNotice")
#define SO I2(GPP_F_SALE_OPT_OUT, "SaleOptOut")
#define SHO I2(GPP_F_SHARING_OPT_OUT, "SharingOptOut")
#define TAO I2(GPP_F_TARGETED_ADVERTISING_OPT_OUT, "TargetedAdvertisingOptOut")
#define SDP(n) L2(GPP_F_SENSITIVE_DATA_PROCESSING, "SensitiveDataProcessing", n)
#define KC(n) L2(GPP_F_KNOWN_CHILD_SENSITIVE_DATA_CONSENTS, "KnownChildSensitiveDataConsents", n)
#define KC1 I2(GPP_F_KNOWN_CHILD_SENSITIVE_DATA_CONSENTS, "KnownChildSensitiveDataConsents")
#define PDC I2(GPP_F_PERSONAL_DATA_CONSENTS, "PersonalDataConsents")
#define ADPC I2(GPP_F_ADDITIONAL_DATA_PROCESSING_CONSENT, "AdditionalDataProcessingConsent")
#define SDP_SUB(n) {GPP_F_SENSITIVE_DATA_PROCESSING, "SensitiveDataProcessing", n, 2, 1, 0, GPP_VALUE_MAX, 1}

static const struct gpp_field_desc usnat_f[] = {
    VER(2), SHN, SON, SHON, TAON,
    I2(GPP_F_SENSITIVE_DATA_PROCESSING_OPT_OUT_NOTICE, "SensitiveDataProcessingOptOutNotice"),
    I2(GPP_F_SENSITIVE_DATA_LIMIT_USE_NOTICE, "SensitiveDataLimitUseNotice"),
    SO, SHO, TAO, SDP(16), KC(3), PDC, MSPA_3
};
static const struct gpp_field_desc usca_f[] = {
    VER(1), SON, SHON,
    I2(GPP_F_SENSITIVE_DATA_LIMIT_USE_NOTICE, "SensitiveDataLimitUseNotice"),
    SO, SHO, SDP(9), KC(2), PDC, MSPA_3
};
static const struct gpp_field_desc usva_f[] = {
    VER(1), SHN, SON, TAON, SO, TAO, SDP(8), KC1, MSPA_3
};
static const struct gpp_field_desc usco_f[] = {
    VER(1), SHN, SON, TAON, SO, TAO, SDP(7), KC1, MSPA_3
};
static const struct gpp_field_desc usut_f[] = {
    VER(1), SHN, SON, TAON,
    I2(GPP_F_SENSITIVE_DATA_PROCESSING_OPT_OUT_NOTICE, "SensitiveDataProcessingOptOutNotice"),
    SO, TAO, SDP(8), KC1, MSPA_3
};
static const struct gpp_field_desc usct_f[] = {
    VER(1), SHN, SON, TAON, SO, TAO, SDP(8), KC(3), MSPA_3
};
static const struct gpp_field_desc usfl_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(8), KC(3), ADPC, MSPA_3
};
static const struct gpp_field_desc usmt_f[] = {
    VER(1), SHN, SON, TAON, SO, TAO, SDP(8), KC(3), ADPC, MSPA_3
};
static const struct gpp_field_desc usor_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(11), KC(3), ADPC, MSPA_3
};
static const struct gpp_field_desc ustx_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(8), KC1, ADPC, MSPA_3
};
static const struct gpp_field_desc usde_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(9), KC(5), ADPC, MSPA_3
};
static const struct gpp_field_desc usia_f[] = {
    VER(1), PRN, SON, TAON,
    I2(GPP_F_SENSITIVE_DATA_OPT_OUT_NOTICE, "SensitiveDataOptOutNotice"),
    SO, TAO, SDP(8), KC1, MSPA_3
};
static const struct gpp_field_desc usne_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(8), KC1, ADPC, MSPA_3
};
static const struct gpp_field_desc usnh_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(8), KC(3), ADPC, MSPA_3
};
static const struct gpp_field_desc usnj_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(10), KC(5), ADPC, MSPA_3
};
static const struct gpp_field_desc ustn_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(8), KC1, ADPC, MSPA_3
};
static const struct gpp_field_desc usmn_f[] = {
    VER(1), PRN, SON, TAON, SO, TAO, SDP(8), KC1, ADPC, MSPA_3
};
/* 24-27 start with the MSPA fields and have one MspaMode. */
static const struct gpp_field_desc usmd_f[] = {
    MVER, MSPA_CT, I2(GPP_F_MSPA_MODE, "MspaMode"), PRN, SON, TAON, SO, TAO, ADPC
};
static const struct gpp_field_desc usin_f[] = {
    MVER, MSPA_CT, I2(GPP_F_MSPA_MODE, "MspaMode"), PRN, SON, TAON, SO, TAO, KC1, ADPC,
    SDP_SUB(8)
};

struct section_def {
    const char *name;
    enum gpp_sub sub;
    const struct gpp_field_desc *fields;
    size_t nfields;
};

#define DEF(name, sub, f) {name, sub, f, sizeof(f) / sizeof(f[0])}

/* Indexed by ID - GPP_SID_MIN. */
static const struct section_def sections[GPP_MAX_SECTIONS] = {
    DEF("usnat", GPP_SUB_GPC, usnat_f),
    DEF("usca", GPP_SUB_GPC, usca_f),
    DEF("usva", GPP_SUB_NONE, usva_f),
    DEF("usco", GPP_SUB_GPC, usco_f),
    DEF("usut", GPP_SUB_NONE, usut_f),
    DEF("usct", GPP_SUB_GPC, usct_f),
    DEF("usfl", GPP_SUB_NONE, usfl_f),
    DEF("usmt", GPP_SUB_GPC, usmt_f),
    DEF("usor", GPP_SUB_GPC, usor_f),
    DEF("ustx", GPP_SUB_GPC, ustx_f),
    DEF("usde", GPP_SUB_GPC, usde_f),
    DEF("usia", GPP_SUB_GPC, usia_f),
    DEF("usne", GPP_SUB_GPC, usne_f),
    DEF("usnh", GPP_SUB_GPC, usnh_f),
    DEF("usnj", GPP_SUB_GPC, usnj_f),
    DEF("ustn", GPP_SUB_GPC, ustn_f),
    DEF("usmn", GPP_SUB_GPC, usmn_f),
    DEF("usmd", GPP_SUB_GPC, usmd_f),
    DEF("usin", GPP_SUB_SENSITIVE, usin_f),
    DEF("usky", GPP_SUB_SENSITIVE, usin_f),    /* same layout as usin */
    DEF("usri", GPP_SUB_SENSITIVE, usin_f),
};

static const struct section_def *def_of(int id)
{
    if (id < GPP_SID_MIN || id > GPP_SID_MAX)
        return NULL;
    return &sections[id - GPP_SID_MIN];
}

const struct gpp_field_desc *gpp_section_fields(int id, size_t *n)
{
    const struct section_def *d = def_of(id);

    *n = d ? d->nfields : 0;
    return d ? d->fields : NULL;
}

const char *gpp_section_name(int id)
{
    const struct section_def *d = def_of(id);

    return d ? d->name : NULL;
}

int gpp_section_id(const char *name)
{
    for (int id = GPP_SID_MIN; id <= GPP_SID_MAX; id++)
        if (strcmp(sections[id - GPP_SID_MIN].name, name) == 0)
            return id;
    return -1;
}

int gpp_section_version(int id)
{
    const struct section_def *d = def_of(id);

    return d ? d->fields[0].min : -1;
}

enum gpp_sub gpp_section_sub(int id)
{
    const struct section_def *d = def_of(id);

    return d ? d->sub : GPP_SUB_NONE;
}

const struct gpp_field_desc *gpp_section_field(int id, enum gpp_field f)
{
    const struct section_def *d = def_of(id);

    for (size_t i = 0; d && i < d->nfields; i++)
        if (d->fields[i].field == f)
            return &d->fields[i];
    return NULL;
}

const struct gpp_field_desc *gpp_field_by_name(const char *name)
{
    for (size_t d = 0; d < GPP_MAX_SECTIONS; d++)
        for (size_t i = 0; i < sections[d].nfields; i++)
            if (strcmp(sections[d].fields[i].name, name) == 0)
                return &sections[d].fields[i];
    return NULL;
}

int gpp_section_init(struct gpp_section *s, int id)
{
    const struct section_def *d = def_of(id);

    memset(s, 0, sizeof(*s));
    if (!d)
        return GPP_ERR_SECTION;
    s->id = (enum gpp_sid)id;
    for (size_t i = 0; i < d->nfields; i++)
        for (unsigned k = 0; k < d->fields[i].count; k++)
            s->v[d->fields[i].field][k] = d->fields[i].min;
    s->sub = d->sub != GPP_SUB_NONE;
    return GPP_OK;
}

const char *gpp_strerror(int status)
{
    switch (status) {
    case GPP_OK: return "ok";
    case GPP_ERR_TOO_LONG: return "GPP string too long";
    case GPP_ERR_CHARSET: return "not web-safe base64 (A-Z a-z 0-9 - _, parts joined by ~ and .)";
    case GPP_ERR_EMPTY: return "empty header, section or sub-section";
    case GPP_ERR_HEADER: return "not a GPP header (type 3, version 1)";
    case GPP_ERR_RANGE: return "malformed section ID range in the header";
    case GPP_ERR_SECTION: return "unsupported section";
    case GPP_ERR_SECTIONS: return "sections do not match the header";
    case GPP_ERR_VERSION: return "unsupported section version";
    case GPP_ERR_LENGTH: return "wrong length for the fields";
    case GPP_ERR_PADDING: return "padding bits not zero";
    case GPP_ERR_VALUE: return "field value out of range";
    case GPP_ERR_SUBSECTION: return "bad sub-section";
    case GPP_ERR_NOSPACE: return "output buffer too small";
    default: return "unknown error";
    }
}

/* ---- bits and base64 ---- */

#define BITS_CAP (GPP_MAX_STRING * 6)

struct bits {
    unsigned char b[BITS_CAP / 8 + 4];    /* + room for padding */
    size_t n;       /* bits held */
    size_t pos;     /* next bit to read */
};

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static void bits_reset(struct bits *w)
{
    memset(w->b, 0, sizeof(w->b));
    w->n = 0;
    w->pos = 0;
}

/* Appends the low width bits of v. -1 when full. */
static int bits_put(struct bits *w, unsigned v, unsigned width)
{
    if (w->n + width > BITS_CAP)
        return -1;
    for (unsigned i = width; i-- > 0;) {
        if ((v >> i) & 1u)
            w->b[w->n / 8] |= (unsigned char)(0x80u >> (w->n % 8));
        w->n++;
    }
    return 0;
}

/* Reads width bits into *v. -1 past the end. */
static int bits_get(struct bits *r, unsigned width, unsigned *v)
{
    if (r->pos + width > r->n)
        return -1;
    *v = 0;
    for (unsigned i = 0; i < width; i++, r->pos++)
        *v = (*v << 1) | ((r->b[r->pos / 8] >> (7 - r->pos % 8)) & 1u);
    return 0;
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

static size_t padded_len(size_t nbits, enum gpp_padding pad)
{
    return pad == GPP_PAD_SPEC ? round_up(nbits, 6) : round_up(round_up(nbits, 8), 6);
}

/* Appends w's bits, padded, as base64 to out at *at. */
static int bits_emit(const struct bits *w, enum gpp_padding pad, char *out, size_t outlen,
                     size_t *at)
{
    size_t total = padded_len(w->n, pad);
    struct bits r = *w;

    if (*at + total / 6 + 1 > outlen)
        return GPP_ERR_NOSPACE;
    r.n = total;        /* bits past w->n are zero: the padding */
    r.pos = 0;
    for (size_t i = 0; i < total / 6; i++) {
        unsigned v = 0;

        if (bits_get(&r, 6, &v) != 0)
            return GPP_ERR_NOSPACE;     /* not reached: total bits are there */
        out[(*at)++] = b64[v & 63];
    }
    out[*at] = '\0';
    return GPP_OK;
}

/* Loads len base64 characters into r. Characters were checked already. */
static void bits_load(struct bits *r, const char *s, size_t len)
{
    bits_reset(r);
    for (size_t i = 0; i < len; i++)
        bits_put(r, (unsigned)b64_value(s[i]), 6);
}

/* After the fields: the padding the part used, or an error. */
static int bits_check_end(const struct bits *r, enum gpp_padding *pad)
{
    size_t used = r->pos;

    if (r->n == padded_len(used, GPP_PAD_REFERENCE))
        *pad = GPP_PAD_REFERENCE;
    else if (r->n == padded_len(used, GPP_PAD_SPEC))
        *pad = GPP_PAD_SPEC;
    else
        return GPP_ERR_LENGTH;
    for (size_t i = used; i < r->n; i++)
        if ((r->b[i / 8] >> (7 - i % 8)) & 1u)
            return GPP_ERR_PADDING;
    return GPP_OK;
}

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- Fibonacci coding and the header's ID range ---- */

/* Fibonacci numbers 1, 2, 3, 5, ...: enough for GPP_HEADER_MAX_ID. */
#define FIB_MAX 16

static unsigned fib(unsigned i)
{
    unsigned a = 1, b = 2;

    for (unsigned k = 0; k < i; k++) {
        unsigned t = a + b;
        a = b;
        b = t;
    }
    return a;
}

/* v >= 1, v <= GPP_HEADER_MAX_ID. */
static int fib_put(struct bits *w, unsigned v)
{
    unsigned k = 0;
    unsigned char code[FIB_MAX];

    while (k + 1 < FIB_MAX && fib(k + 1) <= v)
        k++;
    memset(code, 0, sizeof(code));
    for (unsigned i = k + 1; i-- > 0;)
        if (fib(i) <= v) {
            code[i] = 1;
            v -= fib(i);
        }
    for (unsigned i = 0; i <= k; i++)
        if (bits_put(w, code[i], 1) != 0)
            return -1;
    return bits_put(w, 1, 1);
}

/* Reads one code word (ends at the first "11"). -1 when malformed or
 * longer than FIB_MAX bits (a value no section ID reaches). */
static int fib_get(struct bits *r, unsigned *v)
{
    unsigned prev = 0, bit;

    *v = 0;
    for (unsigned i = 0; i <= FIB_MAX; i++) {
        if (bits_get(r, 1, &bit) != 0)
            return -1;
        if (bit && prev)
            return 0;
        if (bit)
            *v += fib(i);
        prev = bit;
    }
    return -1;
}

static int header_put(struct bits *w, const int *ids, size_t n)
{
    size_t groups = 0;
    int offset = 0;

    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 1 || ids[i] > GPP_HEADER_MAX_ID || (i > 0 && ids[i] <= ids[i - 1]))
            return GPP_ERR_SECTIONS;
        if (i == 0 || ids[i] != ids[i - 1] + 1)
            groups++;
    }
    if (bits_put(w, GPP_HEADER_TYPE, 6) || bits_put(w, GPP_HEADER_VERSION, 6) ||
        bits_put(w, (unsigned)groups, 12))
        return GPP_ERR_NOSPACE;
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j + 1 < n && ids[j + 1] == ids[j] + 1)
            j++;
        if (j == i) {
            if (bits_put(w, 0, 1) || fib_put(w, (unsigned)(ids[i] - offset)))
                return GPP_ERR_NOSPACE;
        } else {
            if (bits_put(w, 1, 1) || fib_put(w, (unsigned)(ids[i] - offset)) ||
                fib_put(w, (unsigned)(ids[j] - ids[i])))
                return GPP_ERR_NOSPACE;
        }
        offset = ids[j];
        i = j + 1;
    }
    return GPP_OK;
}

static int header_get(struct bits *r, int *ids, size_t *n, char *err, size_t errlen)
{
    unsigned type, version, groups, range, a, b;
    int offset = 0;

    *n = 0;
    if (bits_get(r, 6, &type) || bits_get(r, 6, &version) || bits_get(r, 12, &groups))
        return fail(err, errlen, GPP_ERR_LENGTH, "header: too short");
    if (type != GPP_HEADER_TYPE || version != GPP_HEADER_VERSION)
        return fail(err, errlen, GPP_ERR_HEADER,
                    "header: type %u version %u, expected type 3 version 1", type, version);
    for (unsigned g = 0; g < groups; g++) {
        if (bits_get(r, 1, &range) || fib_get(r, &a) != 0)
            return fail(err, errlen, GPP_ERR_RANGE, "header: section range %u malformed", g + 1);
        if (g > 0 && a < 2)
            return fail(err, errlen, GPP_ERR_RANGE,
                        "header: section ranges %u and %u are adjacent (not canonical)", g, g + 1);
        b = 0;
        if (range && fib_get(r, &b) != 0)
            return fail(err, errlen, GPP_ERR_RANGE, "header: section range %u malformed", g + 1);
        if ((unsigned)offset + a + b > GPP_HEADER_MAX_ID)
            return fail(err, errlen, GPP_ERR_RANGE, "header: section ID above %d",
                        GPP_HEADER_MAX_ID);
        if (*n + b + 1 > GPP_HEADER_MAX_IDS)
            return fail(err, errlen, GPP_ERR_RANGE, "header: more than %d sections",
                        GPP_HEADER_MAX_IDS);
        for (unsigned k = 0; k <= b; k++)
            ids[(*n)++] = offset + (int)(a + k);
        offset += (int)(a + b);
    }
    return GPP_OK;
}

static int check_charset(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (b64_value(s[i]) < 0)
            return -1;
    return 0;
}

/* Characters up to the next '~' or the end. */
static size_t part_len(const char *s, size_t len)
{
    const char *tilde = memchr(s, '~', len);

    return tilde ? (size_t)(tilde - s) : len;
}

int gpp_header_encode(const int *ids, size_t n, enum gpp_padding pad, char *out, size_t outlen)
{
    struct bits w;
    size_t at = 0;
    int st;

    if (outlen > 0)
        out[0] = '\0';
    if (n > GPP_HEADER_MAX_IDS)
        return GPP_ERR_SECTIONS;
    bits_reset(&w);
    st = header_put(&w, ids, n);
    if (st == GPP_OK)
        st = bits_emit(&w, pad, out, outlen, &at);
    if (st != GPP_OK && outlen > 0)
        out[0] = '\0';
    return st;
}

int gpp_header_decode(const char *str, size_t len, int *ids, size_t *n)
{
    size_t hlen = part_len(str, len);
    struct bits r;
    enum gpp_padding pad;
    int st;

    *n = 0;
    if (len > GPP_MAX_STRING)
        return GPP_ERR_TOO_LONG;
    if (hlen == 0)
        return GPP_ERR_EMPTY;
    if (check_charset(str, hlen) != 0)
        return GPP_ERR_CHARSET;
    bits_load(&r, str, hlen);
    st = header_get(&r, ids, n, NULL, 0);
    if (st == GPP_OK)
        st = bits_check_end(&r, &pad);
    if (st != GPP_OK)
        *n = 0;
    return st;
}

/* ---- sections ---- */

static int check_values(const struct gpp_section *s, const struct section_def *d,
                        char *err, size_t errlen)
{
    for (int f = 0; f < GPP_FIELD_COUNT; f++) {
        const struct gpp_field_desc *fd = gpp_section_field(s->id, (enum gpp_field)f);
        unsigned count = fd ? fd->count : 0;

        for (unsigned k = 0; k < GPP_MAX_LIST; k++) {
            unsigned v = s->v[f][k];

            if (k >= count) {
                if (v != 0)
                    return fail(err, errlen, GPP_ERR_VALUE,
                                "%s: field #%d[%u] is not in this section", d->name, f, k);
            } else if (v != 0 && fd->sub && !s->sub) {
                return fail(err, errlen, GPP_ERR_SUBSECTION,
                            "%s: %s set without its sub-section", d->name, fd->name);
            } else if (v < fd->min || v > fd->max) {
                return fail(err, errlen, GPP_ERR_VALUE, "%s: %s is %u, expected %u-%u",
                            d->name, fd->name, v, fd->min, fd->max);
            }
        }
    }
    if (s->sub != 0 && s->sub != 1)
        return fail(err, errlen, GPP_ERR_SUBSECTION, "%s: sub must be 0 or 1", d->name);
    if (s->gpc != 0 && (s->gpc != 1 || d->sub != GPP_SUB_GPC || !s->sub))
        return fail(err, errlen, GPP_ERR_SUBSECTION, "%s: Gpc set without a GPC sub-section",
                    d->name);
    if (s->sub && d->sub == GPP_SUB_NONE)
        return fail(err, errlen, GPP_ERR_SUBSECTION, "%s has no sub-section", d->name);
    return GPP_OK;
}

static int fields_put(struct bits *w, const struct gpp_section *s, const struct section_def *d,
                      unsigned sub)
{
    for (size_t i = 0; i < d->nfields; i++) {
        const struct gpp_field_desc *fd = &d->fields[i];

        if (fd->sub != sub)
            continue;
        for (unsigned k = 0; k < fd->count; k++)
            if (bits_put(w, s->v[fd->field][k], fd->bits) != 0)
                return GPP_ERR_NOSPACE;
    }
    return GPP_OK;
}

static int fields_get(struct bits *r, struct gpp_section *s, const struct section_def *d,
                      unsigned sub, char *err, size_t errlen)
{
    for (size_t i = 0; i < d->nfields; i++) {
        const struct gpp_field_desc *fd = &d->fields[i];

        if (fd->sub != sub)
            continue;
        for (unsigned k = 0; k < fd->count; k++) {
            unsigned v;

            if (bits_get(r, fd->bits, &v) != 0)
                return fail(err, errlen, GPP_ERR_LENGTH, "%s: too short for %s", d->name,
                            fd->name);
            if (fd->field == GPP_F_VERSION && v != fd->min)
                return fail(err, errlen, GPP_ERR_VERSION,
                            "%s: version %u is not supported (this decoder reads version %u)",
                            d->name, v, fd->min);
            if (v < fd->min || v > fd->max) {
                if (fd->count > 1)
                    return fail(err, errlen, GPP_ERR_VALUE, "%s: %s[%u] is %u, expected %u-%u",
                                d->name, fd->name, k, v, fd->min, fd->max);
                return fail(err, errlen, GPP_ERR_VALUE, "%s: %s is %u, expected %u-%u",
                            d->name, fd->name, v, fd->min, fd->max);
            }
            s->v[fd->field][k] = (unsigned char)v;
        }
    }
    return GPP_OK;
}

static int section_put(const struct gpp_section *s, char *out, size_t outlen, size_t *at)
{
    const struct section_def *d = def_of(s->id);
    struct bits w;
    int st;

    bits_reset(&w);
    if ((st = fields_put(&w, s, d, 0)) != GPP_OK ||
        (st = bits_emit(&w, s->pad[0], out, outlen, at)) != GPP_OK)
        return st;
    if (!s->sub)
        return GPP_OK;
    bits_reset(&w);
    if (d->sub == GPP_SUB_GPC) {
        if (bits_put(&w, 1, 2) || bits_put(&w, (unsigned)s->gpc, 1))
            return GPP_ERR_NOSPACE;
    } else if ((st = fields_put(&w, s, d, 1)) != GPP_OK) {
        return st;
    }
    if (*at + 2 > outlen)
        return GPP_ERR_NOSPACE;
    out[(*at)++] = '.';
    return bits_emit(&w, s->pad[1], out, outlen, at);
}

static int section_get(const char *p, size_t len, int id, struct gpp_section *s,
                       char *err, size_t errlen)
{
    const struct section_def *d = def_of(id);
    const char *dot = memchr(p, '.', len);
    size_t clen = dot ? (size_t)(dot - p) : len;
    struct bits r;
    int st;

    memset(s, 0, sizeof(*s));
    s->id = (enum gpp_sid)id;
    if (clen == 0)
        return fail(err, errlen, GPP_ERR_EMPTY, "%s: empty core sub-section", d->name);
    bits_load(&r, p, clen);
    if ((st = fields_get(&r, s, d, 0, err, errlen)) != GPP_OK)
        return st;
    if ((st = bits_check_end(&r, &s->pad[0])) != GPP_OK)
        return fail(err, errlen, st, "%s: core sub-section: %s", d->name, gpp_strerror(st));
    if (!dot)
        return GPP_OK;
    p = dot + 1;
    len -= clen + 1;
    if (d->sub == GPP_SUB_NONE)
        return fail(err, errlen, GPP_ERR_SUBSECTION, "%s has no sub-section", d->name);
    if (memchr(p, '.', len))
        return fail(err, errlen, GPP_ERR_SUBSECTION, "%s: more than one sub-section", d->name);
    if (len == 0)
        return fail(err, errlen, GPP_ERR_EMPTY, "%s: empty sub-section", d->name);
    s->sub = 1;
    bits_load(&r, p, len);
    if (d->sub == GPP_SUB_GPC) {
        unsigned type, gpc;

        if (bits_get(&r, 2, &type) || bits_get(&r, 1, &gpc))
            return fail(err, errlen, GPP_ERR_LENGTH, "%s: GPC sub-section too short", d->name);
        if (type != 1)
            return fail(err, errlen, GPP_ERR_SUBSECTION,
                        "%s: sub-section type %u, expected 1 (GPC)", d->name, type);
        s->gpc = (int)gpc;
    } else if ((st = fields_get(&r, s, d, 1, err, errlen)) != GPP_OK) {
        return st;
    }
    if ((st = bits_check_end(&r, &s->pad[1])) != GPP_OK)
        return fail(err, errlen, st, "%s: sub-section: %s", d->name, gpp_strerror(st));
    return GPP_OK;
}

int gpp_check(const struct gpp_string *g, char *err, size_t errlen)
{
    int st;

    if (err && errlen > 0)
        err[0] = '\0';
    if (g->nsections > GPP_MAX_SECTIONS)
        return fail(err, errlen, GPP_ERR_SECTIONS, "more than %d sections", GPP_MAX_SECTIONS);
    for (size_t i = 0; i < g->nsections; i++) {
        const struct gpp_section *s = &g->sections[i];

        if (!def_of(s->id))
            return fail(err, errlen, GPP_ERR_SECTION, "section %d is not supported (7-27)",
                        (int)s->id);
        if (i > 0 && s->id <= g->sections[i - 1].id)
            return fail(err, errlen, GPP_ERR_SECTIONS, "%s after %s: not in ascending order",
                        gpp_section_name(s->id), gpp_section_name(g->sections[i - 1].id));
        if ((st = check_values(s, def_of(s->id), err, errlen)) != GPP_OK)
            return st;
    }
    return GPP_OK;
}

int gpp_encode(const struct gpp_string *g, char *out, size_t outlen)
{
    int ids[GPP_MAX_SECTIONS];
    struct bits w;
    size_t at = 0;
    int st;

    if (outlen > 0)
        out[0] = '\0';
    if ((st = gpp_check(g, NULL, 0)) != GPP_OK)
        return st;
    for (size_t i = 0; i < g->nsections; i++)
        ids[i] = g->sections[i].id;
    bits_reset(&w);
    if ((st = header_put(&w, ids, g->nsections)) != GPP_OK ||
        (st = bits_emit(&w, g->header_pad, out, outlen, &at)) != GPP_OK)
        goto cleanup;
    for (size_t i = 0; i < g->nsections; i++) {
        if (at + 2 > outlen) {
            st = GPP_ERR_NOSPACE;
            goto cleanup;
        }
        out[at++] = '~';
        if ((st = section_put(&g->sections[i], out, outlen, &at)) != GPP_OK)
            goto cleanup;
    }
cleanup:
    if (st != GPP_OK && outlen > 0)
        out[0] = '\0';
    return st;
}

int gpp_decode(const char *str, size_t len, struct gpp_string *g, char *err, size_t errlen)
{
    int ids[GPP_HEADER_MAX_IDS];
    size_t nids, nparts = 1, at, plen;
    struct bits r;
    int st;

    memset(g, 0, sizeof(*g));
    if (err && errlen > 0)
        err[0] = '\0';
    if (len > GPP_MAX_STRING)
        return fail(err, errlen, GPP_ERR_TOO_LONG, "longer than %d characters", GPP_MAX_STRING);
    for (size_t i = 0; i < len; i++) {
        if (str[i] == '~')
            nparts++;
        else if (b64_value(str[i]) < 0 && str[i] != '.')
            return fail(err, errlen, GPP_ERR_CHARSET,
                        "character %zu is not web-safe base64 (A-Z a-z 0-9 - _, ~ and .)",
                        i + 1);
    }
    plen = part_len(str, len);
    if (plen == 0)
        return fail(err, errlen, GPP_ERR_EMPTY, "empty header");
    if (memchr(str, '.', plen))
        return fail(err, errlen, GPP_ERR_CHARSET, "header: '.' in the header");
    bits_load(&r, str, plen);
    if ((st = header_get(&r, ids, &nids, err, errlen)) != GPP_OK)
        return st;
    if ((st = bits_check_end(&r, &g->header_pad)) != GPP_OK)
        return fail(err, errlen, st, "header: %s", gpp_strerror(st));
    for (size_t i = 0; i < nids; i++)
        if (!def_of(ids[i])) {
            const char *known = ids[i] == 2 ? " (tcfeuv2)" : ids[i] == 5 ? " (tcfcav1)"
                              : ids[i] == 6 ? " (uspv1)" : "";
            return fail(err, errlen, GPP_ERR_SECTION,
                        "section %d%s is not supported (this decoder reads 7-27)", ids[i], known);
        }
    if (nparts != nids + 1)
        return fail(err, errlen, GPP_ERR_SECTIONS,
                    "the header names %zu sections, the string has %zu", nids, nparts - 1);
    at = plen + 1;
    for (size_t i = 0; i < nids; i++) {
        plen = part_len(str + at, len - at);
        if (plen == 0)
            return fail(err, errlen, GPP_ERR_EMPTY, "%s: empty section", gpp_section_name(ids[i]));
        if ((st = section_get(str + at, plen, ids[i], &g->sections[i], err, errlen)) != GPP_OK)
            return st;
        g->nsections = i + 1;
        at += plen + 1;
    }
    return GPP_OK;
}
