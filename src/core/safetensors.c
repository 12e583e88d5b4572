#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

/* The safetensors reference implementation refuses headers over 100 MB. */
static const uint64_t MAX_HEADER = 100u << 20;

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [XF_ST_F64] = {"F64", 8}, [XF_ST_F32] = {"F32", 4}, [XF_ST_F16] = {"F16", 2},
    [XF_ST_BF16] = {"BF16", 2}, [XF_ST_I64] = {"I64", 8}, [XF_ST_I32] = {"I32", 4},
    [XF_ST_I16] = {"I16", 2}, [XF_ST_I8] = {"I8", 1}, [XF_ST_U8] = {"U8", 1},
    [XF_ST_BOOL] = {"BOOL", 1},
};

const char *xf_st_dtype_name(xf_st_dtype d) { return dtypes[d].name; }
size_t xf_st_dtype_size(xf_st_dtype d) { return dtypes[d].size; }

void xf_safetensors_free(xf_safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->data);
    if (st->map) munmap(st->map, st->map_size);
    free(st->path);
    memset(st, 0, sizeof *st);
}

/* A non-negative integer that a double holds exactly. */
static bool as_size(const cJSON *item, size_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != floor(v)) return false;
    *out = (size_t)v;
    return true;
}

static void to_host_order(unsigned char *p, size_t nbytes, size_t elem) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i + elem <= nbytes; i += elem)
        for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
            unsigned char t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
#else
    (void)p, (void)nbytes, (void)elem;
#endif
}

static xf_status parse_tensor(const char *label, const cJSON *e, size_t data_len,
                              unsigned char *data, xf_st_tensor *t) {
    const char *name = t->name;
    if (!cJSON_IsObject(e))
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': expected an object", label, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    int found = -1;
    for (size_t d = 0; cJSON_IsString(dtype) && d < sizeof dtypes / sizeof *dtypes; d++)
        if (strcmp(dtype->valuestring, dtypes[d].name) == 0) found = (int)d;
    if (found < 0)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': dtype %s is not one xfer reads", label, name,
                       cJSON_IsString(dtype) ? dtype->valuestring : "missing");
    t->dtype = (xf_st_dtype)found;
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > XF_ST_MAX_DIMS)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': shape is not an array of up to %d sizes",
                       label, name, XF_ST_MAX_DIMS);
    t->ndim = cJSON_GetArraySize(shape);
    t->numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        size_t v;
        if (!as_size(cJSON_GetArrayItem(shape, d), &v) || v > ((size_t)1 << 40))
            return xf_fail(XF_EFORMAT, "%s: tensor '%s': shape[%d] is not a size", label, name,
                           d);
        t->shape[d] = (int64_t)v;
        if (v && t->numel > SIZE_MAX / 8 / v)
            return xf_fail(XF_EFORMAT, "%s: tensor '%s': shape too large", label, name);
        t->numel *= v;
    }
    t->nbytes = t->numel * dtypes[t->dtype].size;
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    size_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !as_size(cJSON_GetArrayItem(offsets, 0), &begin) ||
        !as_size(cJSON_GetArrayItem(offsets, 1), &end))
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': data_offsets is not two byte offsets",
                       label, name);
    if (begin > end || end > data_len || end - begin != t->nbytes)
        return xf_fail(XF_EFORMAT,
                       "%s: tensor '%s': data_offsets [%zu, %zu] do not hold %zu bytes of %s "
                       "within the %zu data bytes",
                       label, name, begin, end, t->nbytes, dtypes[t->dtype].name, data_len);
    if (begin % dtypes[t->dtype].size)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': data byte %zu is not aligned to its %s",
                       label, name, begin, dtypes[t->dtype].name);
    to_host_order(data + begin, t->nbytes, dtypes[t->dtype].size);
    t->data = data + begin;
    return XF_OK;
}

