#include "nn/maxpool.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "nn/real.h"

int xf_maxpool_out(int size, int k, int stride, int pad) {
    return (size + 2 * pad - k) / stride + 1;
}

#define REAL float
#define XF_NN_NAME(base) base
#include "nn/maxpool.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "nn/maxpool.inc"
#undef REAL
#undef XF_NN_NAME
