/* The gemm wrapper over OpenBLAS and the choice of its CPU kernel.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise some recent CPUs (AMD Zen 5,
 * for one) and falls back to its SSE3 "Prescott" kernels, about 5x slower
 * than the AVX-512 ones the CPU runs. OpenBLAS reads OPENBLAS_CORETYPE only
 * when it is loaded, so the fix is made by the command line before any BLAS
 * call: xf_blas_preferred_core() says which core to ask for, and src/cli
 * re-executes itself with it set. A value the user set is always kept. */
#ifndef XF_BLAS_H
#define XF_BLAS_H

#include <stdbool.h>

/* Row-major C = alpha * op(A) op(B) + beta * C, op(X) = X or X^T.
 * A: M x K (or K x M if trans_a), B: K x N (or N x K if trans_b), C: M x N. */
void xf_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* The same in double, for the gradient checks that run every op in double. */
void xf_dgemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double *a,
              int lda, const double *b, int ldb, double beta, double *c, int ldc);

/* The kernel OpenBLAS is using now ("Prescott", "Haswell", "SkylakeX", ...). */
const char *xf_blas_core(void);

/* The fastest OpenBLAS 0.3.21 core this CPU runs correctly, from cpuid:
 * "SkylakeX" with AVX-512 F/BW/DQ/VL, "Haswell" with AVX2+FMA, else NULL. */
const char *xf_blas_best_core(void);

/* Orders OpenBLAS core names by the widest vector kernels they use: 0 SSE,
 * 1 AVX, 2 AVX2, 3 AVX-512; names xfer does not know rank 4, so that xfer
 * never replaces a core it cannot judge. */
int xf_blas_core_rank(const char *name);

/* The core xfer should ask for before OpenBLAS loads, or NULL when nothing
 * should change: the user set OPENBLAS_CORETYPE, or OpenBLAS already runs
 * the best core (or one at least as fast). */
const char *xf_blas_preferred_core(void);

void xf_blas_set_threads(int threads);
int xf_blas_threads(void);

/* Measures sgemm throughput on n x n matrices for about `seconds`. */
double xf_blas_sgemm_gflops(int n, double seconds);

#endif
