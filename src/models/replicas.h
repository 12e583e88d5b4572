/* One batch split over threads: data parallelism inside a training step.
 *
 * The model's elementwise ops (GELU, LayerNorm, softmax, residual adds) run
 * on one thread, and OpenBLAS does not thread the small gemms of a ViT or
 * a Mixer block well, while its idle threads spin on the other cores. So
 * instead each of `threads` workers runs the whole forward and backward of
 * its slice of the batch with single-threaded BLAS, on its own copy of the
 * model (shared parameters, own activations and gradients); the slices'
 * gradients are then summed into the model's, each thread summing a range
 * of parameters.
 *
 * The sum of per-slice gradients equals the batch gradient up to float
 * rounding, so results are reproducible bit for bit for a given thread
 * count (slices and their summation order follow from it alone), and agree
 * to rounding across thread counts. A model with batch statistics
 * (BatchNorm) must see the whole batch at once and runs on one slice with
 * threaded BLAS, as do single-thread runs. */
#ifndef XF_REPLICAS_H
#define XF_REPLICAS_H

#include "core/pool.h"
#include "models/model.h"

typedef struct {
    xf_model *model;  /* the caller's; slice 0 */
    xf_model *copies; /* slices - 1, sharing model->params */
    int slices;
    int blas_threads; /* OpenBLAS's thread count before init, restored by free */
    xf_pool pool;
} xf_replicas;

/* Prepares to run batches of up to `batch` images of m over `threads`
 * threads (1 or fewer: no split). Sets OpenBLAS to one thread while there
 * are several slices. */
xf_status xf_replicas_init(xf_replicas *r, xf_model *m, int threads, int batch);
void xf_replicas_free(xf_replicas *r);

/* As xf_model_forward on r->model, x: [batch, H, W, C],
 * logits: [batch, n_classes]; the copies follow the model's training and
 * taps_enabled flags. */
void xf_replicas_forward(xf_replicas *r, const float *x, int batch, float *logits);

/* out: [batch, tap_dims[t]], tap t of the last forward (with taps enabled)
 * in batch order, gathered from the slices. */
void xf_replicas_tap(xf_replicas *r, int t, int batch, float *out);

/* r->model->grads = the gradient of the last forward's batch for dlogits
 * ([batch, n_classes]); as xf_model_zero_grad then xf_model_backward. */
void xf_replicas_backward(xf_replicas *r, const float *dlogits, int batch);

#endif
