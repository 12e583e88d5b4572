/* Small statistics for the analyses: nested-model F-tests by least squares
 * (GSL) and Spearman's rank correlation. */
#ifndef XF_STATS_H
#define XF_STATS_H

#include "core/status.h"

typedef struct {
    int df_num, df_den; /* columns the knob adds (rank gain), residual df */
    double f, p;        /* F statistic and its upper tail probability (raw) */
    double p_holm;      /* p after Holm's correction across a report's tests (NaN: not done) */
    double partial_r2;  /* (SSE_without - SSE_with) / SSE_without */
    int testable;       /* 0: the knob is constant or a combination of others */
} xf_ftest;

/* Ordinary least squares of y on the n x p design X (row-major), which
 * should hold an intercept column. Column j belongs to knob group[j]
 * (0..n_groups-1), or to none (-1: always in the model). For each knob the
 * full model is compared with the model without its columns. Ranks are
 * numerical (truncated SVD on unit-norm columns), so a constant knob or one
 * that other columns determine is reported untestable rather than given a
 * spurious F. r2 (may be NULL) receives the full model's R^2. */
xf_status xf_nested_ftests(const double *x, int n, int p, const int *group, int n_groups,
                           const double *y, xf_ftest *out, double *r2);

/* Residual sum of squares and numerical rank of the least-squares fit of y
 * on the columns of X (n x p, row-major) with keep[j] set (keep NULL: all). */
xf_status xf_ols_sse(const double *x, int n, int p, const int *keep, const double *y, double *sse,
                     int *rank);

/* Holm's step-down adjustment of n p-values (NaN ones are skipped and stay
 * NaN): the i-th smallest of the m finite ones is multiplied by m - i
 * (i from 0), made non-decreasing and capped at 1. */
xf_status xf_holm_adjust(const double *p, int n, double *adj);

/* Spearman's rho (Pearson on mid-ranks, ties averaged); NaN if n < 3 or a
 * variable is constant. */
double xf_spearman(const double *x, const double *y, int n);

#endif
