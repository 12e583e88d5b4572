#ifndef XF_TIMER_H
#define XF_TIMER_H

#include <stddef.h>

/* Seconds on a monotonic clock (for durations only). */
double xf_now(void);

/* The current UTC time as ISO 8601 with milliseconds ("2026-11-29T06:08:13.123Z"),
 * the form the results store writes. */
void xf_utc_timestamp(char *buf, size_t size);

#endif
