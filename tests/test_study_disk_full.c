/* A disk that fills under a running study (XFER_FAULT_DISK_FULL_AFTER and
 * XFER_FAULT_STORE_FULL_AT, core/fault.h and study/store_fault.h, make the
 * writes fail with ENOSPC as a full file system would): the trials that
 * hit it are left unrecorded, never `failed`, the first error names the
 * trial, no claim stays behind, and a plain re-run completes the study. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/registry.h"
#include "support.h"

static void need_digits(void) {
    const xf_task_info *t = xf_task_find("digits-8x8");
    if (!t || !xf_task_available(t)) cr_skip_test("digits-8x8 is not installed (make deps)");
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
}

static long long query(const char *db, const char *sql) {
    sqlite3 *h;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return v;
}

/* Runs `ENV xfer -q study digits_slow.yaml --out DIR -j JOBS`, stderr into
 * log; returns the exit status. */
static int study(const char *env, const char *dir, int jobs, const char *log) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' -q study '%s/tests/fixtures/study/digits_slow.yaml' "
             "--out '%s' -j %d >/dev/null 2>'%s'", env, test_xfer_bin(), test_root(), dir,
             jobs, log);
    return test_system(cmd);
}

/* The last line the CLI wrote ("xfer: digits-slow: ..."), into line. */
static void last_error(const char *log, char *line, size_t size) {
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f, "no log %s", log);
    line[0] = 0;
    char buf[4096];
    while (fgets(buf, sizeof buf, f))
        if (strncmp(buf, "xfer: digits-slow: ", 19) == 0) snprintf(line, size, "%s", buf);
    fclose(f);
    cr_assert_neq(line[0], 0, "no error line in %s", log);
}

/* The id after "trial " in the message, which must be a planned trial
 * that the store has no record of. */
static void expect_left_trial(const char *db, const char *line) {
    const char *p = strstr(line, "trial ");
    cr_assert_not_null(p, "the error names no trial: %s", line);
    char id[17] = "", sql[200];
    memcpy(id, p + 6, 16);
    for (int i = 0; i < 16; i++)
        cr_assert(strchr("0123456789abcdef", id[i]), "not a trial id after 'trial ': %s", line);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM trials WHERE id = '%s'", id);
    cr_assert_eq(query(db, sql), 0, "trial %s was recorded: %s", id, line);
}

static void expect_complete(const char *db) {
    cr_assert_eq(query(db, "SELECT count(*) FROM trials WHERE status = 'finished'"), 8);
    cr_assert_eq(query(db, "SELECT count(*) FROM trials"), 8);
    cr_assert_eq(query(db, "SELECT count(*) FROM probes"), 32);
    cr_assert_eq(query(db, "SELECT count(*) FROM claims"), 0);
}

static void remove_dir(char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}

/* Checkpoints fail with ENOSPC after the first two writes of each worker. */
static void disk_fills_then_a_plain_rerun_completes(int jobs) {
    need_digits();
    char *tmp = test_tmpdir();
    char dir[600], db[700], log[700];
    snprintf(dir, sizeof dir, "%s/s", tmp);
    snprintf(db, sizeof db, "%s/study.db", dir);
    snprintf(log, sizeof log, "%s/log", tmp);

    cr_assert_eq(study("XFER_FAULT_DISK_FULL_AFTER=2", dir, jobs, log), 1);
    char line[4096];
    last_error(log, line, sizeof line);
    cr_assert_not_null(strstr(line, "No space left on device"), "%s", line);
    cr_assert_not_null(strstr(line, ".safetensors"), "%s", line);
    expect_left_trial(db, line);
    /* Two checkpoints per process made it; nothing is marked failed. */
    cr_assert_eq(query(db, "SELECT count(*) FROM trials WHERE status = 'finished'"), 2 * jobs);
    cr_assert_eq(query(db, "SELECT count(*) FROM trials WHERE status != 'finished'"), 0);
    cr_assert_eq(query(db, "SELECT count(*) FROM claims"), 0);

    cr_assert_eq(study("", dir, jobs, log), 0, "the plain re-run failed");
    expect_complete(db);
    remove_dir(tmp);
}

