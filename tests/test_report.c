#include <cairo.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/setfit.h"
#include "core/mem.h"
#include "core/rng.h"
#include "report/base64.h"
#include "report/plot.h"
#include "report/report.h"
#include "report/sbuf.h"
#include "support.h"

static void release_cairo_caches(void) { xf_plot_release_caches(); }

static void expect_base64(const char *in, size_t n, const char *want) {
    char out[64];
    cr_assert_eq(xf_base64_len(n), strlen(want));
    xf_base64_encode((const unsigned char *)in, n, out);
    cr_assert_str_eq(out, want);
}

Test(report, base64_known_strings) {
    /* RFC 4648 section 10 test vectors, and bytes using the last symbols */
    expect_base64("", 0, "");
    expect_base64("f", 1, "Zg==");
    expect_base64("fo", 2, "Zm8=");
    expect_base64("foo", 3, "Zm9v");
    expect_base64("foob", 4, "Zm9vYg==");
    expect_base64("fooba", 5, "Zm9vYmE=");
    expect_base64("foobar", 6, "Zm9vYmFy");
    expect_base64("\xff\xfe\x00\xfb\xef", 5, "//4A++8=");
}

/* A synthetic study set: 12 models on e_DS = 0.6 e_US^1.3 + 0.08 and 20
 * dominated ones under it, of two families. */
static void make_set(xf_point *pts, xf_point_set *set, const char *task) {
    xf_rng rng;
    xf_rng_seed(&rng, 11);
    for (int i = 0; i < 32; i++) {
        double e = i < 12 ? 0.05 + 0.5 * i / 11.0 : 0.1 + 0.4 * xf_rng_uniform(&rng);
        double drop = i < 12 ? 0 : 0.03 + 0.1 * xf_rng_uniform(&rng);
        pts[i] = (xf_point){.us_acc = 1 - e, .ds_acc = 1 - (0.6 * pow(e, 1.3) + 0.08) - drop};
        snprintf(pts[i].trial_id, sizeof pts[i].trial_id, "t%02d", i);
        snprintf(pts[i].family, sizeof pts[i].family, "%s", i % 3 ? "mlp" : "vit");
    }
    *set = (xf_point_set){.shots = 10, .points = pts, .n_points = 32};
    snprintf(set->ds_task, sizeof set->ds_task, "%s", task);
}

static unsigned be32(const unsigned char *p) {
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

typedef struct {
    const unsigned char *data;
    size_t size, at;
} png_reader;

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int length) {
    png_reader *r = closure;
    if (r->at + length > r->size) return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->data + r->at, length);
    r->at += length;
    return CAIRO_STATUS_SUCCESS;
}

/* rgb drawn with opacity a over white */
static unsigned over_white(unsigned rgb, double a) {
    unsigned out = 0;
    for (int shift = 16; shift >= 0; shift -= 8)
        out |= (unsigned)lround(a * (rgb >> shift & 255) + (1 - a) * 255) << shift;
    return out;
}

/* Pixels within a small distance of an RGB colour, decoding the PNG back. */
static int count_colour(const unsigned char *png, size_t size, unsigned rgb) {
    png_reader r = {png, size, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_png, &r);
    cr_assert_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s), count = 0;
    const unsigned char *d = cairo_image_surface_get_data(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned v = *(const unsigned *)(d + y * stride + 4 * x);
            int dr = (int)(v >> 16 & 255) - (int)(rgb >> 16 & 255);
            int dg = (int)(v >> 8 & 255) - (int)(rgb >> 8 & 255);
            int db = (int)(v & 255) - (int)(rgb & 255);
            count += abs(dr) + abs(dg) + abs(db) < 24;
        }
    cairo_surface_destroy(s);
    return count;
}

