/*
 * gpp.h - the IAB Global Privacy Platform string: encoder and decoder for
 * the header and the US sections (usnat and the state sections 8-27).
 *
 * Pure functions: no I/O, no globals, no allocation; every struct lives on
 * the caller's stack. Safe from any number of threads.
 *
 * A GPP string is a header and sections joined by '~'; each section is a
 * core sub-section and an optional second one joined by '.'; each part is
 * a bit string in web-safe base64 without '=' padding (IAB, "Consent String
 * Specification"). The field layouts and versions are those of the IAB's
 * reference library @iabgpp/cmpapi 3.2.0 (usnat version 2: 16 sensitive
 * data categories, 3 known-child categories), checked against the IAB's
 * section specifications; tests/integration/gpp.test.js holds us to it.
 *
 * Padding. The specification pads each bit string to a multiple of 6 (its
 * examples: header "DBABM"); the reference library pads to a whole byte and
 * then to a multiple of 6 ("DBABMA"). Both readers accept both. The encoder
 * writes the reference's form unless told otherwise, so our strings are
 * byte for byte what the reference writes for the same fields; the decoder
 * accepts exactly these two lengths with zero padding bits and records which
 * one each part used, so encode(decode(x)) == x for every x it accepts.
 */
#ifndef CONSENT_GPP_H
#define CONSENT_GPP_H

#include <stddef.h>

/* Longest string gpp_decode() reads; an encoded string of every supported
 * section is about 350 characters. Encode into GPP_MAX_STRING + 1 bytes. */
#define GPP_MAX_STRING 1024
/* Header: GPP string type and version. */
#define GPP_HEADER_TYPE 3
#define GPP_HEADER_VERSION 1
/* The GPP CMP API version a page API reports (gppVersion). */
#define GPP_CMP_API_VERSION "1.1"
/* Section IDs a header may name (any ID up to this, at most this many). */
#define GPP_HEADER_MAX_ID 255
#define GPP_HEADER_MAX_IDS 64
/* Supported sections: 7 (usnat) to 27 (usri). */
#define GPP_SID_MIN 7
#define GPP_SID_MAX 27
#define GPP_MAX_SECTIONS (GPP_SID_MAX - GPP_SID_MIN + 1)
/* Longest N-Bitfield (usnat's SensitiveDataProcessing). */
#define GPP_MAX_LIST 16
/* Every 2-bit field holds 0-2 (3 is invalid); MspaCoveredTransaction 1-2. */
#define GPP_VALUE_MAX 2

enum gpp_status {
    GPP_OK = 0,
    GPP_ERR_TOO_LONG,       /* input longer than GPP_MAX_STRING */
    GPP_ERR_CHARSET,        /* a character outside A-Z a-z 0-9 - _ ~ . */
    GPP_ERR_EMPTY,          /* an empty header, section or sub-section */
    GPP_ERR_HEADER,         /* header type not 3, version not 1 */
    GPP_ERR_RANGE,          /* section ID range malformed or not canonical */
    GPP_ERR_SECTION,        /* a section ID this module does not know */
    GPP_ERR_SECTIONS,       /* parts do not match the header, or IDs not ascending */
    GPP_ERR_VERSION,        /* a section version this module does not read */
    GPP_ERR_LENGTH,         /* a part too short, or too long for its fields */
    GPP_ERR_PADDING,        /* padding bits not zero */
    GPP_ERR_VALUE,          /* a field value out of range, or not in the section */
    GPP_ERR_SUBSECTION,     /* too many sub-sections, or a bad sub-section type */
    GPP_ERR_NOSPACE         /* the output buffer is too small */
};

/* Section IDs (IAB "Section Information"). 6 (uspv1) is legacy and not
 * supported; 13 (usfl) is supported though no default rule uses it. */
enum gpp_sid {
    GPP_USNAT = 7, GPP_USCA, GPP_USVA, GPP_USCO, GPP_USUT, GPP_USCT, GPP_USFL,
    GPP_USMT, GPP_USOR, GPP_USTX, GPP_USDE, GPP_USIA, GPP_USNE, GPP_USNH,
    GPP_USNJ, GPP_USTN, GPP_USMN, GPP_USMD, GPP_USIN, GPP_USKY, GPP_USRI
};

/* Every field any US section has; which ones a section has, in which order
 * and how wide: gpp_section_fields(). */
enum gpp_field {
    GPP_F_VERSION = 0,      /* "Version", or "MspaVersion" in 24-27: fixed */
    GPP_F_SHARING_NOTICE,
    GPP_F_PROCESSING_NOTICE,
    GPP_F_SALE_OPT_OUT_NOTICE,
    GPP_F_SHARING_OPT_OUT_NOTICE,
    GPP_F_TARGETED_ADVERTISING_OPT_OUT_NOTICE,
    GPP_F_SENSITIVE_DATA_PROCESSING_OPT_OUT_NOTICE,
    GPP_F_SENSITIVE_DATA_OPT_OUT_NOTICE,
    GPP_F_SENSITIVE_DATA_LIMIT_USE_NOTICE,
    GPP_F_SALE_OPT_OUT,
    GPP_F_SHARING_OPT_OUT,
    GPP_F_TARGETED_ADVERTISING_OPT_OUT,
    GPP_F_SENSITIVE_DATA_PROCESSING,
    GPP_F_KNOWN_CHILD_SENSITIVE_DATA_CONSENTS,
    GPP_F_PERSONAL_DATA_CONSENTS,
    GPP_F_ADDITIONAL_DATA_PROCESSING_CONSENT,
    GPP_F_MSPA_COVERED_TRANSACTION,
    GPP_F_MSPA_OPT_OUT_OPTION_MODE,
    GPP_F_MSPA_SERVICE_PROVIDER_MODE,
    GPP_F_MSPA_MODE,
    GPP_FIELD_COUNT
};

