/* safetensors I/O (checkpoint.h). Tensors are written in the model's table
 * order, back to back; the JSON header is padded with spaces to a multiple
 * of 8 bytes so the data that follows stays aligned, as the reference
 * implementation does. */
#include "train/checkpoint.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Headers are small (about 100 bytes per tensor); a larger length field
 * means a corrupt or foreign file, not a header to allocate for. */
static const uint64_t MAX_HEADER = 64u << 20;

static void put_u64_le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64_le(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Host floats to little-endian bytes and back (a plain copy on x86). */
static void floats_to_le(unsigned char *dst, const float *src, size_t n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof(float));
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        for (int b = 0; b < 4; b++) dst[4 * i + b] = (unsigned char)(u >> (8 * b));
    }
#endif
}

static void floats_from_le(float *dst, const unsigned char *src, size_t n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof(float));
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u = 0;
        for (int b = 0; b < 4; b++) u |= (uint32_t)src[4 * i + b] << (8 * b);
        memcpy(&dst[i], &u, 4);
    }
#endif
}

static bool add_entry(cJSON *h, const xf_tensor_info *t, size_t base) {
    cJSON *entry = cJSON_AddObjectToObject(h, t->name);
    cJSON *shape = entry && cJSON_AddStringToObject(entry, "dtype", "F32")
                       ? cJSON_AddArrayToObject(entry, "shape")
                       : NULL;
    cJSON *offsets = shape ? cJSON_AddArrayToObject(entry, "data_offsets") : NULL;
    bool ok = offsets != NULL;
    for (int d = 0; ok && d < t->ndim; d++)
        ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber(t->shape[d]));
    size_t begin = base + t->offset * sizeof(float), end = begin + t->numel * sizeof(float);
    return ok && cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)begin)) &&
           cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)end));
}

static cJSON *build_header(const xf_model *m, const char *const *extra_key,
                           const char *const *extra_value, int n_extra) {
    cJSON *h = cJSON_CreateObject();
    cJSON *meta = h ? cJSON_AddObjectToObject(h, "__metadata__") : NULL;
    char *config = xf_model_config_to_json(&m->config);
    bool ok = meta && config && cJSON_AddStringToObject(meta, "xfer_config", config);
    free(config);
    for (int i = 0; ok && i < n_extra; i++)
        ok = cJSON_AddStringToObject(meta, extra_key[i], extra_value[i]) != NULL;
    /* Parameters, then the model's non-trainable state (BatchNorm's running
     * statistics), each tensor at its offset in its buffer. */
    const xf_tensor_info *const tables[2] = {m->tensors, m->state_tensors};
    const int counts[2] = {m->n_tensors, m->n_state_tensors};
    const size_t bases[2] = {0, m->n_params * sizeof(float)};
    for (int k = 0; k < 2; k++)
        for (int i = 0; ok && i < counts[k]; i++)
            ok = add_entry(h, &tables[k][i], bases[k]);
    if (!ok) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

xf_status xf_checkpoint_save(const xf_model *m, const char *path, const char *const *extra_key,
                             const char *const *extra_value, int n_extra) {
    for (int i = 0; i < n_extra; i++) {
        if (strcmp(extra_key[i], "xfer_config") == 0)
            return xf_fail(XF_EINVAL, "%s: metadata key 'xfer_config' is reserved", path);
        for (int j = 0; j < i; j++)
            if (strcmp(extra_key[i], extra_key[j]) == 0)
                return xf_fail(XF_EINVAL, "%s: metadata key '%s' given twice", path,
                               extra_key[i]);
    }
    cJSON *h = build_header(m, extra_key, extra_value, n_extra);
    char *json = h ? cJSON_PrintUnformatted(h) : NULL;
    cJSON_Delete(h);
    if (!json) return xf_fail(XF_ENOMEM, "%s: building the safetensors header", path);
    size_t json_len = strlen(json);
    size_t header_len = (json_len + 7) / 8 * 8;
    size_t data_len = (m->n_params + m->n_state) * sizeof(float);
    size_t total = 8 + header_len + data_len;
    unsigned char *buf = xf_malloc(total);
    if (!buf) {
        free(json);
        return XF_ENOMEM;
    }
    put_u64_le(buf, header_len);
    memcpy(buf + 8, json, json_len);
    memset(buf + 8 + json_len, ' ', header_len - json_len);
    free(json);
    /* The header places each tensor at its offset in its buffer, so the
     * parameter buffer and then the state buffer are the data section. */
    floats_to_le(buf + 8 + header_len, m->params, m->n_params);
    if (m->n_state)
        floats_to_le(buf + 8 + header_len + m->n_params * sizeof(float), m->state, m->n_state);
    xf_status st = xf_write_file_atomic(path, buf, total);
    free(buf);
    return st;
}

/* A non-negative integer that a double holds exactly. */
static bool as_size(const cJSON *item, size_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != floor(v)) return false;
    *out = (size_t)v;
    return true;
}

