/* The learning-rate schedule: linear warmup over the first
 * round(warmup_fraction * total) steps, then a half cosine or a straight
 * line down to 0. */
#ifndef XF_SCHEDULE_H
#define XF_SCHEDULE_H

#include "train/train.h"

/* The factor the base lr is multiplied by at `step` (0-based) of `total`:
 * (step + 1) / W during warmup (so the first step already moves), then
 * 0.5 (1 + cos(pi (step - W) / (total - W))), which is 1 right after warmup
 * and would reach 0 at step == total. */
double xf_schedule_factor(long step, long total, double warmup_fraction);

/* The same warmup, then `decay`: cosine as above, or linear,
 * (total - step) / (total - W), also 1 right after warmup and 0 at total. */
double xf_schedule_factor_decay(long step, long total, double warmup_fraction,
                                xf_decay_kind decay);

#endif
