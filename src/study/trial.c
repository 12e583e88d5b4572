/* One trial of a study: pre-train, evaluate on the US test set,
 * checkpoint, probe on every DS task, record; or, for a checkpoint entry,
 * import it, take its US accuracy, probe, record. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/timer.h"
#include "models/model.h"
#include "probe/probe.h"
#include "study/results.h"
#include "study/runner_internal.h"
#include "train/checkpoint.h"
#include "train/train.h"
#include "zoo/import.h"

/* What one trial produced; probe rows borrow layer names from the model. */
typedef struct {
    xf_trial_record rec;
    xf_probe_row *rows;
    int n_rows, rows_capacity;
} outcome;

static xf_status add_rows(outcome *o, const xf_model *m, const char *task,
                          const xf_probe_results *res) {
    if (o->n_rows + res->count > o->rows_capacity) {
        int grown = o->rows_capacity ? o->rows_capacity : 64;
        while (grown < o->n_rows + res->count) grown *= 2;
        xf_probe_row *bigger = xf_realloc(o->rows, (size_t)grown * sizeof *bigger);
        if (!bigger) return XF_ENOMEM;
        o->rows = bigger;
        o->rows_capacity = grown;
    }
    for (int i = 0; i < res->count; i++) {
        const xf_probe_result *r = &res->items[i];
        XF_ASSERT(r->layer >= 0 && r->layer < m->n_taps);
        o->rows[o->n_rows++] = (xf_probe_row){task, r->layer, m->tap_names[r->layer],
                                              m->n_taps,  r->shots, r->draw, r->accuracy};
    }
    return XF_OK;
}

static xf_status save_checkpoint(const xf_runner *r, const xf_trial *t, const xf_model *m,
                                 double us_acc) {
    char path[XF_PATH_MAX], acc[32];
    xf_status st = xf_path_format(path, sizeof path, "%s/%s.safetensors", r->ckpt_dir, t->id);
    if (st) return st;
    snprintf(acc, sizeof acc, "%.6f", us_acc);
    const char *keys[] = {"xfer_study", "xfer_trial_id", "xfer_trial_config", "xfer_us_acc"};
    const char *values[] = {r->cfg->name, t->id, t->config_json, acc};
    /* xf_checkpoint_save writes a temp file and renames it: a kill leaves
     * the old checkpoint or the new one, never half of one. */
    return xf_checkpoint_save(m, path, keys, values, 4);
}

/* Probes m on every DS task of the study into o; `input` (NULL for xfer's
 * own models) brings the pictures to an imported model's input. */
static xf_status probe_all(xf_runner *r, xf_model *m, const xf_model_input *input, outcome *o) {
    const xf_study_config *cfg = r->cfg;
    xf_probe_config pc;
    xf_probe_config_default(&pc);
    XF_ASSERT(cfg->n_shots <= XF_PROBE_MAX_SHOTS && cfg->n_layers <= XF_PROBE_MAX_LAYERS);
    memcpy(pc.shots, cfg->shots, (size_t)cfg->n_shots * sizeof pc.shots[0]);
    pc.n_shots = cfg->n_shots;
    pc.draws = cfg->draws;
    pc.lambda = cfg->lambda;
    pc.test_limit = cfg->test_limit;
    memcpy(pc.layers, cfg->layers, (size_t)cfg->n_layers * sizeof pc.layers[0]);
    pc.n_layers = cfg->n_layers;
    xf_status st = XF_OK;
    for (int k = 0; k < cfg->n_ds_tasks && !st; k++) {
        xf_task_entry *ds;
        if ((st = xf_task_cache_get(&r->cache, cfg->ds_tasks[k], &ds))) break;
        xf_probe_results res = {0};
        st = xf_probe_model_input(m, input, &ds->train, &ds->test, &pc, &res);
        if (st)
            xf_fail_context(st, "probing on %s: ", cfg->ds_tasks[k]);
        else
            st = add_rows(o, m, cfg->ds_tasks[k], &res);
        xf_probe_results_free(&res);
    }
    return st;
}

/* A checkpoint's trial: import it, take or measure its US accuracy, probe
 * it. Its family, size and resolution are the imported model's. */
static xf_status import_and_probe(xf_runner *r, const xf_trial *t, xf_model *m, bool *built,
                                  outcome *o) {
    const xf_study_checkpoint *e = &r->cfg->checkpoints[t->checkpoint];
    const char *settings[XF_STUDY_MAX_SETTINGS];
    for (int i = 0; i < e->n_settings; i++) settings[i] = e->settings[i];
    xf_import_options opt = {.arch = e->arch[0] ? e->arch : NULL,
                             .settings = settings,
                             .n_settings = e->n_settings,
                             .image_size = e->image_size};
    bool options = opt.arch || opt.image_size || opt.n_settings;
    xf_model_input input;
    xf_status st = xf_model_import(e->path, options ? &opt : NULL, m, &input);
    *built = true; /* an import that fails leaves m empty, safe to free */
    if (st) return st;
    o->rec.family = xf_family_name(m->config.family);
    o->rec.params = (long long)m->n_params;
    o->rec.flops_per_image = m->flops_per_image;
    o->rec.resolution = m->config.height;
    if (e->us_source == XF_US_ACC_MEASURE) {
        xf_task_entry *us;
        if ((st = xf_task_cache_get(&r->cache, t->upstream, &us)) ||
            (st = xf_evaluate(m, &us->test, &o->rec.us_acc)))
            return xf_fail_context(st, "measuring the US accuracy on %s: ", t->upstream);
    } else {
        o->rec.us_acc = e->us_acc;
    }
    return probe_all(r, m, &input, o);
}

