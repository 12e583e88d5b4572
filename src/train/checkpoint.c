/* safetensors I/O (checkpoint.h). Tensors are written in the model's table
 * order, back to back; the JSON header is padded with spaces to a multiple
 * of 8 bytes so the data that follows stays aligned, as the reference
 * implementation does. */
#include "train/checkpoint.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/safetensors.h"

static void put_u64_le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Host floats to little-endian bytes (a plain copy on x86); reading goes
 * through core/safetensors, which returns host byte order. */
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

/* The tensor t of the model from the file, which must hold it as F32 in the
 * model's shape. */
static xf_status load_tensor(const xf_safetensors *file, const xf_tensor_info *t, float *dst) {
    const xf_st_tensor *e = xf_safetensors_find(file, t->name);
    if (!e) return xf_fail(XF_EFORMAT, "%s: tensor '%s' is missing", file->path, t->name);
    if (e->dtype != XF_ST_F32)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': dtype %s, expected F32", file->path,
                       t->name, xf_st_dtype_name(e->dtype));
    bool same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = e->shape[d] == t->shape[d];
    if (!same) {
        char want[64];
        int len = snprintf(want, sizeof want, "[");
        for (int d = 0; d < t->ndim; d++)
            len += snprintf(want + len, sizeof want - len, "%s%d", d ? ", " : "", t->shape[d]);
        snprintf(want + len, sizeof want - len, "]");
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': shape differs from the model's %s",
                       file->path, t->name, want);
    }
    memcpy(dst, e->data, t->numel * sizeof(float));
    return XF_OK;
}

static const xf_tensor_info *find_state_tensor(const xf_model *m, const char *name) {
    for (int i = 0; i < m->n_state_tensors; i++)
        if (strcmp(m->state_tensors[i].name, name) == 0) return &m->state_tensors[i];
    return NULL;
}

static xf_status load_from(const xf_safetensors *file, xf_model *m) {
    const char *config = xf_safetensors_meta(file, "xfer_config");
    xf_model_config cfg;
    xf_status st = XF_OK;
    if (!config)
        st = xf_fail(XF_EFORMAT, "%s: no string __metadata__.xfer_config: not an xfer checkpoint",
                     file->path);
    else if ((st = xf_model_config_from_json(config, &cfg)) != XF_OK)
        xf_fail_context(st, "%s: __metadata__.xfer_config: ", file->path);
    else if ((st = xf_model_init(m, &cfg)) != XF_OK)
        xf_fail_context(st, "%s: ", file->path);
    for (int i = 0; st == XF_OK && i < m->n_tensors; i++)
        st = load_tensor(file, &m->tensors[i], m->params + m->tensors[i].offset);
    for (int i = 0; st == XF_OK && i < m->n_state_tensors; i++)
        st = load_tensor(file, &m->state_tensors[i], m->state + m->state_tensors[i].offset);
    /* A tensor the model lacks means the config and the weights disagree. */
    for (int i = 0; st == XF_OK && i < file->n_tensors; i++) {
        const char *name = file->tensors[i].name;
        if (!xf_model_find_tensor(m, name) && !find_state_tensor(m, name))
            st = xf_fail(XF_EFORMAT, "%s: tensor '%s' is not part of the %s model", file->path,
                         name, xf_family_name(cfg.family));
    }
    return st;
}

xf_status xf_checkpoint_load(const char *path, xf_model *m) {
    memset(m, 0, sizeof *m);
    xf_safetensors parsed;
    xf_status st = xf_safetensors_open(path, &parsed);
    if (st == XF_OK) st = load_from(&parsed, m);
    xf_safetensors_free(&parsed);
    if (st != XF_OK) xf_model_free(m);
    return st;
}
