/* US accuracies from a results table (us_csv.h). */
#include "zoo/us_csv.h"

#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/mem.h"

/* timm's table of every model is about 200 KB; the cap stops a wrong path
 * (a checkpoint, a data set) before it is read. */
enum { US_CSV_MAX_BYTES = 64 << 20 };

static xf_status add_row(xf_us_csv *csv, const char *model, double top1, int line) {
    if ((csv->n & (csv->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = csv->n ? 2 * (size_t)csv->n : 1;
        char **names = xf_realloc(csv->model, cap * sizeof *names);
        if (names) csv->model = names;
        double *acc = xf_realloc(csv->top1, cap * sizeof *acc);
        if (acc) csv->top1 = acc;
        int *lines = xf_realloc(csv->line, cap * sizeof *lines);
        if (lines) csv->line = lines;
        if (!names || !acc || !lines) return XF_ENOMEM;
    }
    char *copy = xf_strdup(model);
    if (!copy) return XF_ENOMEM;
    csv->model[csv->n] = copy;
    csv->top1[csv->n] = top1;
    csv->line[csv->n++] = line;
    return XF_OK;
}

static xf_status read_rows(xf_us_csv *csv, char *data, size_t size) {
    const char *path = csv->path;
    xf_csv_record *header = xf_malloc(sizeof *header), *row = xf_malloc(sizeof *row);
    xf_status st = header && row ? XF_OK : XF_ENOMEM;
    char *at = data, *end = data + size;
    int line = 1, rc = 0, model_col = -1, top1_col = -1;
    if (st == XF_OK && (rc = xf_csv_next_record(&at, end, header, &line)) <= 0)
        st = xf_fail(XF_EFORMAT, "%s: line 1: %s", path,
                     rc == 0 ? "empty file, expected a header row with columns model and top1"
                             : "malformed header row");
    if (st == XF_OK && ((model_col = xf_csv_find_column(header, "model")) < 0 ||
                        (top1_col = xf_csv_find_column(header, "top1")) < 0))
        st = xf_fail(XF_EFORMAT, "%s: line 1: no column named '%s' (timm's results files name "
                     "their columns model,top1,top5,...)", path, model_col < 0 ? "model" : "top1");
    int need = model_col > top1_col ? model_col : top1_col;
    while (st == XF_OK) {
        int record_line;
        st = xf_csv_next_data_record(&at, end, row, &line, need + 1, header->n, path,
                                     &record_line);
        if (st != XF_OK || row->n == 0) break;
        const char *model = row->field[model_col], *text = row->field[top1_col];
        char *stop;
        double top1 = strtod(text, &stop);
        if (stop == text || *stop || !(top1 >= 0 && top1 <= 100)) {
            st = xf_fail(XF_EFORMAT, "%s: line %d: top1 of %s: expected a percentage in "
                         "[0, 100], got '%.40s'", path, record_line, model, text);
            break;
        }
        if (!model[0]) {
            st = xf_fail(XF_EFORMAT, "%s: line %d: empty model name", path, record_line);
            break;
        }
        int earlier = xf_us_csv_find(csv, model);
        if (earlier >= 0) {
            st = xf_fail(XF_EFORMAT, "%s: line %d: model %s is listed twice (first on line %d)",
                         path, record_line, model, csv->line[earlier]);
            break;
        }
        st = add_row(csv, model, top1 / 100, record_line);
    }
    free(header);
    free(row);
    return st;
}

xf_status xf_us_csv_load(const char *path, xf_us_csv *csv) {
    memset(csv, 0, sizeof *csv);
    csv->path = xf_strdup(path);
    if (!csv->path) return XF_ENOMEM;
    unsigned char *data;
    size_t size;
    xf_status st = xf_read_file_max(path, US_CSV_MAX_BYTES, &data, &size);
    if (st == XF_OK) {
        st = read_rows(csv, (char *)data, size);
        free(data);
    }
    if (st != XF_OK) xf_us_csv_free(csv);
    return st;
}

void xf_us_csv_free(xf_us_csv *csv) {
    for (int i = 0; i < csv->n; i++) free(csv->model[i]);
    free(csv->model);
    free(csv->top1);
    free(csv->line);
    free(csv->path);
    memset(csv, 0, sizeof *csv);
}

int xf_us_csv_find(const xf_us_csv *csv, const char *model) {
    /* A study looks up a dozen names in a thousand rows: a scan is enough. */
    for (int i = 0; i < csv->n; i++)
        if (strcmp(csv->model[i], model) == 0) return i;
    return -1;
}
