/* The kernels of nn/kernels.h for AVX2 and FMA (8 floats a vector, 16 registers). */
#if !defined(__AVX2__) || !defined(__FMA__) || defined(__AVX512F__)
#error "build kernels_avx2.c with the Makefile's ISA_FLAGS_avx2 (-mavx2 -mfma -mno-avx512f)"
#endif

#define KERNELS_ISA XF_ISA_AVX2
#define KERNELS_TABLE xf_kernels_avx2
#define KERNELS_NAME(base) XF_NN_CAT(base, _avx2)
#include "nn/kernels.inc"
