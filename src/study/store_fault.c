#include "study/store_fault.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static atomic_bool disk_full;
static atomic_int records;
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);

static ssize_t full_write(int fd, const void *buf, size_t n) {
    if (atomic_load(&disk_full)) {
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, buf, n);
}

static ssize_t full_pwrite64(int fd, const void *buf, size_t n, off64_t at) {
    if (atomic_load(&disk_full)) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite64(fd, buf, n, at);
}

static void install(void) {
    sqlite3_vfs *vfs = sqlite3_vfs_find("unix");
    if (!vfs || vfs->iVersion < 3) return;
    real_write = (ssize_t(*)(int, const void *, size_t))vfs->xGetSystemCall(vfs, "write");
    real_pwrite64 = (ssize_t(*)(int, const void *, size_t, off64_t))vfs->xGetSystemCall(
        vfs, "pwrite64");
    if (real_write) vfs->xSetSystemCall(vfs, "write", (sqlite3_syscall_ptr)full_write);
    if (real_pwrite64) vfs->xSetSystemCall(vfs, "pwrite64", (sqlite3_syscall_ptr)full_pwrite64);
}

void xf_store_fault_begin_record(void) {
    const char *at = getenv("XFER_FAULT_STORE_FULL_AT");
    if (!at || !*at) return;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
    if (atomic_fetch_add(&records, 1) + 1 == atoi(at)) atomic_store(&disk_full, true);
}

void xf_store_fault_end_record(void) { atomic_store(&disk_full, false); }