static xf_status parse_meta(const char *label, const cJSON *meta, xf_safetensors *st) {
    if (st->meta_keys) return xf_fail(XF_EFORMAT, "%s: __metadata__ appears twice", label);
    if (!cJSON_IsObject(meta))
        return xf_fail(XF_EFORMAT, "%s: __metadata__ is not an object", label);
    int n = cJSON_GetArraySize(meta);
    st->meta_keys = xf_calloc((size_t)n + 1, sizeof(char *));
    st->meta_values = xf_calloc((size_t)n + 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_values) return XF_ENOMEM;
    for (const cJSON *item = meta->child; item; item = item->next) {
        if (!cJSON_IsString(item))
            return xf_fail(XF_EFORMAT, "%s: __metadata__.%s is not a string", label,
                           item->string);
        int i = st->n_meta++;
        st->meta_keys[i] = xf_strdup(item->string);
        st->meta_values[i] = xf_strdup(item->valuestring);
        if (!st->meta_keys[i] || !st->meta_values[i]) return XF_ENOMEM;
    }
    return XF_OK;
}

/* The 8-byte header length, checked against the file's size and the cap
 * (from the first 8 bytes and the size alone, before the file is read). */
static xf_status check_header_len(const unsigned char *bytes, size_t size, const char *label,
                                  uint64_t *header_len) {
    if (size < 8)
        return xf_fail(XF_EFORMAT, "%s: %zu bytes, too short for a safetensors file", label,
                       size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | bytes[i];
    if (n < 2 || n > MAX_HEADER || n > size - 8)
        return xf_fail(XF_EFORMAT,
                       "%s: byte 0: header length %llu does not fit the file's %zu bytes (at "
                       "most %llu)",
                       label, (unsigned long long)n, size, (unsigned long long)MAX_HEADER);
    *header_len = n;
    return XF_OK;
}

static int by_begin(const void *a, const void *b) {
    const xf_st_tensor *x = a, *y = b;
    const unsigned char *p = x->data, *q = y->data;
    return p < q ? -1 : p > q;
}

/* The tensors must tile the data section: sorted by offset, each begins
 * where the one before ends, from byte 0 to the last byte, as the format
 * requires. Overlapping tensors would alias each other's weights, a gap is
 * bytes no tensor owns: both mean a damaged or hand-edited file. */
static xf_status check_tiling(const char *label, xf_safetensors *st,
                              const unsigned char *base, size_t data_len) {
    xf_st_tensor *sorted = xf_malloc(sizeof *sorted * (size_t)(st->n_tensors + 1));
    if (!sorted) return XF_ENOMEM;
    if (st->n_tensors) memcpy(sorted, st->tensors, sizeof *sorted * (size_t)st->n_tensors);
    qsort(sorted, (size_t)st->n_tensors, sizeof *sorted, by_begin);
    size_t at = 0;
    xf_status s = XF_OK;
    const char *before = NULL;
    for (int i = 0; i < st->n_tensors && !s; i++) {
        size_t begin = (size_t)((const unsigned char *)sorted[i].data - base);
        if (begin < at)
            s = xf_fail(XF_EFORMAT,
                        "%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s', which "
                        "ends at byte %zu",
                        label, sorted[i].name, begin, begin + sorted[i].nbytes, before, at);
        else if (begin > at)
            s = xf_fail(XF_EFORMAT,
                        "%s: tensor '%s': data_offsets [%zu, %zu] leave data bytes %zu..%zu "
                        "to no tensor",
                        label, sorted[i].name, begin, begin + sorted[i].nbytes, at, begin);
        at = begin + sorted[i].nbytes;
        before = sorted[i].name;
    }
    if (!s && at != data_len)
        s = xf_fail(XF_EFORMAT, "%s: data bytes %zu..%zu belong to no tensor", label, at,
                    data_len);
    free(sorted);
    return s;
}

/* Whether the tensors can be used where they lie in `section`: each at an
 * address aligned to its element size (parse_tensor checked the offsets,
 * so the section's start decides), on a host that needs no byte swaps. */
static bool usable_in_place(const unsigned char *section) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    (void)section;
    return false;
#else
    return (uintptr_t)section % sizeof(double) == 0; /* the widest element, 8 bytes */
#endif
}

/* in_place: the tensors may point into `bytes` (a mapping st keeps) when
 * usable_in_place; else the data section is copied. */
