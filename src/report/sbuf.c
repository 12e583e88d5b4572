#include "report/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void xf_sbuf_init(xf_sbuf *b) { *b = (xf_sbuf){0}; }

void xf_sbuf_free(xf_sbuf *b) {
    free(b->data);
    xf_sbuf_init(b);
}

char *xf_sbuf_reserve(xf_sbuf *b, size_t n) {
    if (b->failed) return NULL;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *bigger = xf_realloc(b->data, cap);
        if (!bigger) {
            b->failed = 1;
            return NULL;
        }
        b->data = bigger;
        b->cap = cap;
    }
    return b->data + b->len;
}

void xf_sbuf_append(xf_sbuf *b, const char *s, size_t n) {
    char *at = xf_sbuf_reserve(b, n);
    if (!at) return;
    memcpy(at, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void xf_sbuf_puts(xf_sbuf *b, const char *s) { xf_sbuf_append(b, s, strlen(s)); }

void xf_sbuf_printf(xf_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    char *at = xf_sbuf_reserve(b, (size_t)n);
    if (!at) return;
    va_start(ap, fmt);
    vsnprintf(at, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void xf_sbuf_html(xf_sbuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': xf_sbuf_puts(b, "&amp;"); break;
        case '<': xf_sbuf_puts(b, "&lt;"); break;
        case '>': xf_sbuf_puts(b, "&gt;"); break;
        case '"': xf_sbuf_puts(b, "&quot;"); break;
        case '\'': xf_sbuf_puts(b, "&#39;"); break;
        default: xf_sbuf_append(b, s, 1);
        }
    }
}

xf_status xf_sbuf_status(const xf_sbuf *b) {
    return b->failed ? xf_fail(XF_ENOMEM, "out of memory building the report text") : XF_OK;
}
