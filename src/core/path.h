/* Paths built in buffers of XF_PATH_MAX bytes (the kernel's PATH_MAX, so no
 * path the system would accept is refused). Formatting one checks that it
 * fits and fails with a message that names it: a path cut short names
 * another file, which a plain snprintf would then read or overwrite. */
#ifndef XF_PATH_H
#define XF_PATH_H

#include <stddef.h>

#include "core/status.h"

#define XF_PATH_MAX 4096

/* printf into buf (size bytes); XF_EINVAL when the result does not fit. */
xf_status xf_path_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
