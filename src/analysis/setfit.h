/* The analysis of a whole study: for every (US task, DS task, shots) point
 * set of the results store, the upper hull, the saturation fit on the hull
 * and on all points, bootstrap intervals for both, and the extrapolation
 * check (analysis/frontier.h). */
#ifndef XF_SETFIT_H
#define XF_SETFIT_H

#include <stdint.h>

#include "analysis/frontier.h"
#include "analysis/satfit.h"
#include "core/status.h"
#include "study/store.h"

typedef struct {
    int bootstrap;   /* resamples per fit; 0 skips the intervals */
    uint64_t seed;   /* of the bootstrap; each set draws from seed + its index */
    double quantile; /* validation: fit on US accuracy up to this quantile */
} xf_fit_options;

/* XF_BOOTSTRAP_DEFAULT resamples, seed 1, quantile 0.7. */
xf_fit_options xf_fit_options_default(void);

typedef struct {
    char us_task[64]; /* the set's; "" when it names none */
    char ds_task[64];
    int shots;
    int n_points;
    int *hull; /* indices into the set's points, increasing US accuracy */
    int n_hull;
    xf_satfit fit;     /* fitted on the hull points */
    xf_satfit fit_all; /* fitted on every point */
    xf_satfit_ci ci, ci_all;
    xf_validation val, val_all;
} xf_set_fit;

/* One xf_set_fit per set, in the same order, with the default options. */
xf_status xf_set_fits_compute(const xf_point_set *sets, int n_sets, xf_set_fit **fits);
xf_status xf_set_fits_compute_opts(const xf_point_set *sets, int n_sets,
                                   const xf_fit_options *opts, xf_set_fit **fits);
void xf_set_fits_free(xf_set_fit *fits, int n_sets);

/* How many distinct US tasks the fits have (a study's tables and figures
 * name the US task only when there are several). */
int xf_set_fits_us_tasks(const xf_set_fit *fits, int n_sets);

#endif
