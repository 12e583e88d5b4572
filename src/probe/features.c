#include "probe/features.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/mem.h"
#include "core/progress.h"
#include "core/timer.h"
#include "models/replicas.h"

/* A pass shorter than this leaves no progress line behind. */
static const double PROGRESS_AFTER_S = 2.0;

void xf_features_free(xf_features *f) {
    for (int t = 0; t < f->n_taps && f->data; t++) free(f->data[t]);
    free(f->data);
    free(f->dims);
    memset(f, 0, sizeof *f);
}

xf_status xf_features_check_shape(const xf_model *m, const xf_dataset *ds) {
    const xf_model_config *c = &m->config;
    if (ds->height != c->height || ds->width != c->width || ds->channels != c->channels)
        return xf_fail(XF_EINVAL,
                       "dataset %s has %dx%dx%d images (H x W x C) but the model takes "
                       "%dx%dx%d",
                       ds->name, ds->height, ds->width, ds->channels, c->height, c->width,
                       c->channels);
    return XF_OK;
}

static xf_status alloc_features(const xf_model *m, int count, xf_features *out) {
    out->n = count;
    out->n_taps = m->n_taps;
    out->dims = xf_malloc(sizeof(int) * (m->n_taps > 0 ? m->n_taps : 1));
    out->data = xf_calloc(m->n_taps > 0 ? m->n_taps : 1, sizeof(float *));
    if (!out->dims || !out->data) return XF_ENOMEM;
    for (int t = 0; t < m->n_taps; t++) {
        out->dims[t] = m->tap_dims[t];
        out->data[t] = xf_malloc(sizeof(float) * (size_t)count * m->tap_dims[t] + 1);
        if (!out->data[t]) return XF_ENOMEM;
    }
    return XF_OK;
}

xf_status xf_features_extract(xf_model *m, const xf_dataset *ds, const int *idx, int count,
                              xf_features *out) {
    memset(out, 0, sizeof *out);
    if (count < 0) return xf_fail(XF_EINVAL, "features of %s: negative image count", ds->name);
    if (m->n_taps < 1) return xf_fail(XF_EINVAL, "features of %s: the model has no taps", ds->name);
    xf_status st = xf_features_check_shape(m, ds);
    if (st != XF_OK) return st;
    for (int i = 0; idx && i < count; i++)
        if (idx[i] < 0 || idx[i] >= ds->n)
            return xf_fail(XF_EINVAL, "features of %s: image index %d outside [0, %d)", ds->name,
                           idx[i], ds->n);
    if (!idx && count > ds->n)
        return xf_fail(XF_EINVAL, "features of %s: %d images asked, %d held", ds->name, count,
                       ds->n);
    st = alloc_features(m, count, out);
    if (st != XF_OK) {
        xf_features_free(out);
        return st;
    }
    if (count == 0) return XF_OK;

    int batch = count < XF_FEATURES_BATCH ? count : XF_FEATURES_BATCH;
    bool taps_were = m->taps_enabled;
    m->taps_enabled = true;
    xf_replicas team;
    st = xf_replicas_init(&team, m, xf_blas_threads(), batch);
    size_t image_floats = xf_dataset_image_size(ds);
    float *x = xf_malloc(sizeof(float) * image_floats * batch);
    float *logits = xf_malloc(sizeof(float) * (size_t)batch * m->config.n_classes + 1);
    int *rows = xf_malloc(sizeof(int) * batch);
    if (st == XF_OK && (!x || !logits || !rows)) st = XF_ENOMEM;
    char label[sizeof "features " + sizeof ds->name];
    snprintf(label, sizeof label, "features %s", ds->name);
    xf_progress progress;
    xf_progress_init(&progress, label, "img", (size_t)count);
    for (int start = 0; st == XF_OK && start < count; start += batch) {
        int b = count - start < batch ? count - start : batch;
        for (int i = 0; i < b; i++) rows[i] = idx ? idx[start + i] : start + i;
        xf_dataset_gather(ds, rows, b, x, NULL);
        xf_replicas_forward(&team, x, b, logits);
        for (int t = 0; t < m->n_taps; t++)
            xf_replicas_tap(&team, t, b, out->data[t] + (size_t)start * m->tap_dims[t]);
        xf_progress_add(&progress, (size_t)b, NULL);
    }
    if (progress.drawn || xf_now() - progress.start >= PROGRESS_AFTER_S)
        xf_progress_finish(&progress, NULL);
    xf_replicas_free(&team);
    m->taps_enabled = taps_were;
    free(x);
    free(logits);
    free(rows);
    if (st != XF_OK) {
        xf_features_free(out);
        return xf_fail_context(st, "features of %s: ", ds->name);
    }
    return XF_OK;
}
