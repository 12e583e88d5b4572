#include <stdlib.h>
#include <time.h>

#include "core/mem.h"
#include "study/runner_internal.h"

/* A worker's loop over the todo list through the store's claims, starting
 * at `start` so that workers begin far apart. Trials held by live workers
 * of another run are retried until they are done or free (their holder may
 * be a killed run's worker not yet gone). */
xf_status xf_runner_claim_loop(xf_runner *r, const int *todo, int n_todo, int start) {
    int *busy = xf_malloc((size_t)(n_todo ? n_todo : 1) * sizeof *busy);
    if (!busy) return XF_ENOMEM;
    int n_busy = 0;
    xf_status st = XF_OK;
    for (int k = 0; k < n_todo && !st; k++) {
        int index = todo[(start + k) % n_todo];
        xf_claim_result res;
        if ((st = xf_store_claim(r->store, r->plan->trials[index].id, &r->me,
                                 r->opts->retry_failed, &res))) {
            xf_fail_context(st, "claiming trial %s: ", r->plan->trials[index].id);
            break;
        }
        if (res == XF_CLAIM_TAKEN)
            st = xf_runner_trial_run(r, index);
        else if (res == XF_CLAIM_BUSY)
            busy[n_busy++] = index;
    }
    while (!st && n_busy > 0) {
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        int kept = 0;
        for (int k = 0; k < n_busy && !st; k++) {
            xf_claim_result res;
            if ((st = xf_store_claim(r->store, r->plan->trials[busy[k]].id, &r->me,
                                     r->opts->retry_failed, &res))) {
                xf_fail_context(st, "claiming trial %s: ", r->plan->trials[busy[k]].id);
                break;
            }
            if (res == XF_CLAIM_TAKEN)
                st = xf_runner_trial_run(r, busy[k]);
            else if (res == XF_CLAIM_BUSY)
                busy[kept++] = busy[k];
        }
        n_busy = kept;
    }
    free(busy);
    return st;
}
