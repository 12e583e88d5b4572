#include "core/npy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const struct {
    const char *descr;
    size_t size;
} dtypes[] = {{"|u1", 1}, {"<i4", 4}, {"<i8", 8}, {"<f4", 4}, {"<f8", 8}};

const char *xf_npy_descr(xf_npy_dtype dtype) { return dtypes[dtype].descr; }
size_t xf_npy_itemsize(xf_npy_dtype dtype) { return dtypes[dtype].size; }

void xf_npy_free(xf_npy *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* A cursor over the header dict; `base` is the dict's byte offset in the
 * file, so every message can say where the problem is. */
typedef struct {
    const char *path, *s;
    size_t pos, len, base;
} cursor;

static xf_status bad(const cursor *c, const char *what) {
    return xf_fail(XF_EFORMAT, "%s: byte %zu: .npy header: %s", c->path, c->base + c->pos, what);
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

static xf_status parse_shape(cursor *c, xf_npy *a) {
    if (!eat(c, '(')) return bad(c, "shape: expected a tuple '('");
    a->ndim = 0;
    for (;;) {
        if (eat(c, ')')) return XF_OK;
        skip_space(c);
        if (c->pos >= c->len || !isdigit((unsigned char)c->s[c->pos]))
            return bad(c, "shape: expected a non-negative integer");
        if (a->ndim == XF_NPY_MAX_DIMS) return bad(c, "shape: more than 8 dimensions");
        errno = 0;
        char *end;
        long long v = strtoll(c->s + c->pos, &end, 10);
        if (errno || v > INT32_MAX) return bad(c, "shape: dimension too large");
        a->shape[a->ndim++] = v;
        c->pos = (size_t)(end - c->s);
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
            int found = -1;
            for (int i = 0; i < (int)(sizeof dtypes / sizeof dtypes[0]); i++)
                if (strcmp(descr, dtypes[i].descr) == 0 ||
                    (i == XF_NPY_U1 && strcmp(descr, "<u1") == 0))
                    found = i;
            if (found < 0) {
                c->pos = at;
                return xf_fail(XF_EFORMAT,
                               "%s: byte %zu: .npy descr '%s' is not supported (expected |u1, "
                               "<i4, <i8, <f4 or <f8)",
                               c->path, c->base + at, descr);
            }
            a->dtype = (xf_npy_dtype)found;
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
            return xf_fail(XF_EFORMAT, "%s: byte %zu: .npy header has no '%s'", c->path, c->base,
                           names[i]);
    return XF_OK;
}

static uint32_t le(const unsigned char *b, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

xf_status xf_npy_read(const char *path, xf_npy *out) {
    memset(out, 0, sizeof *out);
    FILE *f = xf_fopen(path, "rb");
    if (!f) return XF_EIO;
    unsigned char pre[12];
    char *header = NULL;
    xf_status st = XF_OK;
    size_t got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = xf_fail(XF_EFORMAT, "%s: byte 0: not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    if (pre[6] < 1 || pre[6] > 3) {
        st = xf_fail(XF_EFORMAT, "%s: byte 6: .npy format version %d.%d is not supported", path,
                     pre[6], pre[7]);
        goto done;
    }
    size_t start = 10, hlen = le(pre + 8, 2);
    if (pre[6] > 1) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            st = xf_fail(XF_EFORMAT, "%s: byte 10: truncated .npy header length", path);
            goto done;
        }
        start = 12, hlen = le(pre + 8, 4);
        if (hlen > (1u << 24)) {
            st = xf_fail(XF_EFORMAT, "%s: byte 8: .npy header length %zu is implausible", path,
                         hlen);
            goto done;
        }
    }
    header = xf_malloc(hlen + 1);
    if (!header) {
        st = XF_ENOMEM;
        goto done;
    }
    if (fread(header, 1, hlen, f) != hlen) {
        st = xf_fail(XF_EFORMAT, "%s: byte %zu: the .npy header (%zu bytes) is truncated", path,
                     start, hlen);
        goto done;
    }
    header[hlen] = 0;
    cursor c = {path, header, 0, hlen, start};
    if ((st = parse_dict(&c, out)) != XF_OK) goto done;
    out->count = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->shape[i] > 0 && out->count > SIZE_MAX / 16 / (size_t)out->shape[i]) {
            st = xf_fail(XF_EFORMAT, "%s: byte %zu: .npy shape is too large", path, start);
            goto done;
        }
        out->count *= (size_t)out->shape[i];
    }
    size_t bytes = out->count * xf_npy_itemsize(out->dtype);
    out->data = xf_malloc(bytes + 1);
    if (!out->data) {
        st = XF_ENOMEM;
        goto done;
    }
    size_t data_at = start + hlen;
    got = fread(out->data, 1, bytes, f);
    if (got != bytes) {
        st = xf_fail(XF_EFORMAT,
                     "%s: byte %zu: .npy data ends after %zu of %zu bytes (shape and file size "
                     "disagree)",
                     path, data_at + got, got, bytes);
        goto done;
    }
    if (fgetc(f) != EOF)
        st = xf_fail(XF_EFORMAT, "%s: byte %zu: bytes after the .npy data (shape says %zu bytes)",
                     path, data_at + bytes, bytes);
done:
    fclose(f);
    free(header);
    if (st != XF_OK) xf_npy_free(out);
    return st;
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
    if (a.ndim != 1 || a.dtype == XF_NPY_F4 || a.dtype == XF_NPY_F8) {
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
        int64_t v = a.dtype == XF_NPY_U1   ? ((const uint8_t *)a.data)[i]
                    : a.dtype == XF_NPY_I4 ? ((const int32_t *)a.data)[i]
                                           : ((const int64_t *)a.data)[i];
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
