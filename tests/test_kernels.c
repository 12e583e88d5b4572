/* xfer's vector kernels per instruction set (nn/kernels.h, core/cpu.h):
 * XFER_ISA's names and refusals, the path in use is the one forced, and
 * every path this CPU runs agrees with the widest one, bit for bit where
 * the arithmetic is the same (GroupNorm, AdamW; GELU, exp and the
 * convolutions between AVX2 and AVX-512) and within float rounding where
 * the plain path has no FMA and calls scalar erff/expf. `make test` also
 * runs the op and model suites once per path (tests/kernel_paths.sh). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/cpu.h"
#include "core/rng.h"
#include "nn/activation.h"
#include "nn/conv2d.h"
#include "nn/groupnorm.h"
#include "nn/kernels.h"

Test(kernels, isa_names_and_refusals) {
    xf_isa isa = XF_ISA_COUNT;
    cr_assert_eq(xf_cpu_isa_parse("plain", &isa), XF_OK);
    cr_assert_eq(isa, XF_ISA_PLAIN);
    cr_assert(xf_cpu_runs(XF_ISA_PLAIN));
    cr_assert_neq(xf_cpu_isa_parse("sse2", &isa), XF_OK);
    cr_assert(strstr(xf_error_message(), "XFER_ISA='sse2': expected plain, avx2 or avx512"),
              "%s", xf_error_message());
    static const char *const names[XF_ISA_COUNT] = {"plain", "avx2", "avx512"};
    for (int i = 0; i < XF_ISA_COUNT; i++) {
        cr_assert_str_eq(xf_isa_name((xf_isa)i), names[i]);
        if (xf_cpu_runs((xf_isa)i)) {
            cr_assert_eq(xf_cpu_isa_parse(xf_isa_name((xf_isa)i), &isa), XF_OK);
            cr_assert_eq((int)isa, i);
            cr_assert_leq(i, (int)xf_cpu_best_isa());
            continue;
        }
        /* A path this CPU cannot run is refused, and the one in use stays. */
        xf_isa before = xf_cpu_isa();
        cr_assert_neq(xf_cpu_isa_parse(xf_isa_name((xf_isa)i), &isa), XF_OK);
        cr_assert(strstr(xf_error_message(), "this CPU cannot run"), "%s", xf_error_message());
        cr_assert_neq(xf_cpu_use_isa((xf_isa)i), XF_OK);
        cr_assert_eq(xf_cpu_isa(), before);
        cr_assert_gt(i, (int)xf_cpu_best_isa());
    }
    /* Each wider path needs the narrower one's instructions. */
    if (xf_cpu_runs(XF_ISA_AVX512)) cr_assert(xf_cpu_runs(XF_ISA_AVX2));
}

/* The suites that make test runs once per path rely on this. */
Test(kernels, forced_isa_is_in_use) {
    const char *forced = getenv("XFER_ISA");
    xf_isa want = xf_cpu_best_isa();
    if (forced && *forced) cr_assert_eq(xf_cpu_isa_parse(forced, &want), XF_OK, "%s", forced);
    cr_assert_eq(xf_cpu_isa(), want, "in use: %s, expected %s", xf_isa_name(xf_cpu_isa()),
                 xf_isa_name(want));
    cr_assert_eq(xf_kernels()->isa, want);
}

static void fill(xf_rng *rng, float *v, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) v[i] = scale * (float)(2 * xf_rng_uniform(rng) - 1);
}

/* Largest |a - b| relative to the largest |b|. */
static double rel_diff(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / fmax(scale, 1e-30);
}

/* Compares path `isa`'s n floats with the widest path's: the same bits
 * when `same_bits`, else within `tol` relative. */
static void agree(const char *what, xf_isa isa, const float *got, const float *best, size_t n,
                  bool same_bits, double tol) {
    if (same_bits) {
        cr_assert(memcmp(got, best, n * sizeof(float)) == 0,
                  "%s: %s differs from %s (rel %g)", what, xf_isa_name(isa),
                  xf_isa_name(xf_cpu_best_isa()), rel_diff(got, best, n));
        return;
    }
    cr_assert_lt(rel_diff(got, best, n), tol, "%s: %s against %s", what, xf_isa_name(isa),
                 xf_isa_name(xf_cpu_best_isa()));
}

/* Every output the kernels give for one set of inputs, in one buffer. */
enum { CONV_CASES = 3 };
static const int conv_geoms[CONV_CASES][8] = {
    /* batch, h, w, cin, cout, k, stride, pad: a residual block's conv, a
     * downsampling one, a grayscale stem (weight gradient only) */
    {2, 9, 10, 16, 32, 3, 1, 1},
    {2, 9, 8, 32, 16, 3, 2, 1},
    {2, 12, 11, 1, 16, 3, 1, 1},
};
enum { GN_N = 2, GN_HW = 13, GN_C = 40, GN_GROUPS = 4, ACT_N = 1003, ADAM_N = 1003 };

typedef struct {
    float *conv[CONV_CASES]; /* y, dx, dw per case */
    size_t conv_n[CONV_CASES];
    float gn[GN_N * GN_HW * GN_C * 2 + 2 * GN_C + 2 * GN_N * GN_GROUPS];
    float gelu[3 * ACT_N], expv[ACT_N], adam[3 * ADAM_N];
} outputs;

