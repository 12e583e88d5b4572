/* The processes of a study run with several workers: each forked worker
 * claims and runs trials and tells the parent on a pipe which trial it
 * runs; the parent follows them and records the trial of one that died. */
#include <errno.h>
#include <limits.h>
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
#include "study/runner_internal.h"

/* The body of a forked worker; never returns. */
static void worker_main(xf_runner *r, const int *todo, int n_todo, int start, int threads,
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
    char db[XF_PATH_MAX];
    xf_status st = xf_path_format(db, sizeof db, "%s/study.db", r->dir);
    if (!st) st = xf_store_open(db, &r->store);
    if (!st) st = xf_runner_claim_loop(r, todo, n_todo, start);
    if (st) xf_log_error("worker %d stops: %s", (int)getpid(), xf_error_message());
    xf_store_close(r->store);
    close(fd);
    /* _exit: the parent's stdio buffers and exit handlers are not ours. */
    _exit(st ? 1 : 0);
}

_Static_assert(sizeof(xf_runner_message) <= PIPE_BUF, "a message must be written at once");

typedef struct {
    pid_t pid;
    int trial; /* running now, -1 none */
    bool live;
    bool left; /* it stopped after leaving a trial (XF_RUNNER_MSG_LEFT) */
    int wstatus;
} worker_slot;

/* Records the trial a worker was running when it died, so that a trial
 * that kills its worker (out of memory, a crash) is a result like any
 * failure and a re-run does not stumble on it again. */
static xf_status record_lost(xf_runner *r, int index, int wstatus) {
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
xf_status xf_runner_workers_run(xf_runner *r, const int *todo, int n_todo, int n_workers,
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
        w[k] = (worker_slot){pid, -1, true, false, 0};
        started++;
    }
    close(fds[1]);
    int live = started;
    bool eof = false;
    xf_runner_message first_left = {0}; /* kind 0: no trial was left */
    while (live > 0 || !eof) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int ready = eof ? 0 : poll(&p, 1, 500);
        if (ready > 0) {
            xf_runner_message msg;
            ssize_t n = read(fds[0], &msg, sizeof msg);
            if (n == (ssize_t)sizeof msg && msg.worker >= 0 && msg.worker < started) {
                w[msg.worker].trial = msg.kind == XF_RUNNER_MSG_START ? msg.trial : -1;
                if (msg.kind == XF_RUNNER_MSG_LEFT) {
                    w[msg.worker].left = true;
                    if (!first_left.kind) first_left = msg;
                }
                xf_runner_report(r, msg.kind, msg.trial, msg.status);
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
    /* What stopped the study comes first: a worker that could not start,
     * else the first trial a worker left; what fails after is added. */
    if (!st && first_left.kind)
        st = xf_fail((xf_status)first_left.status, "%s", first_left.error);
    xf_saved_error first;
    xf_error_save(&first, st);
    char db[XF_PATH_MAX];
    xf_status later = xf_path_format(db, sizeof db, "%s/study.db", r->dir);
    if (!later) later = xf_store_open(db, &r->store);
    bool have_store = !later;
    int failed_workers = 0;
    for (int k = 0; k < started && have_store; k++) {
        int ws = w[k].wstatus;
        if (WIFEXITED(ws) && (WEXITSTATUS(ws) == 0 || w[k].left)) continue;
        failed_workers++;
        if (w[k].trial < 0) continue;
        /* It died running a trial: that trial is recorded as failed. */
        xf_status lst = record_lost(r, w[k].trial, ws);
        if (!lst)
            xf_runner_report(r, XF_RUNNER_MSG_END, w[k].trial, XF_TRIAL_FAILED);
        else if (!later)
            later = lst;
    }
    if (!later && failed_workers > 0)
        later = xf_fail(XF_EIO, "%d worker process(es) failed (see the log above)",
                        failed_workers);
    free(w);
    return xf_error_restore(&first, later);
}
