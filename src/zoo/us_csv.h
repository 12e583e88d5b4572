/* US accuracies of released checkpoints from a results table such as
 * timm's results-imagenet.csv: a header row naming the columns `model` and
 * `top1` (any others are ignored), top1 in percent. A zoo study entry finds
 * its US accuracy here by model name (docs/zoo.md). */
#ifndef XF_US_CSV_H
#define XF_US_CSV_H

#include "core/status.h"

typedef struct {
    char *path;
    char **model;  /* n names, as written */
    double *top1;  /* n accuracies as fractions in [0, 1] */
    int *line;     /* each row's line in the file */
    int n;
} xf_us_csv;

/* Reads path. Errors name the file and line: a missing column, a row with
 * too few fields, a top1 that is not a percentage in [0, 100], a model
 * listed twice. */
xf_status xf_us_csv_load(const char *path, xf_us_csv *csv);
void xf_us_csv_free(xf_us_csv *csv);

/* The row of `model` (exact match), or -1. */
int xf_us_csv_find(const xf_us_csv *csv, const char *model);

#endif
