/* libFuzzer target for the QuickDraw ndjson parser (the input as the text
 * of one category file). Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "data/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t images[4 * 784];
    int count = -1;
    xf_status st = xf_quickdraw_parse((const char *)data, size, "fuzz", images, 4, &count);
    XF_ASSERT(count >= 0 && count <= 4);
    (void)st;
    return 0;
}
