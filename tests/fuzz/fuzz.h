/*
 * fuzz.h - shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * The prototypes keep -Wmissing-prototypes quiet; FUZZ_CHECK aborts with a
 * message (libFuzzer then saves the input as a crash) when an invariant of
 * the code under test does not hold.
 */
#ifndef CONSENT_FUZZ_H
#define CONSENT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                    __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

#endif
