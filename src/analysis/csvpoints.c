#include "analysis/csvpoints.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/mem.h"

/* scale: 1 for fractions, 100 for percentages; *out is the fraction. */
static xf_status parse_acc(const char *path, int line, const char *col, const char *text,
                           double scale, double *out) {
    char *end;
    *out = strtod(text, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == text || *end)
        return xf_fail(XF_EFORMAT, "%s: line %d: column '%s': '%s' is not a number", path, line,
                       col, text);
    if (!(*out >= 0 && *out <= scale))
        return xf_fail(XF_EFORMAT, "%s: line %d: column '%s': %s is not an accuracy in [0, %g]%s",
                       path, line, col, text, scale,
                       scale == 1 && *out > 1 && *out <= 100 ? " (percentages? use --percent)"
                                                             : "");
    *out /= scale;
    return XF_OK;
}

static xf_status add_point(xf_point_set **sets, int *n_sets, const char *group, xf_point pt,
                           const char *path, int line) {
    int s = 0;
    while (s < *n_sets && strcmp((*sets)[s].ds_task, group) != 0) s++;
    if (s == *n_sets) {
        if (strlen(group) >= sizeof((*sets)->ds_task))
            return xf_fail(XF_EFORMAT, "%s: line %d: group name longer than %zu bytes", path,
                           line, sizeof((*sets)->ds_task) - 1);
        xf_point_set *bigger = xf_realloc(*sets, (size_t)(s + 1) * sizeof *bigger);
        if (!bigger) return XF_ENOMEM;
        *sets = bigger;
        bigger[s] = (xf_point_set){0};
        snprintf(bigger[s].ds_task, sizeof bigger[s].ds_task, "%s", group);
        (*n_sets)++;
    }
    xf_point_set *set = &(*sets)[s];
    if ((set->n_points & (set->n_points - 1)) == 0) { /* grow at powers of two */
        xf_point *bigger =
            xf_realloc(set->points, (size_t)(set->n_points ? 2 * set->n_points : 1) * sizeof pt);
        if (!bigger) return XF_ENOMEM;
        set->points = bigger;
    }
    set->points[set->n_points++] = pt;
    return XF_OK;
}

static xf_status read_points(const char *path, char *data, size_t size, const char *us_col,
                             const char *ds_col, const char *group_col, double scale,
                             xf_point_set **sets, int *n_sets) {
    xf_csv_record *header = xf_malloc(sizeof *header), *row = xf_malloc(sizeof *row);
    xf_status st = header && row ? XF_OK : XF_ENOMEM;
    char *at = data, *end = data + size;
    int line = 1, rc = 0, n_values = 0;
    double largest = 0;
    if (st == XF_OK && (rc = xf_csv_next_record(&at, end, header, &line)) <= 0)
        st = xf_fail(XF_EFORMAT, "%s: line 1: %s", path,
                     rc == 0 ? "empty file, expected a header row" : "malformed header row");
    int cols[3] = {-1, -1, -1};
    const char *names[3] = {us_col, ds_col, group_col};
    for (int c = 0; c < 3 && st == XF_OK; c++)
        if (names[c] && (cols[c] = xf_csv_find_column(header, names[c])) < 0)
            st = xf_fail(XF_ENOTFOUND, "%s: line 1: no column named '%s' in the header", path,
                         names[c]);
    int need = cols[0] > cols[1] ? cols[0] : cols[1];
    if (cols[2] > need) need = cols[2];
    while (st == XF_OK) {
        int record_line;
        st = xf_csv_next_data_record(&at, end, row, &line, need + 1, header->n, path,
                                     &record_line);
        if (st != XF_OK || row->n == 0) break;
        xf_point pt = {0};
        snprintf(pt.trial_id, sizeof pt.trial_id, "line %d", record_line);
        st = parse_acc(path, record_line, us_col, row->field[cols[0]], scale, &pt.us_acc);
        if (st == XF_OK)
            st = parse_acc(path, record_line, ds_col, row->field[cols[1]], scale, &pt.ds_acc);
        largest = fmax(largest, fmax(pt.us_acc, pt.ds_acc) * scale);
        n_values++;
        if (st == XF_OK)
            st = add_point(sets, n_sets, group_col ? row->field[cols[2]] : "all", pt, path,
                           record_line);
    }
    /* Percentages below 1.5 everywhere would be models at chance on every
     * task: far likelier a file of fractions given --percent by mistake. */
    if (st == XF_OK && scale != 1 && n_values > 0 && largest < XF_CSV_PERCENT_MIN)
        st = xf_fail(XF_EFORMAT,
                     "%s: columns '%s' and '%s': every value is below %g, so they hold fractions, "
                     "not percentages: drop --percent",
                     path, us_col, ds_col, XF_CSV_PERCENT_MIN);
    free(header);
    free(row);
    return st;
}

xf_status xf_csv_point_sets(const char *path, const char *us_col, const char *ds_col,
                            const char *group_col, xf_point_set **sets, int *n_sets) {
    return xf_csv_point_sets_scaled(path, us_col, ds_col, group_col, 1, sets, n_sets);
}

xf_status xf_csv_point_sets_scaled(const char *path, const char *us_col, const char *ds_col,
                                   const char *group_col, double scale, xf_point_set **sets,
                                   int *n_sets) {
    *sets = NULL;
    *n_sets = 0;
    unsigned char *data;
    size_t size;
    xf_status st = xf_read_file(path, &data, &size);
    if (st != XF_OK) return st;
    st = read_points(path, (char *)data, size, us_col, ds_col, group_col, scale, sets, n_sets);
    free(data);
    if (st != XF_OK) {
        xf_csv_point_sets_free(*sets, *n_sets);
        *sets = NULL;
        *n_sets = 0;
    }
    return st;
}

void xf_csv_point_sets_free(xf_point_set *sets, int n_sets) {
    if (!sets) return;
    for (int s = 0; s < n_sets; s++) free(sets[s].points);
    free(sets);
}
