/* The family-independent half of the model interface: building and freeing
 * a model, its activation arena and the batch checks around its family's
 * passes, the double-precision loss, and the config's JSON form, e.g.
 *
 *   {"family":"mlp","height":28,"width":28,"channels":1,"n_classes":10,
 *    "mlp":{"width":256,"depth":2}}
 *
 * (the family's own object is named after it, so image "width" and the
 * mlp's "width" never meet). */
#include "models/model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "models/family.h"
#include "nn/loss.h"

static const xf_family_info *const families[XF_N_FAMILIES] = {
    [XF_FAMILY_MLP] = &xf_mlp_family,
    [XF_FAMILY_VIT] = &xf_vit_family,
    [XF_FAMILY_RESNET] = &xf_resnet_family,
    [XF_FAMILY_MIXER] = &xf_mixer_family,
};

const char *xf_family_name(xf_family f) {
    return (unsigned)f < XF_N_FAMILIES && families[f] ? families[f]->name : "unknown";
}

xf_status xf_family_parse(const char *name, xf_family *f) {
    char known[128] = "";
    for (int i = 0; i < XF_N_FAMILIES; i++) {
        if (!families[i]) continue;
        if (strcmp(name, families[i]->name) == 0) {
            *f = (xf_family)i;
            return XF_OK;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", known[0] ? ", " : "",
                 families[i]->name);
    }
    return xf_fail(XF_EINVAL, "unknown model family '%s' (known: %s)", name, known);
}

const xf_family_info *xf_family_of(xf_family f) {
    return (unsigned)f < XF_N_FAMILIES ? families[f] : NULL;
}

static xf_status check_range(const char *field, int v, int lo, int hi) {
    if (v < lo || v > hi)
        return xf_fail(XF_EINVAL, "model config: field '%s' is %d, expected %d..%d", field, v, lo,
                       hi);
    return XF_OK;
}

/* Limits keep every tensor's element count and every gemm dimension within
 * int, which BLAS takes. */
static xf_status validate(const xf_model_config *c) {
    xf_status st;
    if ((unsigned)c->family >= XF_N_FAMILIES || !families[c->family])
        return xf_fail(XF_EINVAL, "model config: field 'family' is %d, not a known family",
                       (int)c->family);
    if ((st = check_range("height", c->height, 1, 4096)) ||
        (st = check_range("width", c->width, 1, 4096)) ||
        (st = check_range("channels", c->channels, 1, 64)) ||
        (st = check_range("n_classes", c->n_classes, 2, 1 << 20)) ||
        (st = xf_family_check_settings(families[c->family], c)))
        return st;
    return families[c->family]->validate(c);
}

xf_status xf_model_init(xf_model *m, const xf_model_config *cfg) {
    memset(m, 0, sizeof *m);
    xf_status st = validate(cfg);
    if (st != XF_OK) return st;
    m->config = *cfg;
    m->ops = families[cfg->family]->ops;
    st = m->ops->build(m);
    if (st == XF_OK) {
        m->params = xf_calloc(m->n_params, sizeof(float));
        m->grads = xf_calloc(m->n_params, sizeof(float));
        m->tap_rows = xf_calloc((size_t)m->n_taps, sizeof *m->tap_rows);
        if (!m->params || !m->grads || !m->tap_rows) st = XF_ENOMEM;
    }
    if (st != XF_OK) xf_model_free(m);
    return st;
}

xf_status xf_model_init_sharing(xf_model *copy, const xf_model *m) {
    XF_ASSERT(m->n_state == 0 && !m->params_shared);
    xf_status st = xf_model_init(copy, &m->config);
    if (st != XF_OK) return st;
    free(copy->params);
    copy->ops = m->ops; /* a caller's substitute ops (a test's spy) apply to copies too */
    copy->params = m->params;
    copy->params_shared = true;
    copy->forward_only = m->forward_only;
    return XF_OK;
}

void xf_model_free(xf_model *m) {
    if (m->ops && m->ops->free_impl) m->ops->free_impl(m);
    if (!m->params_shared) free(m->params);
    free(m->grads);
    free(m->arena);
    free(m->tap_rows);
    free(m->tensors);
    free(m->tap_dims);
    free(m->tap_names);
    memset(m, 0, sizeof *m);
}

void xf_model_init_weights(xf_model *m, uint64_t seed) { m->ops->init_weights(m, seed); }

xf_status xf_model_reserve(xf_model *m, int batch) {
    if (batch < 1) return xf_fail(XF_EINVAL, "model reserve: batch %d, expected >= 1", batch);
    if (batch <= m->reserved_batch && (m->forward_only || !m->arena_forward_only)) return XF_OK;
    bool was = m->arena_forward_only;
    m->arena_forward_only = m->forward_only; /* the mode arena_size sizes for */
    float *arena = xf_malloc(sizeof(float) * m->ops->arena_size(m, batch));
    if (!arena) {
        m->arena_forward_only = was;
        return XF_ENOMEM;
    }
    free(m->arena);
    m->arena = arena;
    m->reserved_batch = batch;
    m->last_x = NULL;
    m->last_batch = 0;
    memset(m->tap_rows, 0, sizeof *m->tap_rows * (size_t)m->n_taps);
    return XF_OK;
}

/* The arena holds any batch up to the reserved one: every family's
 * arena_size grows with the batch, and a full arena holds a forward-only
 * pass's layout too (the same buffers, fewer per-block slabs). A
 * forward-only arena runs forward-only passes whatever m->forward_only
 * says (xf_model_forward_only). */
