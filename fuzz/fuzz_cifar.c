/* libFuzzer target for the CIFAR record parser: the input is parsed as
 * CIFAR-10 and as CIFAR-100 records; accepted records must give a valid
 * dataset. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int classes[2] = {10, 100};
    for (int k = 0; k < 2; k++) {
        size_t record = classes[k] == 100 ? 3074 : 3073;
        int n = (int)(size / record) + 1;
        xf_dataset ds;
        if (xf_dataset_alloc(&ds, "fuzz", n, 32, 32, 3, classes[k]) != XF_OK) return 0;
        int count = 0;
        if (xf_cifar_parse(data, size, classes[k], "fuzz", &ds, &count) == XF_OK) {
            XF_ASSERT(count == n - 1);
            ds.n = count;
            XF_ASSERT(xf_dataset_validate(&ds, "fuzz") == XF_OK);
        }
        xf_dataset_free(&ds);
    }
    return 0;
}
