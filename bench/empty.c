/*
 * empty.c - the smallest useful libfcgi responder: the limit for any FastCGI
 * program behind the same nginx. Same threading as consentd (N threads, each
 * its own FCGX_Request, no accept mutex), and a fixed JSON body.
 *
 * usage: empty HOST:PORT THREADS
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listen_fd;

static const char reply[] =
    "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}";

static void *run(void *arg)
{
    FCGX_Request r;

    (void)arg;
    FCGX_InitRequest(&r, listen_fd, 0);
    while (FCGX_Accept_r(&r) >= 0)
        FCGX_PutStr(reply, (int)sizeof(reply) - 1, r.out);
    return NULL;
}

int main(int argc, char **argv)
{
    int n;
    pthread_t *t;
    sigset_t set;
    int sig;

    if (argc != 3) {
        fprintf(stderr, "usage: empty HOST:PORT THREADS\n");
        return 2;
    }
    n = atoi(argv[2]);
    FCGX_Init();
    listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0 || n < 1) {
        perror("listen");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    t = calloc((size_t)n, sizeof(*t));
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, run, NULL);
    sigwait(&set, &sig);
    return 0;
}
