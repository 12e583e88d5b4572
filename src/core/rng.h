/* A seeded random number generator with explicit state (xoshiro256**,
 * seeded through splitmix64). Every consumer owns its xf_rng, so the same
 * seed gives the same stream regardless of what else ran. */
#ifndef XF_RNG_H
#define XF_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} xf_rng;

void xf_rng_seed(xf_rng *rng, uint64_t seed);
uint64_t xf_rng_next(xf_rng *rng);
/* Uniform in [0, 1). */
double xf_rng_uniform(xf_rng *rng);
/* Uniform integer in [0, n), without modulo bias. */
uint64_t xf_rng_below(xf_rng *rng, uint64_t n);
/* Standard normal (Box-Muller). */
double xf_rng_normal(xf_rng *rng);
/* Fisher-Yates shuffle of n ints. */
void xf_rng_shuffle(xf_rng *rng, int *items, size_t n);

#endif
