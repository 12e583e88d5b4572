#include "study/runner.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/blas.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/registry.h"
#include "models/model.h"
#include "probe/probe.h"
#include "study/results.h"
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

/* How a worker tells the parent what it does: fixed-size messages on a
 * pipe (atomic below PIPE_BUF, so workers never interleave). */
typedef struct {
    int kind;   /* MSG_START or MSG_END */
    int worker; /* the sender's slot */
    int trial;  /* index into the plan */
    int status; /* xf_trial_status, for MSG_END */
} message;

enum { MSG_START = 1, MSG_END = 2 };

typedef struct {
    const xf_study_config *cfg;
    const xf_study_options *opts;
    const xf_plan *plan;
    char dir[4000];
    char ckpt_dir[4100];
    char results_dir[4100];  /* array workers write here instead of the store */
    xf_store *store;         /* this process's connection */
    task_cache cache;
    xf_claimant me;
    int report_fd;           /* a worker's pipe to the parent; -1 in the parent */
    int slot;                /* a worker's slot in the parent */
    xf_progress *progress;   /* in-process runs */
    xf_study_summary *sum;
    int done_now;            /* trials this process recorded */
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
    /* xf_checkpoint_save writes a temp file and renames it: a kill leaves
     * the old checkpoint or the new one, never half of one. */
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

    xf_train_result tr;
    memset(&tr, 0, sizeof tr);
    o->rec.params = (long long)m->n_params;
    o->rec.flops_per_image = m->flops_per_image;
    if ((st = xf_train(m, train, &t->train, &tr))) goto done;
    o->rec.train_flops = tr.train_flops;
    if ((st = xf_evaluate(m, &us->test, &o->rec.us_acc))) goto done;
    if ((st = save_checkpoint(r, t, m, o->rec.us_acc))) goto done;

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

static void report(runner *r, int kind, int trial, xf_trial_status status) {
    if (r->report_fd >= 0) {
        message msg = {kind, r->slot, trial, (int)status};
        ssize_t n;
        do
            n = write(r->report_fd, &msg, sizeof msg);
        while (n < 0 && errno == EINTR);
        return;
    }
    if (kind != MSG_END) return;
    xf_study_summary *sum = r->sum;
    sum->ran++;
    if (status == XF_TRIAL_FINISHED)
        sum->finished++;
    else if (status == XF_TRIAL_DIVERGED)
        sum->diverged++;
    else
        sum->failed++;
    if (r->progress) {
        char extra[64];
        snprintf(extra, sizeof extra, "%d failed", sum->failed + sum->diverged);
        xf_progress_add(r->progress, 1, extra);
    }
}

/* Runs trial `index` of the plan and records its outcome. Only a failure
 * to record is returned: a trial's own failure is part of the results. */
static xf_status run_trial(runner *r, int index) {
    const xf_trial *t = &r->plan->trials[index];
    report(r, MSG_START, index, XF_TRIAL_ABSENT);
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
    int n_rows = st ? 0 : o.n_rows;
    xf_status wst = r->results_dir[0]
                        ? xf_result_write(r->results_dir, &o.rec, o.rows, n_rows)
                        : xf_store_write_trial(r->store, &o.rec, o.rows, n_rows);
    if (built) xf_model_free(&m);
    free(o.rows);
    if (wst) return wst;

    char what[256];
    xf_trial_describe(t, what, sizeof what);
    if (!st)
        xf_log_info("trial %s (%s): US acc %.4f, %.2fs", t->id, what, o.rec.us_acc,
                    o.rec.seconds);
    else
        xf_log_warn("trial %s (%s) %s after %.1fs: %s", t->id, what,
                    xf_trial_status_name(o.rec.status), o.rec.seconds, error);
    r->done_now++;
    report(r, MSG_END, index, o.rec.status);
    return XF_OK;
}

/* A worker's loop over the todo list through the store's claims, starting
 * at `start` so that workers begin far apart. Trials held by live workers
 * of another run are retried until they are done or free (their holder may
 * be a killed run's worker not yet gone). */
static xf_status claim_loop(runner *r, const int *todo, int n_todo, int start) {
    int *busy = xf_malloc((size_t)(n_todo ? n_todo : 1) * sizeof *busy);
    if (!busy) return XF_ENOMEM;
    int n_busy = 0;
    xf_status st = XF_OK;
    for (int k = 0; k < n_todo && !st; k++) {
        int index = todo[(start + k) % n_todo];
        xf_claim_result res;
        if ((st = xf_store_claim(r->store, r->plan->trials[index].id, &r->me,
                                 r->opts->retry_failed, &res)))
            break;
        if (res == XF_CLAIM_TAKEN)
            st = run_trial(r, index);
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
                                     r->opts->retry_failed, &res)))
                break;
            if (res == XF_CLAIM_TAKEN)
                st = run_trial(r, busy[k]);
            else if (res == XF_CLAIM_BUSY)
                busy[kept++] = busy[k];
        }
        n_busy = kept;
    }
    free(busy);
    return st;
}

