#include "analysis/studydir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"

xf_status xf_studydir_open(const char *dir, xf_store **store) {
    *store = NULL;
    size_t n = strlen(dir) + 16;
    char *path = xf_malloc(n);
    if (!path) return XF_ENOMEM;
    snprintf(path, n, "%s/study.db", dir);
    struct stat st;
    xf_status status;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        status = xf_fail(XF_ENOTFOUND, "'%s' is not a study directory (no such directory)", dir);
    else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        status = xf_fail(XF_ENOTFOUND,
                         "no study.db in '%s': 'xfer study STUDY.yaml' makes one (it writes "
                         "runs/<study>/study.db)",
                         dir);
    else
        status = xf_store_open_read(path, store);
    free(path);
    return status;
}
