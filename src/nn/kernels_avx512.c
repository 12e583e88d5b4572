/* The kernels of nn/kernels.h for AVX-512 F (16 floats a vector, 32 registers). */
#if !defined(__AVX512F__) || !defined(__AVX2__) || !defined(__FMA__)
#error "build kernels_avx512.c with the Makefile's ISA_FLAGS_avx512 (-mavx512f -mavx2 -mfma)"
#endif

#define KERNELS_ISA XF_ISA_AVX512
#define KERNELS_TABLE xf_kernels_avx512
#define KERNELS_NAME(base) XF_NN_CAT(base, _avx512)
#include "nn/kernels.inc"