/* What a section's optional second sub-section is. */
enum gpp_sub {
    GPP_SUB_NONE = 0,       /* usva, usut, usfl */
    GPP_SUB_GPC,            /* SubsectionType (2 bits, 1) and Gpc (1 bit) */
    GPP_SUB_SENSITIVE       /* usin, usky, usri: SensitiveDataProcessing */
};

/* How a bit string was padded to whole base64 characters. */
enum gpp_padding {
    GPP_PAD_REFERENCE = 0,  /* to a byte, then to 6 bits: @iabgpp/cmpapi */
    GPP_PAD_SPEC            /* to 6 bits only: the specification's examples */
};

/* One field of a section's layout, in wire order. */
struct gpp_field_desc {
    enum gpp_field field;
    const char *name;       /* the IAB field name: "SaleOptOut" */
    unsigned char count;    /* 1 for Int(2)/Int(6); N for N-Bitfield(2,N) */
    unsigned char bits;     /* per value: 6 for the version, else 2 */
    unsigned char sub;      /* 0 in the core sub-section, 1 in the second */
    unsigned char min;      /* smallest value (1 for MspaCoveredTransaction) */
    unsigned char max;      /* largest (the version itself for the version) */
    unsigned char list;     /* 1 when the IAB names it an N-Bitfield (a JSON
                             * array), even of one value */
};

/* One section's values. v[f][0] is a scalar field's value; v[f][0..count-1]
 * an N-Bitfield's. Fields the section does not have stay 0. */
struct gpp_section {
    enum gpp_sid id;
    unsigned char v[GPP_FIELD_COUNT][GPP_MAX_LIST];
    int sub;                /* 1: the second sub-section is present */
    int gpc;                /* GPP_SUB_GPC sections: the Gpc bit */
    enum gpp_padding pad[2];    /* core and second sub-section */
};

/* A whole GPP string: sections in ascending ID order, each ID once. */
struct gpp_string {
    size_t nsections;
    struct gpp_section sections[GPP_MAX_SECTIONS];
    enum gpp_padding header_pad;
};

/*
 * Sets s to the reference library's defaults for section id: its version,
 * MspaCoveredTransaction 1, every other field 0, the second sub-section
 * present with Gpc false (as @iabgpp/cmpapi writes a new section).
 * Returns GPP_OK, or GPP_ERR_SECTION for an ID outside 7-27.
 */
int gpp_section_init(struct gpp_section *s, int id);

/*
 * The layout of section id in wire order (core fields, then the second
 * sub-section's, if any, marked sub = 1), *n rows; NULL and *n = 0 for an
 * unknown ID. Static data: never freed.
 */
const struct gpp_field_desc *gpp_section_fields(int id, size_t *n);

/* The section's API prefix ("usca"), or NULL for an unknown ID. Static. */
const char *gpp_section_name(int id);

/* The section's ID from its API prefix, or -1. */
int gpp_section_id(const char *name);

/* The section's version as this module writes and reads it (usnat 2, the
 * states 1), or -1 for an unknown ID. */
int gpp_section_version(int id);

/* What the second sub-section of section id is. */
enum gpp_sub gpp_section_sub(int id);

/* The first layout row, in any section, of the field with this IAB name
 * ("SaleOptOutNotice"), or NULL. Static. */
const struct gpp_field_desc *gpp_field_by_name(const char *name);

/* The layout row of field f in section id, or NULL if it has no such field. */
const struct gpp_field_desc *gpp_section_field(int id, enum gpp_field f);

/*
 * Checks g as gpp_encode() does, with a one-line reason naming the section
 * and field in err (errlen bytes; may be NULL). Returns GPP_OK or a status.
 */
int gpp_check(const struct gpp_string *g, char *err, size_t errlen);

/*
 * Encodes g into out (outlen bytes, NUL-terminated; GPP_MAX_STRING + 1 is
 * always enough). Checks everything gpp_decode() checks: IDs known and
 * ascending, each field in range, fields the section lacks left 0.
 * Returns GPP_OK or a status; on failure out is "" (when outlen > 0).
 */
int gpp_encode(const struct gpp_string *g, char *out, size_t outlen);

/*
 * Decodes len bytes of str (no NUL needed) into g. Returns GPP_OK, or a
 * status with a one-line reason naming the part and field in err (errlen
 * bytes; may be NULL). On failure g's contents are unspecified.
 */
int gpp_decode(const char *str, size_t len, struct gpp_string *g,
               char *err, size_t errlen);

/*
 * The header alone, for any section IDs (also those this module cannot
 * decode, such as 2 for the EU TCF): encodes the ascending, distinct IDs
 * ids[0..n-1] (each 1-GPP_HEADER_MAX_ID) as a header part into out with the
 * given padding; decodes the header part of str (up to its first '~') into
 * ids (room for GPP_HEADER_MAX_IDS) and *n. Both return GPP_OK or a status.
 */
int gpp_header_encode(const int *ids, size_t n, enum gpp_padding pad,
                      char *out, size_t outlen);
int gpp_header_decode(const char *str, size_t len, int *ids, size_t *n);

/* A constant description of a status; "unknown error" for other values. */
const char *gpp_strerror(int status);

#endif
