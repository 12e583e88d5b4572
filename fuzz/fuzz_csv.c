/* libFuzzer target for the CSV reader of `xfer fit FILE.csv`
 * (analysis/csvpoints.h), which reads a path: the input after byte 0 is
 * written to an in-memory file (memfd) and read through /proc/self/fd.
 * Byte 0 picks the columns: bit 0 groups by column "g". Accepted points
 * must be accuracies in [0, 1]. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis/csvpoints.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.csv", 0);
        XF_ASSERT(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (size < 1) return 0;
    XF_ASSERT(ftruncate(fd, 0) == 0);
    XF_ASSERT(pwrite(fd, data + 1, size - 1, 0) == (ssize_t)(size - 1));
    xf_point_set *sets;
    int n;
    if (xf_csv_point_sets(path, "us", "ds", data[0] & 1 ? "g" : NULL, &sets, &n) != XF_OK)
        return 0;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < sets[s].n_points; i++) {
            const xf_point *p = &sets[s].points[i];
            XF_ASSERT(p->us_acc >= 0 && p->us_acc <= 1 && p->ds_acc >= 0 && p->ds_acc <= 1);
        }
    xf_csv_point_sets_free(sets, n);
    return 0;
}
