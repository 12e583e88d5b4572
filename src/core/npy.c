#include "core/npy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const struct {
    const char *descr;
    char kind;
    size_t size;
} dtypes[] = {
    [XF_NPY_U1] = {"|u1", 'u', 1}, [XF_NPY_I4] = {"<i4", 'i', 4}, [XF_NPY_I8] = {"<i8", 'i', 8},
    [XF_NPY_F4] = {"<f4", 'f', 4}, [XF_NPY_F8] = {"<f8", 'f', 8}, [XF_NPY_I1] = {"|i1", 'i', 1},
    [XF_NPY_U2] = {"<u2", 'u', 2}, [XF_NPY_I2] = {"<i2", 'i', 2}, [XF_NPY_U4] = {"<u4", 'u', 4},
    [XF_NPY_U8] = {"<u8", 'u', 8},
};
enum { N_DTYPES = sizeof dtypes / sizeof dtypes[0] };

const char *xf_npy_descr(xf_npy_dtype dtype) { return dtypes[dtype].descr; }
size_t xf_npy_itemsize(xf_npy_dtype dtype) { return dtypes[dtype].size; }
bool xf_npy_is_integer(xf_npy_dtype dtype) { return dtypes[dtype].kind != 'f'; }

int64_t xf_npy_int(const xf_npy *a, size_t i) {
    switch (a->dtype) {
    case XF_NPY_U1: return ((const uint8_t *)a->data)[i];
    case XF_NPY_I1: return ((const int8_t *)a->data)[i];
    case XF_NPY_U2: return ((const uint16_t *)a->data)[i];
    case XF_NPY_I2: return ((const int16_t *)a->data)[i];
    case XF_NPY_U4: return ((const uint32_t *)a->data)[i];
    case XF_NPY_I4: return ((const int32_t *)a->data)[i];
    case XF_NPY_I8: return ((const int64_t *)a->data)[i];
    case XF_NPY_U8: {
        uint64_t u = ((const uint64_t *)a->data)[i];
        return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    }
    case XF_NPY_F4:
    case XF_NPY_F8: break;
    }
    XF_ASSERT(!"xf_npy_int on a float array");
    return 0;
}

