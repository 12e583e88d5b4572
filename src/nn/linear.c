#include "nn/linear.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/blas.h"
#include "nn/real.h"

#define REAL float
#define XF_NN_NAME(base) base
#define GEMM xf_sgemm
#include "nn/linear.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#define GEMM xf_dgemm
#include "nn/linear.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
