/* Every number of the analysis as JSON: `xfer fit --json` prints it and the
 * report writes it next to the page (results.json). */
#ifndef XF_REPORT_JSON_H
#define XF_REPORT_JSON_H

#include <cjson/cJSON.h>

#include "analysis/setfit.h"
#include "analysis/study.h"

/* An array, one object per set (us_task, ds_task, shots): least-squares
 * fits on the hull ("hull") and on all points ("all"), each with k, alpha,
 * e_ir, saturation, rms, sse, status, the bootstrap intervals (null unless
 * asked for) and the validation; the stochastic frontier ("frontier") with
 * its profile intervals; the hull's decline; with sets (may be NULL) the
 * points with each DS accuracy's standard error. csv_mode names the set
 * "group" and leaves out us_task and shots. NULL when out of memory. */
cJSON *xf_fits_json(const xf_set_fit *fits, const xf_point_set *sets, int n, int csv_mode);

/* {"fits": ..., "knobs": ..., "layers": ..., "head_wd": ..., "head_lr": ...,
 *  "diversity": ..., "cost": ...} */
cJSON *xf_results_json(const xf_study_results *r);

#endif
