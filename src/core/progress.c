#include "core/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timer.h"

void xf_format_duration(double seconds, char *buf, size_t size) {
    if (seconds < 0 || seconds != seconds) {
        snprintf(buf, size, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lds", s);
}

void xf_progress_init(xf_progress *p, const char *label, const char *unit, size_t total) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->unit, sizeof p->unit, "%s", unit);
    p->total = total;
    p->start = xf_now();
    p->last_print = p->start;
    p->log_interval = 30.0;
    p->tty = isatty(STDERR_FILENO);
    p->quiet = xf_log_get_level() < XF_LOG_INFO;
}

static void draw(xf_progress *p, const char *extra, bool final) {
    double now = xf_now();
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[48], took[32];
    if (final) {
        xf_format_duration(elapsed, took, sizeof took);
        snprintf(eta, sizeof eta, "in %s", took);
    } else if (rate > 0 && p->total >= p->done) {
        xf_format_duration((double)(p->total - p->done) / rate, took, sizeof took);
        snprintf(eta, sizeof eta, "ETA %s", took);
    } else {
        snprintf(eta, sizeof eta, "ETA ?");
    }
    char rate_text[32];
    if (rate >= 100)
        snprintf(rate_text, sizeof rate_text, "%.0f", rate);
    else
        snprintf(rate_text, sizeof rate_text, "%.2f", rate);
    fprintf(stderr, "%s%s  %zu/%zu  %s %s/s  %s%s%s%s", p->tty ? "\r\033[K" : "",
            p->label, p->done, p->total, rate_text, p->unit, eta, extra ? "  " : "",
            extra ? extra : "", p->tty && !final ? "" : "\n");
    fflush(stderr);
    p->last_print = now;
    p->drawn = p->tty && !final;
}

void xf_progress_add(xf_progress *p, size_t n, const char *extra) {
    p->done += n;
    if (p->quiet) return;
    double since = xf_now() - p->last_print;
    if ((p->tty && since >= 0.1) || (!p->tty && since >= p->log_interval)) draw(p, extra, false);
}

void xf_progress_finish(xf_progress *p, const char *extra) {
    if (p->quiet) return;
    draw(p, extra, true);
}
