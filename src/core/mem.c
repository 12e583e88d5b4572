#include "core/mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/log.h"
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

/* The message is for the user (how much could not be had); where in the
 * code it was asked for goes to the debug log, for a bug report. */
static void out_of_memory(size_t count, size_t size, const char *file, int line) {
    xf_log_debug("allocation of %zu x %zu bytes failed at %s:%d", count, size, file, line);
    if (count == 1)
        xf_fail(XF_ENOMEM, "out of memory: %zu bytes", size);
    else
        xf_fail(XF_ENOMEM, "out of memory: %zu x %zu bytes", count, size);
}

void *xf_malloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) out_of_memory(1, size, file, line);
    advise_huge_pages(p, size);
    return p;
}

void *xf_calloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count, size, file, line);
    return p;
}

void *xf_realloc_at(void *ptr, size_t size, const char *file, int line) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) out_of_memory(1, size, file, line);
    return p;
}

FILE *xf_fopen(const char *path, const char *mode) {
    FILE *f = fopen(path, mode);
    if (!f) xf_fail(XF_EIO, "cannot open '%s' (mode %s): %s", path, mode, strerror(errno));
    return f;
}

char *xf_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = xf_malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a pipe";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

xf_status xf_open_regular(const char *path, FILE **file, size_t *size) {
    *file = NULL;
    *size = 0;
    /* stat before open: opening a FIFO would block until a writer comes. */
    struct stat sb;
    if (stat(path, &sb) != 0)
        return xf_fail(XF_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return xf_fail(XF_EIO, "'%s' is %s, expected a regular file", path,
                       file_kind(sb.st_mode));
    FILE *f = xf_fopen(path, "rb");
    if (!f) return XF_EIO;
    /* The path may have been replaced since the stat: check what was opened. */
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return xf_fail(XF_EIO, "'%s' is not a regular file any more", path);
    }
    *file = f;
    *size = (size_t)sb.st_size;
    return XF_OK;
}

xf_status xf_read_head(const char *path, void *head, size_t n, size_t *got, size_t *file_size) {
    *got = 0;
    FILE *f;
    xf_status st = xf_open_regular(path, &f, file_size);
    if (st) return st;
    *got = fread(head, 1, n, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) return xf_fail(XF_EIO, "%s: read error in the first %zu bytes", path, n);
    return XF_OK;
}

xf_status xf_read_file_max(const char *path, size_t max, unsigned char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f;
    size_t expected;
    xf_status st = xf_open_regular(path, &f, &expected);
    if (st) return st;
    if (expected > max) {
        fclose(f);
        return xf_fail(XF_EFORMAT, "'%s' is %zu bytes, more than the %zu this file may have",
                       path, expected, max);
    }
    unsigned char *buf = xf_malloc(expected + 1);
    if (!buf) {
        fclose(f);
        return XF_ENOMEM;
    }
    /* Only the size seen at open is read: a file that grows meanwhile (a
     * log being written) cannot make the buffer grow without bound. */
    size_t used = fread(buf, 1, expected, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (used < expected) {
        free(buf);
        if (err) return xf_fail(XF_EIO, "%s: read error after %zu bytes: %s", path, used,
                                strerror(err));
        return xf_fail(XF_EIO, "%s: shrank from %zu to %zu bytes while being read", path,
                       expected, used);
    }
    buf[used] = 0;
    *data = buf;
    *size = used;
    return XF_OK;
}

xf_status xf_read_file(const char *path, unsigned char **data, size_t *size) {
    return xf_read_file_max(path, SIZE_MAX, data, size);
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
