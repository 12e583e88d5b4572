/* libFuzzer target for the .npy reader: byte 0 picks a split point, the
 * two halves are the images and the labels file. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t split = 1 + (size - 1) * data[0] / 255;
    xf_dataset ds;
    if (xf_npy_parse_pair(data + 1, split - 1, "images", data + split, size - split, "labels",
                          "fuzz", &ds) == XF_OK) {
        XF_ASSERT(xf_dataset_validate(&ds, "fuzz") == XF_OK);
        xf_dataset_free(&ds);
    }
    return 0;
}
