/* The plan: a study's grid expanded into trials, one per combination of
 * its axis values. A trial's id is the FNV-1a 64 hash of its canonical
 * config (JSON, keys sorted, numbers in shortest round-trip form, the
 * downstream settings included) printed as 16 hex digits. The study's name
 * and the order of keys or list entries in the file do not enter it, so
 * adding a value to an axis adds trials and keeps the ids, and with them
 * the results, of the ones already run. */
#ifndef XF_STUDY_PLAN_H
#define XF_STUDY_PLAN_H

#include <stdint.h>

#include "study/config.h"

enum { XF_TRIAL_ID_LEN = 17 }; /* 16 hex digits + NUL */

typedef struct {
    char id[XF_TRIAL_ID_LEN];
    char upstream[XF_STUDY_NAME_LEN];
    char family[16];
    int width, depth;
    int epochs, batch;
    double data_fraction, lr, wd, head_lr, head_wd, warmup;
    uint64_t seed;
    char *config_json; /* canonical config, owned */
} xf_trial;

typedef struct {
    xf_trial *trials;
    int n;
} xf_plan;

/* Largest plan accepted; a bigger grid is almost surely a mistake. */
enum { XF_PLAN_MAX_TRIALS = 1000000 };

/* Expands cfg's grid (upstream-major, seed fastest). */
xf_status xf_plan_build(const xf_study_config *cfg, xf_plan *plan);
void xf_plan_free(xf_plan *plan);

/* FNV-1a 64 of a string, as 16 lower-case hex digits into id. */
void xf_trial_hash(const char *text, char id[XF_TRIAL_ID_LEN]);

#endif