static xf_status load_tensor(const char *path, const cJSON *header, const xf_tensor_info *t,
                             const unsigned char *data, size_t data_len, float *dst) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(header, t->name);
    if (!cJSON_IsObject(e))
        return xf_fail(XF_EFORMAT, "%s: tensor '%s' is missing", path, t->name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "F32") != 0)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': dtype %s, expected F32", path, t->name,
                       cJSON_IsString(dtype) ? dtype->valuestring : "missing");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    bool same = cJSON_IsArray(shape) && cJSON_GetArraySize(shape) == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) {
        size_t v;
        same = as_size(cJSON_GetArrayItem(shape, d), &v) && v == (size_t)t->shape[d];
    }
    if (!same) {
        char want[64];
        int len = snprintf(want, sizeof want, "[");
        for (int d = 0; d < t->ndim; d++)
            len += snprintf(want + len, sizeof want - len, "%s%d", d ? ", " : "", t->shape[d]);
        snprintf(want + len, sizeof want - len, "]");
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': shape differs from the model's %s", path,
                       t->name, want);
    }
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    size_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !as_size(cJSON_GetArrayItem(offsets, 0), &begin) ||
        !as_size(cJSON_GetArrayItem(offsets, 1), &end))
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': data_offsets is not two byte offsets",
                       path, t->name);
    if (begin > end || end > data_len || end - begin != t->numel * sizeof(float))
        return xf_fail(XF_EFORMAT,
                       "%s: tensor '%s': data_offsets [%zu, %zu] do not hold %zu floats within "
                       "the %zu data bytes",
                       path, t->name, begin, end, t->numel, data_len);
    floats_from_le(dst, data + begin, t->numel);
    return XF_OK;
}

static const xf_tensor_info *find_state_tensor(const xf_model *m, const char *name) {
    for (int i = 0; i < m->n_state_tensors; i++)
        if (strcmp(m->state_tensors[i].name, name) == 0) return &m->state_tensors[i];
    return NULL;
}

static xf_status load_from(const char *path, const unsigned char *file, size_t size,
                           xf_model *m) {
    if (size < 8)
        return xf_fail(XF_EFORMAT, "%s: %zu bytes, too short for a safetensors file", path,
                       size);
    uint64_t header_len = get_u64_le(file);
    if (header_len < 2 || header_len > MAX_HEADER || header_len > size - 8)
        return xf_fail(XF_EFORMAT,
                       "%s: byte 0: header length %llu does not fit the file's %zu bytes", path,
                       (unsigned long long)header_len, size);
    cJSON *h = cJSON_ParseWithLength((const char *)file + 8, (size_t)header_len);
    if (!cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return xf_fail(XF_EFORMAT, "%s: the header (bytes 8..%llu) is not a JSON object", path,
                       (unsigned long long)(8 + header_len));
    }
    xf_status st = XF_OK;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(meta, "xfer_config");
    xf_model_config cfg;
    if (!cJSON_IsString(config))
        st = xf_fail(XF_EFORMAT, "%s: no string __metadata__.xfer_config: not an xfer checkpoint",
                     path);
    else if ((st = xf_model_config_from_json(config->valuestring, &cfg)) != XF_OK)
        xf_fail_context(st, "%s: __metadata__.xfer_config: ", path);
    else if ((st = xf_model_init(m, &cfg)) != XF_OK)
        xf_fail_context(st, "%s: ", path);
    const unsigned char *data = file + 8 + header_len;
    size_t data_len = size - 8 - (size_t)header_len;
    for (int i = 0; st == XF_OK && i < m->n_tensors; i++)
        st = load_tensor(path, h, &m->tensors[i], data, data_len, m->params + m->tensors[i].offset);
    for (int i = 0; st == XF_OK && i < m->n_state_tensors; i++)
        st = load_tensor(path, h, &m->state_tensors[i], data, data_len,
                         m->state + m->state_tensors[i].offset);
    /* A tensor the model lacks means the config and the weights disagree. */
    for (const cJSON *e = h->child; st == XF_OK && e; e = e->next)
        if (strcmp(e->string, "__metadata__") != 0 && !xf_model_find_tensor(m, e->string) &&
            !find_state_tensor(m, e->string))
            st = xf_fail(XF_EFORMAT, "%s: tensor '%s' is not part of the %s model", path,
                         e->string, xf_family_name(cfg.family));
    cJSON_Delete(h);
    return st;
}

xf_status xf_checkpoint_load(const char *path, xf_model *m) {
    memset(m, 0, sizeof *m);
    unsigned char *file;
    size_t size;
    xf_status st = xf_read_file(path, &file, &size);
    if (st != XF_OK) return st;
    st = load_from(path, file, size, m);
    free(file);
    if (st != XF_OK) xf_model_free(m);
    return st;
}
