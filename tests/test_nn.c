/* Ops: every backward against central finite differences of its forward,
 * in double (the _f64 instances share the float ops' code), plus the float
 * instances against the double ones and known values. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/loss.h"

static void fill(xf_rng *r, double *v, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) v[i] = (2 * xf_rng_uniform(r) - 1) * scale;
}

static void to_float(const double *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

/* A scalar function of the op's inputs, so central differences have one
 * number to difference. */
typedef double (*objective)(void *ctx);

/* Largest error between analytic[i] and the central difference of f in
 * x[i], relative to the largest gradient (an entry near 0 has only
 * rounding error left, which no per-entry ratio tolerates). */
static double check_grad(objective f, void *ctx, double *x, size_t n, const double *analytic) {
    const double h = 1e-6;
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double up = f(ctx);
        x[i] = keep - h;
        double down = f(ctx);
        x[i] = keep;
        double numeric = (up - down) / (2 * h);
        worst = fmax(worst, fabs(numeric - analytic[i]));
        scale = fmax(scale, fabs(numeric));
    }
    cr_assert_gt(scale, 1e-3, "the gradient is ~0: the check would prove nothing");
    return worst / scale;
}

static void expect_grad(objective f, void *ctx, double *x, size_t n, const double *analytic,
                        const char *what) {
    double err = check_grad(f, ctx, x, n, analytic);
    cr_assert_lt(err, 1e-7, "%s: relative error %g", what, err);
}

enum { N = 3, IN = 5, OUT = 4, C = 6 };

typedef struct {
    double x[N * IN], w[OUT * IN], b[OUT], r[N * OUT], y[N * OUT];
} linear_case;

/* sum(r * linear(x)): its gradient in y is r. */
static double linear_objective(void *ctx) {
    linear_case *c = ctx;
    xf_linear_forward_f64(c->x, c->w, c->b, c->y, N, IN, OUT);
    double s = 0;
    for (int i = 0; i < N * OUT; i++) s += c->r[i] * c->y[i];
    return s;
}

Test(nn, linear_backward_matches_central_differences) {
    linear_case c;
    xf_rng rng;
    xf_rng_seed(&rng, 1);
    fill(&rng, c.x, N * IN, 1);
    fill(&rng, c.w, OUT * IN, 1);
    fill(&rng, c.b, OUT, 1);
    fill(&rng, c.r, N * OUT, 1);
    double dx[N * IN], dw[OUT * IN] = {0}, db[OUT] = {0};
    xf_linear_backward_f64(c.x, c.w, c.r, dx, dw, db, N, IN, OUT);
    expect_grad(linear_objective, &c, c.x, N * IN, dx, "dx");
    expect_grad(linear_objective, &c, c.w, OUT * IN, dw, "dw");
    expect_grad(linear_objective, &c, c.b, OUT, db, "db");
}

Test(nn, linear_accumulates_parameter_gradients_and_writes_dx) {
    double x[N * IN], w[OUT * IN], dy[N * OUT];
    xf_rng rng;
    xf_rng_seed(&rng, 2);
    fill(&rng, x, N * IN, 1);
    fill(&rng, w, OUT * IN, 1);
    fill(&rng, dy, N * OUT, 1);
    double dx[N * IN], dx2[N * IN], dw[OUT * IN] = {0}, db[OUT] = {0};
    double dw2[OUT * IN], db2[OUT];
    for (int i = 0; i < N * IN; i++) dx2[i] = 100;
    for (int i = 0; i < OUT * IN; i++) dw2[i] = 7;
    for (int i = 0; i < OUT; i++) db2[i] = -3;
    xf_linear_backward_f64(x, w, dy, dx, dw, db, N, IN, OUT);
    xf_linear_backward_f64(x, w, dy, dx2, dw2, db2, N, IN, OUT);
    for (int i = 0; i < OUT * IN; i++) cr_assert_float_eq(dw2[i], dw[i] + 7, 1e-12);
    for (int i = 0; i < OUT; i++) cr_assert_float_eq(db2[i], db[i] - 3, 1e-12);
    for (int i = 0; i < N * IN; i++) cr_assert_float_eq(dx2[i], dx[i], 1e-12);
}

Test(nn, float_linear_matches_naive_reference) {
    double xd[N * IN], wd[OUT * IN], bd[OUT], dyd[N * OUT];
    xf_rng rng;
    xf_rng_seed(&rng, 3);
    fill(&rng, xd, N * IN, 1);
    fill(&rng, wd, OUT * IN, 1);
    fill(&rng, bd, OUT, 1);
    fill(&rng, dyd, N * OUT, 1);
    float x[N * IN], w[OUT * IN], b[OUT], dy[N * OUT], y[N * OUT];
    float dx[N * IN], dw[OUT * IN] = {0}, db[OUT] = {0};
    to_float(xd, x, N * IN);
    to_float(wd, w, OUT * IN);
    to_float(bd, b, OUT);
    to_float(dyd, dy, N * OUT);
    xf_linear_forward(x, w, b, y, N, IN, OUT);
    xf_linear_backward(x, w, dy, dx, dw, db, N, IN, OUT);
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OUT; o++) {
            double s = b[o];
            for (int k = 0; k < IN; k++) s += (double)x[i * IN + k] * w[o * IN + k];
            cr_assert_float_eq(y[i * OUT + o], s, 1e-5, "y[%d,%d]", i, o);
        }
    for (int o = 0; o < OUT; o++) {
        double sb = 0;
        for (int i = 0; i < N; i++) sb += dy[i * OUT + o];
        cr_assert_float_eq(db[o], sb, 1e-5);
        for (int k = 0; k < IN; k++) {
            double s = 0;
            for (int i = 0; i < N; i++) s += (double)dy[i * OUT + o] * x[i * IN + k];
            cr_assert_float_eq(dw[o * IN + k], s, 1e-5, "dw[%d,%d]", o, k);
        }
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < IN; k++) {
            double s = 0;
            for (int o = 0; o < OUT; o++) s += (double)dy[i * OUT + o] * w[o * IN + k];
            cr_assert_float_eq(dx[i * IN + k], s, 1e-5, "dx[%d,%d]", i, k);
        }
}

