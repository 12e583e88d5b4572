#include "study/slurm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/path.h"
#include "study/plan.h"
#include "study/results.h"
#include "study/runner.h"
#include "study/store.h"

typedef struct {
    char *text;
    size_t len, cap;
    bool oom;
} sbuf;

static void add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->text ? b->text + b->len : NULL, b->text ? b->cap - b->len : 0, fmt,
                          ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->text && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *bigger = xf_realloc(b->text, cap);
        if (!bigger) {
            b->oom = true;
            return;
        }
        b->text = bigger;
        b->cap = cap;
    }
}

/* A word for bash: single-quoted, with ' as '\''. */
static void add_quoted(sbuf *b, const char *s) {
    add(b, "'");
    for (; *s; s++) {
        if (*s == '\'')
            add(b, "'\\''");
        else
            add(b, "%c", *s);
    }
    add(b, "'");
}

static xf_status write_script(const char *path, sbuf *b) {
    if (b->oom) return xf_fail(XF_ENOMEM, "%s: out of memory", path);
    xf_status st = xf_write_file_atomic(path, b->text, b->len);
    if (!st && chmod(path, 0755) != 0)
        st = xf_fail(XF_EIO, "%s: cannot make it executable: %s", path, strerror(errno));
    return st;
}

static void header(sbuf *b, const char *name, const xf_slurm_options *o, const char *log) {
    add(b, "#!/bin/bash\n# Written by xfer study --slurm; re-submit with sbatch.\n");
    add(b, "#SBATCH --job-name=%s\n#SBATCH --output=%s\n", name, log);
    if (o->partition) add(b, "#SBATCH --partition=%s\n", o->partition);
    if (o->time) add(b, "#SBATCH --time=%s\n", o->time);
}

