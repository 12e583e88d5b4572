#include "nn/embed.h"

#include <cblas.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/blas.h"
#include "nn/linear.h"
#include "nn/real.h"

/* The double instance exists for gradient checks only, so it calls CBLAS
 * directly instead of widening core/blas.h. */
static void dgemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha,
                  const double *a, int lda, const double *b, int ldb, double beta, double *c,
                  int ldc) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

#define REAL float
#define XF_NN_NAME(base) base
#define GEMM xf_sgemm
#include "nn/embed.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#define GEMM dgemm
#include "nn/embed.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
