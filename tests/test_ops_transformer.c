/* The transformer / mixer ops: every backward against central differences
 * of its forward in double (the _f64 instances share the float ops' code),
 * and the sgemm fast paths of attention and patch embedding against naive
 * loops. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/attention.h"
#include "nn/embed.h"
#include "nn/norm.h"
#include "nn/pool.h"
#include "nn/tokenmix.h"

static void fill(xf_rng *r, double *v, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) v[i] = (2 * xf_rng_uniform(r) - 1) * scale;
}

static double *fresh(xf_rng *r, size_t n, double scale) {
    double *v = calloc(n, sizeof(double));
    fill(r, v, n, scale);
    return v;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

typedef double (*objective)(void *ctx);

/* Largest error between analytic[i] and the central difference of f in
 * x[i], relative to the largest gradient; fails when every gradient is ~0
 * (the check would prove nothing). */
static void check_grad(const char *what, objective f, void *ctx, double *x, size_t n,
                       const double *analytic) {
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
    cr_assert_gt(scale, 1e-6, "%s: gradient is all ~0", what);
    cr_assert_lt(worst / scale, 1e-7, "%s: max error %g against max gradient %g", what, worst,
                 scale);
}

/* ---- LayerNorm ---- */

enum { LN_N = 3, LN_D = 7 };
typedef struct {
    double x[LN_N * LN_D], g[LN_D], b[LN_D], w[LN_N * LN_D];
} ln_ctx;

static double ln_obj(void *p) {
    ln_ctx *c = p;
    double y[LN_N * LN_D], mu[LN_N], rs[LN_N];
    xf_layernorm_forward_f64(c->x, c->g, c->b, y, mu, rs, LN_N, LN_D, 1e-6);
    return dot(y, c->w, LN_N * LN_D);
}

Test(ops_transformer, layernorm_gradients_and_values) {
    xf_rng r;
    xf_rng_seed(&r, 1);
    ln_ctx c;
    fill(&r, c.x, LN_N * LN_D, 2);
    fill(&r, c.g, LN_D, 1.5);
    fill(&r, c.b, LN_D, 1);
    fill(&r, c.w, LN_N * LN_D, 1);
    double y[LN_N * LN_D], mu[LN_N], rs[LN_N], dx[LN_N * LN_D];
    double dg[LN_D] = {0}, db[LN_D] = {0};
    xf_layernorm_forward_f64(c.x, c.g, c.b, y, mu, rs, LN_N, LN_D, 1e-6);
    /* Known values: row 0 normalised by hand. */
    double m = 0, v = 0;
    for (int j = 0; j < LN_D; j++) m += c.x[j] / LN_D;
    for (int j = 0; j < LN_D; j++) v += (c.x[j] - m) * (c.x[j] - m) / LN_D;
    cr_assert_float_eq(y[3], (c.x[3] - m) / sqrt(v + 1e-6) * c.g[3] + c.b[3], 1e-12);
    /* dx may alias dy. */
    memcpy(dx, c.w, sizeof dx);
    xf_layernorm_backward_f64(c.x, c.g, mu, rs, dx, dx, dg, db, LN_N, LN_D);
    check_grad("layernorm dx", ln_obj, &c, c.x, LN_N * LN_D, dx);
    check_grad("layernorm dgamma", ln_obj, &c, c.g, LN_D, dg);
    check_grad("layernorm dbeta", ln_obj, &c, c.b, LN_D, db);

    float xf[LN_N * LN_D], gf[LN_D], bf[LN_D], yf[LN_N * LN_D], muf[LN_N], rsf[LN_N];
    for (int i = 0; i < LN_N * LN_D; i++) xf[i] = (float)c.x[i];
    for (int j = 0; j < LN_D; j++) gf[j] = (float)c.g[j], bf[j] = (float)c.b[j];
    xf_layernorm_forward(xf, gf, bf, yf, muf, rsf, LN_N, LN_D, 1e-6f);
    for (int i = 0; i < LN_N * LN_D; i++) cr_assert_float_eq(yf[i], y[i], 1e-5);
}

/* ---- attention ---- */

enum { AT_B = 2, AT_T = 5, AT_D = 6, AT_H = 2 };
typedef struct {
    double qkv[AT_B * AT_T * 3 * AT_D], w[AT_B * AT_T * AT_D];
} at_ctx;

static double at_obj(void *p) {
    at_ctx *c = p;
    double probs[AT_B * AT_H * AT_T * AT_T], out[AT_B * AT_T * AT_D];
    xf_attention_forward_f64(c->qkv, probs, out, AT_B, AT_T, AT_D, AT_H);
    return dot(out, c->w, AT_B * AT_T * AT_D);
}

