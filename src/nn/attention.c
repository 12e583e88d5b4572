#include "nn/attention.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/blas.h"
#include "nn/real.h"

/* The softmax's exp was a twentieth of a ViT step as one expf() call per
 * score; the float instance calls glibc's vector expf instead, as
 * activation.c does for GELU. */
#if defined(__AVX2__)
#include "nn/libmvec.h"

static void exp_shifted_f32(float *row, int n, float max) {
    const __m256 m = _mm256_set1_ps(max);
    int j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(row + j, _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(row + j), m)));
    for (; j < n; j++) row[j] = expf(row[j] - max);
}
#else
static void exp_shifted_f32(float *row, int n, float max) {
    for (int j = 0; j < n; j++) row[j] = expf(row[j] - max);
}
#endif

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
