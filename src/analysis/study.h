/* The study-level analyses beyond the saturation fit (docs/analysis.md):
 *  - knobs: does anything beyond US accuracy predict DS accuracy?
 *  - layers: DS accuracy against the relative depth of the probed tap;
 *  - sweeps: US and DS accuracy against head weight decay / head learning
 *    rate for otherwise equal configs;
 *  - diversity: DS accuracy at matched difficulty (US accuracy as a fraction
 *    of the best model's on its own US task) across US tasks.
 * All read an xf_study_table (study/store.h); results are plain arrays the
 * report and `xfer fit --json` print. */
#ifndef XF_STUDY_ANALYSIS_H
#define XF_STUDY_ANALYSIS_H

#include "analysis/satfit.h"
#include "analysis/setfit.h"
#include "analysis/stats.h"
#include "core/status.h"
#include "study/store.h"

/* ---- points straight from the table ---- */

/* The last-layer points of (ds_task, shots), of one US task (NULL: all),
 * ordered by US accuracy: caller frees *points. */
xf_status xf_table_points(const xf_study_table *t, const char *ds_task, int shots,
                          const char *us_task, xf_point **points, int *n);

/* ---- knobs ---- */

/* Each knob is its own question, never a sum of others: data size and
 * epochs are separate knobs, and examples seen (their product) is asked
 * about on its own. The input resolution varies between checkpoints of a
 * zoo study (224, 384 pixels); pre-trained trials take their US task's. */
enum {
    XF_KNOB_PARAMS,
    XF_KNOB_DATA,
    XF_KNOB_EPOCHS,
    XF_KNOB_FAMILY,
    XF_KNOB_EXAMPLES,
    XF_KNOB_RESOLUTION,
    XF_N_KNOBS
};
/* "log params", "log US data size", "log epochs", "family", "log US examples seen",
 * "log resolution". */
const char *xf_knob_name(int knob);

/* A knob adds information when its Holm-adjusted p < XF_KNOB_P (family-wise
 * over every knob test of the report) and its partial R^2 >= XF_KNOB_R2 (a
 * significant but tiny effect is not worth reporting). */
#define XF_KNOB_P 0.05
#define XF_KNOB_R2 0.05

/* One row per (US task, DS task): the shot counts are pooled, each model's
 * DS accuracy being its mean over them, because every shot count probes the
 * same models: per-shot tests would count each model several times as if
 * it were independent evidence. Models missing a shot count are left out. */
typedef struct {
    char us_task[64];
    char ds_task[64];
    int n_shots;  /* shot counts pooled */
    int n;        /* models in the test */
    xf_ftest knob[XF_N_KNOBS];
    int informative[XF_N_KNOBS];
    /* The direction and size of a log knob's effect: the change in DS
     * accuracy per doubling of the knob at equal US accuracy, in the model
     * with the knob (NaN for family, whose levels have no order, and for an
     * untestable knob). */
    double per_doubling[XF_N_KNOBS];
} xf_knob_row;

/* The knobs of n models, each array n long: params, data, epochs and
 * resolution > 0, or NaN where a model has none (a checkpoint has no US
 * data size or epochs; an older store no resolution); family codes are
 * small integers. */
typedef struct {
    const double *params, *data, *epochs, *resolution;
    const int *family;
} xf_knob_values;

/* Per knob, nested least squares: DS error on f(US) = c + k e_US^alpha
 * (3 fitted parameters, alpha profiled) against f(US) + the knob (one
 * column, or family dummies); df count alpha. Each knob's test uses the
 * models that have it. us_acc, ds_acc of n models; sets p_raw, leaves
 * p_holm NaN (xf_knobs_analyse adjusts across rows). */
xf_status xf_knobs_test(const double *us_acc, const double *ds_acc, const xf_knob_values *v,
                        int n, xf_knob_row *row);

/* Rows for every (US task, DS task) of the sets (consecutive sets of one
 * pair, as xf_store_points orders them), knobs read from each trial's
 * config_json and flops; Holm's adjustment over every testable test of
 * every row; *n_tests receives their number. */
xf_status xf_knobs_analyse(const xf_study_table *t, const xf_point_set *sets, int n_sets,
                           xf_knob_row **rows, int *n_rows, int *n_tests);

/* ---- layers ---- */