void xf_npy_free(xf_npy *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* A cursor over the header dict; `base` is the dict's byte offset in the
 * file, so every message can say where the problem is. The dict is not
 * NUL-terminated: it is read in place. */
typedef struct {
    const char *origin, *s;
    size_t pos, len, base;
    bool swap; /* the descr's byte order is not the host's */
} cursor;

static xf_status bad(const cursor *c, const char *what) {
    return xf_fail(XF_EFORMAT, "%s: byte %zu: .npy header: %s", c->origin, c->base + c->pos, what);
}

static void skip_space(cursor *c) {
    while (c->pos < c->len && isspace((unsigned char)c->s[c->pos])) c->pos++;
}

static bool eat(cursor *c, char ch) {
    skip_space(c);
    if (c->pos < c->len && c->s[c->pos] == ch) {
        c->pos++;
        return true;
    }
    return false;
}

/* A quoted Python string (no escapes: none of the keys or descrs need them). */
static xf_status parse_string(cursor *c, char *out, size_t cap) {
    skip_space(c);
    char q = c->pos < c->len ? c->s[c->pos] : 0;
    if (q != '\'' && q != '"') return bad(c, "expected a quoted string");
    size_t start = ++c->pos;
    while (c->pos < c->len && c->s[c->pos] != q) c->pos++;
    if (c->pos >= c->len) return bad(c, "unterminated string");
    size_t n = c->pos - start;
    if (n >= cap) return bad(c, "string too long");
    memcpy(out, c->s + start, n);
    out[n] = 0;
    c->pos++;
    return XF_OK;
}

/* "<f4", "|u1", ">i8": integers of any width and byte order ('|' is
 * NumPy's "not applicable", read as little-endian); floats only
 * little-endian, as the float readers always were. */
static int find_dtype(const char *descr, bool *big_endian) {
    if (strlen(descr) != 3 || !strchr("<>|", descr[0])) return -1;
    for (int i = 0; i < N_DTYPES; i++)
        if (descr[1] == dtypes[i].kind && (size_t)(descr[2] - '0') == dtypes[i].size) {
            if (dtypes[i].kind == 'f' && descr[0] != '<') return -1;
            *big_endian = descr[0] == '>';
            return i;
        }
    return -1;
}

static xf_status parse_shape(cursor *c, xf_npy *a) {
    if (!eat(c, '(')) return bad(c, "shape: expected a tuple '('");
    a->ndim = 0;
    for (;;) {
        if (eat(c, ')')) return XF_OK;
        skip_space(c);
        if (c->pos >= c->len || !isdigit((unsigned char)c->s[c->pos]))
            return bad(c, "shape: expected a non-negative integer");
        if (a->ndim == XF_NPY_MAX_DIMS) return bad(c, "shape: more than 8 dimensions");
        int64_t v = 0;
        while (c->pos < c->len && isdigit((unsigned char)c->s[c->pos])) {
            v = v * 10 + (c->s[c->pos++] - '0');
            if (v > INT32_MAX) return bad(c, "shape: dimension too large");
        }
        a->shape[a->ndim++] = v;
        if (!eat(c, ',')) {
            if (eat(c, ')')) return XF_OK;
            return bad(c, "shape: expected ',' or ')'");
        }
    }
}

static xf_status parse_bool(cursor *c, bool *out) {
    skip_space(c);
    if (c->len - c->pos >= 4 && memcmp(c->s + c->pos, "True", 4) == 0) {
        *out = true, c->pos += 4;
    } else if (c->len - c->pos >= 5 && memcmp(c->s + c->pos, "False", 5) == 0) {
        *out = false, c->pos += 5;
    } else {
        return bad(c, "fortran_order: expected True or False");
    }
    return XF_OK;
}

static xf_status parse_dict(cursor *c, xf_npy *a) {
    bool seen[3] = {false, false, false};
    xf_status st;
    if (!eat(c, '{')) return bad(c, "expected '{'");
    while (!eat(c, '}')) {
        char key[32], descr[16];
        if ((st = parse_string(c, key, sizeof key)) != XF_OK) return st;
        if (!eat(c, ':')) return bad(c, "expected ':' after a key");
        if (strcmp(key, "descr") == 0) {
            skip_space(c);
            size_t at = c->pos;
            if ((st = parse_string(c, descr, sizeof descr)) != XF_OK) return st;
            bool big_endian = false;
            int found = find_dtype(descr, &big_endian);
            if (found < 0)
                return xf_fail(XF_EFORMAT,
                               "%s: byte %zu: .npy descr '%s' is not supported (expected an "
                               "integer such as |u1 or <i8, or <f4 or <f8)",
                               c->origin, c->base + at, descr);
            a->dtype = (xf_npy_dtype)found;
            bool host_big = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
            c->swap = dtypes[found].size > 1 && big_endian != host_big;
            seen[0] = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if ((st = parse_bool(c, &a->fortran_order)) != XF_OK) return st;
            seen[1] = true;
        } else if (strcmp(key, "shape") == 0) {
            if ((st = parse_shape(c, a)) != XF_OK) return st;
            seen[2] = true;
        } else {
            return bad(c, "unknown key (expected descr, fortran_order, shape)");
        }
        if (!eat(c, ',')) {
            if (eat(c, '}')) break;
            return bad(c, "expected ',' or '}'");
        }
    }
    const char *names[3] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return xf_fail(XF_EFORMAT, "%s: byte %zu: .npy header has no '%s'", c->origin,
                           c->base, names[i]);
    return XF_OK;
}

static size_t le(const uint8_t *b, int n) {
    size_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* NumPy itself refuses headers over 10 000 bytes unless told otherwise. */
enum { MAX_HEADER = 1 << 16 };

/* Checks everything but leaves out->data NULL: the data is the `size -
 * *data_at` bytes from *data_at, exactly count * itemsize of them, in file
 * byte order (*swap when that is not the host's). `b` holds the first
 * `avail` of the file's `size` bytes; at least the whole header. */
static xf_status parse_header(const uint8_t *b, size_t avail, size_t size, const char *origin,
                              xf_npy *out, size_t *data_at, bool *swap) {
    memset(out, 0, sizeof *out);
    if (avail < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return xf_fail(XF_EFORMAT, "%s: byte 0: no \\x93NUMPY magic (not a .npy file)", origin);
    if (b[6] < 1 || b[6] > 3)
        return xf_fail(XF_EFORMAT, "%s: byte 6: .npy format version %d.%d is not supported",
                       origin, b[6], b[7]);
    size_t start = 10, hlen = le(b + 8, 2);
    if (b[6] > 1) {
        if (avail < 12)
            return xf_fail(XF_EFORMAT, "%s: byte %zu: truncated .npy header length", origin, avail);
        start = 12, hlen = le(b + 8, 4);
    }
    if (hlen > MAX_HEADER)
        return xf_fail(XF_EFORMAT, "%s: byte 8: .npy header of %zu bytes, more than the %d "
                                   "xfer reads",
                       origin, hlen, MAX_HEADER);
    if (hlen > size - start)
        return xf_fail(XF_EFORMAT,
                       "%s: byte 8: .npy header of %zu bytes does not fit the file (%zu bytes)",
                       origin, hlen, size);
    XF_ASSERT(hlen <= avail - start);
    cursor c = {origin, (const char *)b + start, 0, hlen, start, false};
    xf_status st = parse_dict(&c, out);
    if (st != XF_OK) return st;
    out->count = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->shape[i] > 0 && out->count > SIZE_MAX / 16 / (size_t)out->shape[i])
            return xf_fail(XF_EFORMAT, "%s: byte %zu: .npy shape is too large", origin, start);
        out->count *= (size_t)out->shape[i];
    }
    size_t need = out->count * xf_npy_itemsize(out->dtype), at = start + hlen, have = size - at;
    if (have < need)
        return xf_fail(XF_EFORMAT,
                       "%s: byte %zu: %zu data bytes, shape and dtype need %zu (truncated file): "
                       "the file ends at byte %zu",
                       origin, at, have, need, size);
    if (have > need)
        return xf_fail(XF_EFORMAT,
                       "%s: byte %zu: %zu data bytes, shape and dtype need %zu (extra bytes from "
                       "byte %zu)",
                       origin, at, have, need, at + need);
    *data_at = at;
    *swap = c.swap;
    return XF_OK;
}

static void swap_bytes(uint8_t *p, size_t count, size_t itemsize) {
    for (size_t i = 0; i < count; i++, p += itemsize)
        for (size_t j = 0; j < itemsize / 2; j++) {
            uint8_t t = p[j];
            p[j] = p[itemsize - 1 - j];
            p[itemsize - 1 - j] = t;
        }
}

xf_status xf_npy_parse(const uint8_t *bytes, size_t size, const char *origin, xf_npy *out) {
    size_t at;
    bool swap;
    xf_status st = parse_header(bytes, size, size, origin, out, &at, &swap);
    if (st != XF_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    size_t n = size - at;
    out->data = xf_malloc(n + 1);
    if (!out->data) {
        memset(out, 0, sizeof *out);
        return XF_ENOMEM;
    }
    if (n) memcpy(out->data, bytes + at, n);
    if (swap) swap_bytes(out->data, out->count, xf_npy_itemsize(out->dtype));
    return XF_OK;
}

xf_status xf_npy_read(const char *path, xf_npy *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t size, at;
    bool swap;
    /* The header first, checked against the file's size: a file that
     * declares more (or less) data than it holds is refused unread. */
    uint8_t *head = xf_malloc(12 + MAX_HEADER);
    if (!head) return XF_ENOMEM;
    size_t got;
    xf_status st = xf_read_head(path, head, 12 + MAX_HEADER, &got, &size);
    if (st == XF_OK) st = parse_header(head, got, got < 12 + MAX_HEADER ? got : size, path, out,
                                       &at, &swap);
    free(head);
    if (st == XF_OK) st = xf_read_file(path, &buf, &size);
    if (st != XF_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if ((st = parse_header(buf, size, size, path, out, &at, &swap)) != XF_OK) {
        memset(out, 0, sizeof *out);
        free(buf);
        return st;
    }
    /* The file buffer becomes the array: no second copy of a large file. */
    memmove(buf, buf + at, size - at);
    if (swap) swap_bytes(buf, out->count, xf_npy_itemsize(out->dtype));
    out->data = buf;
    return XF_OK;
}

xf_status xf_npy_write(const char *path, xf_npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data) {
    if (ndim < 0 || ndim > XF_NPY_MAX_DIMS)
        return xf_fail(XF_EINVAL, "%s: .npy arrays have 0 to 8 dimensions, not %d", path, ndim);
    char dict[256];
    size_t count = 1;
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     xf_npy_descr(dtype));
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return xf_fail(XF_EINVAL, "%s: dimension %d is negative (%lld)", path, i,
                           (long long)shape[i]);
        count *= (size_t)shape[i];
        n += snprintf(dict + n, sizeof dict - (size_t)n, ndim == 1 ? "%lld," : i ? ", %lld" : "%lld",
                      (long long)shape[i]);
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* The data starts 64-byte aligned, as NumPy writes it. */
    size_t hlen = ((size_t)n + 1 + 10 + 63) / 64 * 64 - 10;
    size_t bytes = count * xf_npy_itemsize(dtype);
    unsigned char *buf = xf_malloc(10 + hlen + bytes);
    if (!buf) return XF_ENOMEM;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, dict, (size_t)n);
    buf[10 + hlen - 1] = '\n';
    if (bytes) memcpy(buf + 10 + hlen, data, bytes);
    xf_status st = xf_write_file_atomic(path, buf, 10 + hlen + bytes);
    free(buf);
    return st;
}

xf_status xf_npy_read_matrix(const char *path, float **data, int *rows, int *cols) {
    *data = NULL;
    *rows = *cols = 0;
    xf_npy a;
    xf_status st = xf_npy_read(path, &a);
    if (st != XF_OK) return st;
    if (a.ndim != 2 || (a.dtype != XF_NPY_F4 && a.dtype != XF_NPY_F8)) {
        st = xf_fail(XF_EFORMAT, "%s: expected a 2-d float32 (or float64) array, got %d-d %s",
                     path, a.ndim, xf_npy_descr(a.dtype));
        xf_npy_free(&a);
        return st;
    }
    int r = (int)a.shape[0], c = (int)a.shape[1];
    if (a.dtype == XF_NPY_F4 && (!a.fortran_order || r <= 1 || c <= 1)) {
        /* Already the layout asked for: hand over the buffer. */
        *data = a.data, *rows = r, *cols = c;
        return XF_OK;
    }
    float *m = xf_malloc(sizeof(float) * a.count + 1);
    if (!m) {
        xf_npy_free(&a);
        return XF_ENOMEM;
    }
    for (size_t i = 0; i < (size_t)r; i++)
        for (size_t j = 0; j < (size_t)c; j++) {
            size_t from = a.fortran_order ? j * r + i : i * c + j;
            m[i * c + j] = a.dtype == XF_NPY_F4 ? ((const float *)a.data)[from]
                                                : (float)((const double *)a.data)[from];
        }
    xf_npy_free(&a);
    *data = m, *rows = r, *cols = c;
    return XF_OK;
}

xf_status xf_npy_read_labels(const char *path, int32_t **labels, int *n) {
    *labels = NULL;
    *n = 0;
    xf_npy a;
    xf_status st = xf_npy_read(path, &a);
    if (st != XF_OK) return st;
    if (a.ndim != 1 || !xf_npy_is_integer(a.dtype)) {
        st = xf_fail(XF_EFORMAT, "%s: expected a 1-d integer array of labels, got %d-d %s", path,
                     a.ndim, xf_npy_descr(a.dtype));
        xf_npy_free(&a);
        return st;
    }
    int32_t *y = xf_malloc(sizeof(int32_t) * a.count + 1);
    if (!y) {
        xf_npy_free(&a);
        return XF_ENOMEM;
    }
    for (size_t i = 0; i < a.count; i++) {
        int64_t v = xf_npy_int(&a, i);
        if (v < INT32_MIN || v > INT32_MAX) {
            st = xf_fail(XF_EFORMAT, "%s: label %zu is %lld, outside int32", path, i,
                         (long long)v);
            free(y);
            xf_npy_free(&a);
            return st;
        }
        y[i] = (int32_t)v;
    }
    *n = (int)a.count;
    xf_npy_free(&a);
    *labels = y;
    return XF_OK;
}
