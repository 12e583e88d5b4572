#include "study/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/registry.h"
#include "models/model.h"
#include "probe/probe.h"
#include "study/plan.h"
#include "study/store.h"
#include "train/checkpoint.h"
#include "train/train.h"

/* Every task the study touches is loaded once and shared by all trials
 * (the US task of one study is often a DS task of it too). */
typedef struct {
    char name[XF_STUDY_NAME_LEN];
    xf_dataset train, test;
} task_entry;

typedef struct {
    task_entry *items;
    int n, capacity;
} task_cache;

static xf_status cache_get(task_cache *c, const char *name, task_entry **out) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->items[i].name, name) == 0) {
            *out = &c->items[i];
            return XF_OK;
        }
    if (c->n == c->capacity) {
        int grown = c->capacity ? 2 * c->capacity : 4;
        task_entry *bigger = xf_realloc(c->items, (size_t)grown * sizeof *bigger);
        if (!bigger) return XF_ENOMEM;
        c->items = bigger;
        c->capacity = grown;
    }
    task_entry *e = &c->items[c->n];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    double t0 = xf_now();
    xf_status st = xf_task_load(name, &e->train, &e->test);
    if (st) return xf_fail_context(st, "loading task %s: ", name);
    c->n++;
    xf_log_info("loaded %s: %d train, %d test images (%.1fs)", name, e->train.n, e->test.n,
                xf_now() - t0);
    *out = e;
    return XF_OK;
}

static void cache_free(task_cache *c) {
    for (int i = 0; i < c->n; i++) {
        xf_dataset_free(&c->items[i].train);
        xf_dataset_free(&c->items[i].test);
    }
    free(c->items);
}

typedef struct {
    const xf_study_config *cfg;
    char ckpt_dir[4096];
    xf_store *store;
    task_cache cache;
} runner;

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

static xf_status save_checkpoint(const runner *r, const xf_trial *t, const xf_model *m,
                                 double us_acc) {
    char path[4200], acc[32];
    snprintf(path, sizeof path, "%s/%s.safetensors", r->ckpt_dir, t->id);
    snprintf(acc, sizeof acc, "%.6f", us_acc);
    const char *keys[] = {"xfer_study", "xfer_trial_id", "xfer_trial_config", "xfer_us_acc"};
    const char *values[] = {r->cfg->name, t->id, t->config_json, acc};
    return xf_checkpoint_save(m, path, keys, values, 4);
}

/* Trains, evaluates, checkpoints and probes one trial into m and o. */
static xf_status train_and_probe(runner *r, const xf_trial *t, xf_model *m, bool *built,
                                 outcome *o) {
    const xf_study_config *cfg = r->cfg;
    task_entry *us;
    xf_status st = cache_get(&r->cache, t->upstream, &us);
    if (st) return st;

    xf_dataset subset = {0};
    const xf_dataset *train = &us->train;
    if (t->data_fraction < 1.0) {
        if ((st = xf_dataset_subset(&us->train, t->data_fraction, t->seed, &subset))) return st;
        train = &subset;
    }

    xf_model_config mc;
    memset(&mc, 0, sizeof mc);
    if ((st = xf_family_parse(t->family, &mc.family))) goto done;
    mc.height = train->height;
    mc.width = train->width;
    mc.channels = train->channels;
    mc.n_classes = train->n_classes;
    mc.mlp.width = t->width;
    mc.mlp.depth = t->depth;
    if ((st = xf_model_init(m, &mc))) goto done;
    *built = true;

    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.epochs = t->epochs;
    tc.batch_size = t->batch;
    tc.lr = t->lr;
    tc.weight_decay = t->wd;
    tc.head_lr = t->head_lr;
    tc.head_weight_decay = t->head_wd;
    tc.warmup_fraction = t->warmup;
    tc.seed = t->seed;
    xf_train_result tr;
    memset(&tr, 0, sizeof tr);
    o->rec.params = (long long)m->n_params;
    o->rec.flops_per_image = m->flops_per_image;
    if ((st = xf_train(m, train, &tc, &tr))) goto done;
    o->rec.train_flops = tr.train_flops;
    if ((st = xf_evaluate(m, &us->test, &o->rec.us_acc))) goto done;
    if ((st = save_checkpoint(r, t, m, o->rec.us_acc))) goto done;

    xf_probe_config pc;
    xf_probe_config_default(&pc);
    XF_ASSERT(cfg->n_shots <= XF_PROBE_MAX_SHOTS);
    memcpy(pc.shots, cfg->shots, (size_t)cfg->n_shots * sizeof pc.shots[0]);
    pc.n_shots = cfg->n_shots;
    pc.draws = cfg->draws;
    pc.lambda = cfg->lambda;
    pc.test_limit = cfg->test_limit;
    for (int k = 0; k < cfg->n_ds_tasks && !st; k++) {
        task_entry *ds;
        if ((st = cache_get(&r->cache, cfg->ds_tasks[k], &ds))) break;
        xf_probe_results res = {0};
        st = xf_probe_model(m, &ds->train, &ds->test, &pc, &res);
        if (st)
            xf_fail_context(st, "probing on %s: ", cfg->ds_tasks[k]);
        else
            st = add_rows(o, m, cfg->ds_tasks[k], &res);
        xf_probe_results_free(&res);
    }
done:
    xf_dataset_free(&subset);
    return st;
}

