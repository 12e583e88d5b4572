/* glibc's vector math functions (libmvec, reached through -lm) by their
 * vector-ABI names: math.h declares them only under -ffast-math, and xfer
 * keeps IEEE semantics everywhere else. 8 float lanes (AVX2), results within
 * 4 ulp of erff / expf. */
#ifndef XF_NN_LIBMVEC_H
#define XF_NN_LIBMVEC_H

#if defined(__AVX2__)
#include <immintrin.h>

__m256 _ZGVdN8v_erff(__m256 x);
__m256 _ZGVdN8v_expf(__m256 x);
#endif

#endif
