#ifndef XF_TIMER_H
#define XF_TIMER_H

/* Seconds on a monotonic clock (for durations only). */
double xf_now(void);

#endif
