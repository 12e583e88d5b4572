#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MESSAGE_CAPACITY = 2048 };

static _Thread_local char error_message[MESSAGE_CAPACITY];

xf_status xf_fail(xf_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return code;
}

xf_status xf_fail_context(xf_status code, const char *fmt, ...) {
    char prefix[MESSAGE_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t n_prefix = strlen(prefix);
    size_t n_kept = strnlen(error_message, sizeof error_message);
    /* When both do not fit, the end of the old message is cut. */
    if (n_kept > sizeof error_message - 1 - n_prefix) n_kept = sizeof error_message - 1 - n_prefix;
    memmove(error_message + n_prefix, error_message, n_kept);
    memcpy(error_message, prefix, n_prefix);
    error_message[n_prefix + n_kept] = 0;
    return code;
}

const char *xf_error_message(void) { return error_message; }

const char *xf_status_name(xf_status code) {
    switch (code) {
    case XF_OK: return "ok";
    case XF_EINVAL: return "invalid argument";
    case XF_EIO: return "i/o error";
    case XF_EFORMAT: return "format error";
    case XF_ENOMEM: return "out of memory";
    case XF_ENOTFOUND: return "not found";
    case XF_EDIVERGED: return "diverged";
    case XF_EDB: return "store error";
    case XF_ENUMERIC: return "numerical error";
    }
    return "unknown error";
}

void xf_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "xfer: internal error: %s:%d: assertion '%s' failed\n",
            file, line, cond);
    abort();
}
