/* Paths formatted with a length check (core/path.h) and error messages
 * that keep their context when they grow past the buffer (core/status.h). */
#include <criterion/criterion.h>
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

Test(path, error_context_is_kept_when_the_message_is_full) {
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
