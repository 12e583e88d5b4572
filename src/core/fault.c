#include "core/fault.h"

#include <stdatomic.h>
#include <stdlib.h>

bool xf_fault_disk_full(void) {
    static atomic_int writes;
    const char *after = getenv("XFER_FAULT_DISK_FULL_AFTER");
    if (!after || !*after) return false;
    return atomic_fetch_add(&writes, 1) >= atoi(after);
}
