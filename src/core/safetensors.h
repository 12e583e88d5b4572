/* A generic safetensors reader: the whole file parsed into a list of named
 * tensors (dtype, shape, data in host byte order, suitably aligned) and the
 * string entries of its __metadata__.
 *
 * xf_safetensors_open maps the file read-only, and the tensors point into
 * the mapping when every one is aligned to its element size there (files
 * written by xfer, PyTorch's and timm's safetensors: the data section
 * starts at an 8-byte boundary) and the host is little-endian: the bytes
 * are read once, by whoever copies them out (an importer filling a model's
 * parameters), and a page is only read when used. Otherwise, and for
 * xf_safetensors_parse, the data section is copied into an aligned buffer.
 * A mapped file must not be truncated while it is open (xfer replaces
 * files by rename, never in place).
 *
 * Format: 8-byte little-endian header length, a JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {"key": "value", ..}}, then the data section the offsets
 * index. Errors name the file and the tensor or byte. */
#ifndef XF_SAFETENSORS_H
#define XF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum {
    XF_ST_F64, XF_ST_F32, XF_ST_F16, XF_ST_BF16,
    XF_ST_I64, XF_ST_I32, XF_ST_I16, XF_ST_I8, XF_ST_U8, XF_ST_BOOL
} xf_st_dtype;

enum { XF_ST_MAX_DIMS = 8 };

typedef struct {
    char *name;
    xf_st_dtype dtype;
    int ndim;
    int64_t shape[XF_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const void *data; /* into the file's data section, host byte order */
} xf_st_tensor;

typedef struct {
    char *path;            /* for messages */
    void *data;            /* the data section's aligned copy, or NULL when mapped */
    void *map;             /* the file mapped read-only, or NULL */
    size_t map_size;
    xf_st_tensor *tensors; /* in header order */
    int n_tensors;
    char **meta_keys, **meta_values;
    int n_meta;
} xf_safetensors;

/* Reads and parses `path`. On failure *st is empty (free is still safe). */
xf_status xf_safetensors_open(const char *path, xf_safetensors *st);
/* Parses the bytes of a file; `label` names it in messages. */
xf_status xf_safetensors_parse(const unsigned char *bytes, size_t size, const char *label,
                               xf_safetensors *st);
void xf_safetensors_free(xf_safetensors *st);

/* The tensor called `name`, or NULL. */
const xf_st_tensor *xf_safetensors_find(const xf_safetensors *st, const char *name);
/* The __metadata__ string under `key`, or NULL. */
const char *xf_safetensors_meta(const xf_safetensors *st, const char *key);

/* The tensor `name` as F32 with `numel` elements (any shape): its data, or
 * an error naming the file, the tensor and what differs. */
xf_status xf_safetensors_f32(const xf_safetensors *st, const char *name, size_t numel,
                             const float **data);

const char *xf_st_dtype_name(xf_st_dtype d);
size_t xf_st_dtype_size(xf_st_dtype d);

#endif
