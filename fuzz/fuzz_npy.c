/* libFuzzer target for the .npy parser (core/npy.h) and the npy: pair
 * reader on top of it. The whole input (after byte 0) is parsed as one
 * array; then byte 0 picks a split point and the two halves are the images
 * and the labels file. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "core/npy.h"
#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    xf_npy a;
    if (xf_npy_parse(data + 1, size - 1, "npy", &a) == XF_OK) {
        size_t count = 1;
        for (int i = 0; i < a.ndim; i++) count *= (size_t)a.shape[i];
        XF_ASSERT(count == a.count && a.count * xf_npy_itemsize(a.dtype) < size);
        /* Touch every element so ASan sees any short copy. */
        volatile int64_t sink = 0;
        if (xf_npy_is_integer(a.dtype))
            for (size_t i = 0; i < a.count; i++) sink ^= xf_npy_int(&a, i);
        xf_npy_free(&a);
    }
    size_t split = 1 + (size - 1) * data[0] / 255;
    xf_dataset ds;
    if (xf_npy_parse_pair(data + 1, split - 1, "images", data + split, size - split, "labels",
                          "fuzz", &ds) == XF_OK) {
        XF_ASSERT(xf_dataset_validate(&ds, "fuzz") == XF_OK);
        xf_dataset_free(&ds);
    }
    return 0;
}
