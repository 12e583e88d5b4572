/* Scalar-type plumbing for the op templates (*.inc).
 *
 * Every op is written once, generic over REAL, and instantiated twice by its
 * .c file: for float (the ops the models run) and for double (name suffix
 * _f64), so gradient checks can use central differences without float
 * rounding while checking the very code the models run. Before including a
 * template, define REAL and XF_NN_NAME(base), which builds the function
 * name. <tgmath.h> makes erf/exp/log pick the precision of their argument. */
#ifndef XF_NN_REAL_H
#define XF_NN_REAL_H

#include <tgmath.h>

#define XF_NN_CAT_(a, b) a##b
#define XF_NN_CAT(a, b) XF_NN_CAT_(a, b)

#endif
