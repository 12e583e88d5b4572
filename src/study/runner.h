/* Runs a study: every planned trial not yet finished in the store is
 * pre-trained, evaluated on the US test set, checkpointed, probed on every
 * DS task and recorded in one transaction. A trial that fails or diverges
 * is recorded as such and the study goes on; a re-run tries it again and
 * skips the finished ones.
 *
 * Output, under the study folder (runs/<name>/ unless given):
 *   study.db                          the results store (store.h)
 *   checkpoints/<trial id>.safetensors */
#ifndef XF_STUDY_RUNNER_H
#define XF_STUDY_RUNNER_H

#include "study/config.h"

typedef struct {
    int planned;  /* trials in the plan */
    int skipped;  /* already finished in the store */
    int ran;      /* run now: finished + failed + diverged */
    int finished; /* of those run now */
    int failed;
    int diverged;
    double seconds;
} xf_study_summary;

/* Writes the study folder for cfg into buf: out_dir if not NULL, else
 * "runs/<name>" (relative to the current directory). */
xf_status xf_study_dir(const xf_study_config *cfg, const char *out_dir, char *buf, size_t size);

/* Runs cfg's plan into its study folder (see xf_study_dir). Fails only for
 * what stops the whole study (a task that cannot be loaded, the store, the
 * folder); trial failures are counted in the summary. */
xf_status xf_study_run(const xf_study_config *cfg, const char *out_dir,
                       xf_study_summary *summary);

#endif
