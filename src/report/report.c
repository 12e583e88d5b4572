#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/path.h"

const char *xf_interval_text(char *buf, size_t cap, const char *fmt, const double ci[2]) {
    if (isnan(ci[0]) || isnan(ci[1])) {
        snprintf(buf, cap, "-");
        return buf;
    }
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, fmt, ci[0]);
    snprintf(hi, sizeof hi, fmt, ci[1]);
    snprintf(buf, cap, "[%s, %s]", lo, hi);
    return buf;
}

/* RFC 4180: a field with a comma, quote or line break is quoted. */
static void csv_field(xf_sbuf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        xf_sbuf_puts(b, s);
        return;
    }
    xf_sbuf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"')
            xf_sbuf_puts(b, "\"\"");
        else
            xf_sbuf_append(b, s, 1);
    }
    xf_sbuf_puts(b, "\"");
}

static void csv_num(xf_sbuf *b, double v) {
    if (isnan(v))
        xf_sbuf_puts(b, ",");
    else
        xf_sbuf_printf(b, ",%.10g", v);
}

void xf_report_csv(const xf_set_fit *fits, int n_sets, xf_sbuf *out) {
    xf_sbuf_puts(out,
                 "us_task,ds_task,shots,n_points,n_hull,status,k,alpha,e_ir,saturation,rms,sse\n");
    for (int i = 0; i < n_sets; i++) {
        const xf_set_fit *s = &fits[i];
        csv_field(out, s->us_task);
        xf_sbuf_puts(out, ",");
        csv_field(out, s->ds_task);
        xf_sbuf_printf(out, ",%d,%d,%d,%s", s->shots, s->n_points, s->n_hull,
                       xf_satfit_status_name(s->fit.status));
        csv_num(out, s->fit.k);
        csv_num(out, s->fit.alpha);
        csv_num(out, s->fit.e_ir);
        csv_num(out, xf_satfit_saturation(&s->fit));
        csv_num(out, s->fit.rms);
        csv_num(out, s->fit.sse);
        xf_sbuf_puts(out, "\n");
    }
}

static xf_status write_buf(const char *path, xf_sbuf *b) {
    xf_status st = xf_sbuf_status(b);
    if (st == XF_OK) st = xf_write_file_atomic(path, b->data, b->len);
    xf_sbuf_free(b);
    return st;
}

xf_status xf_report_write(const char *dir, const char *study, const xf_point_set *sets,
                          const xf_set_fit *fits, int n_sets, char *html_path, size_t cap) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--; /* "runs/quick/" names runs/quick */
    size_t n = len + 32;
    char *folder = xf_malloc(3 * n);
    if (!folder) return XF_ENOMEM;
    char *html = folder + n, *csv = folder + 2 * n;
    snprintf(folder, n, "%.*s/report", (int)len, dir);
    snprintf(html, n, "%.*s/report/index.html", (int)len, dir);
    snprintf(csv, n, "%.*s/report/fits.csv", (int)len, dir);
    xf_status st = xf_mkdirs(folder);
    xf_sbuf b;
    if (st == XF_OK) {
        xf_sbuf_init(&b);
        xf_report_csv(fits, n_sets, &b);
        st = write_buf(csv, &b);
    }
    if (st == XF_OK) {
        xf_sbuf_init(&b);
        st = xf_report_html(study, sets, fits, n_sets, &b);
        if (st == XF_OK)
            st = write_buf(html, &b);
        else
            xf_sbuf_free(&b);
    }
    if (st == XF_OK && html_path) st = xf_path_format(html_path, cap, "%s", html);
    free(folder);
    return st;
}