Test(report, panel_renders_png_of_requested_size, .fini = release_cairo_caches) {
    xf_point pts[32];
    xf_point_set set;
    make_set(pts, &set, "digits");
    xf_set_fit *fits;
    cr_assert_eq(xf_set_fits_compute(&set, 1, &fits), XF_OK, "%s", xf_error_message());
    xf_panel panel = {"digits, 10-shot", pts, 32, fits[0].hull, fits[0].n_hull, &fits[0].fit,
                      0,                 0,   0,  &fits[0].frontier};
    const int sizes[2][2] = {{XF_PLOT_WIDTH, XF_PLOT_HEIGHT}, {360, 270}};
    for (int i = 0; i < 2; i++) {
        unsigned char *png;
        size_t size;
        cr_assert_eq(xf_plot_panel_png(&panel, sizes[i][0], sizes[i][1], &png, &size), XF_OK,
                     "%s", xf_error_message());
        cr_assert_gt(size, 3000);
        cr_assert_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
        cr_assert_eq(memcmp(png + 12, "IHDR", 4), 0);
        cr_assert_eq(be32(png + 16), (unsigned)sizes[i][0]);
        cr_assert_eq(be32(png + 20), (unsigned)sizes[i][1]);
        if (i == 0) {
            /* the fit (vermillion), vit points (blue) and mlp points (purple, both at
             * 80% opacity) are all drawn */
            cr_assert_gt(count_colour(png, size, 0xD55E00), 300);
            cr_assert_gt(count_colour(png, size, over_white(0x0072B2, 0.8)), 50);
            cr_assert_gt(count_colour(png, size, over_white(0xCC79A7, 0.8)), 50);
            /* and the stochastic frontier (dark purple, dotted) */
            cr_assert_eq(fits[0].frontier.status, XF_SATFIT_OK);
            cr_assert_gt(count_colour(png, size, 0x5E2B97), 30);
        }
        free(png);
    }
    /* error bars on request: +-1.96 SE of 3 draws (sd 0.03) on 500 images,
     * grey at 70% */
    unsigned char *png;
    size_t size;
    int grey[2];
    for (int bars = 0; bars < 2; bars++) {
        for (int i = 0; i < 32; i++) pts[i].draws = 3, pts[i].ds_draw_sd = 0.03;
        panel.error_bars = bars;
        panel.ds_test_size = 500;
        cr_assert_eq(xf_plot_panel_png(&panel, 720, 540, &png, &size), XF_OK);
        grey[bars] = count_colour(png, size, over_white(0x666666, 0.7));
        free(png);
    }
    cr_assert_gt(grey[1], grey[0] + 100, "grey pixels %d without bars, %d with", grey[0],
                 grey[1]);
    panel.error_bars = 0;
    /* without a fit there is no fit colour at all */
    xf_satfit none = {.status = XF_SATFIT_UNDERDETERMINED};
    panel.fit = &none;
    cr_assert_eq(xf_plot_panel_png(&panel, 720, 540, &png, &size), XF_OK);
    cr_assert_eq(count_colour(png, size, 0xD55E00), 0);
    free(png);
    /* nor a frontier colour when the frontier is undetermined */
    xf_sfrontier no_frontier = {.status = XF_SATFIT_UNDERDETERMINED};
    panel.frontier = &no_frontier;
    cr_assert_eq(xf_plot_panel_png(&panel, 720, 540, &png, &size), XF_OK);
    cr_assert_eq(count_colour(png, size, 0x5E2B97), 0);
    free(png);
    xf_set_fits_free(fits, 1);
}

