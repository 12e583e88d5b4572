#include "probe/features.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/preprocess.h"
#include "models/replicas.h"

/* A pass shorter than this leaves no progress line behind. */
static const double PROGRESS_AFTER_S = 2.0;

void xf_features_free(xf_features *f) {
    for (int t = 0; t < f->n_taps && f->data; t++) free(f->data[t]);
    free(f->data);
    free(f->dims);
    memset(f, 0, sizeof *f);
}

/* Says how a task reaches the model's shape once per process, task and
 * shape pair (a study probes the same task after every trial). */
static void say_once(const xf_dataset *ds, const xf_model_config *c, const xf_pipeline *p) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char said[32][160];
    static int n_said;
    char key[160], how[256];
    snprintf(key, sizeof key, "%s %dx%dx%d %dx%dx%d", ds->name, ds->height, ds->width,
             ds->channels, c->height, c->width, c->channels);
    pthread_mutex_lock(&lock);
    bool fresh = true;
    for (int i = 0; i < n_said && fresh; i++) fresh = strcmp(said[i], key) != 0;
    if (fresh && n_said < 32) snprintf(said[n_said++], sizeof said[0], "%s", key);
    pthread_mutex_unlock(&lock);
    if (!fresh) return;
    xf_pipeline_describe(p, how, sizeof how);
    xf_log_info("%s: %dx%dx%d images brought to the model's %dx%dx%d input (%s)", ds->name,
                ds->height, ds->width, ds->channels, c->height, c->width, c->channels, how);
}

/* The float batch of images rows[0..b): gathered as they are, or first
 * brought to the model's shape through the pipeline (into `conv`). */
