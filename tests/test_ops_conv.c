/* The convolutional ops: conv2d (im2col + gemm against the direct loops,
 * strides, padding, chunking), group and batch normalisation (training
 * and evaluation, running statistics), weight standardisation and spatial
 * pooling, each with gradients against central differences in double. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/rng.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/groupnorm.h"
#include "nn/spatial_pool.h"
#include "nn/wstd.h"

static void fill(xf_rng *rng, double *v, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) v[i] = scale * (2 * xf_rng_uniform(rng) - 1);
}

/* The scalar the checks differentiate: sum r_i y_i for fixed random r. */
typedef double (*objective)(void *ctx);

/* Compares analytic[i] with the central difference of f in v[i]; the
 * error is relative to the largest gradient. */
static void check_grad(const char *what, double *v, size_t n, const double *analytic,
                       objective f, void *ctx) {
    const double h = 1e-6;
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + h;
        double up = f(ctx);
        v[i] = keep - h;
        double down = f(ctx);
        v[i] = keep;
        double num = (up - down) / (2 * h);
        worst = fmax(worst, fabs(num - analytic[i]));
        scale = fmax(scale, fabs(num));
    }
    cr_assert_gt(scale, 1e-4, "%s: gradient is all ~0", what);
    cr_assert_lt(worst / scale, 1e-7, "%s: max error %g against max gradient %g", what, worst,
                 scale);
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- conv2d ---- */

typedef struct {
    xf_conv2d_geom g;
    double *x, *w, *y, *r, *cols;
    size_t nx, nw, ny, cap;
} conv_case;

static conv_case conv_case_new(int batch, int h, int w, int cin, int cout, int k, int stride,
                               int pad, int chunk) {
    conv_case c;
    c.g = xf_conv2d_geometry(batch, h, w, cin, cout, k, stride, pad);
    c.nx = (size_t)batch * h * w * cin;
    c.nw = (size_t)cout * cin * k * k;
    c.ny = (size_t)batch * c.g.oh * c.g.ow * cout;
    c.cap = xf_conv2d_cols_size(&c.g, chunk);
    c.x = malloc(sizeof(double) * c.nx);
    c.w = malloc(sizeof(double) * c.nw);
    c.y = malloc(sizeof(double) * c.ny);
    c.r = malloc(sizeof(double) * c.ny);
    c.cols = malloc(sizeof(double) * (c.cap + 1));
    xf_rng rng;
    xf_rng_seed(&rng, (uint64_t)(h * 131 + k * 7 + stride));
    fill(&rng, c.x, c.nx, 1);
    fill(&rng, c.w, c.nw, 1);
    fill(&rng, c.r, c.ny, 1);
    return c;
}

static void conv_case_free(conv_case *c) {
    free(c->x);
    free(c->w);
    free(c->y);
    free(c->r);
    free(c->cols);
}

static double conv_objective(void *ctx) {
    conv_case *c = ctx;
    xf_conv2d_forward_f64(&c->g, c->x, c->w, c->y, c->cols, c->cap);
    return dot(c->y, c->r, c->ny);
}

static const int geoms[][9] = {
    /* batch, h, w, cin, cout, k, stride, pad, images per chunk */
    {2, 5, 4, 3, 4, 3, 1, 1, 2}, {3, 7, 5, 2, 3, 3, 2, 1, 2}, {2, 6, 6, 3, 5, 1, 2, 0, 1},
    {2, 3, 4, 4, 2, 1, 1, 0, 1}, {2, 5, 5, 2, 2, 3, 1, 0, 1}, {1, 4, 6, 1, 3, 3, 2, 2, 1},
};

Test(ops_conv, conv2d_gradients_match_central_differences_in_double) {
    for (size_t t = 0; t < sizeof geoms / sizeof geoms[0]; t++) {
        const int *q = geoms[t];
        conv_case c = conv_case_new(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8]);
        double *dx = malloc(sizeof(double) * c.nx), *dw = calloc(c.nw, sizeof(double));
        xf_conv2d_forward_f64(&c.g, c.x, c.w, c.y, c.cols, c.cap);
        xf_conv2d_backward_f64(&c.g, c.x, c.w, c.r, dx, dw, c.cols, c.cap);
        check_grad("conv2d dx", c.x, c.nx, dx, conv_objective, &c);
        check_grad("conv2d dw", c.w, c.nw, dw, conv_objective, &c);
        free(dx);
        free(dw);
        conv_case_free(&c);
    }
}

