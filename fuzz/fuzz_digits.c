/* libFuzzer target for the sklearn digits.csv parser. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "data/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xf_dataset ds;
    if (xf_digits_parse((const char *)data, size, "fuzz", &ds) == XF_OK) {
        XF_ASSERT(xf_dataset_validate(&ds, "fuzz") == XF_OK);
        xf_dataset_free(&ds);
    }
    return 0;
}
