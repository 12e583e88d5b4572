#include "data/cache.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local char dir_buf[4096];

const char *xf_data_dir(void) {
    const char *dir = getenv("XFER_DATA");
    if (dir && *dir) {
        snprintf(dir_buf, sizeof dir_buf, "%s", dir);
        return dir_buf;
    }
    const char *home = getenv("HOME");
    if (!home || !*home) {
        xf_fail(XF_EINVAL, "no data directory: set XFER_DATA (or HOME, for ~/.cache/xfer)");
        return NULL;
    }
    if ((size_t)snprintf(dir_buf, sizeof dir_buf, "%s/.cache/xfer", home) >= sizeof dir_buf) {
        xf_fail(XF_EINVAL, "HOME is too long for a data directory path");
        return NULL;
    }
    return dir_buf;
}

xf_status xf_data_path(char *buf, size_t size, const char *relative) {
    const char *dir = xf_data_dir();
    if (!dir) return XF_EINVAL;
    if ((size_t)snprintf(buf, size, "%s/%s", dir, relative) >= size)
        return xf_fail(XF_EINVAL, "data path %s/%s is longer than %zu bytes", dir, relative,
                       size);
    return XF_OK;
}
