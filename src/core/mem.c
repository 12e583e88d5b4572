#include "core/mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/status.h"

/* Transparent huge pages for large buffers (activation arenas, datasets):
 * the first touch of a 100 MB arena is otherwise 25 000 page faults, each a
 * trip through the hypervisor on a VM. Only the 2 MiB-aligned interior can
 * become huge pages; the kernel ignores the advice where THP is off. */
enum { HUGE_PAGE = 2 << 20, HUGE_MIN = 8 << 20 };

static void advise_huge_pages(void *p, size_t size) {
    if (!p || size < HUGE_MIN) return;
    uintptr_t begin = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + size) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (end > begin) madvise((void *)begin, end - begin, MADV_HUGEPAGE);
}

void *xf_malloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) xf_fail(XF_ENOMEM, "out of memory: %zu bytes at %s:%d", size, file, line);
    advise_huge_pages(p, size);
    return p;
}

void *xf_calloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        xf_fail(XF_ENOMEM, "out of memory: %zu x %zu bytes at %s:%d", count, size,
                file, line);
    return p;
}

void *xf_realloc_at(void *ptr, size_t size, const char *file, int line) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) xf_fail(XF_ENOMEM, "out of memory: %zu bytes at %s:%d", size, file, line);
    return p;
}

FILE *xf_fopen_at(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f)
        xf_fail(XF_EIO, "cannot open '%s' (mode %s): %s [%s:%d]", path, mode,
                strerror(errno), file, line);
    return f;
}

char *xf_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = xf_malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

xf_status xf_read_file(const char *path, unsigned char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = xf_fopen(path, "rb");
    if (!f) return XF_EIO;
    size_t capacity = 1 << 16, used = 0;
    unsigned char *buf = xf_malloc(capacity + 1);
    if (!buf) {
        fclose(f);
        return XF_ENOMEM;
    }
    for (;;) {
        size_t got = fread(buf + used, 1, capacity - used, f);
        used += got;
        if (used < capacity) break;
        capacity *= 2;
        unsigned char *bigger = xf_realloc(buf, capacity + 1);
        if (!bigger) {
            free(buf);
            fclose(f);
            return XF_ENOMEM;
        }
        buf = bigger;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return xf_fail(XF_EIO, "%s: read error after %zu bytes", path, used);
    }
    buf[used] = 0;
    *data = buf;
    *size = used;
    return XF_OK;
}

xf_status xf_write_file_atomic(const char *path, const void *data, size_t size) {
    size_t n = strlen(path) + 32;
    char *tmp = xf_malloc(n);
    if (!tmp) return XF_ENOMEM;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        xf_status st = xf_fail_errno(errno, "cannot create '%s'", tmp);
        free(tmp);
        return st;
    }
    /* The first failure's errno: it tells a full disk from a bad path. */
    int err = 0;
    errno = 0;
    if (fwrite(data, 1, size, f) != size) err = errno ? errno : EIO;
    if (!err && xf_fault_disk_full()) err = ENOSPC;
    if (fflush(f) != 0 && !err) err = errno;
    if (fsync(fileno(f)) != 0 && !err) err = errno;
    if (fclose(f) != 0 && !err) err = errno;
    if (!err && rename(tmp, path) != 0) err = errno;
    xf_status st = err ? xf_fail_errno(err, "cannot write '%s'", path) : XF_OK;
    if (err) unlink(tmp);
    free(tmp);
    return st;
}

xf_status xf_mkdirs(const char *path) {
    char *copy = xf_strdup(path);
    if (!copy) return XF_ENOMEM;
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
                xf_status st = xf_fail_errno(errno, "cannot create directory '%s'", copy);
                free(copy);
                return st;
            }
            *p = saved;
            if (!saved) break;
        }
    }
    free(copy);
    return XF_OK;
}
