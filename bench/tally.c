/*
 * tally.c (bench) - what counting a banner decision costs a worker: the
 * bot check, the device class and one tally_add (cgi/tally.h), timed in
 * the thread's own CPU time so that other load on the machine does not
 * inflate it. bench/run.sh prints it below the table.
 */
#include "../cgi/tally.h"

#include <stdio.h>
#include <time.h>

#define ROUNDS 2000000

int main(void)
{
    static const char ua[] =
        "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";
    struct tally t;
    struct tally_where w = {0};
    struct timespec a, b;

    if (tally_init(&t) != 0)
        return 1;
    w.site = "demo";
    w.day = 20426;
    w.dims[TALLY_REGION] = "DE";
    w.dims[TALLY_REGIME] = "gdpr";
    w.dims[TALLY_VERSION] = "2026-11-01";
    w.dims[TALLY_LANGUAGE] = "en";
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (int i = 0; i < ROUNDS; i++) {
        if (tally_is_bot(ua))
            return 1;
        w.dims[TALLY_DEVICE] = tally_device(ua);
        tally_add(&t, &w, TALLY_SHOWN, 1);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    printf("counting one decision (bot check, device class, tally_add): %.2f us of CPU\n",
           ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
               ROUNDS / 1000.0);
    tally_cleanup(&t);
    return 0;
}
