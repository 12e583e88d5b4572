#include "train/schedule.h"

#include <math.h>

double xf_schedule_factor(long step, long total, double warmup_fraction) {
    if (total <= 0) return 1;
    long warmup = lround(warmup_fraction * (double)total);
    if (warmup > total) warmup = total;
    if (step < warmup) return (double)(step + 1) / (double)warmup;
    if (step >= total) return 0;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    return 0.5 * (1 + cos(M_PI * progress));
}
