#include "data/idx.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/mem.h"

static bool is_gzip(const uint8_t *bytes, size_t size) {
    return size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

/* The gzip trailer holds the uncompressed size mod 2^32: a good first guess
 * for the output buffer, trusted only as a hint since the file may lie.
 * Deflate expands at most about 1032:1, which bounds any honest hint. */
static size_t initial_capacity(const uint8_t *bytes, size_t size) {
    size_t guess = (size_t)4 * size;
    if (size >= 18) {
        const uint8_t *t = bytes + size - 4;
        guess = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    }
    if (guess / 1032 > size) guess = (size_t)4 * size;
    if (guess < 4096) guess = 4096;
    if (guess > XF_IDX_MAX_BYTES) guess = XF_IDX_MAX_BYTES;
    return guess + 1; /* one spare byte, so a full buffer means "maybe more" */
}

static xf_status gunzip(const uint8_t *bytes, size_t size, const char *origin, uint8_t **out,
                        size_t *out_size) {
    if (size > UINT_MAX)
        return xf_fail(XF_EFORMAT, "%s: %zu compressed bytes, more than xfer reads", origin, size);
    size_t capacity = initial_capacity(bytes, size), used = 0;
    uint8_t *buf = xf_malloc(capacity);
    if (!buf) return XF_ENOMEM;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 16 + MAX_WBITS: gzip wrapper only, a raw zlib stream is not a .gz file. */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(buf);
        return xf_fail(XF_ENOMEM, "%s: zlib could not start", origin);
    }
    zs.next_in = (Bytef *)bytes;
    zs.avail_in = (uInt)size;
    xf_status st = XF_OK;
    for (;;) {
        if (used == capacity) {
            if (capacity > XF_IDX_MAX_BYTES) {
                st = xf_fail(XF_EFORMAT, "%s: inflates to more than %zu bytes", origin,
                             XF_IDX_MAX_BYTES);
                break;
            }
            size_t bigger = capacity * 2 > XF_IDX_MAX_BYTES + 1 ? XF_IDX_MAX_BYTES + 1
                                                                : capacity * 2;
            uint8_t *grown = xf_realloc(buf, bigger);
            if (!grown) {
                st = XF_ENOMEM;
                break;
            }
            buf = grown;
            capacity = bigger;
        }
        size_t room = capacity - used;
        if (room > UINT_MAX) room = UINT_MAX;
        zs.next_out = buf + used;
        zs.avail_out = (uInt)room;
        int ret = inflate(&zs, Z_NO_FLUSH);
        used += room - zs.avail_out;
        size_t consumed = size - zs.avail_in;
        if (ret == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            /* gzip allows several members back to back; anything else after
             * the stream is damage, not data. */
            if (!is_gzip(bytes + consumed, zs.avail_in)) {
                st = xf_fail(XF_EFORMAT, "%s: byte %zu: %u bytes after the end of the gzip stream",
                             origin, consumed, zs.avail_in);
                break;
            }
            inflateReset(&zs);
        } else if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
            st = xf_fail(XF_EFORMAT, "%s: byte %zu: gzip stream ends early (truncated file)",
                         origin, size);
            break;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            st = xf_fail(XF_EFORMAT, "%s: byte %zu: corrupt gzip stream: %s", origin, consumed,
                         zs.msg ? zs.msg : "inflate failed");
            break;
        }
    }
    inflateEnd(&zs);
    if (st != XF_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_size = used;
    return XF_OK;
}

xf_status xf_idx_decode(const uint8_t *bytes, size_t size, const char *origin, uint8_t **out,
                        size_t *out_size) {
    *out = NULL;
    *out_size = 0;
    if (is_gzip(bytes, size)) return gunzip(bytes, size, origin, out, out_size);
    uint8_t *copy = xf_malloc(size);
    if (!copy) return XF_ENOMEM;
    if (size) memcpy(copy, bytes, size);
    *out = copy;
    *out_size = size;
    return XF_OK;
}

static const char *type_name(uint8_t type) {
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0b: return "int16";
    case 0x0c: return "int32";
    case 0x0d: return "float32";
    case 0x0e: return "float64";
    }
    return "not an IDX type";
}

static void format_dims(const uint32_t *dims, int rank, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < rank && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%u", i ? " x " : "", dims[i]);
}

static const char *rank_meaning(int rank) {
    switch (rank) {
    case 1: return "labels: count";
    case 3: return "images: count, rows, cols";
    }
    return "unsigned-byte tensor";
}

/* Checks the header in the first `avail` bytes of a stream of `size` bytes
 * (the magic, the rank, the dims against the size) and fills out's rank and
 * dims; out->data is left to the caller. Rank 0 takes any rank xfer reads. */
