/* Opening a results store's SQLite file, for writing or for reading, and
 * what to do where it cannot be written (read-only media, no permission).
 * Internal to src/study (store.c and store_query.c). */
#ifndef XF_STORE_OPEN_H
#define XF_STORE_OPEN_H

#include <sqlite3.h>
#include <stdbool.h>

#include "core/status.h"

/* Opens the SQLite file at `path` with a busy timeout.
 *
 * Writing (read_only false): read-write, the file created if missing, WAL
 * mode. Where the file or its folder cannot be written, the message says so
 * and names the commands that only read.
 *
 * Reading (read_only true): the file must exist. Read-write where the file
 * and folder allow it, so the reader takes part in WAL locking with a study
 * that is writing and leaves no -wal/-shm files behind; else read-only
 * (SQLite's mode=ro); else, on media where even the shared-memory index
 * cannot be made, immutable (no locks at all: nothing can write there
 * either). Immutable ignores a -wal file, so one that holds commits not yet
 * in the store is refused with a message rather than read stale.
 *
 * *writable says whether the connection can write. */
xf_status xf_store_db_open(const char *path, bool read_only, sqlite3 **db, bool *writable);

#endif