static xf_status parse_into(const unsigned char *bytes, size_t size, const char *label,
                            bool in_place, xf_safetensors *st) {
    uint64_t header_len = 0;
    xf_status s = check_header_len(bytes, size, label, &header_len);
    if (s) return s;
    size_t data_len = size - 8 - (size_t)header_len;
    const unsigned char *section = bytes + 8 + header_len;
    unsigned char *data = (unsigned char *)section;
    if (!in_place || !usable_in_place(section)) {
        /* +1: malloc(0) may return NULL. */
        st->data = data = xf_malloc(data_len + 1);
        if (!data) return XF_ENOMEM;
        memcpy(data, section, data_len);
    }
    cJSON *h = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)header_len);
    if (!cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return xf_fail(XF_EFORMAT, "%s: the header (bytes 8..%llu) is not a JSON object", label,
                       (unsigned long long)(8 + header_len));
    }
    xf_status st_ = XF_OK;
    int n = cJSON_GetArraySize(h);
    st->tensors = xf_calloc((size_t)n + 1, sizeof *st->tensors);
    if (!st->tensors) st_ = XF_ENOMEM;
    for (const cJSON *e = h->child; st_ == XF_OK && e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            st_ = parse_meta(label, e, st);
            continue;
        }
        for (int i = 0; i < st->n_tensors; i++)
            if (strcmp(st->tensors[i].name, e->string) == 0) {
                st_ = xf_fail(XF_EFORMAT, "%s: tensor '%s' appears twice", label, e->string);
                break;
            }
        if (st_ != XF_OK) break;
        xf_st_tensor *t = &st->tensors[st->n_tensors++];
        if (!(t->name = xf_strdup(e->string))) {
            st_ = XF_ENOMEM;
            break;
        }
        st_ = parse_tensor(label, e, data_len, data, t);
    }
    cJSON_Delete(h);
    if (st_ == XF_OK) st_ = check_tiling(label, st, data, data_len);
    return st_;
}

xf_status xf_safetensors_parse(const unsigned char *bytes, size_t size, const char *label,
                               xf_safetensors *st) {
    memset(st, 0, sizeof *st);
    xf_status s = XF_OK;
    if (!(st->path = xf_strdup(label))) s = XF_ENOMEM;
    if (s == XF_OK) s = parse_into(bytes, size, label, false, st);
    if (s != XF_OK) xf_safetensors_free(st);
    return s;
}

xf_status xf_safetensors_open(const char *path, xf_safetensors *st) {
    memset(st, 0, sizeof *st);
    unsigned char head[8], *bytes;
    size_t got, size;
    uint64_t header_len = 0;
    xf_status s = xf_read_head(path, head, sizeof head, &got, &size);
    if (s == XF_OK) s = check_header_len(head, got < sizeof head ? got : size, path, &header_len);
    if (s != XF_OK) return s;
    /* The header checked against the file's size: now the file is mapped,
     * or, where it cannot be, read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat info;
    void *map = MAP_FAILED;
    if (fd >= 0 && fstat(fd, &info) == 0 && info.st_size > 0)
        map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (fd >= 0) close(fd);
    if (map == MAP_FAILED) {
        if ((s = xf_read_file(path, &bytes, &size)) != XF_OK) return s;
        s = xf_safetensors_parse(bytes, size, path, st);
        free(bytes);
        return s;
    }
    st->map = map;
    st->map_size = (size_t)info.st_size;
    if (!(st->path = xf_strdup(path))) s = XF_ENOMEM;
    if (s == XF_OK) s = parse_into(map, st->map_size, path, true, st);
    if (s != XF_OK) xf_safetensors_free(st);
    return s;
}

const xf_st_tensor *xf_safetensors_find(const xf_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *xf_safetensors_meta(const xf_safetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

xf_status xf_safetensors_f32(const xf_safetensors *st, const char *name, size_t numel,
                             const float **data) {
    const xf_st_tensor *t = xf_safetensors_find(st, name);
    if (!t) return xf_fail(XF_ENOTFOUND, "%s: no tensor '%s'", st->path, name);
    if (t->dtype != XF_ST_F32)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': dtype %s, expected F32", st->path, name,
                       dtypes[t->dtype].name);
    if (t->numel != numel)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': %zu elements, expected %zu", st->path, name,
                       t->numel, numel);
    *data = t->data;
    return XF_OK;
}