static xf_status check_header(const uint8_t *buf, size_t avail, size_t size, int expected_rank,
                              const char *origin, xf_idx *out) {
    XF_ASSERT(expected_rank >= 0 && expected_rank <= XF_IDX_MAX_RANK);
    memset(out, 0, sizeof *out);
    if (avail < 4)
        return xf_fail(XF_EFORMAT, "%s: byte %zu: file ends inside the 4-byte IDX magic", origin,
                       avail);
    if (buf[0] != 0 || buf[1] != 0)
        return xf_fail(XF_EFORMAT, "%s: byte %d: magic 0x%02x 0x%02x, expected 0x00 0x00 (not an "
                                   "IDX file)",
                       origin, buf[0] != 0 ? 0 : 1, buf[0], buf[1]);
    if (buf[2] != 0x08)
        return xf_fail(XF_EFORMAT, "%s: byte 2: data type 0x%02x (%s), expected 0x08 (unsigned "
                                   "byte)",
                       origin, buf[2], type_name(buf[2]));
    if (expected_rank == 0 && (buf[3] < 1 || buf[3] > XF_IDX_MAX_RANK))
        return xf_fail(XF_EFORMAT, "%s: byte 3: rank %d, expected 1 to %d", origin, buf[3],
                       XF_IDX_MAX_RANK);
    if (expected_rank && buf[3] != expected_rank)
        return xf_fail(XF_EFORMAT, "%s: byte 3: rank %d, expected %d (%s)", origin, buf[3],
                       expected_rank, rank_meaning(expected_rank));
    int rank = buf[3];
    size_t header = 4 + 4 * (size_t)rank;
    if (avail < header)
        return xf_fail(XF_EFORMAT, "%s: byte %zu: file ends inside the header (rank %d needs %zu "
                                   "header bytes)",
                       origin, avail, rank, header);
    for (int i = 0; i < rank; i++) {
        const uint8_t *p = buf + 4 + 4 * i;
        uint32_t d = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (d == 0)
            return xf_fail(XF_EFORMAT, "%s: byte %d: dimension %d is 0", origin, 4 + 4 * i, i);
        if (d > INT32_MAX)
            return xf_fail(XF_EFORMAT, "%s: byte %d: dimension %d is %u, more than 2^31-1",
                           origin, 4 + 4 * i, i, d);
        out->dims[i] = d;
    }
    char dims[96];
    format_dims(out->dims, rank, dims, sizeof dims);
    /* Multiply with an early exit so huge dims cannot overflow size_t. */
    size_t have = size - header, need = 1;
    bool too_short = false;
    for (int i = 0; i < rank && !too_short; i++) {
        if (need > have / out->dims[i])
            too_short = true;
        else
            need *= out->dims[i];
    }
    if (too_short) {
        double want = 1;
        for (int i = 0; i < rank; i++) want *= out->dims[i];
        return xf_fail(XF_EFORMAT, "%s: byte %zu: data ends after %zu bytes, dims %s need %.0f "
                                   "(truncated file)",
                       origin, size, have, dims, want);
    }
    if (need < have)
        return xf_fail(XF_EFORMAT, "%s: byte %zu: %zu trailing bytes after the data (dims %s = "
                                   "%zu bytes)",
                       origin, header + need, have - need, dims, need);
    out->rank = rank;
    out->data_size = need;
    return XF_OK;
}

xf_status xf_idx_parse(const uint8_t *buf, size_t size, int expected_rank, const char *origin,
                       xf_idx *out) {
    xf_status st = check_header(buf, size, size, expected_rank, origin, out);
    if (st == XF_OK) out->data = buf + 4 + 4 * (size_t)out->rank;
    return st;
}

xf_status xf_idx_read_file(const char *path, uint8_t **out, size_t *out_size) {
    *out = NULL;
    *out_size = 0;
    unsigned char *raw;
    size_t raw_size;
    xf_status st = xf_read_file(path, &raw, &raw_size);
    if (st != XF_OK) return st;
    if (!is_gzip(raw, raw_size)) {
        *out = raw; /* already the IDX stream: no copy */
        *out_size = raw_size;
        return XF_OK;
    }
    st = xf_idx_decode(raw, raw_size, path, out, out_size);
    free(raw);
    return st;
}

/* xf_idx_read_file for a file that must be IDX: an uncompressed stream's
 * header is checked against the file's size before the file is read, so a
 * wrong file fails unread. A gzip stream can only be checked once inflated
 * (which stops at XF_IDX_MAX_BYTES). */
static xf_status read_idx(const char *path, uint8_t **out, size_t *out_size) {
    *out = NULL;
    *out_size = 0;
    uint8_t head[4 + 4 * XF_IDX_MAX_RANK];
    size_t got, file_size;
    xf_status st = xf_read_head(path, head, sizeof head, &got, &file_size);
    if (st != XF_OK) return st;
    if (!is_gzip(head, got)) {
        xf_idx idx;
        st = check_header(head, got, got < sizeof head ? got : file_size, 0, path, &idx);
        if (st != XF_OK) return st;
    }
    return xf_idx_read_file(path, out, out_size);
}

