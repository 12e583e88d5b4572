/* libFuzzer target for the folder reader's image decoder (PNG through
 * libpng, JPEG through libjpeg-turbo): a decoded image must have a sane
 * shape, and the pipeline to 8x8 grey must stay in bounds. Built by
 * `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/preprocess.h"
#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *px = NULL;
    int h, w, c;
    if (xf_image_decode(data, size, "fuzz", &px, &h, &w, &c) == XF_OK) {
        XF_ASSERT(h > 0 && w > 0 && c >= 1 && c <= 4);
        uint8_t out[64];
        xf_pipeline p;
        xf_pipeline_default(&p);
        xf_pipeline_to_shape(&p, 8, 8, 1);
        XF_ASSERT(xf_pipeline_apply(&p, px, h, w, c, out) == XF_OK);
        free(px);
    }
    return 0;
}
