/* libFuzzer target for the folder reader: the input is cut at each "XFIL"
 * into up to 6 files, written as DIR/c<i % 2>/f<i>.png (the decoder goes by
 * the bytes, not the name), and DIR is loaded through the pipeline to
 * 8x8 RGB, skipping bad pictures and failing on them. A loaded task must be
 * whole; a failure must leave nothing behind. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FILES = 6 };

static char root[256];

static void check(const xf_dataset *tr, const xf_dataset *te) {
    XF_ASSERT(tr->height == 8 && tr->width == 8 && tr->channels == 3);
    XF_ASSERT(tr->n_classes == te->n_classes && tr->n_classes >= 1 && tr->n_classes <= 2);
    XF_ASSERT(xf_dataset_validate(tr, "fuzz") == XF_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/xfer-fuzz-folder-%d", (int)getpid());
        char path[300];
        for (int c = 0; c < 2; c++) {
            snprintf(path, sizeof path, "%s/c%d", root, c);
            XF_ASSERT(xf_mkdirs(path) == XF_OK);
        }
    }
    char path[300];
    int n = 0;
    for (size_t at = 0; n < MAX_FILES && at <= size; n++) {
        const uint8_t *end = size - at >= 4 ? memmem(data + at, size - at, "XFIL", 4) : NULL;
        size_t len = end ? (size_t)(end - (data + at)) : size - at;
        snprintf(path, sizeof path, "%s/c%d/f%d.png", root, n % 2, n);
        XF_ASSERT(xf_write_file_atomic(path, data + at, len) == XF_OK);
        at += len + 4;
        if (!end) {
            n++;
            break;
        }
    }
    xf_pipeline p;
    xf_pipeline_default(&p);
    xf_pipeline_to_shape(&p, 8, 8, 3);
    for (int skip = 0; skip < 2; skip++) {
        xf_dataset tr, te;
        if (xf_folder_load(root, "fuzz", &p, skip, &tr, &te) == XF_OK) check(&tr, &te);
        else XF_ASSERT(!tr.images && !te.images);
        xf_dataset_free(&tr);
        xf_dataset_free(&te);
    }
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/c%d/f%d.png", root, i % 2, i);
        unlink(path);
    }
    return 0;
}
