/* Bicubic resampling of position embeddings (resample.h). */
#include "zoo/resample.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* PyTorch's cubic coefficient without antialiasing, and Pillow's (which
 * PyTorch's antialiased path uses). */
static const double CUBIC_A = -0.75, CUBIC_A_AA = -0.5;

/* Keys' cubic convolution kernel at distance x. */
static double cubic(double x, double a) {
    x = fabs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

/* The taps of every output index along one side: output i reads source
 * indices first[i] .. first[i] + count[i] - 1 (clamped to the side when not
 * antialiased) with weights w[i * in ...]. */
typedef struct {
    int *first, *count;
    double *w; /* n x max(in, 4) */
    int stride;
} side_taps;

static void side_free(side_taps *t) {
    free(t->first);
    free(t->count);
    free(t->w);
}

static xf_status side_of(int n, int in, bool antialias, side_taps *t) {
    t->stride = in > 4 ? in : 4;
    t->first = xf_malloc(sizeof(int) * n);
    t->count = xf_malloc(sizeof(int) * n);
    t->w = xf_malloc(sizeof(double) * n * t->stride);
    if (!t->first || !t->count || !t->w) {
        side_free(t);
        return XF_ENOMEM;
    }
    double scale = (double)in / n;
    for (int i = 0; i < n; i++) {
        double *w = t->w + (size_t)i * t->stride;
        if (!antialias) {
            double real = (i + 0.5) * scale - 0.5, base = floor(real);
            t->first[i] = (int)base - 1;
            t->count[i] = 4;
            for (int k = 0; k < 4; k++) w[k] = cubic(real - (base - 1 + k), CUBIC_A);
            continue;
        }
        double support = scale >= 1 ? 2 * scale : 2, inv = scale >= 1 ? 1 / scale : 1;
        double center = scale * (i + 0.5), total = 0;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        t->first[i] = lo;
        t->count[i] = hi - lo;
        for (int k = 0; k < hi - lo; k++) {
            w[k] = cubic((lo + k - center + 0.5) * inv, CUBIC_A_AA);
            total += w[k];
        }
        for (int k = 0; k < hi - lo; k++) w[k] /= total;
    }
    return XF_OK;
}

static int clamp(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

xf_status xf_pos_embed_resample(const float *src, int prefix, int gh, int gw, float *dst, int nh,
                                int nw, int dim, bool antialias) {
    side_taps ty, tx;
    if (side_of(nh, gh, antialias, &ty) != XF_OK) return XF_ENOMEM;
    if (side_of(nw, gw, antialias, &tx) != XF_OK) {
        side_free(&ty);
        return XF_ENOMEM;
    }
    memcpy(dst, src, sizeof(float) * (size_t)prefix * dim);
    const float *grid = src + (size_t)prefix * dim;
    float *out = dst + (size_t)prefix * dim;
    for (int y = 0; y < nh; y++) {
        const double *wy = ty.w + (size_t)y * ty.stride;
        for (int x = 0; x < nw; x++) {
            const double *wx = tx.w + (size_t)x * tx.stride;
            float *o = out + ((size_t)y * nw + x) * dim;
            for (int k = 0; k < dim; k++) {
                double acc = 0;
                for (int a = 0; a < ty.count[y]; a++) {
                    const float *row = grid + (size_t)clamp(ty.first[y] + a, gh - 1) * gw * dim;
                    double along = 0;
                    for (int b = 0; b < tx.count[x]; b++)
                        along += wx[b] * row[(size_t)clamp(tx.first[x] + b, gw - 1) * dim + k];
                    acc += wy[a] * along;
                }
                o[k] = (float)acc;
            }
        }
    }
    side_free(&ty);
    side_free(&tx);
    return XF_OK;
}