void xf_model_forward(xf_model *m, const float *x, int batch, float *logits) {
    XF_ASSERT(batch >= 1 && batch <= m->reserved_batch);
    if (!m->taps_enabled) memset(m->tap_rows, 0, sizeof *m->tap_rows * (size_t)m->n_taps);
    m->ops->forward(m, m->params, m->state, x, batch, m->arena, logits,
                    m->taps_enabled ? m->tap_rows : NULL);
    m->last_x = x;
    m->last_batch = batch;
}

void xf_model_backward(xf_model *m, const float *dlogits, int batch) {
    XF_ASSERT(batch >= 1 && batch == m->last_batch && !xf_model_forward_only(m));
    m->ops->backward(m, m->params, m->grads, m->last_x, batch, m->arena, dlogits);
}

void xf_model_zero_grad(xf_model *m) { memset(m->grads, 0, sizeof(float) * m->n_params); }

const float *xf_model_tap(const xf_model *m, int t) {
    XF_ASSERT(t >= 0 && t < m->n_taps && m->tap_rows[t]);
    return m->tap_rows[t];
}

xf_status xf_model_loss_f64(const xf_model *model, const double *params, const double *x,
                            const int32_t *labels, int batch, double *loss, double *grads) {
    if (batch < 1) return xf_fail(XF_EINVAL, "xf_model_loss_f64: batch %d, expected >= 1", batch);
    /* Its own arena, laid out for a backward whatever the model's mode. */
    xf_model full = *model;
    full.forward_only = full.arena_forward_only = false;
    const xf_model *m = &full;
    size_t size = m->ops->arena_size(m, batch), out = (size_t)batch * m->config.n_classes;
    double *arena = xf_malloc(sizeof(double) * (size + 2 * out + m->n_state));
    if (!arena) return XF_ENOMEM;
    double *logits = arena + size, *dlogits = logits + out, *state = dlogits + out;
    for (size_t i = 0; i < m->n_state; i++) state[i] = m->state[i];
    /* In training the running statistics are left alone (NULL). */
    m->ops->forward_f64(m, params, m->training || !m->n_state ? NULL : state, x, batch, arena,
                        logits, NULL);
    *loss = xf_softmax_xent_f64(logits, labels, batch, m->config.n_classes,
                                grads ? dlogits : NULL);
    if (grads) m->ops->backward_f64(m, params, grads, x, batch, arena, dlogits);
    free(arena);
    return XF_OK;
}

const xf_tensor_info *xf_model_find_tensor(const xf_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

char *xf_model_config_to_json(const xf_model_config *cfg) {
    XF_ASSERT((unsigned)cfg->family < XF_N_FAMILIES && families[cfg->family]);
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (!o || !cJSON_AddStringToObject(o, "family", xf_family_name(cfg->family)) ||
        !cJSON_AddNumberToObject(o, "height", cfg->height) ||
        !cJSON_AddNumberToObject(o, "width", cfg->width) ||
        !cJSON_AddNumberToObject(o, "channels", cfg->channels) ||
        !cJSON_AddNumberToObject(o, "n_classes", cfg->n_classes))
        goto done;
    const xf_family_info *family = families[cfg->family];
    cJSON *own = cJSON_AddObjectToObject(o, family->name);
    if (!own || !xf_family_settings_to_json(family, cfg, own)) goto done;
    text = cJSON_PrintUnformatted(o);
done:
    if (!text) xf_fail(XF_ENOMEM, "model config: building its JSON form");
    cJSON_Delete(o);
    return text;
}

xf_status xf_model_config_from_json(const char *json, xf_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cJSON *o = cJSON_Parse(json);
    if (!o) return xf_fail(XF_EFORMAT, "model config: not valid JSON");
    xf_status st = XF_OK;
    if (!cJSON_IsObject(o)) {
        st = xf_fail(XF_EFORMAT, "model config: expected a JSON object");
        goto done;
    }
    const cJSON *family = cJSON_GetObjectItemCaseSensitive(o, "family");
    if (!family) {
        st = xf_fail(XF_EFORMAT, "model config: missing field 'family'");
        goto done;
    }
    if (!cJSON_IsString(family)) {
        st = xf_fail(XF_EFORMAT, "model config: field 'family': expected a string");
        goto done;
    }
    if ((st = xf_family_parse(family->valuestring, &cfg->family)) != XF_OK) {
        xf_fail_context(st, "model config: field 'family': ");
        goto done;
    }
    if ((st = xf_json_get_int(o, "height", "height", &cfg->height)) ||
        (st = xf_json_get_int(o, "width", "width", &cfg->width)) ||
        (st = xf_json_get_int(o, "channels", "channels", &cfg->channels)) ||
        (st = xf_json_get_int(o, "n_classes", "n_classes", &cfg->n_classes)))
        goto done;
    const char *name = families[cfg->family]->name;
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsObject(own)) {
        st = own ? xf_fail(XF_EFORMAT, "model config: field '%s': expected an object", name)
                 : xf_fail(XF_EFORMAT, "model config: missing field '%s'", name);
        goto done;
    }
    if ((st = xf_family_settings_from_json(families[cfg->family], own, cfg))) goto done;
    st = validate(cfg);
done:
    cJSON_Delete(o);
    return st;
}
