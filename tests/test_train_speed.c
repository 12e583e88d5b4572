/* The fast paths of the training step against their plain references:
 * vectorised GELU (forward, fused bias + GELU, backward) and the vectorised
 * AdamW update, on sizes that exercise both the 8-wide body and the tail. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/model.h"
#include "nn/activation.h"
#include "train/optimizer.h"

static void fill(float *x, size_t n, double scale, uint64_t seed) {
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * xf_rng_normal(&rng));
}

/* Largest |a - b| relative to max(|b|, 1): below about -3, 1 + erf
 * cancels, so two erf implementations a few ulp apart differ there by a few
 * ulp of 1, not of the tiny result (torch's float GELU cancels the same). */
static double worst(const float *a, const float *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - b[i]) / fmax(fabs(b[i]), 1.0));
    return w;
}

Test(trainspeed, vector_gelu_matches_the_scalar_reference) {
    enum { N = 1003 }; /* 125 vectors of 8 and a tail of 3 */
    float *x = malloc(sizeof(float) * N * 5), *y = x + N, *ref = y + N, *dy = ref + N,
          *dx = dy + N;
    fill(x, N, 3.0, 1);
    x[0] = 0, x[1] = -9, x[2] = 9, x[3] = 1e-4f; /* zero, saturated tails, tiny */
    xf_gelu_forward(x, y, N);
    xf_gelu_forward_ref(x, ref, N);
    cr_assert_leq(worst(y, ref, N), 1e-6, "forward off by %g", worst(y, ref, N));
    cr_assert_eq(y[0], 0.0f);
    cr_assert_float_eq(y[2], 9.0f, 1e-6);
    fill(dy, N, 1.0, 2);
    xf_gelu_backward(x, dy, dx, N);
    xf_gelu_backward_ref(x, dy, ref, N);
    cr_assert_leq(worst(dx, ref, N), 1e-6, "backward off by %g", worst(dx, ref, N));
    /* In place, as the models call it. */
    memcpy(dx, dy, sizeof(float) * N);
    xf_gelu_backward(x, dx, dx, N);
    cr_assert_leq(worst(dx, ref, N), 1e-6);
    free(x);
}

Test(trainspeed, fused_bias_gelu_is_bias_add_then_gelu) {
    enum { ROWS = 5, DIM = 21 }; /* rows of two vectors and a tail of 5 */
    float z[ROWS * DIM], z_ref[ROWS * DIM], b[DIM], y[ROWS * DIM], y_ref[ROWS * DIM];
    fill(z, ROWS * DIM, 2.0, 3);
    fill(b, DIM, 1.0, 4);
    memcpy(z_ref, z, sizeof z);
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < DIM; j++) z_ref[r * DIM + j] += b[j];
    xf_gelu_forward_ref(z_ref, y_ref, ROWS * DIM);
    xf_bias_gelu_forward(z, b, y, ROWS, DIM);
    cr_assert_arr_eq(z, z_ref, sizeof z, "the pre-activation must keep the bias");
    cr_assert_leq(worst(y, y_ref, ROWS * DIM), 1e-6);
    float z2[ROWS * DIM], y2[ROWS * DIM];
    fill(z2, ROWS * DIM, 2.0, 3);
    xf_bias_gelu_forward_ref(z2, b, y2, ROWS, DIM);
    cr_assert_arr_eq(z2, z_ref, sizeof z2);
    cr_assert_arr_eq(y2, y_ref, sizeof y2);
}

Test(trainspeed, vector_adamw_gives_the_scalar_bits) {
    enum { N = 37 }; /* 4 vectors of 8 and a tail of 5 */
    float params[N], grads[N], want[N], m1[N] = {0}, v1[N] = {0};
    fill(params, N, 1.0, 5);
    memcpy(want, params, sizeof want);
    xf_tensor_info t = {.name = "w", .offset = 0, .numel = N, .ndim = 1, .shape = {N},
                        .group = XF_GROUP_BODY};
    xf_model m = {.params = params, .grads = grads, .n_params = N, .tensors = &t,
                  .n_tensors = 1};
    xf_adamw opt;
    cr_assert_eq(xf_adamw_init(&opt, N, 0.9, 0.999, 1e-8), XF_OK);
    opt.group[XF_GROUP_BODY] = (xf_adamw_group){.lr = 0.01, .weight_decay = 0.1};
    for (int step = 1; step <= 3; step++) {
        fill(grads, N, 0.5, 10 + step);
        xf_adamw_step(&opt, &m, 0.5, NULL);
        /* The documented scalar update, in the same float operations. */
        double lr = 0.01 * 0.5;
        float decay = (float)(1 - lr * 0.1), b1 = 0.9f, omb1 = (float)(1 - 0.9), b2 = 0.999f,
              omb2 = (float)(1 - 0.999), eps = 1e-8f;
        float stepc = (float)(lr / (1 - pow(0.9, step)));
        float ibc2 = (float)(1 / sqrt(1 - pow(0.999, step)));
        for (int i = 0; i < N; i++) {
            float pi = want[i] * decay;
            m1[i] = b1 * m1[i] + omb1 * grads[i];
            v1[i] = b2 * v1[i] + omb2 * grads[i] * grads[i];
            want[i] = pi - stepc * m1[i] / (sqrtf(v1[i]) * ibc2 + eps);
        }
        cr_assert_arr_eq(params, want, sizeof want, "step %d", step);
        cr_assert_arr_eq(opt.m, m1, sizeof m1);
        cr_assert_arr_eq(opt.v, v1, sizeof v1);
    }
    xf_adamw_free(&opt);
}
