/* A finished study on read-only media: status, export, plan, fit and report
 * (to another folder) read it and leave it as it was; study and merge say
 * that it cannot be written; a -wal file holding commits that only a writer
 * could fold in is refused with a message instead of read stale.
 *
 * chmod does not stop root, so as root the commands run as user nobody
 * (setpriv, from util-linux): then the folder is really read-only to them,
 * as on read-only media, and SQLite cannot make its -shm file there. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "data/registry.h"
#include "support.h"

/* snprintf into an array, failing the test when it does not fit. */
#define format(buf, ...) \
    cr_assert_lt(snprintf(buf, sizeof buf, __VA_ARGS__), (int)sizeof buf, "%s is too small", #buf)

static char *dir;

static void setup(void) { dir = test_tmpdir(); }

static void teardown(void) {
    char cmd[600];
    format(cmd, "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
    test_system(cmd);
    free(dir);
}

TestSuite(readonly_store, .init = setup, .fini = teardown);

static void need_digits(void) {
    const xf_task_info *t = xf_task_find("digits-8x8");
    if (!t || !xf_task_available(t)) cr_skip_test("digits-8x8 is not installed (make deps)");
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
    if (geteuid() == 0 && access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("running as root without setpriv (util-linux) to drop to nobody");
}

/* Runs `xfer ARGS` as a user the read-only folder stops (nobody when this
 * is root); stdout and stderr into DIR/out. */
static int xfer_reader(const char *args) {
    char cmd[4096];
    format(cmd, "%s '%s' -q %s > '%s/out' 2>&1",
             geteuid() == 0 ? "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups" : "",
             test_xfer_bin(), args, dir);
    return test_system(cmd);
}

static char *slurp(const char *path) {
    static unsigned char *last;
    size_t size;
    free(last);
    last = NULL;
    cr_assert_eq(xf_read_file(path, &last, &size), XF_OK, "%s", xf_error_message());
    return (char *)last;
}

static const char *out(void) {
    char path[700];
    format(path, "%s/out", dir);
    return slurp(path);
}

/* A finished 8-trial study in DIR/s, copied to DIR/ro and made read-only;
 * DIR open to everyone, DIR/rep writable by everyone for the report. */
static void make_readonly_copy(const char *fixture_file) {
    char cmd[4096];
    format(cmd, "'%s' -q study '%s' --out '%s/s' > /dev/null 2>&1", test_xfer_bin(),
             fixture_file, dir);
    cr_assert_eq(test_system(cmd), 0, "the study runs");
    snprintf(cmd, sizeof cmd,
             "cp -a '%s/s' '%s/ro' && chmod -R a-w '%s/ro' && mkdir -m 777 '%s/rep' && "
             "chmod 755 '%s' && : > '%s/out' && chmod 666 '%s/out'",
             dir, dir, dir, dir, dir, dir, dir);
    cr_assert_eq(test_system(cmd), 0);
}

/* The file names in DIR/ro with their sizes and the bytes of study.db. */
static char *snapshot(void) {
    char cmd[1024], path[700];
    format(path, "%s/listing", dir);
    format(cmd, "cd '%s/ro' && find . -printf '%%p %%s\\n' | sort > '%s' && "
                              "cksum study.db >> '%s'",
             dir, path, path);
    cr_assert_eq(test_system(cmd), 0);
    return xf_strdup(slurp(path));
}

Test(readonly_store, finished_study_is_read_and_left_as_it_was, .timeout = 120) {
    need_digits();
    char fixture[1024], args[4096];
    format(fixture, "%s/tests/fixtures/study/digits.yaml", test_root());
    make_readonly_copy(fixture);
    char *before = snapshot();
    cr_assert(strstr(before, "./study.db "), "%s", before);

    format(args, "status '%s/ro'", dir);
    cr_assert_eq(xfer_reader(args), 0, "%s", out());
    cr_assert(strstr(out(), "study digits: 8/8 finished, 0 failed, 0 diverged, 0 in flight, "
                            "0 left; 32 probe rows"),
              "%s", out());

    format(args, "export '%s/ro' --csv --probes", dir);
    cr_assert_eq(xfer_reader(args), 0, "%s", out());
    int lines = 0;
    for (const char *p = out(); *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 33, "a header and 32 probe rows: %s", out());

    format(args, "plan '%s' --out '%s/ro'", fixture, dir);
    cr_assert_eq(xfer_reader(args), 0, "%s", out());
    cr_assert(strstr(out(), "8 trials (grid search over a space of 8): 8 finished, 0 failed"),
              "%s", out());

    format(args, "fit '%s/ro' --bootstrap 0", dir);
    cr_assert_eq(xfer_reader(args), 0, "%s", out());
    cr_assert(strstr(out(), "digits-8x8"), "%s", out());

    format(args, "report '%s/ro' --out '%s/rep'", dir, dir);
    cr_assert_eq(xfer_reader(args), 0, "%s", out());
    char page[700];
    format(page, "%s/rep/report/index.html", dir);
    cr_assert(strstr(slurp(page), "digits-8x8"), "the report page names the DS task");

    /* Writing is refused, and says why. */
    format(args, "study '%s' --out '%s/ro'", fixture, dir);
    cr_assert_eq(xfer_reader(args), 1, "%s", out());
    cr_assert(strstr(out(), "ro/study.db: the results store cannot be written ("), "%s", out());

    char *after = snapshot();
    cr_assert_str_eq(after, before, "the read-only copy is unchanged (no -wal or -shm left)");
    free(before);
    free(after);
}

Test(readonly_store, uncheckpointed_wal_is_refused_not_read_stale, .timeout = 120) {
    need_digits();
    char fixture[1024], cmd[4096], db[700];
    format(fixture, "%s/tests/fixtures/study/digits.yaml", test_root());
    format(cmd, "'%s' -q study '%s' --out '%s/s' > /dev/null 2>&1", test_xfer_bin(),
             fixture, dir);
    cr_assert_eq(test_system(cmd), 0, "the study runs");
    /* A commit left in the -wal file (no checkpoint), copied while the
     * connection is open, as a copy of a running study would be. */
    format(db, "%s/s/study.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "PRAGMA wal_autocheckpoint=0;"
                                 "INSERT OR REPLACE INTO meta VALUES ('note', 'in the wal')",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    snprintf(cmd, sizeof cmd,
             "mkdir '%s/ro' && cp '%s/s/study.db' '%s/s/study.db-wal' '%s/ro/' && "
             "test -s '%s/ro/study.db-wal' && chmod -R a-w '%s/ro' && chmod 755 '%s' && "
             ": > '%s/out' && chmod 666 '%s/out'",
             dir, dir, dir, dir, dir, dir, dir, dir, dir);
    cr_assert_eq(test_system(cmd), 0);
    sqlite3_close(h);
    format(cmd, "status '%s/ro'", dir);
    cr_assert_eq(xfer_reader(cmd), 1, "%s", out());
    cr_assert(strstr(out(), "ro/study.db-wal holds commits not yet in"), "%s", out());
}