static void run_kernels(outputs *o) {
    xf_rng rng;
    xf_rng_seed(&rng, 17);
    for (int t = 0; t < CONV_CASES; t++) {
        const int *q = conv_geoms[t];
        xf_conv2d_geom g = xf_conv2d_geometry(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
        size_t nx = (size_t)g.batch * g.h * g.w * g.cin, nw = (size_t)g.cout * g.cin * g.k * g.k;
        size_t ny = (size_t)g.batch * g.oh * g.ow * g.cout, cap = xf_conv2d_cols_size(&g, g.batch);
        bool stem = g.cin == 1;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw);
        float *dy = malloc(sizeof(float) * ny), *cols = malloc(sizeof(float) * cap);
        fill(&rng, x, nx, 1);
        fill(&rng, w, nw, 0.5f);
        fill(&rng, dy, ny, 1);
        o->conv_n[t] = ny + nx + nw;
        float *y = o->conv[t] = malloc(sizeof(float) * o->conv_n[t]), *dx = y + ny, *dw = dx + nx;
        memset(dx, 0, sizeof(float) * nx);
        memset(dw, 0, sizeof(float) * nw);
        xf_conv2d_forward(&g, x, w, y, cols, cap);
        xf_conv2d_backward(&g, x, w, dy, stem ? NULL : dx, dw, cols, cap);
        free(x), free(w), free(dy), free(cols);
    }
    {
        size_t n = (size_t)GN_N * GN_HW * GN_C;
        float x[GN_N * GN_HW * GN_C], dy[GN_N * GN_HW * GN_C], gamma[GN_C], beta[GN_C];
        double work[2 * GN_C];
        fill(&rng, x, n, 2);
        fill(&rng, dy, n, 1);
        fill(&rng, gamma, GN_C, 1);
        fill(&rng, beta, GN_C, 1);
        float *y = o->gn, *dx = y + n, *dgamma = dx + n, *dbeta = dgamma + GN_C;
        float *mean = dbeta + GN_C, *rstd = mean + GN_N * GN_GROUPS;
        memset(dgamma, 0, sizeof(float) * 2 * GN_C);
        xf_groupnorm_forward(x, gamma, beta, y, mean, rstd, work, GN_N, GN_HW, GN_C, GN_GROUPS,
                             1e-5f, true);
        xf_groupnorm_backward(x, gamma, mean, rstd, y, dy, dx, dgamma, dbeta, work, GN_N, GN_HW,
                              GN_C, GN_GROUPS, true);
    }
    {
        float x[ACT_N], dy[ACT_N], bias[17];
        fill(&rng, x, ACT_N, 4);
        fill(&rng, dy, ACT_N, 1);
        fill(&rng, bias, 17, 1);
        xf_gelu_forward(x, o->gelu, ACT_N);
        xf_gelu_backward(x, dy, o->gelu + ACT_N, ACT_N);
        float *z = o->gelu + 2 * ACT_N, zy[ACT_N];
        memcpy(z, x, sizeof x);
        xf_bias_gelu_forward(z, bias, zy, 59, 17); /* 59 x 17 = ACT_N */
        for (int i = 0; i < ACT_N; i++) z[i] += zy[i];
        memcpy(o->expv, x, sizeof x);
        xf_kernels()->exp_shifted(o->expv, ACT_N, 1.5f);
    }
    {
        float *p = o->adam, *m = p + ADAM_N, *v = m + ADAM_N, g[ADAM_N];
        fill(&rng, p, ADAM_N, 1);
        memset(m, 0, sizeof(float) * 2 * ADAM_N);
        const xf_adamw_coefficients k = {0.9999f, 0.9f, 0.1f, 0.999f, 0.001f, 0.01f, 1.2f, 1e-8f};
        for (int step = 0; step < 3; step++) {
            fill(&rng, g, ADAM_N, 1);
            xf_kernels()->adamw_update(p, g, m, v, ADAM_N, &k);
        }
    }
}

static void outputs_free(outputs *o) {
    for (int t = 0; t < CONV_CASES; t++) free(o->conv[t]);
}

Test(kernels, every_path_agrees_with_the_widest) {
    int threads_were = xf_blas_threads();
    xf_blas_set_threads(1);
    xf_isa best = xf_cpu_best_isa();
    cr_assert_eq(xf_cpu_use_isa(best), XF_OK);
    outputs *ref = calloc(1, sizeof *ref), *got = calloc(1, sizeof *got);
    run_kernels(ref);
    int paths = 0;
    for (int i = 0; i < XF_ISA_COUNT; i++) {
        xf_isa isa = (xf_isa)i;
        if (!xf_cpu_runs(isa)) continue;
        paths++;
        cr_assert_eq(xf_cpu_use_isa(isa), XF_OK);
        cr_assert_eq(xf_kernels()->isa, isa);
        run_kernels(got);
        /* Plain has no FMA and calls scalar erff / expf (4 ulp from
         * libmvec's); the wider paths do the same operations. */
        bool fused = isa != XF_ISA_PLAIN;
        for (int t = 0; t < CONV_CASES; t++)
            agree("conv2d y, dx, dw", isa, got->conv[t], ref->conv[t], ref->conv_n[t], fused,
                  1e-5);
        agree("groupnorm y, dx, dgamma, dbeta, mean, rstd", isa, got->gn, ref->gn,
              sizeof ref->gn / sizeof(float), true, 0);
        agree("gelu", isa, got->gelu, ref->gelu, 3 * ACT_N, fused, 2e-6);
        agree("exp", isa, got->expv, ref->expv, ACT_N, fused, 2e-6);
        agree("adamw p, m, v", isa, got->adam, ref->adam, 3 * ADAM_N, true, 0);
        outputs_free(got);
    }
    cr_assert_geq(paths, 1 + (best > XF_ISA_PLAIN));
    outputs_free(ref);
    free(ref);
    free(got);
    xf_blas_set_threads(threads_were);
}
