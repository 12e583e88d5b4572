/* The upper hull of (US accuracy, DS accuracy) points, the frontier the
 * saturation curve is fitted to (docs/protocol.md, finding 2).
 *
 * What is kept, precisely:
 *  1. Among points with exactly the same x, only one with the highest y (the
 *     best model at that US accuracy).
 *  2. The vertices of the upper convex hull of what remains, from the
 *     smallest x to the largest: a point strictly below the segment joining
 *     two others is not on it (a randomised mix of those two models does
 *     better at the same US accuracy), and neither is a point exactly on
 *     such a segment (collinear interior points add no corner to the
 *     frontier, and dropping them makes the result independent of how many
 *     models happen to lie on one segment).
 *  3. Only the rising part of that hull: the vertices up to and including
 *     the last one reached without a drop in y. Because the hull is concave,
 *     its slopes only decrease, so once it goes down it never rises again;
 *     a vertex past the highest DS accuracy is a model whose extra US
 *     accuracy bought lower DS accuracy, which the monotone saturation law
 *     e_DS = k e_US^alpha + e_IR cannot describe and which a model to its
 *     left dominates for the downstream task. A flat stretch at the top is
 *     kept: it is evidence of saturation.
 *
 * A single point is its own hull; two points with different x are both kept
 * when the right one is at least as high. */
#ifndef XF_HULL_H
#define XF_HULL_H

#include "core/status.h"

/* x, y: n finite values each. hull: room for n indices; receives the
 * indices (into x, y) of the kept vertices in increasing x. n_hull: their
 * count (0 only when n is 0). XF_EINVAL names the first non-finite value. */
xf_status xf_hull_upper(const double *x, const double *y, int n, int *hull, int *n_hull);

#endif
