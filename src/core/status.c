#include "core/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char error_message[XF_ERROR_CAPACITY];

xf_status xf_fail(xf_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return code;
}

xf_status xf_fail_context(xf_status code, const char *fmt, ...) {
    char prefix[XF_ERROR_CAPACITY];
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

/* Adds text to the message, cut where the buffer ends (its start says
 * most). */
static void append(const char *text) {
    size_t n = strlen(error_message);
    size_t k = strnlen(text, sizeof error_message - 1 - n);
    memcpy(error_message + n, text, k);
    error_message[n + k] = 0;
}

xf_status xf_fail_errno(int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    append(": ");
    append(strerror(err));
    bool machine = err == ENOSPC || err == EDQUOT || err == EIO || err == ESTALE;
    return machine ? XF_EENV : XF_EIO;
}

void xf_error_save(xf_saved_error *saved, xf_status code) {
    saved->code = code;
    memcpy(saved->message, error_message, sizeof saved->message);
}

xf_status xf_error_restore(const xf_saved_error *saved, xf_status cleanup) {
    if (!saved->code) return cleanup;
    if (cleanup) {
        char later[XF_ERROR_CAPACITY];
        memcpy(later, error_message, sizeof later);
        memcpy(error_message, saved->message, sizeof error_message);
        append(" (and then: ");
        append(later);
        append(")");
    } else {
        memcpy(error_message, saved->message, sizeof error_message);
    }
    return saved->code;
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
    case XF_EENV: return "system error (disk, quota or I/O)";
    }
    return "unknown error";
}

void xf_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "xfer: internal error: %s:%d: assertion '%s' failed\n",
            file, line, cond);
    abort();
}
