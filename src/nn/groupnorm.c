#include "nn/groupnorm.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "nn/real.h"

/* Channels per vector; the sums run on half vectors widened to double. */
#define GN_LANES 16
typedef double gn_wide __attribute__((vector_size(GN_LANES / 2 * sizeof(double))));
/* Channels whose elementwise coefficients a pass keeps on the stack. */
enum { GN_CHUNK = 64 };

#define REAL float
#define XF_NN_NAME(base) base
#include "nn/groupnorm.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "nn/groupnorm.inc"
#undef REAL
#undef XF_NN_NAME
