#include "nn/wstd.h"

#include <stdbool.h>
#include <stddef.h>

#include "nn/real.h"

#define REAL float
#define XF_NN_NAME(base) base
#include "nn/wstd.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "nn/wstd.inc"
#undef REAL
#undef XF_NN_NAME
