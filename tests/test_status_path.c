/* Paths formatted with a length check (core/path.h); error messages that
 * keep their context when they grow past the buffer, that tell the
 * machine's errnos from the rest, and that survive a cleanup (status.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/path.h"
#include "support.h"

Test(path, fits_exactly_and_fails_one_byte_over) {
    char buf[12];
    cr_assert_eq(xf_path_format(buf, sizeof buf, "%s/%s", "runs", "q.db"), XF_OK);
    cr_assert_str_eq(buf, "runs/q.db");
    cr_assert_eq(xf_path_format(buf, sizeof buf, "%s/%s", "runs", "abcdef"), XF_OK); /* 11 */
    cr_assert_str_eq(buf, "runs/abcdef");
    xf_status st = xf_path_format(buf, sizeof buf, "%s/%s", "runs", "abcdefg"); /* 12 */
    test_expect_error(st, XF_EINVAL, "path too long (12 bytes, at most 11): runs/abcdef...");
    cr_assert_str_eq(buf, "", "a path that does not fit is not left half written");
}

Test(path, a_study_folder_too_long_for_its_store_is_named) {
    char dir[XF_PATH_MAX], db[XF_PATH_MAX];
    memset(dir, 'a', sizeof dir - 8);
    dir[sizeof dir - 8] = 0; /* fits, but not with "/study.db" */
    cr_assert_eq(xf_path_format(db, sizeof db, "%s", dir), XF_OK);
    test_expect_error(xf_path_format(db, sizeof db, "%s/study.db", dir), XF_EINVAL,
                      "(4097 bytes, at most 4095): aaaa");
}

Test(status, error_context_is_kept_when_the_message_is_full) {
    char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    xf_fail(XF_EIO, "%s", long_text);
    xf_fail_context(XF_EIO, "trial t1: ");
    const char *m = xf_error_message();
    cr_assert_eq(strncmp(m, "trial t1: xxx", 13), 0, "%.20s", m);
    cr_assert_eq(strlen(m), 2047);
    xf_fail(XF_EIO, "disk full");
    xf_fail_context(XF_EIO, "trial %s: ", "t2");
    cr_assert_str_eq(xf_error_message(), "trial t2: disk full");
}

Test(status, errno_of_the_machine_is_an_environment_error) {
    test_expect_error(xf_fail_errno(ENOSPC, "cannot write '%s'", "a"), XF_EENV,
                      "cannot write 'a': No space left on device");
    test_expect_error(xf_fail_errno(EDQUOT, "w"), XF_EENV, "w: Disk quota exceeded");
    test_expect_error(xf_fail_errno(EIO, "w"), XF_EENV, "w: Input/output error");
    test_expect_error(xf_fail_errno(ESTALE, "w"), XF_EENV, "w: Stale file handle");
    test_expect_error(xf_fail_errno(ENOENT, "w"), XF_EIO, "w: No such file or directory");
    test_expect_error(xf_fail_errno(EACCES, "w"), XF_EIO, "w: Permission denied");
}

Test(status, cleanup_keeps_the_first_error) {
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
