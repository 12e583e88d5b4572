/* The analysis of a whole study: for every (US task, DS task, shots) point
 * set of the results store, the upper hull, the saturation fit on the hull
 * and on all points, bootstrap intervals for both, and the extrapolation
 * check (analysis/frontier.h). */
#ifndef XF_SETFIT_H
#define XF_SETFIT_H

#include <stdint.h>

#include "analysis/frontier.h"
#include "analysis/hull.h"
#include "analysis/satfit.h"
#include "analysis/sfrontier.h"
#include "core/status.h"
#include "study/store.h"

typedef struct {
    int bootstrap;   /* resamples per least-squares fit; 0 (default) skips them */
    uint64_t seed;   /* of the bootstrap; each set draws from seed + its index */
    double quantile; /* validation: fit on US accuracy up to this quantile */
    int intervals;   /* profile intervals of the stochastic frontier (default 1) */
    int rising_only; /* fit the hull only up to its highest DS accuracy (default 0) */
    int error_bars;  /* report: +-1.96 SE bars on the DS-vs-US figures (default 0) */
    /* Threads fitting sets at once; 0 (default): one per online CPU. Each
     * set's numbers are the same whatever the count. */
    int threads;
} xf_fit_options;

/* No bootstrap, seed 1, quantile 0.7, frontier intervals, the whole hull,
 * a thread per CPU. */
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
    xf_satfit_ci ci, ci_all; /* bootstrap; NaN unless asked for */
    xf_validation val, val_all;
    xf_sfrontier frontier;   /* the default estimate and its intervals */
    int frontier_se_known;   /* the points' standard errors were known (probe noise not fitted) */
    xf_hull_decline decline;
} xf_set_fit;

/* The standard error of a DS accuracy that is the mean of `draws` few-shot
 * draws with sample sd draw_sd, each scored on the same test set of
 * test_size images: binomial test-set noise plus the spread over draws
 * (each term only when known; 0 when neither is). */
double xf_ds_se(double acc, int test_size, int draws, double draw_sd);

/* One xf_set_fit per set, in the same order, with the default options. */
xf_status xf_set_fits_compute(const xf_point_set *sets, int n_sets, xf_set_fit **fits);
xf_status xf_set_fits_compute_opts(const xf_point_set *sets, int n_sets,
                                   const xf_fit_options *opts, xf_set_fit **fits);
void xf_set_fits_free(xf_set_fit *fits, int n_sets);

/* How many distinct US tasks the fits have (a study's tables and figures
 * name the US task only when there are several). */
int xf_set_fits_us_tasks(const xf_set_fit *fits, int n_sets);

#endif
