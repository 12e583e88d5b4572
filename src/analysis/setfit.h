/* The analysis of a whole study: for every (DS task, shots) point set of the
 * results store, the upper hull and the saturation fit on the hull. */
#ifndef XF_SETFIT_H
#define XF_SETFIT_H

#include "analysis/satfit.h"
#include "core/status.h"
#include "study/store.h"

typedef struct {
    char ds_task[64];
    int shots;
    int n_points;
    int *hull; /* indices into the set's points, increasing US accuracy */
    int n_hull;
    xf_satfit fit; /* fitted on the hull points */
} xf_set_fit;

/* One xf_set_fit per set, in the same order. */
xf_status xf_set_fits_compute(const xf_point_set *sets, int n_sets, xf_set_fit **fits);
void xf_set_fits_free(xf_set_fit *fits, int n_sets);

#endif
