/* A growable text buffer for building the report's HTML and CSV in memory
 * before one atomic write. An allocation failure is remembered (the buffer
 * stops growing) and reported once by xf_sbuf_status, so the writers need
 * not check every append. */
#ifndef XF_SBUF_H
#define XF_SBUF_H

#include <stddef.h>

#include "core/status.h"

typedef struct {
    char *data; /* NUL-terminated */
    size_t len, cap;
    int failed;
} xf_sbuf;

void xf_sbuf_init(xf_sbuf *b);
void xf_sbuf_free(xf_sbuf *b);
void xf_sbuf_append(xf_sbuf *b, const char *s, size_t n);
void xf_sbuf_puts(xf_sbuf *b, const char *s);
void xf_sbuf_printf(xf_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with & < > " ' escaped for HTML text and attributes. */
void xf_sbuf_html(xf_sbuf *b, const char *s);
/* Room for n more bytes (plus the NUL); returns where they go, or NULL after
 * an allocation failure. The caller then adds n to len and writes the NUL. */
char *xf_sbuf_reserve(xf_sbuf *b, size_t n);
/* XF_ENOMEM if an append failed, else XF_OK. */
xf_status xf_sbuf_status(const xf_sbuf *b);

#endif