/* The float fast path (any chunking) equals the direct loops. */
Test(ops_conv, conv2d_im2col_matches_naive_direct_convolution) {
    for (size_t t = 0; t < sizeof geoms / sizeof geoms[0]; t++) {
        const int *q = geoms[t];
        for (int chunk = 1; chunk <= q[0]; chunk++) {
            conv_case c = conv_case_new(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], chunk);
            float *x = malloc(sizeof(float) * c.nx), *w = malloc(sizeof(float) * c.nw);
            float *dy = malloc(sizeof(float) * c.ny), *y1 = malloc(sizeof(float) * c.ny);
            float *y2 = malloc(sizeof(float) * c.ny), *dx1 = malloc(sizeof(float) * c.nx);
            float *dx2 = malloc(sizeof(float) * c.nx), *dw1 = malloc(sizeof(float) * c.nw);
            float *dw2 = malloc(sizeof(float) * c.nw), *cols = malloc(sizeof(float) * (c.cap + 1));
            for (size_t i = 0; i < c.nx; i++) x[i] = (float)c.x[i];
            for (size_t i = 0; i < c.nw; i++) w[i] = (float)c.w[i];
            for (size_t i = 0; i < c.ny; i++) dy[i] = (float)c.r[i];
            for (size_t i = 0; i < c.nw; i++) dw1[i] = dw2[i] = 0.5f; /* accumulated onto */
            xf_conv2d_forward(&c.g, x, w, y1, cols, c.cap);
            xf_conv2d_forward_naive(&c.g, x, w, y2);
            xf_conv2d_backward(&c.g, x, w, dy, dx1, dw1, cols, c.cap);
            xf_conv2d_backward_naive(&c.g, x, w, dy, dx2, dw2);
            for (size_t i = 0; i < c.ny; i++) cr_assert_float_eq(y1[i], y2[i], 1e-5, "geom %zu", t);
            for (size_t i = 0; i < c.nx; i++)
                cr_assert_float_eq(dx1[i], dx2[i], 1e-5, "geom %zu", t);
            for (size_t i = 0; i < c.nw; i++)
                cr_assert_float_eq(dw1[i], dw2[i], 1e-4, "geom %zu", t);
            free(x), free(w), free(dy), free(y1), free(y2), free(dx1), free(dx2), free(dw1),
                free(dw2), free(cols);
            conv_case_free(&c);
        }
    }
}

