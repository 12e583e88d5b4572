/* The store's injected fault, for tests (see core/fault.h for the files'):
 *
 *   XFER_FAULT_STORE_FULL_AT=N   while the process writes its N-th trial
 *                                record, SQLite's writes fail with ENOSPC
 *                                (SQLITE_FULL, "database or disk is full"),
 *                                as on a disk that is full for that moment.
 *
 * It replaces the write system calls of SQLite's unix VFS, so SQLite takes
 * its own path for a full disk. Used by store.c only. */
#ifndef XF_STORE_FAULT_H
#define XF_STORE_FAULT_H

/* Before a trial record is written: counts it, and fills the disk when it
 * is the N-th. */
void xf_store_fault_begin_record(void);
/* After it: the disk has room again. */
void xf_store_fault_end_record(void);

#endif