/* Naive multi-head attention straight from the definition. */
static void attention_naive(const double *qkv, double *out, int B, int T, int D, int H) {
    int hd = D / H;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                double s[64], max = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    s[j] = 0;
                    for (int e = 0; e < hd; e++)
                        s[j] += qkv[((size_t)b * T + i) * 3 * D + h * hd + e] *
                                qkv[((size_t)b * T + j) * 3 * D + D + h * hd + e];
                    s[j] /= sqrt((double)hd);
                    max = fmax(max, s[j]);
                }
                for (int j = 0; j < T; j++) sum += s[j] = exp(s[j] - max);
                for (int e = 0; e < hd; e++) {
                    double o = 0;
                    for (int j = 0; j < T; j++)
                        o += s[j] / sum * qkv[((size_t)b * T + j) * 3 * D + 2 * D + h * hd + e];
                    out[((size_t)b * T + i) * D + h * hd + e] = o;
                }
            }
}

Test(ops_transformer, attention_gradients) {
    xf_rng r;
    xf_rng_seed(&r, 2);
    at_ctx c;
    fill(&r, c.qkv, sizeof c.qkv / sizeof(double), 1.5);
    fill(&r, c.w, sizeof c.w / sizeof(double), 1);
    double probs[AT_B * AT_H * AT_T * AT_T], out[AT_B * AT_T * AT_D];
    double dqkv[AT_B * AT_T * 3 * AT_D], scratch[AT_T * AT_T];
    xf_attention_forward_f64(c.qkv, probs, out, AT_B, AT_T, AT_D, AT_H);
    xf_attention_backward_f64(c.qkv, probs, c.w, dqkv, scratch, AT_B, AT_T, AT_D, AT_H);
    check_grad("attention dqkv", at_obj, &c, c.qkv, sizeof c.qkv / sizeof(double), dqkv);
}

Test(ops_transformer, attention_fast_path_matches_naive) {
    enum { B = 3, T = 17, D = 24, H = 3 };
    xf_rng r;
    xf_rng_seed(&r, 3);
    size_t nq = (size_t)B * T * 3 * D, no = (size_t)B * T * D;
    double *qkv = fresh(&r, nq, 2), *ref = calloc(no, sizeof(double));
    float *qf = malloc(sizeof(float) * nq), *of = malloc(sizeof(float) * no);
    float *pf = malloc(sizeof(float) * B * H * T * T);
    for (size_t i = 0; i < nq; i++) qf[i] = (float)qkv[i];
    attention_naive(qkv, ref, B, T, D, H);
    xf_attention_forward(qf, pf, of, B, T, D, H);
    double worst = 0;
    for (size_t i = 0; i < no; i++) worst = fmax(worst, fabs(of[i] - ref[i]));
    cr_assert_lt(worst, 1e-5, "attention: float sgemm path off the naive one by %g", worst);
    for (int row = 0; row < B * H * T; row++) {
        double s = 0;
        for (int j = 0; j < T; j++) s += pf[row * T + j];
        cr_assert_float_eq(s, 1, 1e-5, "softmax row %d sums to %g", row, s);
    }
    free(qkv), free(ref), free(qf), free(of), free(pf);
}

/* ---- patch embedding and tokens ---- */

enum { PE_B = 2, PE_H = 6, PE_W = 4, PE_C = 3, PE_P = 2, PE_D = 5 };
enum { PE_N = (PE_H / PE_P) * (PE_W / PE_P), PE_K = PE_C * PE_P * PE_P };
typedef struct {
    double x[PE_B * PE_H * PE_W * PE_C], w[PE_D * PE_K], b[PE_D], wy[PE_B * PE_N * PE_D];
} pe_ctx;

static double pe_obj(void *p) {
    pe_ctx *c = p;
    double cols[PE_B * PE_N * PE_K], y[PE_B * PE_N * PE_D];
    xf_patch_embed_forward_f64(c->x, cols, c->w, c->b, y, PE_B, PE_H, PE_W, PE_C, PE_P, PE_D);
    return dot(y, c->wy, PE_B * PE_N * PE_D);
}

