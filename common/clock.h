/*
 * clock.h - the process's clocks, in one place.
 *
 * clock_wall_ms is the time a receipt or an audit entry records (epoch
 * milliseconds; consentd's own app_now_ms lets tests pin it). The monotonic
 * clocks measure intervals (timeouts, back-off, cache ages, request
 * durations) and never jump with the wall clock. All are thread-safe and
 * cannot fail on Linux (CLOCK_REALTIME and CLOCK_MONOTONIC always exist).
 */
#ifndef CONSENT_CLOCK_H
#define CONSENT_CLOCK_H

#include <stdint.h>

/* Wall-clock time in epoch milliseconds. */
int64_t clock_wall_ms(void);

/* Monotonic time in milliseconds and in microseconds (arbitrary origin). */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

#endif
