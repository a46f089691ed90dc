/*
 * textbuf.h - a growing text buffer for answers printed piece by piece
 * (the Prometheus metrics, the analytics CSV).
 *
 *   struct textbuf b;
 *   if (textbuf_init(&b, 1024) != 0) ...;
 *   textbuf_printf(&b, "%s,%d\r\n", name, n);
 *   char *text = textbuf_take(&b);   // NULL if any append ran out of memory
 */
#ifndef CONSENT_TEXTBUF_H
#define CONSENT_TEXTBUF_H

#include <stddef.h>

struct textbuf {
    char *s;            /* NUL-terminated while not failed */
    size_t len, cap;
    int failed;         /* an append ran out of memory: the text is incomplete */
};

/* An empty buffer of cap bytes. 0, or -1 when out of memory. */
int textbuf_init(struct textbuf *b, size_t cap);

/* Appends printf-formatted text, growing the buffer as needed; after a
 * failure every later append does nothing. */
void textbuf_printf(struct textbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The text (caller frees), or NULL (buffer freed) when an append failed.
 * The buffer is empty afterwards. */
char *textbuf_take(struct textbuf *b);

#endif