Test(report, panel_without_points_and_bad_size, .fini = release_cairo_caches) {
    xf_panel panel = {"empty", NULL, 0, NULL, 0, NULL, 0, 0, 0, NULL};
    unsigned char *png;
    size_t size;
    cr_assert_eq(xf_plot_panel_png(&panel, 400, 300, &png, &size), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(be32(png + 16), 400u);
    free(png);
    cr_assert_eq(xf_plot_panel_png(&panel, 10, 300, &png, &size), XF_EINVAL);
    cr_assert_null(png);
}

Test(report, html_has_table_values_and_embedded_figures, .fini = release_cairo_caches) {
    xf_point pts[32], few[2];
    xf_point_set sets[2];
    make_set(pts, &sets[0], "digits");
    make_set(pts, &sets[1], "a<b&c");
    memcpy(few, pts, sizeof few);
    sets[1].points = few;
    sets[1].n_points = 2;
    sets[1].shots = 1;
    xf_set_fit *fits;
    cr_assert_eq(xf_set_fits_compute(sets, 2, &fits), XF_OK, "%s", xf_error_message());
    xf_sbuf b;
    xf_sbuf_init(&b);
    cr_assert_eq(xf_report_html("quick", sets, fits, 2, &b), XF_OK, "%s", xf_error_message());
    cr_assert_eq(strlen(b.data), b.len);
    cr_assert(strstr(b.data, "<title>xfer report: quick</title>"));
    cr_assert(strstr(b.data, "<tr><td>digits</td><td>10</td><td>32</td><td>12</td>"
                             "<td>0.6</td><td>1.3</td><td>0.0800</td><td>0.9200</td>"),
              "%.2000s", strstr(b.data, "<table>"));
    cr_assert(strstr(b.data, "<tr><td>a&lt;b&amp;c</td><td>1</td><td>2</td><td>2</td>"
                             "<td>&ndash;</td><td>&ndash;</td>"));
    cr_assert(strstr(b.data, "underdetermined</td></tr>"));
    /* two figures, each a PNG data URI ("\x89PNG\r\n\x1a\n" is "iVBORw0KGgo") */
    const char *at = b.data;
    int figures = 0;
    while ((at = strstr(at, "src=\"data:image/png;base64,iVBORw0KGgo"))) figures++, at++;
    cr_assert_eq(figures, 2);
    cr_assert(strstr(b.data, "</html>\n"));
    xf_sbuf_free(&b);

    xf_report_csv(fits, 2, &b);
    cr_assert(strncmp(b.data, "us_task,ds_task,shots,n_points,n_hull,status,k,alpha,e_ir,"
                              "saturation,rms,sse\n,digits,10,32,12,ok,0.6",
                      99) == 0,
              "%s", b.data);
    cr_assert(strstr(b.data, "\n,a<b&c,1,2,2,underdetermined,,,,,,\n"), "%s", b.data);
    xf_sbuf_free(&b);
    xf_set_fits_free(fits, 2);
}

Test(report, html_names_the_us_task_when_there_are_several, .fini = release_cairo_caches) {
    xf_point pts[32];
    xf_point_set sets[2];
    make_set(pts, &sets[0], "digits");
    make_set(pts, &sets[1], "digits");
    snprintf(sets[0].us_task, sizeof sets[0].us_task, "usA");
    snprintf(sets[1].us_task, sizeof sets[1].us_task, "usB+x");
    xf_set_fit *fits;
    cr_assert_eq(xf_set_fits_compute(sets, 2, &fits), XF_OK, "%s", xf_error_message());
    cr_assert_str_eq(fits[1].us_task, "usB+x");
    cr_assert_eq(xf_set_fits_us_tasks(fits, 2), 2);
    cr_assert_eq(xf_set_fits_us_tasks(fits, 1), 1);
    xf_sbuf b;
    xf_sbuf_init(&b);
    cr_assert_eq(xf_report_html("two", sets, fits, 2, &b), XF_OK, "%s", xf_error_message());
    cr_assert(strstr(b.data, "<tr><th>US task</th><th>DS task</th><th>shots</th>"));
    cr_assert(strstr(b.data, "<tr><td>usB+x</td><td>digits</td><td>10</td><td>32</td>"));
    cr_assert(strstr(b.data, "<figcaption>digits, 10-shot (US: usA): 32 models"));
    cr_assert(strstr(b.data, "<figcaption>digits, 10-shot (US: usB+x): 32 models"));
    xf_sbuf_free(&b);
    xf_report_csv(fits, 2, &b);
    cr_assert(strstr(b.data, "\nusA,digits,10,32,12,ok,") &&
              strstr(b.data, "\nusB+x,digits,10,32,12,ok,"),
              "%s", b.data);
    xf_sbuf_free(&b);
    /* with one US task the page names none */
    xf_sbuf_init(&b);
    cr_assert_eq(xf_report_html("one", sets, fits, 1, &b), XF_OK);
    cr_assert_null(strstr(b.data, "US task"));
    cr_assert(strstr(b.data, "<figcaption>digits, 10-shot: 32 models"));
    xf_sbuf_free(&b);
    xf_set_fits_free(fits, 2);
}

Test(report, written_atomically_under_dir_report, .fini = release_cairo_caches) {
    xf_point pts[32];
    xf_point_set set;
    make_set(pts, &set, "digits,\"v2\"");
    xf_set_fit *fits;
    cr_assert_eq(xf_set_fits_compute(&set, 1, &fits), XF_OK);
    char *dir = test_tmpdir(), path[512], want[512];
    cr_assert_not_null(dir);
    for (int round = 0; round < 2; round++) /* the second overwrites the first */
        cr_assert_eq(xf_report_write(dir, "quick", &set, fits, 1, path, sizeof path), XF_OK, "%s",
                     xf_error_message());
    snprintf(want, sizeof want, "%s/report/index.html", dir);
    cr_assert_str_eq(path, want);
    unsigned char *html, *csv;
    size_t html_size, csv_size;
    cr_assert_eq(xf_read_file(path, &html, &html_size), XF_OK);
    xf_sbuf b;
    xf_sbuf_init(&b);
    cr_assert_eq(xf_report_html("quick", &set, fits, 1, &b), XF_OK);
    cr_assert_eq(html_size, b.len);
    cr_assert_eq(memcmp(html, b.data, b.len), 0);
    snprintf(want, sizeof want, "%s/report/fits.csv", dir);
    cr_assert_eq(xf_read_file(want, &csv, &csv_size), XF_OK);
    cr_assert(strstr((char *)csv, "\n,\"digits,\"\"v2\"\"\",10,32,12,ok,"), "%s", csv);
    /* nothing but the two files: no temporary left behind */
    snprintf(want, sizeof want, "%s/report", dir);
    DIR *d = opendir(want);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') {
            entries++;
            cr_assert(strcmp(e->d_name, "index.html") == 0 || strcmp(e->d_name, "fits.csv") == 0,
                      "unexpected %s", e->d_name);
        }
    closedir(d);
    cr_assert_eq(entries, 2);
    /* a study path that is a file cannot hold a report */
    snprintf(want, sizeof want, "%s/report/fits.csv", dir);
    cr_assert_eq(xf_report_write(want, "x", &set, fits, 1, NULL, 0), XF_EIO);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(html);
    free(csv);
    xf_sbuf_free(&b);
    xf_set_fits_free(fits, 1);
    free(dir);
}

