/*
 * textbuf.c - see textbuf.h.
 */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int textbuf_init(struct textbuf *b, size_t cap)
{
    b->s = malloc(cap);
    b->len = 0;
    b->cap = cap;
    b->failed = b->s == NULL;
    if (b->s == NULL)
        return -1;
    b->s[0] = '\0';
    return 0;
}

void textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        size_t cap;
        char *grown;

        va_start(ap, fmt);
        n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        cap = 2 * b->cap + (size_t)n;
        grown = realloc(b->s, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
}

char *textbuf_take(struct textbuf *b)
{
    char *s = b->s;

    if (b->failed) {
        free(s);
        s = NULL;
    }
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return s;
}
