#include "core/path.h"

#include <stdarg.h>
#include <stdio.h>

xf_status xf_path_format(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < size) return XF_OK;
    /* The start of the path is usually what tells the user where it went. */
    xf_status st = xf_fail(XF_EINVAL, "path too long (%d bytes, at most %zu): %.200s...", n,
                           size - 1, buf);
    if (size) buf[0] = 0;
    return st;
}
