/* (US accuracy, DS accuracy) points from any CSV file with a header row, so
 * `xfer fit` also serves results made elsewhere. */
#ifndef XF_CSVPOINTS_H
#define XF_CSVPOINTS_H

#include "core/status.h"
#include "study/store.h"

/* Reads columns us_col and ds_col (accuracies in [0, 1]) of path, one point
 * set per distinct value of group_col in order of first appearance (or one
 * set named "all" when group_col is NULL). Sets have shots 0 and no US task
 * (""), points an empty family, trial_id "line N" and params 0. Fields
 * follow RFC 4180 (quotes, doubled quotes, CRLF); blank lines are skipped.
 * Errors name the file, line and column. Free with xf_csv_point_sets_free. */
xf_status xf_csv_point_sets(const char *path, const char *us_col, const char *ds_col,
                            const char *group_col, xf_point_set **sets, int *n_sets);
/* The same with accuracies written as fractions of `scale` (100 for
 * percentages, `xfer fit --percent`): values must lie in [0, scale] and are
 * divided by it. A percent file (scale 100) whose values are all below
 * XF_CSV_PERCENT_MIN is refused as a file of fractions; a fraction file
 * (scale 1) with a value above 1 is refused with a hint to --percent. */
#define XF_CSV_PERCENT_MIN 1.5
xf_status xf_csv_point_sets_scaled(const char *path, const char *us_col, const char *ds_col,
                                   const char *group_col, double scale, xf_point_set **sets,
                                   int *n_sets);
void xf_csv_point_sets_free(xf_point_set *sets, int n_sets);

#endif