Test(nn, bias_add_and_backward) {
    float y[2 * 3] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, db[3] = {1, 1, 1};
    xf_bias_add(y, b, 2, 3);
    const float want[6] = {11, 22, 33, 14, 25, 36};
    for (int i = 0; i < 6; i++) cr_assert_eq(y[i], want[i]);
    xf_bias_backward(want, db, 2, 3);
    cr_assert_eq(db[0], 1 + 11 + 14);
    cr_assert_eq(db[2], 1 + 33 + 36);
}

typedef struct {
    double x[40], r[40], y[40];
} gelu_case;

static double gelu_objective(void *ctx) {
    gelu_case *c = ctx;
    xf_gelu_forward_f64(c->x, c->y, 40);
    double s = 0;
    for (int i = 0; i < 40; i++) s += c->r[i] * c->y[i];
    return s;
}

Test(nn, gelu_backward_matches_central_differences) {
    gelu_case c;
    xf_rng rng;
    xf_rng_seed(&rng, 4);
    fill(&rng, c.x, 40, 5);
    fill(&rng, c.r, 40, 1);
    double dx[40];
    xf_gelu_backward_f64(c.x, c.r, dx, 40);
    expect_grad(gelu_objective, &c, c.x, 40, dx, "dx");
}

Test(nn, gelu_known_values_and_float_instance) {
    /* x * Phi(x), Phi the standard normal CDF. */
    const double x[5] = {-3, -1, 0, 1, 2.5};
    const double want[5] = {-0.00404969409489031, -0.15865525393145707, 0, 0.8413447460685429,
                            2.4844758366855597};
    double y[5];
    float xf[5], yf[5], dyf[5] = {1, 1, 1, 1, 1}, dxf[5];
    double dy[5] = {1, 1, 1, 1, 1}, dx[5];
    xf_gelu_forward_f64(x, y, 5);
    to_float(x, xf, 5);
    xf_gelu_forward(xf, yf, 5);
    xf_gelu_backward_f64(x, dy, dx, 5);
    xf_gelu_backward(xf, dyf, dxf, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_float_eq(y[i], want[i], 1e-12, "gelu(%g)", x[i]);
        cr_assert_float_eq(yf[i], want[i], 1e-6, "float gelu(%g)", x[i]);
        cr_assert_float_eq(dxf[i], dx[i], 1e-6, "float gelu'(%g)", x[i]);
    }
    cr_assert_float_eq(dx[2], 0.5, 1e-15);
}

typedef struct {
    double z[N * C];
    int32_t labels[N];
} xent_case;

static double xent_objective(void *ctx) {
    xent_case *c = ctx;
    return xf_softmax_xent_f64(c->z, c->labels, N, C, NULL);
}

Test(nn, softmax_xent_backward_matches_central_differences) {
    xent_case c = {.labels = {0, 5, 2}};
    xf_rng rng;
    xf_rng_seed(&rng, 5);
    fill(&rng, c.z, N * C, 3);
    double dz[N * C];
    xf_softmax_xent_f64(c.z, c.labels, N, C, dz);
    expect_grad(xent_objective, &c, c.z, N * C, dz, "dz");
    for (int i = 0; i < N; i++) {
        double row = 0;
        for (int k = 0; k < C; k++) row += dz[i * C + k];
        cr_assert_float_eq(row, 0, 1e-15);
    }
}

Test(nn, softmax_xent_known_values_and_large_logits) {
    float z[2 * 4] = {0, 0, 0, 0, 1000, 0, 0, 1000};
    int32_t labels[2] = {3, 0};
    float dz[8];
    /* Row 0: uniform, log 4. Row 1: two tied logits of 1000, log 2. */
    double loss = xf_softmax_xent(z, labels, 2, 4, dz);
    cr_assert_float_eq(loss, (log(4) + log(2)) / 2, 1e-7);
    cr_assert_float_eq(dz[0], 0.25 / 2, 1e-7);
    cr_assert_float_eq(dz[3], (0.25 - 1) / 2, 1e-7);
    cr_assert_float_eq(dz[4], (0.5 - 1) / 2, 1e-7);
    cr_assert_float_eq(dz[5], 0, 1e-7);
    cr_assert_float_eq(dz[7], 0.25, 1e-7);
    z[1] = NAN;
    cr_assert(isnan(xf_softmax_xent(z, labels, 2, 4, NULL)));
}