/* Largest |a - ref| over n entries, relative to the largest |ref|. */
static double max_rel_err(const float *a, const double *ref, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(a[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
    }
    return worst / fmax(scale, 1e-30);
}

/* The direct float kernels against the double naive loops on the same
 * inputs. Forward: output channels in blocks of 16 (tiles of one and two
 * blocks, a 48-channel conv that takes both), rows wider than a tile,
 * strides 1 to 3. Backward (input channels in blocks of 16, output
 * channels in 8s): dx as the transposed convolution (stride 1) or
 * scattered tap by tap (strides 2 and 3, padding past k - 1, 1x1), weight
 * gradients over kernel rows of 1, 3 and 5 taps; with no dx asked for, a
 * grayscale first layer's weight gradient with vectors over output
 * channels. Then shapes the direct paths leave to im2col + gemm (a 96 ->
 * 96 channel conv among them, for its weight's size). Each with
 * 1 and 3 threads, the later ones summing their own share of the weight
 * gradient; and with a residual added to y (held apart or in y) and dx
 * accumulated. */
Test(ops_conv, conv2d_direct_kernels_match_double_reference) {
    static const int direct_geoms[][8] = {
        /* batch, h, w, cin, cout, k, stride, pad */
        {2, 7, 9, 16, 16, 3, 1, 1}, {3, 8, 7, 16, 32, 3, 2, 1},  {1, 5, 13, 32, 16, 3, 1, 1},
        {2, 3, 31, 16, 48, 3, 1, 1}, {2, 6, 5, 16, 8, 3, 1, 1},  {2, 9, 8, 32, 24, 3, 2, 1},
        {2, 8, 8, 16, 32, 1, 2, 0}, {2, 5, 6, 16, 16, 3, 1, 3},  {1, 9, 11, 16, 16, 5, 1, 2},
        {2, 10, 7, 16, 16, 3, 3, 1}, {2, 10, 7, 16, 8, 3, 3, 1}, {2, 4, 1, 16, 16, 3, 1, 1},
        {2, 9, 30, 1, 32, 3, 1, 1}, {2, 6, 7, 1, 16, 5, 1, 2},
        /* left to im2col + gemm, forward or backward or both; the last for
         * its weight, larger than the direct kernels stream well */
        {2, 6, 5, 3, 16, 3, 1, 0},  {1, 4, 4, 1, 16, 3, 1, 1},   {2, 5, 5, 8, 12, 3, 1, 1},
        {1, 4, 3, 96, 96, 3, 1, 1},
    };
    int threads_were = xf_blas_threads();
    for (size_t t = 0; t < sizeof direct_geoms / sizeof direct_geoms[0]; t++) {
        const int *q = direct_geoms[t];
        conv_case c = conv_case_new(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[0]);
        float *x = malloc(sizeof(float) * c.nx), *w = malloc(sizeof(float) * c.nw);
        float *dy = malloc(sizeof(float) * c.ny), *y = malloc(sizeof(float) * c.ny);
        float *dx = malloc(sizeof(float) * c.nx), *dw = malloc(sizeof(float) * c.nw);
        float *cols = malloc(sizeof(float) * c.cap), *r = malloc(sizeof(float) * c.ny);
        double *dx_ref = malloc(sizeof(double) * c.nx), *dw_ref = malloc(sizeof(double) * c.nw);
        double *y_plus = malloc(sizeof(double) * c.ny), *dx_plus = malloc(sizeof(double) * c.nx);
        /* The reference sees the float inputs exactly. */
        for (size_t i = 0; i < c.nx; i++) c.x[i] = x[i] = (float)c.x[i];
        for (size_t i = 0; i < c.nw; i++) c.w[i] = w[i] = (float)c.w[i];
        for (size_t i = 0; i < c.ny; i++) c.r[i] = dy[i] = (float)c.r[i];
        xf_conv2d_forward_naive_f64(&c.g, c.x, c.w, c.y);
        for (size_t i = 0; i < c.nw; i++) dw_ref[i] = 0.5; /* accumulated onto */
        xf_conv2d_backward_naive_f64(&c.g, c.x, c.w, c.r, dx_ref, dw_ref);
        /* The residual r and the gradient dx already holds: 0.25 (i mod 5). */
        for (size_t i = 0; i < c.ny; i++) y_plus[i] = c.y[i] + (r[i] = 0.25f * (float)(i % 5));
        for (size_t i = 0; i < c.nx; i++) dx_plus[i] = dx_ref[i] + 0.25 * (double)(i % 5);
        for (int threads = 1; threads <= 3; threads += 2) {
            xf_blas_set_threads(threads);
            for (size_t i = 0; i < c.nw; i++) dw[i] = 0.5f;
            xf_conv2d_forward(&c.g, x, w, y, cols, c.cap);
            xf_conv2d_backward(&c.g, x, w, dy, dx, dw, cols, c.cap);
            cr_assert_lt(max_rel_err(y, c.y, c.ny), 1e-5, "geom %zu, %d threads: y", t, threads);
            cr_assert_lt(max_rel_err(dx, dx_ref, c.nx), 1e-5, "geom %zu, %d threads: dx", t,
                         threads);
            cr_assert_lt(max_rel_err(dw, dw_ref, c.nw), 1e-5, "geom %zu, %d threads: dw", t,
                         threads);
            for (size_t i = 0; i < c.nw; i++) dw[i] = 0.5f;
            xf_conv2d_backward(&c.g, x, w, dy, NULL, dw, cols, c.cap);
            cr_assert_lt(max_rel_err(dw, dw_ref, c.nw), 1e-5, "geom %zu, %d threads: dw alone",
                         t, threads);
            xf_conv2d_forward_add(&c.g, x, w, r, y, cols, c.cap);
            cr_assert_lt(max_rel_err(y, y_plus, c.ny), 1e-5, "geom %zu: y + r", t);
            memcpy(y, r, sizeof(float) * c.ny);
            xf_conv2d_forward_add(&c.g, x, w, y, y, cols, c.cap);
            cr_assert_lt(max_rel_err(y, y_plus, c.ny), 1e-5, "geom %zu: y += conv", t);
            for (size_t i = 0; i < c.nx; i++) dx[i] = 0.25f * (float)(i % 5);
            for (size_t i = 0; i < c.nw; i++) dw[i] = 0.5f;
            xf_conv2d_backward_add(&c.g, x, w, dy, dx, dw, cols, c.cap);
            cr_assert_lt(max_rel_err(dx, dx_plus, c.nx), 1e-5, "geom %zu: dx +=", t);
            cr_assert_lt(max_rel_err(dw, dw_ref, c.nw), 1e-5, "geom %zu: dw with dx +=", t);
        }
        free(x), free(w), free(dy), free(y), free(dx), free(dw), free(cols), free(dx_ref),
            free(dw_ref), free(r), free(y_plus), free(dx_plus);
        conv_case_free(&c);
    }
    xf_blas_set_threads(threads_were);
}

/* A hand-computed case: a 3x3 all-ones kernel over a 3x3 ramp, padded,
 * stride 2, gives the sums of the corner 2x2 windows. */
Test(ops_conv, conv2d_hand_example) {
    xf_conv2d_geom g = xf_conv2d_geometry(1, 3, 3, 1, 1, 3, 2, 1);
    cr_assert_eq(g.oh, 2);
    cr_assert_eq(g.ow, 2);
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9], y[4];
    size_t cap = xf_conv2d_cols_size(&g, 1);
    float *cols = malloc(sizeof(float) * cap);
    for (int i = 0; i < 9; i++) w[i] = 1;
    xf_conv2d_forward(&g, x, w, y, cols, cap);
    free(cols);
    cr_assert_float_eq(y[0], 1 + 2 + 4 + 5, 1e-6);
    cr_assert_float_eq(y[1], 2 + 3 + 5 + 6, 1e-6);
    cr_assert_float_eq(y[2], 4 + 5 + 7 + 8, 1e-6);
    cr_assert_float_eq(y[3], 5 + 6 + 8 + 9, 1e-6);
}

