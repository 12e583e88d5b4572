/* Faults a test injects through the environment, so that what a full disk
 * does to a study can be run anywhere (no root, no small file system):
 *
 *   XFER_FAULT_DISK_FULL_AFTER=N   the first N whole-file writes of the
 *                                  process (xf_write_file_atomic:
 *                                  checkpoints, result files) succeed,
 *                                  every later one fails with ENOSPC, as
 *                                  on a disk that filled up.
 *
 * Unset (as always outside tests), nothing changes. The store has its own
 * (store.h, XFER_FAULT_STORE_FULL_AT). */
#ifndef XF_FAULT_H
#define XF_FAULT_H

#include <stdbool.h>

/* Counts one whole-file write; true when it must fail with ENOSPC. */
bool xf_fault_disk_full(void);

#endif
