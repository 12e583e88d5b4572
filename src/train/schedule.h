/* The learning-rate schedule: linear warmup over the first
 * round(warmup_fraction * total) steps, then a half cosine to 0. */
#ifndef XF_SCHEDULE_H
#define XF_SCHEDULE_H

/* The factor the base lr is multiplied by at `step` (0-based) of `total`:
 * (step + 1) / W during warmup (so the first step already moves), then
 * 0.5 (1 + cos(pi (step - W) / (total - W))), which is 1 right after warmup
 * and would reach 0 at step == total. */
double xf_schedule_factor(long step, long total, double warmup_fraction);

#endif