/* ---- group normalisation ---- */

enum { GN_N = 2, GN_HW = 3, GN_C = 6, GN_G = 3, GN_SIZE = GN_N * GN_HW * GN_C };

typedef struct {
    double x[GN_SIZE], gamma[GN_C], beta[GN_C], y[GN_SIZE], r[GN_SIZE];
    double mean[GN_N * GN_G], rstd[GN_N * GN_G], work[3 * GN_C];
    bool relu;
} gn_case;

static double gn_objective(void *ctx) {
    gn_case *c = ctx;
    xf_groupnorm_forward_f64(c->x, c->gamma, c->beta, c->y, c->mean, c->rstd, c->work, GN_N,
                             GN_HW, GN_C, GN_G, 1e-5, c->relu);
    return dot(c->y, c->r, GN_SIZE);
}

Test(ops_conv, groupnorm_gradients_match_central_differences_in_double) {
    for (int relu = 0; relu < 2; relu++) {
        gn_case c = {.relu = relu};
        xf_rng rng;
        xf_rng_seed(&rng, 3);
        fill(&rng, c.x, GN_SIZE, 2);
        fill(&rng, c.gamma, GN_C, 1.5);
        fill(&rng, c.beta, GN_C, 0.5);
        fill(&rng, c.r, GN_SIZE, 1);
        double dx[GN_SIZE], dg[GN_C] = {0}, dbeta[GN_C] = {0};
        gn_objective(&c);
        /* In place: dx aliases dy. */
        memcpy(dx, c.r, sizeof dx);
        xf_groupnorm_backward_f64(c.x, c.gamma, c.mean, c.rstd, c.y, dx, dx, dg, dbeta, c.work,
                                  GN_N, GN_HW, GN_C, GN_G, relu);
        check_grad("groupnorm dx", c.x, GN_SIZE, dx, gn_objective, &c);
        check_grad("groupnorm dgamma", c.gamma, GN_C, dg, gn_objective, &c);
        check_grad("groupnorm dbeta", c.beta, GN_C, dbeta, gn_objective, &c);
    }
}

