/* The kernels of nn/kernels.h for the baseline instruction set (SSE2 on x86-64; no AVX, no FMA). */
#if defined(__AVX__)
#error "kernels_plain.c is the baseline path: build it with the Makefile's ISA_FLAGS_plain (-mno-avx)"
#endif

#define KERNELS_ISA XF_ISA_PLAIN
#define KERNELS_TABLE xf_kernels_plain
#define KERNELS_NAME(base) XF_NN_CAT(base, _plain)
#include "nn/kernels.inc"
