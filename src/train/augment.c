#include "train/augment.h"

#include <stddef.h>
#include <string.h>

void xf_augment_image(const float *src, float *dst, int h, int w, int c, int padding, int dy,
                      int dx, bool flip) {
    size_t row_len = (size_t)w * c;
    for (int i = 0; i < h; i++) {
        float *out = dst + (size_t)i * row_len;
        int si = i + dy - padding;
        if (si < 0 || si >= h) {
            memset(out, 0, sizeof(float) * row_len);
            continue;
        }
        const float *in = src + (size_t)si * row_len;
        int shift = dx - padding;
        if (!flip) {
            /* Columns j with 0 <= j + shift < w come from the source row. */
            int lo = shift < 0 ? -shift : 0, hi = shift > 0 ? w - shift : w;
            if (lo > w) lo = w;
            if (hi < lo) hi = lo;
            memset(out, 0, sizeof(float) * (size_t)lo * c);
            memcpy(out + (size_t)lo * c, in + (size_t)(lo + shift) * c,
                   sizeof(float) * (size_t)(hi - lo) * c);
            memset(out + (size_t)hi * c, 0, sizeof(float) * (size_t)(w - hi) * c);
            continue;
        }
        for (int j = 0; j < w; j++) {
            int sj = w - 1 - j + shift;
            float *px = out + (size_t)j * c;
            if (sj < 0 || sj >= w)
                memset(px, 0, sizeof(float) * (size_t)c);
            else
                memcpy(px, in + (size_t)sj * c, sizeof(float) * (size_t)c);
        }
    }
}

void xf_augment_batch(float *x, int n, int h, int w, int c, int padding, bool flip, xf_rng *rng,
                      float *scratch) {
    if (padding <= 0 && !flip) return;
    size_t size = (size_t)h * w * c;
    for (int k = 0; k < n; k++) {
        float *img = x + (size_t)k * size;
        int dy = padding, dx = padding;
        if (padding > 0) {
            dy = (int)xf_rng_below(rng, 2 * (uint64_t)padding + 1);
            dx = (int)xf_rng_below(rng, 2 * (uint64_t)padding + 1);
        }
        bool f = flip && xf_rng_below(rng, 2);
        if (dy == padding && dx == padding && !f) continue;
        xf_augment_image(img, scratch, h, w, c, padding, dy, dx, f);
        memcpy(img, scratch, sizeof(float) * size);
    }
}
