#include "analysis/hull.h"

#include <math.h>
#include <stdlib.h>

#include "core/mem.h"

typedef struct {
    double x, y;
    int index;
} hull_point;

/* x ascending, then y descending, so the first of equal-x points is the
 * best; the index breaks exact ties so the result does not depend on qsort. */
static int by_x_then_best(const void *pa, const void *pb) {
    const hull_point *a = pa, *b = pb;
    if (a->x != b->x) return a->x < b->x ? -1 : 1;
    if (a->y != b->y) return a->y > b->y ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* > 0 when o -> a -> b turns left (counter-clockwise). */
static double cross(const hull_point *o, const hull_point *a, const hull_point *b) {
    return (a->x - o->x) * (b->y - o->y) - (a->y - o->y) * (b->x - o->x);
}

xf_status xf_hull_upper(const double *x, const double *y, int n, int *hull, int *n_hull) {
    return xf_hull_upper_mode(x, y, n, XF_HULL_WHOLE, hull, n_hull);
}

xf_status xf_hull_upper_mode(const double *x, const double *y, int n, int mode, int *hull,
                             int *n_hull) {
    *n_hull = 0;
    if (n < 0) return xf_fail(XF_EINVAL, "hull: negative point count %d", n);
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return xf_fail(XF_EINVAL, "hull: point %d is not finite (%g, %g)", i, x[i], y[i]);
    if (n == 0) return XF_OK;
    hull_point *pts = xf_malloc((size_t)n * sizeof *pts);
    hull_point **stack = xf_malloc((size_t)n * sizeof *stack);
    if (!pts || !stack) {
        free(pts);
        free(stack);
        return XF_ENOMEM;
    }
    for (int i = 0; i < n; i++) pts[i] = (hull_point){x[i], y[i], i};
    qsort(pts, (size_t)n, sizeof *pts, by_x_then_best);

    /* Andrew's monotone chain, upper half: walking right, a point that does
     * not make a strict right turn with its neighbours is under (or on) the
     * chord and leaves the stack. */
    int top = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && pts[i].x == pts[i - 1].x) continue; /* a worse model at the same x */
        while (top >= 2 && cross(stack[top - 2], stack[top - 1], &pts[i]) >= 0) top--;
        stack[top++] = &pts[i];
    }
    int keep = mode == XF_HULL_RISING ? 1 : top;
    while (keep < top && stack[keep]->y >= stack[keep - 1]->y) keep++;
    for (int i = 0; i < keep; i++) hull[i] = stack[i]->index;
    *n_hull = keep;
    free(pts);
    free(stack);
    return XF_OK;
}

void xf_hull_decline_of(const double *x, const double *y, int n, xf_hull_decline *d) {
    *d = (xf_hull_decline){NAN, NAN, 0, 0};
    int *h = n > 0 ? malloc((size_t)n * sizeof *h) : NULL;
    int m = 0;
    if (!h || xf_hull_upper(x, y, n, h, &m) != XF_OK || m == 0) {
        free(h);
        return;
    }
    int peak = 0;
    for (int i = 1; i < m; i++)
        if (y[h[i]] > y[h[peak]]) peak = i;
    d->peak_x = x[h[peak]];
    d->peak_y = y[h[peak]];
    d->drop = y[h[peak]] - y[h[m - 1]];
    d->n_after = m - 1 - peak;
    free(h);
}
