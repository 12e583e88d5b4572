/* The IDX format (MNIST and friends): bytes 0-1 zero, byte 2 the data type,
 * byte 3 the rank, then one big-endian uint32 per dimension, then the data.
 * xfer reads unsigned-byte IDX only: rank 3 (count, rows, cols) for images,
 * rank 1 (count) for labels. Files may be gzip-compressed; that is detected
 * from the magic bytes 1f 8b, never from the name.
 *
 * Byte offsets in messages count in the uncompressed IDX stream, except for
 * errors in the gzip stream itself, which count in the compressed file. */
#ifndef XF_IDX_H
#define XF_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

enum { XF_IDX_MAX_RANK = 4 };

/* Decompressed files larger than this are refused (a gzip bomb, not data). */
#define XF_IDX_MAX_BYTES ((size_t)1 << 31)

/* A parsed IDX header; `data` points into the caller's buffer. */
typedef struct {
    int rank;
    uint32_t dims[XF_IDX_MAX_RANK];
    const uint8_t *data;
    size_t data_size; /* product of dims */
} xf_idx;

/* Turns a file's bytes into the IDX stream: inflates gzip (several members
 * allowed), copies anything else. `origin` names the source in messages.
 * On success *out is a new buffer the caller frees. */
xf_status xf_idx_decode(const uint8_t *bytes, size_t size, const char *origin, uint8_t **out,
                        size_t *out_size);

/* Checks an in-memory IDX stream: magic, type 0x08, rank == expected_rank
 * (1..XF_IDX_MAX_RANK), nonzero dims below 2^31, and exactly as many data
 * bytes as the dims call for. Needs no files, so the fuzzer drives it. */
xf_status xf_idx_parse(const uint8_t *buf, size_t size, int expected_rank, const char *origin,
                       xf_idx *out);

/* Reads and decodes a whole file (*out: caller frees). */
xf_status xf_idx_read_file(const char *path, uint8_t **out, size_t *out_size);

/* Builds a dataset from parsed images (rank 3, or 4 with channels last)
 * and labels (rank 1): checks
 * the counts agree and every label is below n_classes (n_classes 0: taken
 * as the largest label + 1). The origins name the files in messages. */
xf_status xf_idx_to_dataset(const xf_idx *images, const char *images_origin,
                            const xf_idx *labels, const char *labels_origin, const char *name,
                            int n_classes, xf_dataset *out);

/* Writes a dataset as an uncompressed IDX pair: images rank 3 (grey) or
 * rank 4 (count, rows, cols, channels), labels rank 1 (n_classes <= 256).
 * Each file is written atomically. */
xf_status xf_idx_write_dataset(const xf_dataset *ds, const char *images_path,
                               const char *labels_path);

/* Reads an image file and its label file into `out` (see xf_idx_to_dataset);
 * an image file of rank 4 gives colour images (dims[3] channels). */
xf_status xf_idx_load_pair(const char *images_path, const char *labels_path, const char *name,
                           int n_classes, xf_dataset *out);

/* The number of items in an IDX file of the given rank (reads and checks
 * the whole file; meant for label files). */
xf_status xf_idx_count(const char *path, int expected_rank, int *count);

#endif
