#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static xf_log_level current_level = XF_LOG_INFO;

void xf_log_set_level(xf_log_level level) { current_level = level; }
xf_log_level xf_log_get_level(void) { return current_level; }

void xf_log(xf_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level > current_level) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xfer: %s: ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
