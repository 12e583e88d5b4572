#include "train/schedule.h"

#include <math.h>

double xf_schedule_factor_decay(long step, long total, double warmup_fraction,
                                xf_decay_kind decay) {
    if (total <= 0) return 1;
    long warmup = lround(warmup_fraction * (double)total);
    if (warmup > total) warmup = total;
    if (step < warmup) return (double)(step + 1) / (double)warmup;
    if (step >= total) return 0;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    if (decay == XF_DECAY_LINEAR) return 1 - progress;
    return 0.5 * (1 + cos(M_PI * progress));
}

double xf_schedule_factor(long step, long total, double warmup_fraction) {
    return xf_schedule_factor_decay(step, total, warmup_fraction, XF_DECAY_COSINE);
}
