#include "support.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mem.h"

/* The library expects GSL's abort-on-error handler off, as xfer's main
 * sets it; every process of the test binary does the same. */
__attribute__((constructor)) static void gsl_errors_as_codes(void) {
    gsl_set_error_handler_off();
}

#include "nn/loss.h"
#include "probe/features.h"

const char *test_root(void) {
    const char *r = getenv("XFER_TEST_ROOT");
    return r ? r : ".";
}

const char *test_xfer_bin(void) {
    const char *b = getenv("XFER_BIN");
    return b ? b : "build/xfer";
}

char *test_tmpdir(void) {
    char templ[] = "/tmp/xfer-test-XXXXXX";
    char *dir = mkdtemp(templ);
    if (!dir) return NULL;
    char *copy = malloc(sizeof templ);
    if (copy) snprintf(copy, sizeof templ, "%s", dir);
    return copy;
}

int test_system(const char *cmd) {
    int st = system(cmd);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int test_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

void test_remove_dir(char *dir) {
    char *cmd = xf_malloc(strlen(dir) + 16);
    cr_assert_not_null(cmd);
    sprintf(cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(cmd);
    free(dir);
}

int test_wait_exit(pid_t pid) {
    int ws;
    while (waitpid(pid, &ws, 0) < 0) {
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

long long test_query(const char *db, const char *sql) {
    sqlite3 *h;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 5000);
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return v;
}

char *test_tmp;

void test_tmp_make(void) {
    test_tmp = test_tmpdir();
    cr_assert_not_null(test_tmp);
}

void test_tmp_remove(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmp);
    test_system(cmd);
    free(test_tmp);
    test_tmp = NULL;
}

const char *test_tmp_path(const char *rel) {
    static char paths[8][1024];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", test_tmp, rel);
    return p;
}

const char *test_tmp_write(const char *rel, const void *data, size_t size) {
    const char *path = test_tmp_path(rel);
    cr_assert_eq(test_write_file(path, data, size), 0, "cannot write %s", path);
    return path;
}

void test_expect_error(xf_status st, xf_status want, const char *needle) {
    const char *msg = xf_error_message();
    cr_assert_eq(st, want, "status %d (%s), expected %d: %s", st, xf_status_name(st), want, msg);
    cr_assert_not_null(strstr(msg, needle), "message lacks '%s': %s", needle, msg);
}

static int capture_fd = -1, capture_saved = -1;
static char capture_path[64];

void test_capture_begin(int fd) {
    fflush(stdout);
    fflush(stderr);
    snprintf(capture_path, sizeof capture_path, "/tmp/xfer-capture-XXXXXX");
    int tmp = mkstemp(capture_path);
    cr_assert(tmp >= 0);
    capture_saved = dup(fd);
    capture_fd = fd;
    dup2(tmp, fd);
    close(tmp);
}

char *test_capture_end(void) {
    fflush(stdout);
    fflush(stderr);
    dup2(capture_saved, capture_fd);
    close(capture_saved);
    unsigned char *text = NULL;
    size_t size = 0;
    cr_assert_eq(xf_read_file(capture_path, &text, &size), XF_OK); /* NUL-terminated */
    unlink(capture_path);
    return (char *)text;
}

void test_expect_bad_config(const xf_model_config *cfg, const char *needle) {
    xf_model m;
    test_expect_error(xf_model_init(&m, cfg), XF_EINVAL, needle);
}

void test_expect_bad_json(const char *json, const char *needle) {
    xf_model_config cfg;
    test_expect_error(xf_model_config_from_json(json, &cfg), XF_EFORMAT, needle);
}

static size_t image_size(const xf_model_config *cfg) {
    return (size_t)cfg->height * cfg->width * cfg->channels;
}

void test_grad_case_init(test_grad_case *c, const xf_model_config *cfg, int batch,
                         uint64_t seed) {
    cr_assert_eq(xf_model_init(&c->m, cfg), XF_OK, "%s", xf_error_message());
    size_t nx = (size_t)batch * image_size(cfg);
    c->batch = batch;
    c->x = malloc(sizeof(double) * nx);
    c->labels = malloc(sizeof(int32_t) * (size_t)batch);
    c->params = malloc(sizeof(double) * c->m.n_params);
    cr_assert(c->x && c->labels && c->params);
    xf_rng_seed(&c->rng, seed);
    for (size_t i = 0; i < nx; i++) c->x[i] = 2 * xf_rng_uniform(&c->rng) - 1;
    for (int i = 0; i < batch; i++) c->labels[i] = (int32_t)xf_rng_below(&c->rng, cfg->n_classes);
    for (size_t i = 0; i < c->m.n_params; i++) c->params[i] = xf_rng_uniform(&c->rng) - 0.5;
}

void test_grad_case_free(test_grad_case *c) {
    free(c->x);
    free(c->labels);
    free(c->params);
    xf_model_free(&c->m);
}

double test_grad_case_loss(test_grad_case *c) {
    double loss;
    cr_assert_eq(xf_model_loss_f64(&c->m, c->params, c->x, c->labels, c->batch, &loss, NULL),
                 XF_OK, "%s", xf_error_message());
    return loss;
}

void test_check_gradients(test_grad_case *c, double min_scale, double max_rel,
                          const char *vanishing) {
    double *grads = calloc(c->m.n_params, sizeof(double)), loss;
    cr_assert_eq(xf_model_loss_f64(&c->m, c->params, c->x, c->labels, c->batch, &loss, grads),
                 XF_OK, "%s", xf_error_message());
    cr_assert_float_eq(loss, test_grad_case_loss(c), 1e-15);
    const double h = 1e-6;
    for (int t = 0; t < c->m.n_tensors; t++) {
        const xf_tensor_info *ti = &c->m.tensors[t];
        double worst = 0, scale = 0;
        for (size_t j = 0; j < ti->numel; j++) {
            double *p = &c->params[ti->offset + j], keep = *p;
            *p = keep + h;
            double up = test_grad_case_loss(c);
            *p = keep - h;
            double down = test_grad_case_loss(c);
            *p = keep;
            double numeric = (up - down) / (2 * h);
            worst = fmax(worst, fabs(numeric - grads[ti->offset + j]));
            scale = fmax(scale, fabs(numeric));
        }
        if (vanishing && strstr(ti->name, vanishing)) {
            cr_assert_lt(scale, 1e-9, "%s: gradient should vanish", ti->name);
            cr_assert_lt(worst, 1e-9, "%s: analytic gradient %g", ti->name, worst);
            continue;
        }
        cr_assert_gt(scale, min_scale, "%s: gradient is all ~0, the check would prove nothing",
                     ti->name);
        cr_assert_lt(worst / scale, max_rel, "%s: max error %g against max gradient %g",
                     ti->name, worst, scale);
    }
    free(grads);
}

test_float_gap test_float_against_double(test_grad_case *c, int reserve) {
    xf_model *m = &c->m;
    for (size_t i = 0; i < m->n_params; i++) {
        m->params[i] = (float)c->params[i];
        c->params[i] = m->params[i];
    }
    test_float_gap gap = {0};
    double *grads = calloc(m->n_params, sizeof(double));
    cr_assert_eq(xf_model_loss_f64(m, c->params, c->x, c->labels, c->batch, &gap.loss_f64, grads),
                 XF_OK, "%s", xf_error_message());
    size_t nx = (size_t)c->batch * image_size(&m->config);
    size_t out = (size_t)c->batch * m->config.n_classes;
    float *x = malloc(sizeof(float) * nx), *logits = malloc(sizeof(float) * out);
    float *dlogits = malloc(sizeof(float) * out);
    for (size_t i = 0; i < nx; i++) x[i] = (float)c->x[i];
    cr_assert_eq(xf_model_reserve(m, reserve), XF_OK, "%s", xf_error_message());
    xf_model_forward(m, x, c->batch, logits);
    gap.loss = xf_softmax_xent(logits, c->labels, c->batch, m->config.n_classes, dlogits);
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] = 1;
    xf_model_backward(m, dlogits, c->batch);
    for (size_t i = 0; i < m->n_params; i++) {
        gap.scale = fmax(gap.scale, fabs(grads[i]));
        gap.worst = fmax(gap.worst, fabs(m->grads[i] - 1 - grads[i]));
    }
    free(x);
    free(logits);
    free(dlogits);
    free(grads);
    return gap;
}

void test_check_head(const xf_model *m, const char *head, const float *logits, int batch,
                     double tol) {
    char name[XF_NAME_LEN];
    snprintf(name, sizeof name, "%s.weight", head);
    const xf_tensor_info *w = xf_model_find_tensor(m, name);
    snprintf(name, sizeof name, "%s.bias", head);
    const xf_tensor_info *b = xf_model_find_tensor(m, name);
    cr_assert(w && b, "no %s.weight and %s.bias", head, head);
    int classes = m->config.n_classes, dim = m->tap_dims[m->n_taps - 1];
    const float *pre = xf_model_tap(m, m->n_taps - 1);
    for (int i = 0; i < batch; i++)
        for (int k = 0; k < classes; k++) {
            double s = m->params[b->offset + k];
            for (int j = 0; j < dim; j++)
                s += (double)m->params[w->offset + k * dim + j] * pre[i * dim + j];
            cr_assert_float_eq(logits[i * classes + k], s, tol, "image %d class %d", i, k);
        }
}

/* n images of cfg's shape, pixel i = (i * step) % 256, into ds, and as the
 * model sees them into x (n x H x W x C floats). */
static void pixel_images(xf_dataset *ds, float *x, int n, const xf_model_config *cfg, int step) {
    cr_assert_eq(xf_dataset_alloc(ds, "pixels", n, cfg->height, cfg->width, cfg->channels,
                                  cfg->n_classes),
                 XF_OK, "%s", xf_error_message());
    size_t size = image_size(cfg);
    for (size_t i = 0; i < (size_t)n * size; i++) {
        ds->images[i] = (uint8_t)(i * step % 256);
        ds->labels[i / size] = 0;
        x[i] = xf_pixel_to_float(ds->images[i]);
    }
}

/* After a forward with taps on ds's images: the extraction gives the same
 * rows for every tap. */
static void check_features(xf_model *m, const xf_dataset *ds) {
    float **taps = calloc((size_t)m->n_taps, sizeof *taps);
    cr_assert_not_null(taps);
    for (int t = 0; t < m->n_taps; t++) {
        size_t size = sizeof(float) * (size_t)ds->n * m->tap_dims[t];
        taps[t] = malloc(size);
        memcpy(taps[t], xf_model_tap(m, t), size);
    }
    xf_features f;
    cr_assert_eq(xf_features_extract(m, ds, NULL, ds->n, &f), XF_OK, "%s", xf_error_message());
    cr_assert_eq(f.n_taps, m->n_taps);
    for (int t = 0; t < m->n_taps; t++) {
        cr_assert_eq(f.dims[t], m->tap_dims[t]);
        for (size_t i = 0; i < (size_t)ds->n * m->tap_dims[t]; i++)
            cr_assert_float_eq(f.data[t][i], taps[t][i], 1e-6, "%s row %zu", m->tap_names[t],
                               i / (size_t)m->tap_dims[t]);
        free(taps[t]);
    }
    free(taps);
    xf_features_free(&f);
}

void test_check_block_taps(xf_model *m, const xf_model_config *cfg, uint64_t seed, int n_taps,
                           int step) {
    cr_assert_eq(xf_model_init(m, cfg), XF_OK, "%s", xf_error_message());
    xf_model_init_weights(m, seed);
    cr_assert_eq(m->n_taps, n_taps);
    for (int t = 0; t + 1 < n_taps; t++) {
        char name[32];
        cr_assert_lt(snprintf(name, sizeof name, "block%d", t), (int)sizeof name);
        cr_assert_str_eq(m->tap_names[t], name);
    }
    cr_assert_str_eq(m->tap_names[n_taps - 1], "prelogits");
    enum { N = 3 };
    xf_dataset ds;
    float *x = malloc(sizeof(float) * N * image_size(cfg));
    float *logits = malloc(sizeof(float) * N * (size_t)cfg->n_classes);
    pixel_images(&ds, x, N, cfg, step);
    cr_assert_eq(xf_model_reserve(m, N), XF_OK);
    m->taps_enabled = true;
    xf_model_forward(m, x, N, logits);
    test_check_head(m, "head", logits, N, 1e-5);
    /* The extraction turns the taps on itself. */
    m->taps_enabled = false;
    check_features(m, &ds);
    xf_dataset_free(&ds);
    free(x);
    free(logits);
}

void test_check_groups(const xf_model *m) {
    for (int t = 0; t < m->n_tensors; t++)
        cr_assert_eq(m->tensors[t].group,
                     strncmp(m->tensors[t].name, "head.", 5) ? XF_GROUP_BODY : XF_GROUP_HEAD, "%s",
                     m->tensors[t].name);
}
