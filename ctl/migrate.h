/*
 * migrate.h - `consentctl migrate`: receipt format v1 histories to v2.
 *
 * Format v1 (consent-receipt/1) kept each receipt as its signature and JSON
 * payload. Each v1 history is first verified by the v1 rules (every
 * signature with the key its kid names, every prev_sha256 link, the head,
 * and the count of receipts written and trimmed); one that fails is left
 * untouched and reported. A verified one is archived - every original JWS,
 * one JSON line per consent ID, verifiable offline with the JWKS of the key
 * that signed it - then written again as a v2 history of the same consent
 * ID, signed by the current key (seq 1.., chained, sealed), and the v1 keys
 * are deleted.
 */
#ifndef CONSENT_MIGRATE_H
#define CONSENT_MIGRATE_H

#include <stdio.h>

#include "../cgi/config.h"
#include "../common/attrs.h"
#include "../cgi/jws.h"
#include "../redis/store.h"

/* Why a v1 history does not hold up by the v1 rules (migrate_strerror
 * says it in words, as the report line does). */
enum migrate_status {
    MIGRATE_OK = 0,
    MIGRATE_V1_COUNT,           /* kept != written - trimmed */
    MIGRATE_V1_SHORT,           /* a stored receipt too short to hold a signature */
    MIGRATE_V1_NOT_V1,          /* a payload that is no consent-receipt/1 */
    MIGRATE_V1_SIGNATURE,       /* a signature that does not verify */
    MIGRATE_V1_CHAIN,           /* a hash that is not what the newer one names */
    MIGRATE_V1_OLDEST,          /* the oldest receipt missing (untrimmed history) */
    MIGRATE_V1_FIELDS           /* a receipt's action or time unreadable */
};

const char *migrate_strerror(int status);

struct migrate_counts {
    long migrated;      /* histories written as v2 */
    long receipts;      /* receipts they held */
    long failed;        /* histories that did not verify: left as they were */
};

/*
 * Migrates every v1 history in the store. Archive lines go to archive;
 * one line per history to report. dry_run verifies and archives but writes
 * and deletes nothing. Returns STORE_OK or the store's status (histories
 * that fail verification are counted, not an error).
 */
CONSENT_MUST_CHECK
int migrate_run(struct store *s, const struct config *cfg, const struct jws_keyset *keys,
                FILE *archive, FILE *report, int dry_run, struct migrate_counts *counts);

#endif