static xf_status gather_batch(const xf_dataset *ds, const xf_pipeline *to_model,
                              const xf_model_config *c, const int *rows, int b, uint8_t *conv,
                              int *iota, float *x) {
    if (!to_model) {
        xf_dataset_gather(ds, rows, b, x, NULL);
        return XF_OK;
    }
    size_t in = xf_dataset_image_size(ds), out = (size_t)c->height * c->width * c->channels;
    for (int i = 0; i < b; i++) {
        xf_status st = xf_pipeline_apply(to_model, ds->images + (size_t)rows[i] * in, ds->height,
                                         ds->width, ds->channels, conv + (size_t)i * out);
        if (st != XF_OK) return st;
    }
    xf_dataset view = {.n = b, .height = c->height, .width = c->width, .channels = c->channels,
                       .images = conv, .norm = ds->norm};
    xf_dataset_gather(&view, iota, b, x, NULL);
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

/* An arena is a batch-independent part (a ResNet's standardised weights
 * and patch buffer) plus a part per image; two sizes tell them apart. */
int xf_features_batch(const xf_model *m) {
    xf_model forward_only = *m;
    forward_only.forward_only = true;
    size_t one = sizeof(float) * m->ops->arena_size(&forward_only, 1);
    size_t two = sizeof(float) * m->ops->arena_size(&forward_only, 2);
    size_t per_image = two > one ? two - one : one, fixed = one - per_image;
    size_t budget = XF_FEATURES_ARENA_BYTES > fixed ? XF_FEATURES_ARENA_BYTES - fixed : 0;
    size_t fits = budget / (per_image ? per_image : 1);
    return fits >= XF_FEATURES_BATCH ? XF_FEATURES_BATCH : fits < 1 ? 1 : (int)fits;
}

xf_status xf_features_extract(xf_model *m, const xf_dataset *ds, const int *idx, int count,
                              xf_features *out) {
    return xf_features_extract_input(m, NULL, ds, idx, count, out);
}

static xf_status extract(xf_model *m, const xf_model_input *in, const xf_dataset *source,
                         const int *idx, int count, int batch_size, xf_features *out);

xf_status xf_features_extract_batched(xf_model *m, const xf_dataset *ds, const int *idx,
                                      int count, int batch, xf_features *out) {
    return extract(m, NULL, ds, idx, count, batch, out);
}

xf_status xf_features_extract_input(xf_model *m, const xf_model_input *in,
                                    const xf_dataset *source, const int *idx, int count,
                                    xf_features *out) {
    return extract(m, in, source, idx, count, xf_features_batch(m), out);
}

static xf_status extract(xf_model *m, const xf_model_input *in, const xf_dataset *source,
                         const int *idx, int count, int batch_size, xf_features *out) {
    memset(out, 0, sizeof *out);
    /* The set with the model's normalisation, when it has its own. */
    xf_dataset normalised = *source;
    if (in && in->norm.std[0] > 0) normalised.norm = in->norm;
    const xf_dataset *ds = &normalised;
    if (count < 0) return xf_fail(XF_EINVAL, "features of %s: negative image count", ds->name);
    if (batch_size < 1)
        return xf_fail(XF_EINVAL, "features of %s: batch %d, expected >= 1", ds->name,
                       batch_size);
    if (m->n_taps < 1) return xf_fail(XF_EINVAL, "features of %s: the model has no taps", ds->name);
    const xf_model_config *c = &m->config;
    xf_pipeline to_model;
    xf_pipeline_default(&to_model);
    xf_pipeline_to_shape(&to_model, c->height, c->width, c->channels);
    if (in) to_model = in->pipeline;
    bool convert = ds->height != c->height || ds->width != c->width || ds->channels != c->channels;
    for (int i = 0; idx && i < count; i++)
        if (idx[i] < 0 || idx[i] >= ds->n)
            return xf_fail(XF_EINVAL, "features of %s: image index %d outside [0, %d)", ds->name,
                           idx[i], ds->n);
    if (!idx && count > ds->n)
        return xf_fail(XF_EINVAL, "features of %s: %d images asked, %d held", ds->name, count,
                       ds->n);
    xf_status st = alloc_features(m, count, out);
    if (st != XF_OK) {
        xf_features_free(out);
        return st;
    }
    if (count == 0) return XF_OK;

    int batch = count < batch_size ? count : batch_size;
    bool taps_were = m->taps_enabled, forward_only_was = m->forward_only;
    m->taps_enabled = true;
    m->forward_only = true;
    xf_replicas team;
    st = xf_replicas_init(&team, m, xf_blas_threads(), batch);
    size_t image_floats = (size_t)c->height * c->width * c->channels;
    float *x = xf_malloc(sizeof(float) * image_floats * batch);
    float *logits = xf_malloc(sizeof(float) * (size_t)batch * m->config.n_classes + 1);
    int *rows = xf_malloc(sizeof(int) * batch), *iota = xf_malloc(sizeof(int) * batch);
    uint8_t *conv = convert ? xf_malloc(image_floats * batch) : NULL;
    if (st == XF_OK && (!x || !logits || !rows || !iota || (convert && !conv))) st = XF_ENOMEM;
    for (int i = 0; iota && i < batch; i++) iota[i] = i;
    if (st == XF_OK && convert) say_once(ds, c, &to_model);
    char label[sizeof "features " + sizeof ds->name];
    snprintf(label, sizeof label, "features %.*s", (int)sizeof ds->name - 1, ds->name);
    xf_progress progress;
    xf_progress_init(&progress, label, "img", (size_t)count);
    for (int start = 0; st == XF_OK && start < count; start += batch) {
        int b = count - start < batch ? count - start : batch;
        for (int i = 0; i < b; i++) rows[i] = idx ? idx[start + i] : start + i;
        if ((st = gather_batch(ds, convert ? &to_model : NULL, c, rows, b, conv, iota, x)) != XF_OK)
            break;
        xf_replicas_forward(&team, x, b, logits);
        for (int t = 0; t < m->n_taps; t++)
            xf_replicas_tap(&team, t, b, out->data[t] + (size_t)start * m->tap_dims[t]);
        xf_progress_add(&progress, (size_t)b, NULL);
    }
    if (progress.drawn || xf_now() - progress.start >= PROGRESS_AFTER_S)
        xf_progress_finish(&progress, NULL);
    xf_replicas_free(&team);
    m->taps_enabled = taps_were;
    m->forward_only = forward_only_was;
    free(x);
    free(logits);
    free(rows);
    free(iota);
    free(conv);
    if (st != XF_OK) {
        xf_features_free(out);
        return xf_fail_context(st, "features of %s: ", ds->name);
    }
    return XF_OK;
}
