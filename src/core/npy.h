/* NumPy .npy files (format versions 1.0, 2.0 and 3.0): the header dict
 * (descr, fortran_order, shape) and the raw little-endian data after it.
 * Any framework can write features this way (np.save), so `xfer probe
 * --features` and the dataset readers share this one reader. */
#ifndef XF_NPY_H
#define XF_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

enum { XF_NPY_MAX_DIMS = 8 };

/* Integers of every width and order are read; floats only little-endian.
 * Data in memory is always in host byte order. */
typedef enum {
    XF_NPY_U1,
    XF_NPY_I4,
    XF_NPY_I8,
    XF_NPY_F4,
    XF_NPY_F8,
    XF_NPY_I1,
    XF_NPY_U2,
    XF_NPY_I2,
    XF_NPY_U4,
    XF_NPY_U8
} xf_npy_dtype;

typedef struct {
    xf_npy_dtype dtype;
    int ndim;
    int64_t shape[XF_NPY_MAX_DIMS];
    bool fortran_order;
    size_t count; /* elements: the product of shape (1 for a 0-d array) */
    void *data;   /* count elements of dtype, in file order */
} xf_npy;

/* The descr string ("<f4", "|u1", ...) and bytes per element. */
const char *xf_npy_descr(xf_npy_dtype dtype);
size_t xf_npy_itemsize(xf_npy_dtype dtype);
bool xf_npy_is_integer(xf_npy_dtype dtype);

/* Element i of an integer array (uint64 values above INT64_MAX saturate). */
int64_t xf_npy_int(const xf_npy *a, size_t i);

/* Parses a whole .npy image held in memory; `origin` (a path, or a name
 * such as "labels") starts every error, with the byte offset of what is
 * wrong. out->data is a new copy in host byte order; free with
 * xf_npy_free. */
xf_status xf_npy_parse(const uint8_t *bytes, size_t size, const char *origin, xf_npy *out);

/* Reads a whole .npy file: xf_npy_parse on its bytes, without the copy. */
xf_status xf_npy_read(const char *path, xf_npy *out);

/* Writes a C-order array atomically (format 1.0, header padded to 64). */
xf_status xf_npy_write(const char *path, xf_npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data);

void xf_npy_free(xf_npy *a);

/* A 2-d array as a C-order float matrix (float64 converted, Fortran order
 * transposed); other shapes or dtypes fail naming the file. */
xf_status xf_npy_read_matrix(const char *path, float **data, int *rows, int *cols);

/* A 1-d array of any integer dtype as int32 labels; values outside
 * int32 fail naming the file and the index. */
xf_status xf_npy_read_labels(const char *path, int32_t **labels, int *n);

#endif