/* A stride-p convolution of the NHWC image with the [D, C, p, p] kernel. */
static void patch_embed_naive(const double *x, const double *w, const double *b, double *y, int B,
                              int H, int W, int C, int p, int D) {
    int gw = W / p;
    for (int n = 0; n < B; n++)
        for (int pi = 0; pi < H / p; pi++)
            for (int pj = 0; pj < gw; pj++)
                for (int o = 0; o < D; o++) {
                    double s = b[o];
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < p; ki++)
                            for (int kj = 0; kj < p; kj++)
                                s += w[((o * C + c) * p + ki) * p + kj] *
                                     x[(((size_t)n * H + pi * p + ki) * W + pj * p + kj) * C + c];
                    y[(((size_t)n * (H / p) + pi) * gw + pj) * D + o] = s;
                }
}

Test(ops_transformer, patch_embed_gradients_and_naive_conv) {
    xf_rng r;
    xf_rng_seed(&r, 4);
    pe_ctx c;
    fill(&r, c.x, sizeof c.x / sizeof(double), 1);
    fill(&r, c.w, sizeof c.w / sizeof(double), 1);
    fill(&r, c.b, PE_D, 1);
    fill(&r, c.wy, sizeof c.wy / sizeof(double), 1);
    double cols[PE_B * PE_N * PE_K], y[PE_B * PE_N * PE_D], ref[PE_B * PE_N * PE_D];
    double dw[PE_D * PE_K] = {0}, db[PE_D] = {0};
    xf_patch_embed_forward_f64(c.x, cols, c.w, c.b, y, PE_B, PE_H, PE_W, PE_C, PE_P, PE_D);
    patch_embed_naive(c.x, c.w, c.b, ref, PE_B, PE_H, PE_W, PE_C, PE_P, PE_D);
    for (int i = 0; i < PE_B * PE_N * PE_D; i++) cr_assert_float_eq(y[i], ref[i], 1e-12);
    xf_patch_embed_backward_f64(cols, c.wy, dw, db, PE_B * PE_N, PE_K, PE_D);
    check_grad("patch embed dw", pe_obj, &c, c.w, PE_D * PE_K, dw);
    check_grad("patch embed db", pe_obj, &c, c.b, PE_D, db);

    float xf[sizeof c.x / sizeof(double)], wf[PE_D * PE_K], bf[PE_D];
    float colsf[PE_B * PE_N * PE_K], yf[PE_B * PE_N * PE_D];
    for (size_t i = 0; i < sizeof xf / sizeof(float); i++) xf[i] = (float)c.x[i];
    for (int i = 0; i < PE_D * PE_K; i++) wf[i] = (float)c.w[i];
    for (int i = 0; i < PE_D; i++) bf[i] = (float)c.b[i];
    xf_patch_embed_forward(xf, colsf, wf, bf, yf, PE_B, PE_H, PE_W, PE_C, PE_P, PE_D);
    for (int i = 0; i < PE_B * PE_N * PE_D; i++) cr_assert_float_eq(yf[i], ref[i], 1e-5);
}

enum { TK_B = 2, TK_N = 3, TK_D = 4 };
typedef struct {
    double patches[TK_B * TK_N * TK_D], cls[TK_D], pos[(TK_N + 1) * TK_D];
    double w[TK_B * (TK_N + 1) * TK_D];
    bool has_cls;
} tk_ctx;

static double tk_obj(void *p) {
    tk_ctx *c = p;
    double tokens[TK_B * (TK_N + 1) * TK_D];
    xf_tokens_forward_f64(c->patches, c->has_cls ? c->cls : NULL, c->pos, tokens, TK_B, TK_N,
                          TK_D);
    return dot(tokens, c->w, (size_t)TK_B * (TK_N + c->has_cls) * TK_D);
}

Test(ops_transformer, tokens_with_and_without_class_token) {
    for (int has = 0; has < 2; has++) {
        xf_rng r;
        xf_rng_seed(&r, 5);
        tk_ctx c = {.has_cls = has};
        fill(&r, c.patches, sizeof c.patches / sizeof(double), 1);
        fill(&r, c.cls, TK_D, 1);
        fill(&r, c.pos, sizeof c.pos / sizeof(double), 1);
        fill(&r, c.w, sizeof c.w / sizeof(double), 1);
        double tokens[TK_B * (TK_N + 1) * TK_D];
        xf_tokens_forward_f64(c.patches, has ? c.cls : NULL, c.pos, tokens, TK_B, TK_N, TK_D);
        int T = TK_N + has;
        /* Image 1, patch 2, channel 3 sits at token 2 + has. */
        cr_assert_float_eq(tokens[(1 * T + 2 + has) * TK_D + 3],
                           c.patches[(1 * TK_N + 2) * TK_D + 3] + c.pos[(2 + has) * TK_D + 3],
                           1e-15);
        if (has) cr_assert_float_eq(tokens[T * TK_D + 1], c.cls[1] + c.pos[1], 1e-15);
        double dp[TK_B * TK_N * TK_D], dcls[TK_D] = {0}, dpos[(TK_N + 1) * TK_D] = {0};
        xf_tokens_backward_f64(c.w, dp, has ? dcls : NULL, dpos, TK_B, TK_N, TK_D, has);
        check_grad("tokens dpatches", tk_obj, &c, c.patches, TK_B * TK_N * TK_D, dp);
        check_grad("tokens dpos", tk_obj, &c, c.pos, (size_t)T * TK_D, dpos);
        if (has) check_grad("tokens dcls", tk_obj, &c, c.cls, TK_D, dcls);
    }
}

