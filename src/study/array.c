/* An array task of a cluster job: its share of the trials, each recorded
 * as a result file (results.h) for `xfer merge`. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "study/results.h"
#include "study/runner_internal.h"

xf_status xf_array_index_from_env(int *index, const char **var) {
    static const char *const vars[] = {"SLURM_ARRAY_TASK_ID", "PBS_ARRAY_INDEX", "SGE_TASK_ID",
                                       "LSB_JOBINDEX"};
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        char *end;
        long x = strtol(v, &end, 10);
        if (*end || x < 0 || x > 1 << 30)
            return xf_fail(XF_EINVAL, "%s is '%s', expected an array index", vars[i], v);
        *index = (int)x;
        *var = vars[i];
        return XF_OK;
    }
    return xf_fail(XF_EINVAL, "no array index: none of SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX, "
                              "SGE_TASK_ID, LSB_JOBINDEX is set");
}

/* The todo list of an array task: its share (by index modulo the array
 * size) of the listed ids, or of the plan. */
static xf_status array_share(xf_runner *r, int **out, int *n_out) {
    const xf_study_options *o = r->opts;
    const xf_plan *plan = r->plan;
    *out = NULL;
    *n_out = 0;
    int *list = xf_malloc((size_t)(plan->n ? plan->n : 1) * sizeof *list);
    if (!list) return XF_ENOMEM;
    int n = 0;
    if (!o->todo_path) {
        for (int i = 0; i < plan->n; i++) list[n++] = i;
    } else {
        unsigned char *data = NULL;
        size_t size = 0;
        xf_status st = xf_read_file(o->todo_path, &data, &size);
        if (st) {
            free(list);
            return st;
        }
        char *text = (char *)data, *save = NULL;
        /* xf_read_file ends the data with a NUL. */
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int found = -1;
            for (int i = 0; i < plan->n && found < 0; i++)
                if (strcmp(plan->trials[i].id, line) == 0) found = i;
            if (found < 0)
                xf_log_warn("%s: trial %s is not in the plan (the study file changed?)",
                            o->todo_path, line);
            else if (n < plan->n)
                list[n++] = found;
        }
        free(data);
    }
    int kept = 0;
    for (int k = 0; k < n; k++)
        if (k % o->array_count == o->array_index % o->array_count) list[kept++] = list[k];
    *out = list;
    *n_out = kept;
    return XF_OK;
}

xf_status xf_runner_array_run(xf_runner *r) {
    xf_study_summary *sum = r->sum;
    int *share, n_share;
    xf_status st = array_share(r, &share, &n_share);
    if (st) return st;
    int *todo = xf_malloc((size_t)(n_share ? n_share : 1) * sizeof *todo);
    int n_todo = 0;
    if (!todo) st = XF_ENOMEM;
    for (int k = 0; k < n_share && !st; k++) {
        xf_trial_status ts;
        if ((st = xf_result_status(r->results_dir, r->plan->trials[share[k]].id, &ts))) break;
        if (ts == XF_TRIAL_FINISHED)
            sum->skipped++;
        else if (ts != XF_TRIAL_ABSENT && !r->opts->retry_failed)
            sum->skipped_failed++;
        else
            todo[n_todo++] = share[k];
    }
    xf_log_info("study %s: array task %d of %d: %d trials, %d to run", r->cfg->name,
                r->opts->array_index, r->opts->array_count, n_share, n_todo);
    if (!st) st = xf_runner_load_tasks(r, todo, n_todo);
    for (int k = 0; k < n_todo && !st; k++) st = xf_runner_trial_run(r, todo[k]);
    free(todo);
    free(share);
    return st;
}
