/* Small statistics for the analyses: nested-model F-tests by least squares
 * (GSL), Holm's correction and Spearman's rank correlation. */
#ifndef XF_STATS_H
#define XF_STATS_H

#include "core/status.h"

typedef struct {
    int df_num, df_den; /* columns the knob adds (rank gain), residual df */
    double f, p;        /* F statistic and its upper tail probability (raw) */
    double p_holm;      /* p after Holm's correction across a report's tests (NaN: not done) */
    double partial_r2;  /* (SSE_without - SSE_with) / SSE_without */
    int testable;       /* 0: the knob adds no column, or no residual df are left */
} xf_ftest;

/* The F-test of a full least-squares model (SSE sse_f, numerical rank
 * rank_f) against the reduced model nested in it (sse_r, rank_r), on n
 * observations; `extra` parameters fitted in both models outside the
 * linear columns (a nonlinear exponent) also count against the residual
 * df: df_num = rank_f - rank_r, df_den = n - rank_f - extra. Untestable
 * (testable 0, NaN numbers) when either df is not positive. */
void xf_ftest_nested(double sse_r, int rank_r, double sse_f, int rank_f, int n, int extra,
                     xf_ftest *t);

/* Residual sum of squares and numerical rank of the least-squares fit of y
 * on the columns of X (n x p, row-major) with keep[j] set (keep NULL: all);
 * coef (NULL, or p long) receives each kept column's coefficient in X's
 * units and NaN for the others. */
xf_status xf_ols_sse(const double *x, int n, int p, const int *keep, const double *y, double *coef,
                     double *sse, int *rank);

/* Holm's step-down adjustment of n p-values (NaN ones are skipped and stay
 * NaN): the i-th smallest of the m finite ones is multiplied by m - i
 * (i from 0), made non-decreasing and capped at 1. */
xf_status xf_holm_adjust(const double *p, int n, double *adj);

/* Spearman's rho (Pearson on mid-ranks, ties averaged); NaN if n < 3 or a
 * variable is constant. */
double xf_spearman(const double *x, const double *y, int n);

#endif