/* The body of a forked worker; never returns. */
static void worker_main(runner *r, const int *todo, int n_todo, int start, int threads,
                        pid_t parent, int fd) {
    /* Die with the parent: a killed study must not leave workers running
     * trials that nobody waits for. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3);
    r->report_fd = fd;
    r->progress = NULL;
    xf_blas_set_threads(threads);
    char run[sizeof r->me.run];
    snprintf(run, sizeof run, "%s", r->me.run);
    xf_claimant_self(&r->me, run);
    char db[4200];
    snprintf(db, sizeof db, "%s/study.db", r->dir);
    xf_status st = xf_store_open(db, &r->store);
    if (!st) st = claim_loop(r, todo, n_todo, start);
    if (st) xf_log_error("worker %d: %s", (int)getpid(), xf_error_message());
    xf_store_close(r->store);
    close(fd);
    /* _exit: the parent's stdio buffers and exit handlers are not ours. */
    _exit(st ? 1 : 0);
}

typedef struct {
    pid_t pid;
    int trial; /* running now, -1 none */
    bool live;
    int wstatus;
} worker_slot;

/* Records the trial a worker was running when it died, so that a trial
 * that kills its worker (out of memory, a crash) is a result like any
 * failure and a re-run does not stumble on it again. */
static xf_status record_lost(runner *r, int index, int wstatus) {
    const xf_trial *t = &r->plan->trials[index];
    char error[256];
    if (WIFSIGNALED(wstatus))
        snprintf(error, sizeof error, "the worker process died of signal %d (%s) running this "
                 "trial", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
    else
        snprintf(error, sizeof error, "the worker process exited with status %d running this "
                 "trial", WEXITSTATUS(wstatus));
    xf_trial_record rec = {.id = t->id, .study = r->cfg->name, .config_json = t->config_json,
                           .family = t->family, .us_task = t->upstream,
                           .status = XF_TRIAL_FAILED, .error = error};
    xf_log_warn("trial %s: %s", t->id, error);
    return xf_store_write_trial(r->store, &rec, NULL, 0);
}

/* Forks the workers and follows them until all are gone. */
static xf_status run_workers(runner *r, const int *todo, int n_todo, int n_workers,
                             int threads) {
    int fds[2];
    if (pipe(fds) != 0) return xf_fail(XF_EIO, "cannot create a pipe: %s", strerror(errno));
    worker_slot *w = xf_calloc((size_t)n_workers, sizeof *w);
    if (!w) {
        close(fds[0]);
        close(fds[1]);
        return XF_ENOMEM;
    }
    xf_store_close(r->store); /* an SQLite connection must not cross a fork */
    r->store = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    xf_status st = XF_OK;
    int started = 0;
    for (int k = 0; k < n_workers; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            r->slot = k;
            worker_main(r, todo, n_todo, (int)((long long)k * n_todo / n_workers), threads,
                        parent, fds[1]);
        }
        if (pid < 0) {
            st = xf_fail(XF_EIO, "cannot start a worker process: %s", strerror(errno));
            break;
        }
        w[k] = (worker_slot){pid, -1, true, 0};
        started++;
    }
    close(fds[1]);
    int live = started;
    bool eof = false;
    while (live > 0 || !eof) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int ready = eof ? 0 : poll(&p, 1, 500);
        if (ready > 0) {
            message msg;
            ssize_t n = read(fds[0], &msg, sizeof msg);
            if (n == (ssize_t)sizeof msg && msg.worker >= 0 && msg.worker < started) {
                w[msg.worker].trial = msg.kind == MSG_START ? msg.trial : -1;
                report(r, msg.kind, msg.trial, (xf_trial_status)msg.status);
            } else if (n == 0) {
                eof = true;
            }
        } else if (eof) {
            struct timespec pause = {0, 20 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        for (int k = 0; k < started; k++) {
            if (!w[k].live || waitpid(w[k].pid, &w[k].wstatus, WNOHANG) != w[k].pid) continue;
            w[k].live = false;
            live--;
        }
    }
    close(fds[0]);
    char db[4200];
    snprintf(db, sizeof db, "%s/study.db", r->dir);
    xf_status ost = xf_store_open(db, &r->store);
    if (!st) st = ost;
    int failed_workers = 0;
    for (int k = 0; k < started && !ost; k++) {
        int ws = w[k].wstatus;
        if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) continue;
        failed_workers++;
        if (w[k].trial < 0) continue;
        /* It died running a trial: that trial is recorded as failed. */
        xf_status lst = record_lost(r, w[k].trial, ws);
        if (!lst) report(r, MSG_END, w[k].trial, XF_TRIAL_FAILED);
        if (!st) st = lst;
    }
    if (!st && failed_workers > 0)
        st = xf_fail(XF_EIO, "%d worker process(es) failed (see the log above)", failed_workers);
    free(w);
    return st;
}

