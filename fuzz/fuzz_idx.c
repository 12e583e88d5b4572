/* libFuzzer target for the IDX reader: the input, gzip or raw, is decoded
 * and parsed at every rank; when its first byte is even, the stream is also
 * split into an image file and a label file and built into a dataset, so the
 * count and label checks are reached too. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/idx.h"

/* Decodes and parses one part; returns 1 when it is a valid IDX stream. */
static int parse_part(const uint8_t *data, size_t size, int rank, uint8_t **buf, xf_idx *idx) {
    size_t n;
    if (xf_idx_decode(data, size, "fuzz", buf, &n) != XF_OK) return 0;
    return xf_idx_parse(*buf, n, rank, "fuzz", idx) == XF_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int rank = 1; rank <= XF_IDX_MAX_RANK; rank++) {
        uint8_t *buf = NULL;
        xf_idx idx;
        parse_part(data, size, rank, &buf, &idx);
        free(buf);
    }
    /* Pair mode: byte 0 even, byte 1 the split point (as a fraction). */
    if (size < 2 || data[0] % 2) return 0;
    size_t split = 2 + (size - 2) * data[1] / 255;
    uint8_t *ibuf = NULL, *lbuf = NULL;
    xf_idx images, labels;
    if (parse_part(data + 2, split - 2, 3, &ibuf, &images) &&
        parse_part(data + split, size - split, 1, &lbuf, &labels)) {
        xf_dataset ds;
        if (xf_idx_to_dataset(&images, "fuzz-images", &labels, "fuzz-labels", "fuzz",
                              data[0] / 2 % 16, &ds) == XF_OK) {
            XF_ASSERT(xf_dataset_validate(&ds, "fuzz") == XF_OK);
            xf_dataset_free(&ds);
        }
    }
    free(ibuf);
    free(lbuf);
    return 0;
}
