/* GELU, generic over REAL (activation.inc), plus a float fast path.
 *
 * The scalar float loop spends most of its time in erff() and expf(), one
 * call per element (a quarter of an mlp training step). With AVX2 the float
 * functions call glibc's vector math library (libmvec, reached through -lm:
 * _ZGVdN8v_erff / _ZGVdN8v_expf, 8 lanes per call, within 4 ulp of erff and
 * expf), and fall back to the scalar template for the tail. The template
 * instances stay available as the *_ref reference. */
#include "nn/activation.h"

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

#if defined(__AVX2__)
#include "nn/libmvec.h"

/* y = 0.5 v (1 + erf(v / sqrt 2)) for 8 lanes. */
static inline __m256 gelu8(__m256 v) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    __m256 e = _ZGVdN8v_erff(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752440f)));
    return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e));
}

void xf_gelu_forward(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i)));
    xf_gelu_forward_ref(x + i, y + i, n - i);
}

void xf_bias_gelu_forward(float *z, const float *b, float *y, int n, int dim) {
    for (int r = 0; r < n; r++) {
        float *zr = z + (size_t)r * dim, *yr = y + (size_t)r * dim;
        int j = 0;
        for (; j + 8 <= dim; j += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(zr + j), _mm256_loadu_ps(b + j));
            _mm256_storeu_ps(zr + j, v);
            _mm256_storeu_ps(yr + j, gelu8(v));
        }
        for (; j < dim; j++) zr[j] += b[j];
        xf_gelu_forward_ref(zr + (dim - dim % 8), yr + (dim - dim % 8), (size_t)(dim % 8));
    }
}

void xf_gelu_backward(const float *x, const float *dy, float *dx, size_t n) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 inv_sqrt2 = _mm256_set1_ps(0.70710678118654752440f);
    const __m256 inv_sqrt2pi = _mm256_set1_ps(0.39894228040143267794f);
    const __m256 minus_half = _mm256_set1_ps(-0.5f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(one, _ZGVdN8v_erff(_mm256_mul_ps(v, inv_sqrt2))));
        __m256 pdf = _mm256_mul_ps(
            inv_sqrt2pi, _ZGVdN8v_expf(_mm256_mul_ps(_mm256_mul_ps(minus_half, v), v)));
        __m256 g = _mm256_add_ps(cdf, _mm256_mul_ps(v, pdf));
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), g));
    }
    xf_gelu_backward_ref(x + i, dy + i, dx + i, n - i);
}
#else
void xf_gelu_forward(const float *x, float *y, size_t n) { xf_gelu_forward_ref(x, y, n); }
void xf_bias_gelu_forward(float *z, const float *b, float *y, int n, int dim) {
    xf_bias_gelu_forward_ref(z, b, y, n, dim);
}
void xf_gelu_backward(const float *x, const float *dy, float *dx, size_t n) {
    xf_gelu_backward_ref(x, dy, dx, n);
}
#endif