#define XF_LAYERS_TOP 5
/* Taps per curve: every layer the probe can report (XF_PROBE_MAX_LAYERS), so
 * a deep model's curve reaches its last layer. */
#define XF_LAYERS_MAX_TAPS 64

typedef struct {
    int trial;      /* index into the table */
    double us_acc;
    int n_layers;   /* taps probed, at most XF_LAYERS_MAX_TAPS */
    double depth[XF_LAYERS_MAX_TAPS]; /* relative depth (layer + 1) / n_layers */
    double acc[XF_LAYERS_MAX_TAPS];
    int best;                  /* index of the best layer */
} xf_layer_curve;

typedef struct {
    char us_task[64];
    char ds_task[64];
    int shots;
    int n_curves;
    xf_layer_curve curve[XF_LAYERS_TOP]; /* the best models with >= 2 taps */
    double best_depth;                   /* mean relative depth of the best layer */
    double e_ir;                         /* of the set's hull fit (NaN if none) */
    double frontier_e_ir;                /* of the set's frontier (NaN if none) */
} xf_layer_row;

/* One row per set (same order), from the trials of the set's US task; the
 * Spearman correlation across sets between e_IR and best_depth goes to
 * rho[0] with the hull fit's e_IR, rho[1] with the frontier's (NaN with
 * fewer than 3 sets). */
xf_status xf_layers_analyse(const xf_study_table *t, const xf_set_fit *fits, int n_sets,
                            xf_layer_row **rows, double rho[2]);

/* ---- sweeps of one train knob (head_wd, head_lr) ---- */

typedef struct {
    char us_task[64];
    char ds_task[64];
    int shots;
    int group;    /* configs equal but for the knob share a group (and US task) */
    double value; /* the knob */
    double us_acc, ds_acc;
} xf_sweep_point;

/* Every finished trial whose group (US task and config_json without
 * train.<knob>) has at least two values of train.<knob>, at every (DS task,
 * shots) at the last layer. *n_groups receives how many such groups there
 * are. */
xf_status xf_sweep_analyse(const xf_study_table *t, const char *knob, xf_sweep_point **points,
                           int *n, int *n_groups);

/* ---- US diversity ---- */

typedef struct {
    char ds_task[64];
    int shots;
    char us_task[64];
    int n_points;
    xf_satfit fit;      /* on this US task's hull */
    double us_best;     /* the best model's US accuracy on this US task */
    double us_at[3];    /* matched difficulty: US accuracy / us_best at 25/50/75% of
                         * the overlap of the US tasks' ranges of that ratio */
    double ds_at[3];    /* the fit's DS accuracy there (NaN: no fit/overlap) */
    /* the stochastic frontier's DS accuracy there, from the set's own fit
     * (xf_diversity_read_frontiers; NaN: underdetermined or no overlap) */
    double frontier_ds_at[3];
} xf_diversity_row;

/* Rows for every (ds_task, shots, us_task) when the study has >= 2 US
 * tasks; none otherwise. */
xf_status xf_diversity_analyse(const xf_study_table *t, xf_diversity_row **rows, int *n);

/* Fills each row's frontier_ds_at from the frontier of the set (us_task,
 * ds_task, shots) among sets/fits. */
void xf_diversity_read_frontiers(xf_diversity_row *rows, int n, const xf_point_set *sets,
                                 const xf_set_fit *fits, int n_sets);

/* ---- everything, for `xfer fit DIR` and `xfer report DIR` ---- */

typedef struct {
    xf_point_set *sets;
    int n_sets;
    xf_set_fit *fits;
    xf_study_table table;
    xf_knob_row *knobs; /* n_knob_rows rows, one per (US task, DS task) */
    int n_knob_rows, n_knob_tests;
    xf_layer_row *layers; /* n_sets rows */
    double layer_rho[2]; /* xf_layers_analyse's: hull fit's e_IR, frontier's */
    xf_sweep_point *wd, *lr;
    int n_wd, wd_groups, n_lr, lr_groups;
    xf_diversity_row *diversity;
    int n_diversity;
    double cpu_seconds, train_flops; /* over every recorded trial */
    int error_bars;                  /* the options' error_bars, for the figures */
    int n_trials, n_finished;
} xf_study_results;

/* Runs every analysis on the study in dir (which must hold study.db). */
xf_status xf_study_analyse(const char *dir, const xf_fit_options *opts, xf_study_results *r);
void xf_study_results_free(xf_study_results *r);

#endif