/* Runs one trial and records its outcome. Only a store failure is
 * returned: a trial's own failure is part of the results. */
static xf_status run_trial(runner *r, const xf_trial *t, xf_study_summary *sum, int index,
                           int total) {
    double t0 = xf_now();
    xf_model m;
    memset(&m, 0, sizeof m);
    bool built = false;
    outcome o;
    memset(&o, 0, sizeof o);
    xf_status st = train_and_probe(r, t, &m, &built, &o);
    char error[1024] = "";
    if (st) snprintf(error, sizeof error, "%s", xf_error_message());

    o.rec.id = t->id;
    o.rec.study = r->cfg->name;
    o.rec.config_json = t->config_json;
    o.rec.family = t->family;
    o.rec.us_task = t->upstream;
    o.rec.status = !st ? XF_TRIAL_FINISHED
                       : st == XF_EDIVERGED ? XF_TRIAL_DIVERGED : XF_TRIAL_FAILED;
    o.rec.error = st ? error : NULL;
    o.rec.seconds = xf_now() - t0;
    /* A failed trial keeps no partial probes: its record says why instead. */
    xf_status wst = xf_store_write_trial(r->store, &o.rec, o.rows, st ? 0 : o.n_rows);
    if (built) xf_model_free(&m);
    free(o.rows);
    if (wst) return wst;

    sum->ran++;
    if (!st) {
        sum->finished++;
        xf_log_info("trial %d/%d %s (%s w%d d%d, %g of %s, %d ep, seed %llu): US acc %.4f, "
                    "%.2fs",
                    index, total, t->id, t->family, t->width, t->depth, t->data_fraction,
                    t->upstream, t->epochs, (unsigned long long)t->seed, o.rec.us_acc,
                    o.rec.seconds);
    } else {
        if (st == XF_EDIVERGED)
            sum->diverged++;
        else
            sum->failed++;
        xf_log_warn("trial %d/%d %s %s after %.1fs: %s", index, total, t->id,
                    xf_trial_status_name(o.rec.status), o.rec.seconds, error);
    }
    return XF_OK;
}

xf_status xf_study_dir(const xf_study_config *cfg, const char *out_dir, char *buf, size_t size) {
    int n = out_dir ? snprintf(buf, size, "%s", out_dir)
                    : snprintf(buf, size, "runs/%s", cfg->name);
    if (n < 0 || (size_t)n >= size)
        return xf_fail(XF_EINVAL, "study folder path is longer than %zu bytes", size - 1);
    return XF_OK;
}

xf_status xf_study_run(const xf_study_config *cfg, const char *out_dir,
                       xf_study_summary *summary) {
    memset(summary, 0, sizeof *summary);
    double t0 = xf_now();
    runner r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    char dir[4000], db[4100];
    xf_status st = xf_study_dir(cfg, out_dir, dir, sizeof dir);
    if (st) return st;
    snprintf(r.ckpt_dir, sizeof r.ckpt_dir, "%s/checkpoints", dir);
    snprintf(db, sizeof db, "%s/study.db", dir);
    if ((st = xf_mkdirs(r.ckpt_dir))) return st;

    xf_plan plan;
    if ((st = xf_plan_build(cfg, &plan))) return st;
    int *todo = NULL;
    if ((st = xf_store_open(db, &r.store))) goto out;
    todo = xf_malloc((size_t)(plan.n ? plan.n : 1) * sizeof *todo);
    if (!todo) {
        st = XF_ENOMEM;
        goto out;
    }
    int n_todo = 0;
    for (int i = 0; i < plan.n && !st; i++) {
        xf_trial_status ts;
        if ((st = xf_store_trial_status(r.store, plan.trials[i].id, &ts))) break;
        if (ts == XF_TRIAL_FINISHED)
            summary->skipped++;
        else
            todo[n_todo++] = i;
    }
    if (st) goto out;
    summary->planned = plan.n;
    xf_log_info("study %s: %d trials planned, %d already finished, %d to run, in %s", cfg->name,
                plan.n, summary->skipped, n_todo, dir);

    /* Load every task up front: a missing data set should stop the study
     * before hours of training, not after. */
    task_entry *unused;
    for (int i = 0; i < n_todo && !st; i++)
        st = cache_get(&r.cache, plan.trials[todo[i]].upstream, &unused);
    for (int k = 0; k < cfg->n_ds_tasks && n_todo > 0 && !st; k++)
        st = cache_get(&r.cache, cfg->ds_tasks[k], &unused);
    if (st) goto out;

    xf_progress progress;
    xf_progress_init(&progress, cfg->name, "trials", (size_t)n_todo);
    for (int i = 0; i < n_todo && !st; i++) {
        st = run_trial(&r, &plan.trials[todo[i]], summary, i + 1, n_todo);
        char extra[64];
        snprintf(extra, sizeof extra, "%d failed", summary->failed + summary->diverged);
        xf_progress_add(&progress, 1, extra);
    }
    if (n_todo > 0) xf_progress_finish(&progress, NULL);
out:
    summary->seconds = xf_now() - t0;
    free(todo);
    cache_free(&r.cache);
    xf_store_close(r.store);
    xf_plan_free(&plan);
    return st;
}
