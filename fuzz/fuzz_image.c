/* libFuzzer target for the folder reader's image decoder (PNG through
 * libpng, JPEG through libjpeg-turbo): a decoded image must have a sane
 * shape, and converting it to 8x8 grey must stay in bounds. Built by
 * `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/image.h"
#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *px = NULL;
    int h, w, c;
    if (xf_image_decode(data, size, "fuzz", &px, &h, &w, &c) == XF_OK) {
        XF_ASSERT(h > 0 && w > 0 && (c == 1 || c == 3));
        uint8_t out[64];
        float *work = malloc(sizeof(float) * (size_t)h * 8);
        XF_ASSERT(work);
        xf_image_convert(px, h, w, c, out, 8, 8, 1, work);
        free(work);
        free(px);
    }
    return 0;
}