/* ---- token mean and token-mixing linear ---- */

enum { TM_B = 2, TM_T = 4, TM_D = 3 };
typedef struct {
    double x[TM_B * TM_T * TM_D], w[TM_B * TM_D];
    int first;
} tm_ctx;

static double tm_obj(void *p) {
    tm_ctx *c = p;
    double y[TM_B * TM_D];
    xf_token_mean_forward_f64(c->x, y, TM_B, TM_T, c->first, TM_D);
    return dot(y, c->w, TM_B * TM_D);
}

Test(ops_transformer, token_mean_over_all_or_patch_tokens) {
    for (int first = 0; first < 2; first++) {
        xf_rng r;
        xf_rng_seed(&r, 6);
        tm_ctx c = {.first = first};
        fill(&r, c.x, sizeof c.x / sizeof(double), 1);
        fill(&r, c.w, sizeof c.w / sizeof(double), 1);
        double y[TM_B * TM_D], dx[TM_B * TM_T * TM_D];
        xf_token_mean_forward_f64(c.x, y, TM_B, TM_T, first, TM_D);
        double s = 0;
        for (int t = first; t < TM_T; t++) s += c.x[(1 * TM_T + t) * TM_D + 2];
        cr_assert_float_eq(y[1 * TM_D + 2], s / (TM_T - first), 1e-15);
        xf_token_mean_backward_f64(c.w, dx, TM_B, TM_T, first, TM_D);
        check_grad("token mean dx", tm_obj, &c, c.x, TM_B * TM_T * TM_D, dx);
    }
}

enum { TL_B = 2, TL_IN = 4, TL_OUT = 3, TL_D = 5 };
typedef struct {
    double x[TL_B * TL_IN * TL_D], w[TL_OUT * TL_IN], b[TL_OUT], wy[TL_B * TL_OUT * TL_D];
} tl_ctx;

static double tl_obj(void *p) {
    tl_ctx *c = p;
    double y[TL_B * TL_OUT * TL_D];
    xf_token_linear_forward_f64(c->x, c->w, c->b, y, TL_B, TL_IN, TL_OUT, TL_D);
    return dot(y, c->wy, TL_B * TL_OUT * TL_D);
}

Test(ops_transformer, token_linear_gradients_and_values) {
    xf_rng r;
    xf_rng_seed(&r, 7);
    tl_ctx c;
    fill(&r, c.x, sizeof c.x / sizeof(double), 1);
    fill(&r, c.w, sizeof c.w / sizeof(double), 1);
    fill(&r, c.b, TL_OUT, 1);
    fill(&r, c.wy, sizeof c.wy / sizeof(double), 1);
    double y[TL_B * TL_OUT * TL_D], dx[TL_B * TL_IN * TL_D];
    double dw[TL_OUT * TL_IN] = {0}, db[TL_OUT] = {0};
    xf_token_linear_forward_f64(c.x, c.w, c.b, y, TL_B, TL_IN, TL_OUT, TL_D);
    /* y[b=1, o=2, d=4] = b[2] + sum_i w[2, i] x[1, i, 4] */
    double s = c.b[2];
    for (int i = 0; i < TL_IN; i++) s += c.w[2 * TL_IN + i] * c.x[(TL_IN + i) * TL_D + 4];
    cr_assert_float_eq(y[(TL_OUT + 2) * TL_D + 4], s, 1e-14);
    xf_token_linear_backward_f64(c.x, c.w, c.wy, dx, dw, db, TL_B, TL_IN, TL_OUT, TL_D);
    check_grad("token linear dx", tl_obj, &c, c.x, TL_B * TL_IN * TL_D, dx);
    check_grad("token linear dw", tl_obj, &c, c.w, TL_OUT * TL_IN, dw);
    check_grad("token linear db", tl_obj, &c, c.b, TL_OUT, db);
}