/* Each (image, group) of the output has mean beta and variance gamma^2
 * when gamma and beta are the same over the group. */
Test(ops_conv, groupnorm_normalises_each_group) {
    float x[GN_SIZE], y[GN_SIZE], gamma[GN_C], beta[GN_C], mean[GN_N * GN_G], rstd[GN_N * GN_G];
    double work[3 * GN_C];
    for (int i = 0; i < GN_SIZE; i++) x[i] = (float)((i * 7) % 11) - 3;
    for (int j = 0; j < GN_C; j++) gamma[j] = 2, beta[j] = 0.5f;
    xf_groupnorm_forward(x, gamma, beta, y, mean, rstd, work, GN_N, GN_HW, GN_C, GN_G, 1e-5f,
                         false);
    int cg = GN_C / GN_G;
    for (int b = 0; b < GN_N; b++)
        for (int g = 0; g < GN_G; g++) {
            double s = 0, ss = 0;
            for (int p = 0; p < GN_HW; p++)
                for (int j = g * cg; j < (g + 1) * cg; j++) {
                    double v = y[(b * GN_HW + p) * GN_C + j];
                    s += v;
                    ss += v * v;
                }
            double n = GN_HW * cg, mu = s / n;
            cr_assert_float_eq(mu, 0.5, 1e-5);
            cr_assert_float_eq(ss / n - mu * mu, 4.0, 1e-3);
        }
}

/* GroupNorm (+ ReLU) forward and backward by the definition, in double:
 * x, dy: [n, hw, c] -> y, dx, and dgamma, dbeta (written). */
static void groupnorm_by_definition(const double *x, const double *gamma, const double *beta,
                                    const double *dy, double *y, double *dx, double *dgamma,
                                    double *dbeta, int n, int hw, int c, int groups, bool relu) {
    int cg = c / groups;
    double count = (double)hw * cg;
    for (int j = 0; j < c; j++) dgamma[j] = dbeta[j] = 0;
    for (int b = 0; b < n; b++)
        for (int g = 0; g < groups; g++) {
            double s = 0, ss = 0, sg = 0, sgx = 0;
#define GN_EACH(...)                                                                        \
    for (int p = 0; p < hw; p++)                                                            \
        for (int j = g * cg; j < (g + 1) * cg; j++) {                                       \
            size_t i = ((size_t)b * hw + p) * c + j;                                        \
            __VA_ARGS__;                                                                    \
        }
            GN_EACH(s += x[i]);
            double mu = s / count;
            GN_EACH(ss += (x[i] - mu) * (x[i] - mu));
            double r = 1 / sqrt(ss / count + 1e-5);
            GN_EACH({
                double xhat = (x[i] - mu) * r, v = xhat * gamma[j] + beta[j];
                y[i] = relu && v < 0 ? 0 : v;
                double d = relu && v <= 0 ? 0 : dy[i];
                dgamma[j] += d * xhat;
                dbeta[j] += d;
                sg += d * gamma[j];
                sgx += d * gamma[j] * xhat;
            });
            GN_EACH({
                double xhat = (x[i] - mu) * r, d = relu && y[i] <= 0 ? 0 : dy[i];
                dx[i] = r * (d * gamma[j] - sg / count - xhat * sgx / count);
            });
#undef GN_EACH
        }
}

/* Both instances of the group norm (16 channels per vector, a channel at a
 * time past the last full vector, coefficients 64 channels at a time)
 * against the definition, on shapes that take each path and inputs far
 * from zero mean; the backward in place (dx = dy, as the resnet calls it)
 * and not, and the float one also adding a residual's gradient (held apart
 * or in dx). */