xf_status xf_idx_to_dataset(const xf_idx *images, const char *images_origin,
                            const xf_idx *labels, const char *labels_origin, const char *name,
                            int n_classes, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    if ((images->rank != 3 && images->rank != 4) || labels->rank != 1)
        return xf_fail(XF_EINVAL, "%s: rank %d and %s: rank %d; images need rank 3 or 4, labels 1",
                       images_origin, images->rank, labels_origin, labels->rank);
    if (n_classes < 0)
        return xf_fail(XF_EINVAL, "%s: n_classes %d is negative", name, n_classes);
    uint32_t n = images->dims[0];
    if (labels->dims[0] != n)
        return xf_fail(XF_EFORMAT, "%s: byte 4: %u labels, but %s has %u images", labels_origin,
                       labels->dims[0], images_origin, n);
    int classes = n_classes;
    if (classes == 0)
        for (uint32_t i = 0; i < n; i++)
            if (labels->data[i] >= classes) classes = labels->data[i] + 1;
    for (uint32_t i = 0; i < n; i++)
        if (labels->data[i] >= classes)
            return xf_fail(XF_EFORMAT, "%s: byte %u: label %u of item %u is out of range [0, %d)",
                           labels_origin, 8 + i, labels->data[i], i, classes);
    int channels = images->rank == 4 ? (int)images->dims[3] : 1;
    xf_status st = xf_dataset_alloc(out, name, (int)n, (int)images->dims[1],
                                    (int)images->dims[2], channels, classes);
    if (st != XF_OK) return st;
    memcpy(out->images, images->data, images->data_size);
    for (uint32_t i = 0; i < n; i++) out->labels[i] = labels->data[i];
    return XF_OK;
}

xf_status xf_idx_load_pair(const char *images_path, const char *labels_path, const char *name,
                           int n_classes, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    uint8_t *ibuf = NULL, *lbuf = NULL;
    size_t isize, lsize;
    xf_idx images, labels;
    xf_status st = read_idx(labels_path, &lbuf, &lsize);
    if (st == XF_OK) st = xf_idx_parse(lbuf, lsize, 1, labels_path, &labels);
    if (st == XF_OK) st = read_idx(images_path, &ibuf, &isize);
    /* Colour images (written by xfer's cache) carry a fourth dim, channels. */
    int rank = st == XF_OK && isize > 3 && ibuf[3] == 4 ? 4 : 3;
    if (st == XF_OK) st = xf_idx_parse(ibuf, isize, rank, images_path, &images);
    if (st == XF_OK)
        st = xf_idx_to_dataset(&images, images_path, &labels, labels_path, name, n_classes, out);
    free(ibuf);
    free(lbuf);
    return st;
}

xf_status xf_idx_count(const char *path, int expected_rank, int *count) {
    *count = 0;
    uint8_t *buf;
    size_t size;
    xf_status st = read_idx(path, &buf, &size);
    if (st != XF_OK) return st;
    xf_idx idx;
    st = xf_idx_parse(buf, size, expected_rank, path, &idx);
    if (st == XF_OK) *count = (int)idx.dims[0];
    free(buf);
    return st;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

xf_status xf_idx_write_dataset(const xf_dataset *ds, const char *images_path,
                               const char *labels_path) {
    if (ds->n_classes > 256)
        return xf_fail(XF_EINVAL, "%s: %d classes do not fit IDX byte labels", labels_path,
                       ds->n_classes);
    int rank = ds->channels == 1 ? 3 : 4;
    size_t header = 4 + 4 * (size_t)rank, data = xf_dataset_image_size(ds) * (size_t)ds->n;
    uint8_t *buf = xf_malloc(header + (data > (size_t)ds->n + 8 ? data : (size_t)ds->n + 8));
    if (!buf) return XF_ENOMEM;
    uint32_t dims[4] = {(uint32_t)ds->n, (uint32_t)ds->height, (uint32_t)ds->width,
                        (uint32_t)ds->channels};
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (uint8_t)rank;
    for (int i = 0; i < rank; i++) put_be32(buf + 4 + 4 * i, dims[i]);
    memcpy(buf + header, ds->images, data);
    xf_status st = xf_write_file_atomic(images_path, buf, header + data);
    if (st == XF_OK) {
        buf[3] = 1;
        put_be32(buf + 4, (uint32_t)ds->n);
        for (int i = 0; i < ds->n; i++) buf[8 + i] = (uint8_t)ds->labels[i];
        st = xf_write_file_atomic(labels_path, buf, 8 + (size_t)ds->n);
    }
    free(buf);
    return st;
}
