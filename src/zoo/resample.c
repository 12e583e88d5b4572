/* Bicubic resampling of position embeddings (resample.h). */
#include "zoo/resample.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* PyTorch's cubic convolution coefficient for bicubic upsampling. */
static const double CUBIC_A = -0.75;

/* The four weights of the taps at offsets -1, 0, 1, 2 around a source
 * position with fractional part t. */
static void cubic_weights(double t, double w[4]) {
    double A = CUBIC_A, x;
    x = t + 1;
    w[0] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    x = t;
    w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 1 - t;
    w[2] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 2 - t;
    w[3] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/* For output index i of n from a side of `in`: the first tap and weights. */
static int taps_of(int i, int n, int in, double w[4]) {
    double real = (i + 0.5) * ((double)in / n) - 0.5;
    double base = floor(real);
    cubic_weights(real - base, w);
    return (int)base - 1;
}

static int clamp(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

void xf_pos_embed_resample(const float *src, int prefix, int gh, int gw, float *dst, int nh,
                           int nw, int dim) {
    memcpy(dst, src, sizeof(float) * (size_t)prefix * dim);
    const float *grid = src + (size_t)prefix * dim;
    float *out = dst + (size_t)prefix * dim;
    for (int y = 0; y < nh; y++) {
        double wy[4];
        int y0 = taps_of(y, nh, gh, wy);
        for (int x = 0; x < nw; x++) {
            double wx[4];
            int x0 = taps_of(x, nw, gw, wx);
            float *o = out + ((size_t)y * nw + x) * dim;
            for (int k = 0; k < dim; k++) {
                double acc = 0;
                for (int a = 0; a < 4; a++) {
                    const float *row = grid + (size_t)clamp(y0 + a, gh - 1) * gw * dim;
                    double along = 0;
                    for (int b = 0; b < 4; b++)
                        along += wx[b] * row[(size_t)clamp(x0 + b, gw - 1) * dim + k];
                    acc += wy[a] * along;
                }
                o[k] = (float)acc;
            }
        }
    }
}