/* A study.db made directly with the schema of study/store.h: 8 finished
 * models on e_DS = 0.5 e_US^1.5 + 0.1 at the last layer (layer 1 of 2;
 * layer 0 is worse and must be ignored) and a failed one. */
static void make_study(const char *dir) {
    char path[512], sql[512];
    snprintf(path, sizeof path, "%s/study.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "CREATE TABLE trials(id TEXT PRIMARY KEY, study TEXT, config_json "
                              "TEXT, family TEXT, us_task TEXT, status TEXT, us_acc REAL, params "
                              "INTEGER, flops_per_image REAL, train_flops REAL, seconds REAL, "
                              "error TEXT, finished_at TEXT);"
                              "CREATE TABLE probes(trial_id TEXT, ds_task TEXT, layer INTEGER, "
                              "layer_name TEXT, n_layers INTEGER, shots INTEGER, draw INTEGER, acc "
                              "REAL, PRIMARY KEY (trial_id, ds_task, layer, shots, draw));",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    for (int i = 0; i < 9; i++) {
        double e = 0.1 + 0.05 * i, ds = 1 - (0.5 * pow(e, 1.5) + 0.1);
        snprintf(sql, sizeof sql,
                 "INSERT INTO trials(id, study, family, status, us_acc, params) VALUES "
                 "('t%d', 'demo', 'mlp', '%s', %.17g, 1000)",
                 i, i == 8 ? "failed" : "finished", 1 - e);
        cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
        for (int draw = 0; draw < 2; draw++) /* draws average to ds */
            for (int layer = 0; layer < 2; layer++) {
                snprintf(sql, sizeof sql,
                         "INSERT INTO probes VALUES ('t%d', 'digits', %d, 'l%d', 2, 5, %d, %.17g)",
                         i, layer, layer, draw, ds + (draw ? 0.01 : -0.01) - 0.2 * (1 - layer));
                cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
            }
    }
    sqlite3_close(db);
}

/* Runs a shell command; returns its stdout and stderr together. */
static char *run_capture(const char *cmd, int *rc) {
    char *dir = test_tmpdir(), full[2048], out[600];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(full, sizeof full, "%s > '%s' 2>&1", cmd, out);
    *rc = test_system(full);
    unsigned char *text = NULL;
    size_t size;
    cr_assert_eq(xf_read_file(out, &text, &size), XF_OK);
    remove(out);
    remove(dir);
    free(dir);
    return (char *)text;
}

Test(report, cli_fit_and_report_on_a_study) {
    char *dir = test_tmpdir(), cmd[1024], want[600];
    make_study(dir);
    int rc;
    snprintf(cmd, sizeof cmd, "'%s' fit '%s' --json", test_xfer_bin(), dir);
    char *out = run_capture(cmd, &rc);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"ds_task\":\t\"digits\""), "%s", out);
    cr_assert(strstr(out, "\"us_task\":\t\"\""), "%s", out); /* the trials name none */
    cr_assert(strstr(out, "\"shots\":\t5,"), "%s", out);
    cr_assert(strstr(out, "\"n_points\":\t8,"), "%s", out);
    cr_assert(strstr(out, "\"n_hull\":\t8,"), "%s", out);
    cr_assert(strstr(out, "\"e_ir\":\t0.1000") || strstr(out, "\"e_ir\":\t0.0999"), "%s", out);
    free(out);

    snprintf(cmd, sizeof cmd, "'%s' report '%s'", test_xfer_bin(), dir);
    out = run_capture(cmd, &rc);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(want, sizeof want, "%s/report/index.html\n", dir);
    cr_assert_str_eq(out, want);
    free(out);
    snprintf(want, sizeof want, "%s/report/fits.csv", dir);
    unsigned char *csv;
    size_t size;
    cr_assert_eq(xf_read_file(want, &csv, &size), XF_OK);
    const char *row = strstr((char *)csv, "\n,digits,5,8,8,ok,");
    cr_assert_not_null(row, "%s", csv);
    char *next;
    double k = strtod(row + strlen("\n,digits,5,8,8,ok,"), &next);
    double alpha = strtod(next + 1, &next), e_ir = strtod(next + 1, NULL);
    cr_assert(fabs(k - 0.5) < 1e-6 && fabs(alpha - 1.5) < 1e-6 && fabs(e_ir - 0.1) < 1e-6, "%s",
              csv);
    free(csv);

    snprintf(cmd, sizeof cmd, "'%s' report '%s/nothing'", test_xfer_bin(), dir);
    out = run_capture(cmd, &rc);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "not a study directory"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' fit '%s/report'", test_xfer_bin(), dir);
    out = run_capture(cmd, &rc);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "no study.db in"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}
