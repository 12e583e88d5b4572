/* A progress line for long work: "label  done/total  rate/s  ETA".
 * On a terminal it redraws one line in place; when stderr is not a terminal
 * (a log file, CI) it prints a plain line at most every `log_interval`
 * seconds and at the end, so logs stay short. Quiet below XF_LOG_INFO. */
#ifndef XF_PROGRESS_H
#define XF_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char label[64];
    char unit[16];     /* what is counted: "img", "trials" */
    size_t total;
    size_t done;
    double start;      /* xf_now() at init */
    double last_print; /* xf_now() of the last line */
    double log_interval;
    bool tty;
    bool quiet;
    bool drawn;        /* a line is on screen and must be ended */
} xf_progress;

void xf_progress_init(xf_progress *p, const char *label, const char *unit, size_t total);
/* Advances by `n` and redraws if due. `extra` (may be NULL) is appended,
 * e.g. "loss 0.412". */
void xf_progress_add(xf_progress *p, size_t n, const char *extra);
/* Prints the final line (always) and ends it. */
void xf_progress_finish(xf_progress *p, const char *extra);

/* Formats "1h02m", "3m05s", "12s" into buf. */
void xf_format_duration(double seconds, char *buf, size_t size);

#endif