Test(ops_conv, groupnorm_matches_definition_in_float_and_double) {
    static const int shapes[][4] = {
        /* images, positions, channels, groups */
        {2, 5, 6, 3}, {2, 9, 16, 16}, {3, 7, 24, 8}, {2, 13, 40, 20}, {2, 11, 80, 16},
    };
    enum { MAX = 3 * 13 * 80, MAX_C = 80 };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int relu = 0; relu < 2; relu++) {
            int n = shapes[s][0], hw = shapes[s][1], c = shapes[s][2], groups = shapes[s][3];
            size_t size = (size_t)n * hw * c;
            static double x[MAX], dy[MAX], y_ref[MAX], dx_ref[MAX], yd[MAX], dxd[MAX];
            static float xf[MAX], yf[MAX], dyf[MAX], dxf[MAX], resf[MAX];
            double gamma[MAX_C], beta[MAX_C], dg_ref[MAX_C], db_ref[MAX_C], work[3 * MAX_C];
            double dgd[MAX_C] = {0}, dbd[MAX_C] = {0}, meand[3 * MAX_C], rstdd[3 * MAX_C];
            float gf[MAX_C], bf[MAX_C], dgf[MAX_C] = {0}, dbf[MAX_C] = {0};
            float meanf[3 * MAX_C], rstdf[3 * MAX_C];
            xf_rng rng;
            xf_rng_seed(&rng, 11 + s);
            fill(&rng, x, size, 2);
            fill(&rng, dy, size, 1);
            fill(&rng, gamma, c, 1.5);
            fill(&rng, beta, c, 0.5);
            /* Float-exact inputs, so that both instances see the same. */
            for (size_t i = 0; i < size; i++) x[i] = xf[i] = (float)(x[i] + 3);
            for (size_t i = 0; i < size; i++) dy[i] = dyf[i] = (float)dy[i];
            for (int j = 0; j < c; j++) gamma[j] = gf[j] = (float)gamma[j];
            for (int j = 0; j < c; j++) beta[j] = bf[j] = (float)beta[j];
            groupnorm_by_definition(x, gamma, beta, dy, y_ref, dx_ref, dg_ref, db_ref, n, hw, c,
                                    groups, relu);
            xf_groupnorm_forward_f64(x, gamma, beta, yd, meand, rstdd, work, n, hw, c, groups,
                                     1e-5, relu);
            xf_groupnorm_backward_f64(x, gamma, meand, rstdd, yd, dy, dxd, dgd, dbd, work, n, hw,
                                      c, groups, relu);
            xf_groupnorm_forward(xf, gf, bf, yf, meanf, rstdf, work, n, hw, c, groups, 1e-5f,
                                 relu);
            if (relu) {
                memcpy(dxf, dyf, sizeof(float) * size);
                xf_groupnorm_backward(xf, gf, meanf, rstdf, yf, dxf, dxf, dgf, dbf, work, n, hw,
                                      c, groups, relu);
            } else {
                xf_groupnorm_backward(xf, gf, meanf, rstdf, yf, dyf, dxf, dgf, dbf, work, n, hw,
                                      c, groups, relu);
            }
            double worst_d = 0;
            for (size_t i = 0; i < size; i++)
                worst_d = fmax(worst_d, fmax(fabs(yd[i] - y_ref[i]), fabs(dxd[i] - dx_ref[i])));
            for (int j = 0; j < c; j++)
                worst_d = fmax(worst_d, fmax(fabs(dgd[j] - dg_ref[j]), fabs(dbd[j] - db_ref[j])));
            cr_assert_lt(worst_d, 1e-9, "shape %zu relu %d: double off by %g", s, relu, worst_d);
            cr_assert_lt(max_rel_err(yf, y_ref, size), 1e-6, "shape %zu relu %d: y", s, relu);
            cr_assert_lt(max_rel_err(dxf, dx_ref, size), 1e-5, "shape %zu relu %d: dx", s, relu);
            cr_assert_lt(max_rel_err(dgf, dg_ref, c), 1e-5, "shape %zu relu %d: dgamma", s, relu);
            cr_assert_lt(max_rel_err(dbf, db_ref, c), 1e-5, "shape %zu relu %d: dbeta", s, relu);
            /* dx = dx_ref + res: res = 0.5 (i mod 3) apart (relu) or in dx. */
            for (size_t i = 0; i < size; i++) {
                resf[i] = 0.5f * (float)(i % 3);
                dx_ref[i] += resf[i];
            }
            if (relu) {
                memcpy(dxf, dyf, sizeof(float) * size);
                xf_groupnorm_backward_add(xf, gf, meanf, rstdf, yf, dxf, resf, dxf, dgf, dbf,
                                          work, n, hw, c, groups, relu);
            } else {
                memcpy(dxf, resf, sizeof(float) * size);
                xf_groupnorm_backward_add(xf, gf, meanf, rstdf, yf, dyf, dxf, dxf, dgf, dbf,
                                          work, n, hw, c, groups, relu);
            }
            cr_assert_lt(max_rel_err(dxf, dx_ref, size), 1e-5, "shape %zu relu %d: dx + res", s,
                         relu);
        }
}