Test(study_disk_full, checkpoints_fail_in_one_process_then_a_rerun_completes, .timeout = 60) {
    disk_fills_then_a_plain_rerun_completes(1);
}

Test(study_disk_full, checkpoints_fail_in_workers_then_a_rerun_completes, .timeout = 60) {
    disk_fills_then_a_plain_rerun_completes(2);
}

/* The store is full while a process writes its second trial record: the
 * record fails with SQLITE_FULL, the error shown is that one (not the
 * cleanup's), it names the trial, and the claims are released. */
static void store_fills_then_a_plain_rerun_completes(int jobs) {
    need_digits();
    char *tmp = test_tmpdir();
    char dir[600], db[700], log[700];
    snprintf(dir, sizeof dir, "%s/s", tmp);
    snprintf(db, sizeof db, "%s/study.db", dir);
    snprintf(log, sizeof log, "%s/log", tmp);

    cr_assert_eq(study("XFER_FAULT_STORE_FULL_AT=2", dir, jobs, log), 1);
    char line[4096];
    last_error(log, line, sizeof line);
    cr_assert_not_null(strstr(line, "database or disk is full"), "%s", line);
    cr_assert_not_null(strstr(line, "cannot commit a trial"), "%s", line);
    cr_assert_null(strstr(line, "release"), "%s", line);
    expect_left_trial(db, line);
    cr_assert_eq(query(db, "SELECT count(*) FROM trials WHERE status = 'finished'"), jobs);
    cr_assert_eq(query(db, "SELECT count(*) FROM trials WHERE status != 'finished'"), 0);
    cr_assert_eq(query(db, "SELECT count(*) FROM claims"), 0);

    cr_assert_eq(study("", dir, jobs, log), 0, "the plain re-run failed");
    expect_complete(db);
    remove_dir(tmp);
}

Test(study_disk_full, a_full_store_in_one_process_names_the_trial, .timeout = 60) {
    store_fills_then_a_plain_rerun_completes(1);
}

Test(study_disk_full, a_full_store_in_workers_names_the_trial, .timeout = 60) {
    store_fills_then_a_plain_rerun_completes(2);
}

Test(study_disk_full, errno_of_the_machine_is_an_environment_error) {
    test_expect_error(xf_fail_errno(ENOSPC, "cannot write '%s'", "a"), XF_EENV,
                      "cannot write 'a': No space left on device");
    test_expect_error(xf_fail_errno(EDQUOT, "w"), XF_EENV, "w: Disk quota exceeded");
    test_expect_error(xf_fail_errno(EIO, "w"), XF_EENV, "w: Input/output error");
    test_expect_error(xf_fail_errno(ESTALE, "w"), XF_EENV, "w: Stale file handle");
    test_expect_error(xf_fail_errno(ENOENT, "w"), XF_EIO, "w: No such file or directory");
    test_expect_error(xf_fail_errno(EACCES, "w"), XF_EIO, "w: Permission denied");
}

Test(study_disk_full, cleanup_keeps_the_first_error) {
    xf_saved_error first;
    xf_error_save(&first, xf_fail(XF_EENV, "trial t1: disk full"));
    /* A cleanup that fails too is added after it. */
    xf_status st = xf_error_restore(&first, xf_fail(XF_EDB, "cannot release claims"));
    cr_assert_eq(st, XF_EENV);
    cr_assert_str_eq(xf_error_message(), "trial t1: disk full (and then: cannot release claims)");
    /* One that succeeds leaves it as it was. */
    xf_error_save(&first, xf_fail(XF_EENV, "trial t2: disk full"));
    xf_fail(XF_EDB, "a message of a step that was retried");
    cr_assert_eq(xf_error_restore(&first, XF_OK), XF_EENV);
    cr_assert_str_eq(xf_error_message(), "trial t2: disk full");
    /* Without a failure before, the cleanup's own outcome. */
    xf_error_save(&first, XF_OK);
    cr_assert_eq(xf_error_restore(&first, xf_fail(XF_EDB, "only this")), XF_EDB);
    cr_assert_str_eq(xf_error_message(), "only this");
}
