#include "study/store_open.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

enum { BUSY_MS = 30000 };

static xf_status db_fail(sqlite3 *db, const char *path, const char *what) {
    return xf_fail(XF_EDB, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* An errno that means "may not write", not "is not there". */
static bool write_refused(int err) { return err == EROFS || err == EACCES || err == EPERM; }

/* Why `path`, or the folder SQLite makes its -wal and -shm files in, cannot
 * be written ("" when both can). access() answers for this process: root
 * may write a file without write permission, but not on read-only media. */
static void why_not_writable(const char *path, char *why, size_t size) {
    why[0] = 0;
    if (access(path, W_OK) != 0 && write_refused(errno)) {
        snprintf(why, size, "%s", strerror(errno));
        return;
    }
    char *copy = xf_strdup(path);
    if (!copy) return;
    const char *dir = dirname(copy);
    if (access(dir, W_OK) != 0 && write_refused(errno))
        snprintf(why, size, "folder %s: %s", dir, strerror(errno));
    free(copy);
}

static xf_status read_only_fail(const char *path, const char *why) {
    return xf_fail(XF_EDB,
                   "%s: the results store cannot be written (%s); xfer status, export, plan, "
                   "fit and report read it as it is, a study or merge needs a writable copy",
                   path, why);
}

/* An SQLite URI for `path` with a query ("mode=ro"): the characters a URI
 * gives a meaning to are %-escaped, so any file name works. */
static char *file_uri(const char *path, const char *query) {
    char *uri = xf_malloc(3 * strlen(path) + strlen(query) + 16);
    if (!uri) return NULL;
    char *p = uri + sprintf(uri, "%s", path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if (*s == '%' || *s == '?' || *s == '#' || *s < 0x20 || *s >= 0x7f)
            p += sprintf(p, "%%%02X", *s);
        else
            *p++ = (char)*s;
    }
    sprintf(p, "?%s", query);
    return uri;
}

/* Opens `name` with `flags`, then reads the schema: SQLite opens lazily,
 * and only a first read finds out whether the WAL index can be made. */
static int open_probe(const char *name, int flags, sqlite3 **db) {
    int rc = sqlite3_open_v2(name, db, flags, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(*db, BUSY_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(*db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    return rc;
}

/* WAL lets a report read while a study writes; NORMAL sync is still
 * crash-safe in WAL mode (a crash loses only the last commits, never
 * corrupts). Two processes opening a new store at once can each hold the
 * shared lock while asking for the exclusive one the switch to WAL needs;
 * SQLite then answers SQLITE_BUSY at once, without the busy handler, rather
 * than deadlock, so the switch is retried here for as long as a busy
 * handler would wait. */
static int set_wal(sqlite3 *db) {
    int rc = sqlite3_busy_timeout(db, BUSY_MS);
    if (rc != SQLITE_OK) return rc;
    int waited_ms = 0;
    while (((rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) & 0xff) ==
               SQLITE_BUSY &&
           waited_ms < BUSY_MS) {
        sqlite3_sleep(5);
        waited_ms += 5;
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    return rc;
}

static xf_status open_write(const char *path, sqlite3 **db) {
    char why[512];
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        why_not_writable(path, why, sizeof why);
        return why[0] ? read_only_fail(path, why)
                      : db_fail(*db, path, "cannot open the results store");
    }
    /* SQLite quietly opens a file it may not write read-only. */
    if (sqlite3_db_readonly(*db, "main") == 1) {
        why_not_writable(path, why, sizeof why);
        return read_only_fail(path, why[0] ? why : "opened read-only");
    }
    if (set_wal(*db) != SQLITE_OK) {
        why_not_writable(path, why, sizeof why);
        return why[0] ? read_only_fail(path, why) : db_fail(*db, path, "cannot set WAL mode");
    }
    return XF_OK;
}

static xf_status open_read(const char *path, sqlite3 **db, bool *writable) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return xf_fail(XF_ENOTFOUND, "%s: no results store: %s", path, strerror(errno));
    char why[512];
    why_not_writable(path, why, sizeof why);
    if (!why[0]) {
        if (open_probe(path, SQLITE_OPEN_READWRITE, db) != SQLITE_OK)
            return db_fail(*db, path, "cannot open the results store");
        *writable = sqlite3_db_readonly(*db, "main") == 0;
        return XF_OK;
    }
    char *uri = file_uri(path, "mode=ro");
    if (!uri) return XF_ENOMEM;
    int rc = open_probe(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, db);
    free(uri);
    if (rc == SQLITE_OK) return XF_OK;
    int code = sqlite3_errcode(*db) & 0xff;
    if (code != SQLITE_CANTOPEN && code != SQLITE_READONLY)
        return db_fail(*db, path, "cannot open the results store");
    /* Read-only media: the WAL index cannot be made, so nobody can write
     * the store and reading it without locks is safe. */
    sqlite3_close(*db);
    *db = NULL;
    size_t n = strlen(path) + 8;
    char *wal = xf_malloc(n);
    if (!wal) return XF_ENOMEM;
    snprintf(wal, n, "%s-wal", path);
    bool pending = stat(wal, &sb) == 0 && sb.st_size > 0;
    free(wal);
    if (pending)
        return xf_fail(XF_EDB,
                       "%s-wal holds commits not yet in %s, and the store cannot be written "
                       "(%s) to fold them in: copy the study folder to writable storage",
                       path, path, why);
    if (!(uri = file_uri(path, "immutable=1"))) return XF_ENOMEM;
    rc = open_probe(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, db);
    free(uri);
    if (rc != SQLITE_OK) return db_fail(*db, path, "cannot open the read-only results store");
    return XF_OK;
}

xf_status xf_store_db_open(const char *path, bool read_only, sqlite3 **db, bool *writable) {
    *db = NULL;
    *writable = !read_only;
    xf_status st = read_only ? open_read(path, db, writable) : open_write(path, db);
    if (st) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return st;
}