/* ---- batch normalisation ---- */

enum { BN_ROWS = 7, BN_C = 3, BN_SIZE = BN_ROWS * BN_C };

typedef struct {
    double x[BN_SIZE], gamma[BN_C], beta[BN_C], y[BN_SIZE], r[BN_SIZE];
    double mean[BN_C], rstd[BN_C], rm[BN_C], rv[BN_C], work[2 * BN_C];
    bool training, relu;
} bn_case;

static double bn_objective(void *ctx) {
    bn_case *c = ctx;
    /* Training leaves the running statistics alone here (NULL). */
    xf_batchnorm_forward_f64(c->x, c->gamma, c->beta, c->y, c->mean, c->rstd,
                             c->training ? NULL : c->rm, c->training ? NULL : c->rv, c->work,
                             BN_ROWS, BN_C, 1e-5, 0.1, c->training, c->relu);
    return dot(c->y, c->r, BN_SIZE);
}

Test(ops_conv, batchnorm_gradients_match_central_differences_in_double) {
    for (int mode = 0; mode < 4; mode++) {
        bn_case c = {.training = mode & 1, .relu = mode >> 1};
        xf_rng rng;
        xf_rng_seed(&rng, 9);
        fill(&rng, c.x, BN_SIZE, 2);
        fill(&rng, c.gamma, BN_C, 1.5);
        fill(&rng, c.beta, BN_C, 0.5);
        fill(&rng, c.r, BN_SIZE, 1);
        fill(&rng, c.rm, BN_C, 0.5);
        for (int j = 0; j < BN_C; j++) c.rv[j] = 0.5 + j;
        double dx[BN_SIZE], dg[BN_C] = {0}, dbeta[BN_C] = {0};
        bn_objective(&c);
        memcpy(dx, c.r, sizeof dx);
        xf_batchnorm_backward_f64(c.x, c.gamma, c.mean, c.rstd, c.y, dx, dx, dg, dbeta, c.work,
                                  BN_ROWS, BN_C, c.training, c.relu);
        check_grad("batchnorm dx", c.x, BN_SIZE, dx, bn_objective, &c);
        check_grad("batchnorm dgamma", c.gamma, BN_C, dg, bn_objective, &c);
        check_grad("batchnorm dbeta", c.beta, BN_C, dbeta, bn_objective, &c);
    }
}

/* Training moves the running statistics 10% towards the batch mean and the
 * unbiased variance (PyTorch); evaluation then normalises with them. */
