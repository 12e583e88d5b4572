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
 *  3. By default the whole upper hull, as the paper fits it: models with
 *     higher US but lower DS accuracy than the best DS model stay (its
 *     declining part). XF_HULL_RISING keeps only the rising part: the
 *     vertices up to and including the last one reached without a drop in
 *     y (the hull is concave, so once it goes down it never rises again; a
 *     flat stretch at the top is kept). Either way the decline is reported
 *     as a number (xf_hull_decline_of).
 *
 * A single point is its own hull; two points with different x are both kept
 * when the right one is at least as high. */
#ifndef XF_HULL_H
#define XF_HULL_H

#include "core/status.h"

/* What a fit is made on: every point, the whole upper hull, or its rising
 * part (the values are what analysis/frontier.h's use_hull takes). */
enum { XF_HULL_NONE = 0, XF_HULL_WHOLE = 1, XF_HULL_RISING = 2 };

/* x, y: n finite values each. hull: room for n indices; receives the
 * indices (into x, y) of the kept vertices in increasing x. n_hull: their
 * count (0 only when n is 0). XF_EINVAL names the first non-finite value.
 * mode: XF_HULL_WHOLE or XF_HULL_RISING. */
xf_status xf_hull_upper_mode(const double *x, const double *y, int n, int mode, int *hull,
                             int *n_hull);
/* The whole upper hull. */
xf_status xf_hull_upper(const double *x, const double *y, int n, int *hull, int *n_hull);

/* The declining part of the whole upper hull: the vertex of highest y
 * (peak_x, peak_y; the first of equal ones), the drop from it to the last
 * vertex (peak_y - y of the largest x, 0 when nothing declines) and how
 * many vertices lie past the peak. NaN peak for n = 0. */
typedef struct {
    double peak_x, peak_y, drop;
    int n_after;
} xf_hull_decline;
void xf_hull_decline_of(const double *x, const double *y, int n, xf_hull_decline *d);

#endif