/* Runs `sbatch --parsable [extra] script` and reads the job id it prints. */
static xf_status sbatch(const char *script, const char *extra, char *job, size_t size) {
    int fds[2];
    if (pipe(fds) != 0) return xf_fail(XF_EIO, "cannot create a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return xf_fail(XF_EIO, "cannot start sbatch: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (extra)
            execlp("sbatch", "sbatch", "--parsable", extra, script, (char *)NULL);
        else
            execlp("sbatch", "sbatch", "--parsable", script, (char *)NULL);
        fprintf(stderr, "xfer: cannot run sbatch: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    char out[256];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof out - 1 && ((got = read(fds[0], out + n, sizeof out - 1 - n)) > 0 ||
                                  (got < 0 && errno == EINTR)))
        if (got > 0) n += (size_t)got;
    out[n] = 0;
    close(fds[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return xf_fail(XF_EIO, "sbatch %s failed (status %d)", script,
                       WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
    /* --parsable prints "jobid" or "jobid;cluster". */
    size_t len = strspn(out, "0123456789");
    if (len == 0 || len >= size)
        return xf_fail(XF_EFORMAT, "sbatch %s printed '%s', expected a job id", script, out);
    memcpy(job, out, len);
    job[len] = 0;
    return XF_OK;
}

/* The trials still to run, one id a line, into out->todo_path. */
static xf_status write_todo(const xf_study_config *cfg, const char *dir, bool retry,
                            xf_slurm_submission *out) {
    char db[XF_PATH_MAX];
    xf_status st = xf_path_format(db, sizeof db, "%s/study.db", dir);
    if (st) return st;
    xf_plan plan;
    if ((st = xf_plan_build(cfg, &plan))) return st;
    xf_store *store = NULL;
    sbuf b = {0};
    if (!(st = xf_store_open(db, &store))) {
        char planned[32];
        snprintf(planned, sizeof planned, "%d", plan.n);
        st = xf_store_set_meta(store, "planned", planned);
        if (!st) st = xf_store_set_meta(store, "study", cfg->name);
        if (!st) st = xf_study_update_us_acc(cfg, &plan, store);
    }
    for (int i = 0; i < plan.n && !st; i++) {
        xf_trial_status ts;
        if ((st = xf_store_trial_status(store, plan.trials[i].id, &ts))) break;
        if (ts == XF_TRIAL_FINISHED || (ts != XF_TRIAL_ABSENT && !retry)) continue;
        add(&b, "%s\n", plan.trials[i].id);
        out->todo++;
    }
    xf_store_close(store);
    xf_plan_free(&plan);
    if (!st && b.oom) st = XF_ENOMEM;
    if (!st) st = xf_write_file_atomic(out->todo_path, b.text ? b.text : "", b.len);
    free(b.text);
    return st;
}

xf_status xf_slurm_submit(const xf_study_config *cfg, const xf_slurm_options *o,
                          xf_slurm_submission *out) {
    memset(out, 0, sizeof *out);
    char dir[XF_PATH_MAX], sdir[XF_PATH_MAX], log[XF_PATH_MAX];
    xf_status st = xf_study_dir(cfg, o->out_dir, dir, sizeof dir);
    if (st) return st;
    if (dir[0] != '/')
        return xf_fail(XF_EINVAL, "the study folder '%s' must be an absolute path for the "
                                  "cluster's jobs", dir);
    if ((st = xf_path_format(sdir, sizeof sdir, "%s/slurm", dir)) || (st = xf_mkdirs(sdir)) ||
        (st = xf_path_format(out->worker_script, sizeof out->worker_script, "%s/workers.sh",
                             sdir)) ||
        (st = xf_path_format(out->merge_script, sizeof out->merge_script, "%s/merge.sh", sdir)) ||
        (st = xf_path_format(out->todo_path, sizeof out->todo_path, "%s/todo.txt", sdir)) ||
        (st = xf_path_format(log, sizeof log, "%s/worker-%%A_%%a.log", sdir)))
        return st;

    /* Results of an earlier submission first, so they are not run again. */
    xf_merge_summary merged;
    if ((st = xf_study_merge(dir, &merged))) return st;
    if ((st = write_todo(cfg, dir, o->retry_failed, out))) return st;
    out->workers = o->workers < 1 ? 1 : o->workers;
    if (out->workers > out->todo) out->workers = out->todo > 0 ? out->todo : 1;

    sbuf b = {0};
    char name[128];
    snprintf(name, sizeof name, "xfer-%s", cfg->name);
    header(&b, name, o, log);
    add(&b, "#SBATCH --array=0-%d\n", out->workers - 1);
    if (o->cpus_per_task > 0) add(&b, "#SBATCH --cpus-per-task=%d\n", o->cpus_per_task);
    add(&b, "set -euo pipefail\nexec ");
    add_quoted(&b, o->xfer_bin);
    add(&b, " study ");
    add_quoted(&b, o->study_file);
    add(&b, " --out ");
    add_quoted(&b, dir);
    add(&b, " --array %d --todo ", out->workers);
    add_quoted(&b, out->todo_path);
    add(&b, "%s\n", o->retry_failed ? " --retry-failed" : "");
    st = write_script(out->worker_script, &b);
    b.len = 0;

    snprintf(name, sizeof name, "xfer-%s-merge", cfg->name);
    if (!st) st = xf_path_format(log, sizeof log, "%s/merge-%%j.log", sdir);
    if (!st) {
        header(&b, name, o, log);
        add(&b, "set -euo pipefail\nexec ");
        add_quoted(&b, o->xfer_bin);
        add(&b, " merge ");
        add_quoted(&b, dir);
        add(&b, "\n");
        st = write_script(out->merge_script, &b);
    }
    free(b.text);
    if (st || o->dry_run || out->todo == 0) return st;

    if ((st = sbatch(out->worker_script, NULL, out->array_job, sizeof out->array_job)))
        return st;
    char dep[128];
    snprintf(dep, sizeof dep, "--dependency=afterany:%s", out->array_job);
    return sbatch(out->merge_script, dep, out->merge_job, sizeof out->merge_job);
}
