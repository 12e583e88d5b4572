/* Studies under fire: the xfer binary killed with SIGKILL at several
 * points (after the first stored trial, at random moments) and run again,
 * two studies sharing one store, and what the store looks like after: every
 * trial finished once, no duplicate rows, integrity_check ok. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/registry.h"
#include "support.h"

static void need_digits(void) {
    const xf_task_info *t = xf_task_find("digits-8x8");
    if (!t || !xf_task_available(t)) cr_skip_test("digits-8x8 is not installed (make deps)");
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
}

/* Starts `xfer -q study FILE --out DIR ARGS` in its own process group. */
static pid_t start_study(const char *fixture, const char *dir, const char *jobs,
                         const char *log) {
    char file[1024];
    snprintf(file, sizeof file, "%s/tests/fixtures/study/%s", test_root(), fixture);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        FILE *f = freopen(log, "a", stdout);
        if (f) dup2(fileno(f), 2);
        execl(test_xfer_bin(), test_xfer_bin(), "-q", "study", file, "--out", dir, "-j", jobs,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid) {
    int ws;
    while (waitpid(pid, &ws, 0) < 0) {
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static long long query(const char *db, const char *sql) {
    sqlite3 *h;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 5000);
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return v;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The state every run must end in: 8 trials finished, 2 shots x 2 draws x
 * 1 layer = 4 probe rows each, no duplicates, no claims, a sound file. */
static void check_complete(const char *dir) {
    char db[600];
    snprintf(db, sizeof db, "%s/study.db", dir);
    cr_assert_eq(query(db, "SELECT count(*) FROM trials WHERE status = 'finished'"), 8);
    cr_assert_eq(query(db, "SELECT count(*) FROM trials"), 8);
    cr_assert_eq(query(db, "SELECT count(DISTINCT id) FROM trials"), 8);
    cr_assert_eq(query(db, "SELECT count(*) FROM probes"), 32);
    cr_assert_eq(query(db, "SELECT count(*) FROM (SELECT DISTINCT trial_id, ds_task, layer, shots,"
                           " draw FROM probes)"),
                 32);
    cr_assert_eq(query(db, "SELECT count(*) FROM probes WHERE trial_id NOT IN"
                           " (SELECT id FROM trials)"),
                 0);
    cr_assert_eq(query(db, "SELECT count(*) FROM claims"), 0);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    sqlite3_close(h);
}

static void cleanup(char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}

Test(study_faults, kill_after_the_first_trial_then_resume, .timeout = 60) {
    need_digits();
    char *dir = test_tmpdir();
    char out[600], db[700], log[700];
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(db, sizeof db, "%s/study.db", out);
    snprintf(log, sizeof log, "%s/log", dir);
    pid_t pid = start_study("digits_slow.yaml", out, "2", log);
    long long done = 0;
    for (int i = 0; i < 3000 && done < 1; i++) {
        sleep_ms(5);
        if (access(db, F_OK) == 0)
            done = query(db, "SELECT count(*) FROM trials WHERE status = 'finished'");
    }
    cr_assert_geq(done, 1, "no trial was stored");
    kill(-pid, SIGKILL);
    cr_assert_eq(wait_exit(pid), 128 + SIGKILL);
    long long kept = query(db, "SELECT count(*) FROM trials");
    cr_assert_lt(kept, 8, "the study ended before the kill; make its trials longer");

    cr_assert_eq(wait_exit(start_study("digits_slow.yaml", out, "2", log)), 0);
    check_complete(out);
    cleanup(dir);
}

Test(study_faults, killed_at_random_moments_every_trial_finishes_once, .timeout = 90) {
    need_digits();
    char *dir = test_tmpdir();
    char out[600], log[700];
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    /* Fixed moments spread over the run: before the store exists, during
     * the first trials, in the middle. */
    static const int delays_ms[] = {30, 150, 90, 260, 400};
    for (size_t i = 0; i < sizeof delays_ms / sizeof delays_ms[0]; i++) {
        pid_t pid = start_study("digits_slow.yaml", out, i % 2 ? "1" : "3", log);
        sleep_ms(delays_ms[i]);
        kill(-pid, SIGKILL);
        wait_exit(pid);
    }
    cr_assert_eq(wait_exit(start_study("digits_slow.yaml", out, "2", log)), 0);
    check_complete(out);
    /* A further run finds nothing to do. */
    cr_assert_eq(wait_exit(start_study("digits_slow.yaml", out, "2", log)), 0);
    check_complete(out);
    cleanup(dir);
}

/* Two independent studies on one store split the trials through their
 * claims: together they run each trial once. */
Test(study_faults, two_studies_share_one_store, .timeout = 60) {
    need_digits();
    char *dir = test_tmpdir();
    char out[600], log_a[700], log_b[700];
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(log_a, sizeof log_a, "%s/a.log", dir);
    snprintf(log_b, sizeof log_b, "%s/b.log", dir);
    pid_t a = start_study("digits_slow.yaml", out, "1", log_a);
    pid_t b = start_study("digits_slow.yaml", out, "2", log_b);
    cr_assert_eq(wait_exit(a), 0);
    cr_assert_eq(wait_exit(b), 0);
    check_complete(out);
    int ran[2] = {-1, -1};
    const char *logs[2] = {log_a, log_b};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(logs[k], "r");
        cr_assert(f);
        char line[512];
        while (fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "trials planned, ");
            if (p) ran[k] = atoi(p + strlen("trials planned, "));
        }
        fclose(f);
    }
    cr_assert_eq(ran[0] + ran[1], 8, "ran %d + %d", ran[0], ran[1]);
    cleanup(dir);
}
