/* GELU, generic over REAL (activation.inc), plus a float fast path.
 *
 * The scalar float loop spends most of its time in erff() and expf(), one
 * call per element (a quarter of an mlp training step). The float
 * functions run the kernels of the instruction set in use (nn/kernels.h):
 * with AVX2 they call glibc's vector math library (libmvec, reached
 * through -lm: _ZGVdN8v_erff / _ZGVdN8v_expf, 8 lanes per call, within 4
 * ulp of erff and expf) and the scalar template for the tail; the plain
 * path is the scalar template. The template instances stay available as
 * the *_ref reference. */
#include "nn/activation.h"

#include "nn/kernels.h"
#include "nn/real.h"

#define REAL float
#define XF_NN_NAME(base) XF_NN_CAT(base, _ref)
#include "nn/activation.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "nn/activation.inc"
#undef REAL
#undef XF_NN_NAME

void xf_gelu_forward(const float *x, float *y, size_t n) { xf_kernels()->gelu_forward(x, y, n); }

void xf_bias_gelu_forward(float *z, const float *b, float *y, int n, int dim) {
    xf_kernels()->bias_gelu_forward(z, b, y, n, dim);
}

void xf_gelu_backward(const float *x, const float *dy, float *dx, size_t n) {
    xf_kernels()->gelu_backward(x, dy, dx, n);
}
