#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void xf_rng_seed(xf_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

uint64_t xf_rng_next(xf_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double xf_rng_uniform(xf_rng *rng) { return (double)(xf_rng_next(rng) >> 11) * 0x1.0p-53; }

uint64_t xf_rng_below(xf_rng *rng, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = xf_rng_next(rng);
    while (x >= limit);
    return x % n;
}

double xf_rng_normal(xf_rng *rng) {
    double u1 = xf_rng_uniform(rng), u2 = xf_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void xf_rng_shuffle(xf_rng *rng, int *items, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)xf_rng_below(rng, i);
        int t = items[i - 1];
        items[i - 1] = items[j];
        items[j] = t;
    }
}
