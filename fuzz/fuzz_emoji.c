/* libFuzzer target for the emoji-test.txt parser. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/glyphs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned *cps;
    int *groups, n;
    if (xf_emoji_parse((const char *)data, size, "fuzz", &cps, &groups, &n) == XF_OK) {
        XF_ASSERT(n > 0);
        for (int i = 0; i < n; i++) XF_ASSERT(groups[i] >= 0 && groups[i] < XF_EMOJI_GROUPS);
        free(cps);
        free(groups);
    }
    return 0;
}