xf_status xf_study_dir(const xf_study_config *cfg, const char *out_dir, char *buf, size_t size) {
    int n = out_dir ? snprintf(buf, size, "%s", out_dir)
                    : snprintf(buf, size, "runs/%s", cfg->name);
    if (n < 0 || (size_t)n >= size)
        return xf_fail(XF_EINVAL, "study folder path is longer than %zu bytes", size - 1);
    return XF_OK;
}

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

static xf_status load_tasks(runner *r, const int *todo, int n_todo) {
    /* Every task up front: a missing data set should stop the study before
     * hours of training, not after; and forked workers share these pages. */
    task_entry *unused;
    xf_status st = XF_OK;
    for (int i = 0; i < n_todo && !st; i++)
        st = cache_get(&r->cache, r->plan->trials[todo[i]].upstream, &unused);
    for (int k = 0; k < r->cfg->n_ds_tasks && n_todo > 0 && !st; k++)
        st = cache_get(&r->cache, r->cfg->ds_tasks[k], &unused);
    return st;
}

/* The todo list of an array task: its share (by index modulo the array
 * size) of the listed ids, or of the plan. */
static xf_status array_share(runner *r, int **out, int *n_out) {
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

static xf_status run_array(runner *r) {
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
    if (!st) st = load_tasks(r, todo, n_todo);
    for (int k = 0; k < n_todo && !st; k++) st = run_trial(r, todo[k]);
    free(todo);
    free(share);
    return st;
}

static xf_status run_local(runner *r, xf_study_summary *summary) {
    const xf_plan *plan = r->plan;
    char db[4200], now[40], planned[32];
    snprintf(db, sizeof db, "%s/study.db", r->dir);
    xf_status st = xf_store_open(db, &r->store);
    if (st) return st;
    xf_utc_timestamp(now, sizeof now);
    snprintf(planned, sizeof planned, "%d", plan->n);
    if ((st = xf_store_set_meta(r->store, "study", r->cfg->name)) ||
        (st = xf_store_set_meta(r->store, "planned", planned)) ||
        (st = xf_store_set_meta(r->store, "run_started", now)))
        return st;
    int *todo = xf_malloc((size_t)(plan->n ? plan->n : 1) * sizeof *todo);
    if (!todo) return XF_ENOMEM;
    int n_todo = 0;
    for (int i = 0; i < plan->n && !st; i++) {
        xf_trial_status ts;
        if ((st = xf_store_trial_status(r->store, plan->trials[i].id, &ts))) break;
        if (ts == XF_TRIAL_FINISHED)
            summary->skipped++;
        else if (ts != XF_TRIAL_ABSENT && !r->opts->retry_failed)
            summary->skipped_failed++;
        else
            todo[n_todo++] = i;
    }
    int workers = r->opts->workers < 1 ? 1 : r->opts->workers;
    if (workers > n_todo) workers = n_todo > 0 ? n_todo : 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = workers > 1 ? (int)(cores > workers ? cores / workers : 1) : xf_blas_threads();
    summary->workers = workers;
    summary->blas_threads = threads;
    if (!st)
        xf_log_info("study %s: %d trials planned, %d finished, %d failed before, %d to run "
                    "(%d worker%s x %d BLAS thread%s), in %s",
                    r->cfg->name, plan->n, summary->skipped, summary->skipped_failed, n_todo,
                    workers, workers > 1 ? "s" : "", threads, threads > 1 ? "s" : "", r->dir);
    if (!st) st = load_tasks(r, todo, n_todo);
    char run[40] = "";
    if (!st && n_todo > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(run, sizeof run, "%d-%lld.%09ld", (int)getpid(), (long long)ts.tv_sec,
                 ts.tv_nsec);
        xf_claimant_self(&r->me, run);
        xf_progress progress;
        xf_progress_init(&progress, r->cfg->name, "trials", (size_t)n_todo);
        r->progress = &progress;
        st = workers > 1 ? run_workers(r, todo, n_todo, workers, threads)
                         : claim_loop(r, todo, n_todo, 0);
        char extra[64];
        snprintf(extra, sizeof extra, "%d failed", summary->failed + summary->diverged);
        xf_progress_finish(&progress, extra);
        r->progress = NULL;
    }
    if (r->store) {
        xf_status rst = xf_store_release_run(r->store, run);
        if (!st) st = rst;
    }
    free(todo);
    return st;
}

xf_status xf_study_run(const xf_study_config *cfg, const xf_study_options *opts,
                       xf_study_summary *summary) {
    memset(summary, 0, sizeof *summary);
    double t0 = xf_now();
    runner *r = xf_calloc(1, sizeof *r);
    if (!r) return XF_ENOMEM;
    r->cfg = cfg;
    r->opts = opts;
    r->sum = summary;
    r->report_fd = -1;
    xf_plan plan = {0};
    xf_status st = xf_study_dir(cfg, opts->out_dir, r->dir, sizeof r->dir);
    if (!st) {
        snprintf(r->ckpt_dir, sizeof r->ckpt_dir, "%s/checkpoints", r->dir);
        st = xf_mkdirs(r->ckpt_dir);
    }
    if (!st) st = xf_plan_build(cfg, &plan);
    r->plan = &plan;
    summary->planned = plan.n;
    if (!st && opts->array_count > 0) {
        snprintf(r->results_dir, sizeof r->results_dir, "%s/results", r->dir);
        if (!(st = xf_mkdirs(r->results_dir))) st = run_array(r);
    } else if (!st) {
        st = run_local(r, summary);
    }
    summary->seconds = xf_now() - t0;
    cache_free(&r->cache);
    xf_store_close(r->store);
    xf_plan_free(&plan);
    free(r);
    return st;
}
