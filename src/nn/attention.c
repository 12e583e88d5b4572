#include "nn/attention.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/blas.h"
#include "nn/kernels.h"
#include "nn/real.h"

/* The softmax's exp was a twentieth of a ViT step as one expf() call per
 * score; the float instance runs the kernels' exp (nn/kernels.h: glibc's
 * vector expf with AVX2), as activation.c does for GELU. */
static void exp_shifted_f32(float *row, int n, float max) {
    xf_kernels()->exp_shifted(row, n, max);
}

static void exp_shifted_f64(double *row, int n, double max) {
    for (int j = 0; j < n; j++) row[j] = exp(row[j] - max);
}

#define REAL float
#define XF_NN_NAME(base) base
#define GEMM xf_sgemm
#define EXP_SHIFTED exp_shifted_f32
#include "nn/attention.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
#undef EXP_SHIFTED

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#define GEMM xf_dgemm
#define EXP_SHIFTED exp_shifted_f64
#include "nn/attention.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
#undef EXP_SHIFTED