/* Trains, evaluates, checkpoints and probes one trial into m and o. */
static xf_status train_and_probe(xf_runner *r, const xf_trial *t, xf_model *m, bool *built,
                                 outcome *o) {
    xf_task_entry *us;
    xf_status st = xf_task_cache_get(&r->cache, t->upstream, &us);
    if (st) return st;

    xf_dataset subset = {0};
    const xf_dataset *train = &us->train;
    double fraction = t->data_fraction;
    if (t->data_count > 0) fraction = t->data_count >= us->train.n
                                          ? 1.0
                                          : (double)t->data_count / us->train.n;
    if (fraction < 1.0) {
        if ((st = xf_dataset_subset(&us->train, fraction, t->train.seed, &subset))) return st;
        train = &subset;
    }

    xf_model_config mc = t->model;
    mc.height = train->height;
    mc.width = train->width;
    mc.channels = train->channels;
    mc.n_classes = train->n_classes;
    if ((st = xf_model_init(m, &mc))) goto done;
    *built = true;
    o->rec.resolution = mc.height;

    xf_train_result tr;
    memset(&tr, 0, sizeof tr);
    o->rec.params = (long long)m->n_params;
    o->rec.flops_per_image = m->flops_per_image;
    if ((st = xf_train(m, train, &t->train, &tr))) goto done;
    o->rec.train_flops = tr.train_flops;
    if ((st = xf_evaluate(m, &us->test, &o->rec.us_acc))) goto done;
    if ((st = save_checkpoint(r, t, m, o->rec.us_acc))) goto done;

    st = probe_all(r, m, NULL, o);
done:
    xf_dataset_free(&subset);
    return st;
}

/* A trial stopped by the machine (a full disk, an I/O error) or whose
 * outcome cannot be recorded: nothing is recorded, so it stays to do for
 * the next run, and the error that stops this worker names it. */
static xf_status leave(xf_runner *r, int index, xf_status st, bool named) {
    const xf_trial *t = &r->plan->trials[index];
    if (!named) xf_fail_context(st, "trial %s: ", t->id);
    char why[XF_ERROR_CAPACITY];
    snprintf(why, sizeof why, "%s", xf_error_message());
    st = xf_fail(st, "%s (not recorded: the next run does it)", why);
    xf_runner_report(r, XF_RUNNER_MSG_LEFT, index, st);
    return st;
}

/* Runs trial `index` of the plan and records its outcome. A trial's own
 * failure is part of the results; the machine's failures and a failure to
 * record are returned. */
xf_status xf_runner_trial_run(xf_runner *r, int index) {
    const xf_trial *t = &r->plan->trials[index];
    xf_runner_report(r, XF_RUNNER_MSG_START, index, XF_TRIAL_ABSENT);
    double t0 = xf_now();
    xf_model m;
    memset(&m, 0, sizeof m);
    bool built = false;
    outcome o;
    memset(&o, 0, sizeof o);
    o.rec.family = t->family;
    xf_status st = t->is_checkpoint ? import_and_probe(r, t, &m, &built, &o)
                                    : train_and_probe(r, t, &m, &built, &o);
    if (st == XF_EENV) {
        if (built) xf_model_free(&m);
        free(o.rows);
        return leave(r, index, st, false);
    }
    char error[1024] = "";
    if (st) snprintf(error, sizeof error, "%s", xf_error_message());

    o.rec.id = t->id;
    o.rec.study = r->cfg->name;
    o.rec.config_json = t->config_json;
    o.rec.us_task = t->upstream;
    o.rec.status = !st ? XF_TRIAL_FINISHED
                       : st == XF_EDIVERGED ? XF_TRIAL_DIVERGED : XF_TRIAL_FAILED;
    o.rec.error = st ? error : NULL;
    o.rec.seconds = xf_now() - t0;
    /* A failed trial keeps no partial probes: its record says why instead. */
    int n_rows = st ? 0 : o.n_rows;
    bool to_store = !r->results_dir[0];
    xf_status wst = to_store ? xf_store_write_trial(r->store, &o.rec, o.rows, n_rows)
                             : xf_result_write(r->results_dir, &o.rec, o.rows, n_rows);
    if (built) xf_model_free(&m);
    free(o.rows);
    /* The store's message names the trial already. */
    if (wst) return leave(r, index, wst, to_store);

    char what[256];
    xf_trial_describe(t, what, sizeof what);
    if (!st)
        xf_log_info("trial %s (%s): US acc %.4f, %.2fs", t->id, what, o.rec.us_acc,
                    o.rec.seconds);
    else
        xf_log_warn("trial %s (%s) %s after %.1fs: %s", t->id, what,
                    xf_trial_status_name(o.rec.status), o.rec.seconds, error);
    r->done_now++;
    xf_runner_report(r, XF_RUNNER_MSG_END, index, o.rec.status);
    return XF_OK;
}
