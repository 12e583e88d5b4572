#include "study/plan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void xf_trial_hash(const char *text, char id[XF_TRIAL_ID_LEN]) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    snprintf(id, XF_TRIAL_ID_LEN, "%016llx", (unsigned long long)h);
}

typedef struct {
    char buf[8192];
    size_t len;
    bool overflow;
} json_buf;

static void put(json_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(json_buf *b, const char *fmt, ...) {
    if (b->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, sizeof b->buf - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->buf - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

/* Shortest text that reads back as the same double, so 0.001 stays
 * "0.001" (not 0.0010000000000000000208) and 1e-3 in the file hashes the
 * same as 0.001. */
static void put_number(json_buf *b, double v) {
    char text[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v) break;
    }
    put(b, "%s", text);
}

/* Names are restricted by the config parser to [A-Za-z0-9._-], so they
 * need no JSON escaping. */
static void canonical_json(const xf_study_config *cfg, const xf_trial *t, json_buf *b) {
    put(b, "{\"downstream\":{\"draws\":%d,\"lambda\":", cfg->draws);
    put_number(b, cfg->lambda);
    put(b, ",\"shots\":[");
    for (int i = 0; i < cfg->n_shots; i++) put(b, "%s%d", i ? "," : "", cfg->shots[i]);
    put(b, "],\"tasks\":[");
    for (int i = 0; i < cfg->n_ds_tasks; i++) put(b, "%s\"%s\"", i ? "," : "", cfg->ds_tasks[i]);
    put(b, "],\"test_limit\":%d},", cfg->test_limit);
    put(b, "\"model\":{\"depth\":%d,\"family\":\"%s\",\"width\":%d},", t->depth, t->family,
        t->width);
    put(b, "\"train\":{\"batch\":%d,\"data_fraction\":", t->batch);
    put_number(b, t->data_fraction);
    put(b, ",\"epochs\":%d,\"head_lr\":", t->epochs);
    put_number(b, t->head_lr);
    put(b, ",\"head_wd\":");
    put_number(b, t->head_wd);
    put(b, ",\"lr\":");
    put_number(b, t->lr);
    put(b, ",\"seed\":%llu,\"warmup\":", (unsigned long long)t->seed);
    put_number(b, t->warmup);
    put(b, ",\"wd\":");
    put_number(b, t->wd);
    put(b, "},\"upstream\":\"%s\"}", t->upstream);
}

enum {
    AX_UPSTREAM, AX_FAMILY, AX_WIDTH, AX_DEPTH, AX_EPOCHS, AX_FRACTION, AX_BATCH, AX_LR, AX_WD,
    AX_HEAD_LR, AX_HEAD_WD, AX_WARMUP, AX_SEED, N_AXES
};

/* An omitted head_lr / head_wd follows the body's value in every trial. */
static int axis_size(const xf_study_config *cfg, int a) {
    const xf_study_axis *axes[N_AXES] = {
        NULL, NULL, &cfg->width, &cfg->depth, &cfg->epochs, &cfg->data_fraction, &cfg->batch,
        &cfg->lr, &cfg->wd, &cfg->head_lr, &cfg->head_wd, &cfg->warmup, &cfg->seed};
    if (a == AX_UPSTREAM) return cfg->n_upstream;
    if (a == AX_FAMILY) return cfg->n_family;
    int n = axes[a]->n;
    return n ? n : 1;
}

static void fill_trial(const xf_study_config *cfg, const int *at, xf_trial *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->upstream, sizeof t->upstream, "%s", cfg->upstream[at[AX_UPSTREAM]]);
    snprintf(t->family, sizeof t->family, "%s", cfg->family[at[AX_FAMILY]]);
    t->width = (int)cfg->width.v[at[AX_WIDTH]];
    t->depth = (int)cfg->depth.v[at[AX_DEPTH]];
    t->epochs = (int)cfg->epochs.v[at[AX_EPOCHS]];
    t->data_fraction = cfg->data_fraction.v[at[AX_FRACTION]];
    t->batch = (int)cfg->batch.v[at[AX_BATCH]];
    t->lr = cfg->lr.v[at[AX_LR]];
    t->wd = cfg->wd.v[at[AX_WD]];
    t->head_lr = cfg->head_lr.n ? cfg->head_lr.v[at[AX_HEAD_LR]] : t->lr;
    t->head_wd = cfg->head_wd.n ? cfg->head_wd.v[at[AX_HEAD_WD]] : t->wd;
    t->warmup = cfg->warmup.v[at[AX_WARMUP]];
    t->seed = (uint64_t)cfg->seed.v[at[AX_SEED]];
}

xf_status xf_plan_build(const xf_study_config *cfg, xf_plan *plan) {
    plan->trials = NULL;
    plan->n = 0;
    long long total = 1;
    for (int a = 0; a < N_AXES; a++) {
        total *= axis_size(cfg, a);
        if (total > XF_PLAN_MAX_TRIALS)
            return xf_fail(XF_EINVAL, "study %s: the grid has more than %d trials", cfg->name,
                           XF_PLAN_MAX_TRIALS);
    }
    if (total == 0)
        return xf_fail(XF_EINVAL, "study %s: the grid is empty (an axis has no values)",
                       cfg->name);
    xf_trial *trials = xf_calloc((size_t)total, sizeof *trials);
    if (!trials) return XF_ENOMEM;
    int at[N_AXES] = {0};
    for (long long i = 0; i < total; i++) {
        xf_trial *t = &trials[i];
        fill_trial(cfg, at, t);
        json_buf *b = xf_malloc(sizeof *b);
        if (!b) {
            plan->trials = trials;
            plan->n = (int)i;
            xf_plan_free(plan);
            return XF_ENOMEM;
        }
        b->len = 0;
        b->overflow = false;
        canonical_json(cfg, t, b);
        XF_ASSERT(!b->overflow); /* names and lists are bounded by the config */
        t->config_json = xf_strdup(b->buf);
        free(b);
        if (!t->config_json) {
            plan->trials = trials;
            plan->n = (int)i;
            xf_plan_free(plan);
            return XF_ENOMEM;
        }
        xf_trial_hash(t->config_json, t->id);
        /* Odometer over the axes, the last one (seed) turning fastest. */
        for (int a = N_AXES - 1; a >= 0; a--) {
            if (++at[a] < axis_size(cfg, a)) break;
            at[a] = 0;
        }
    }
    plan->trials = trials;
    plan->n = (int)total;
    return XF_OK;
}

void xf_plan_free(xf_plan *plan) {
    if (!plan) return;
    for (int i = 0; i < plan->n; i++) free(plan->trials[i].config_json);
    free(plan->trials);
    plan->trials = NULL;
    plan->n = 0;
}