Test(ops_conv, batchnorm_running_statistics) {
    float x[4 * 2] = {1, 10, 2, 20, 3, 30, 6, 40}, y[8], gamma[2] = {1, 1}, beta[2] = {0, 0};
    float mean[2], rstd[2], rm[2] = {0, 1}, rv[2] = {1, 2};
    double work[4];
    xf_batchnorm_forward(x, gamma, beta, y, mean, rstd, rm, rv, work, 4, 2, 1e-5f, 0.1f, true,
                         false);
    /* channel 0: mean 3, biased var 3.5, unbiased 14/3; channel 1: mean 25, unbiased 500/3 */
    cr_assert_float_eq(mean[0], 3, 1e-6);
    cr_assert_float_eq(rstd[0], 1 / sqrt(3.5 + 1e-5), 1e-6);
    cr_assert_float_eq(rm[0], 0.3, 1e-6);
    cr_assert_float_eq(rm[1], 0.9 * 1 + 2.5, 1e-5);
    cr_assert_float_eq(rv[0], 0.9 + 0.1 * 14.0 / 3, 1e-6);
    cr_assert_float_eq(rv[1], 1.8 + 0.1 * 500.0 / 3, 1e-4);
    cr_assert_float_eq(y[0], (1 - 3) / sqrt(3.5 + 1e-5), 1e-5);
    xf_batchnorm_forward(x, gamma, beta, y, mean, rstd, rm, rv, work, 4, 2, 1e-5f, 0.1f, false,
                         true);
    cr_assert_float_eq(y[0], 0.7 / sqrt(0.9 + 0.1 * 14.0 / 3 + 1e-5), 1e-5);
    cr_assert_float_eq(y[1], (10 - 3.4) / sqrt(1.8 + 0.1 * 500.0 / 3 + 1e-5), 1e-5);
    cr_assert_float_eq(rm[0], 0.3, 1e-6); /* evaluation leaves them */
}

/* ---- weight standardisation ---- */

enum { WS_ROWS = 3, WS_K = 8 };

typedef struct {
    double w[WS_ROWS * WS_K], what[WS_ROWS * WS_K], r[WS_ROWS * WS_K], mean[WS_ROWS],
        rstd[WS_ROWS];
} ws_case;

static double ws_objective(void *ctx) {
    ws_case *c = ctx;
    xf_wstd_forward_f64(c->w, c->what, c->mean, c->rstd, WS_ROWS, WS_K, XF_WSTD_EPS);
    return dot(c->what, c->r, WS_ROWS * WS_K);
}

Test(ops_conv, wstd_gradients_match_central_differences_in_double) {
    ws_case c;
    xf_rng rng;
    xf_rng_seed(&rng, 4);
    fill(&rng, c.w, WS_ROWS * WS_K, 0.3);
    fill(&rng, c.r, WS_ROWS * WS_K, 1);
    ws_objective(&c);
    for (int o = 0; o < WS_ROWS; o++) {
        double s = 0, ss = 0;
        for (int j = 0; j < WS_K; j++) {
            double v = c.what[o * WS_K + j];
            s += v;
            ss += v * v;
        }
        cr_assert_float_eq(s / WS_K, 0, 1e-12);
        cr_assert_float_eq(ss / WS_K, 1, 1e-6);
    }
    double dw[WS_ROWS * WS_K];
    for (int i = 0; i < WS_ROWS * WS_K; i++) dw[i] = 0;
    xf_wstd_backward_f64(c.what, c.rstd, c.r, dw, WS_ROWS, WS_K);
    check_grad("wstd dw", c.w, WS_ROWS * WS_K, dw, ws_objective, &c);
}

/* ---- spatial pooling ---- */

typedef struct {
    double x[2 * 5 * 3], y[2 * 3], r[2 * 3];
} pool_case;

static double pool_objective(void *ctx) {
    pool_case *c = ctx;
    xf_spatial_mean_forward_f64(c->x, c->y, 2, 5, 3);
    return dot(c->y, c->r, 6);
}

Test(ops_conv, spatial_mean_values_and_gradients) {
    pool_case c;
    xf_rng rng;
    xf_rng_seed(&rng, 5);
    fill(&rng, c.x, 30, 1);
    fill(&rng, c.r, 6, 1);
    pool_objective(&c);
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int p = 0; p < 5; p++) s += c.x[(b * 5 + p) * 3 + j];
            cr_assert_float_eq(c.y[b * 3 + j], s / 5, 1e-12);
        }
    double dx[30];
    xf_spatial_mean_backward_f64(c.r, dx, 2, 5, 3);
    check_grad("spatial mean dx", c.x, 30, dx, pool_objective, &c);
}
