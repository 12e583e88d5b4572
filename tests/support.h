/* Helpers shared by the test files. */
#ifndef XF_TEST_SUPPORT_H
#define XF_TEST_SUPPORT_H

#include <stddef.h>

#include "core/status.h"

/* The repository root (XFER_TEST_ROOT, else "."). */
const char *test_root(void);
/* Path of the xfer binary under test (XFER_BIN, else build/xfer). */
const char *test_xfer_bin(void);
/* A new empty temporary directory (caller frees the string). */
char *test_tmpdir(void);
/* Runs a shell command, returns its exit status; output goes to `log` if not NULL. */
int test_system(const char *cmd);
/* Writes bytes to a file; returns 0 on success. */
int test_write_file(const char *path, const void *data, size_t size);

/* A temporary directory per test: name test_tmp_make and test_tmp_remove
 * as a suite's .init and .fini; test_tmp is the directory in between. */
extern char *test_tmp;
void test_tmp_make(void);
void test_tmp_remove(void);
/* test_tmp/rel, in one of 8 rotating static buffers. */
const char *test_tmp_path(const char *rel);
/* Writes bytes to test_tmp/rel (asserting it worked) and returns the path
 * (a test_tmp_path buffer). */
const char *test_tmp_write(const char *rel, const void *data, size_t size);

/* Sends file descriptor fd (1 or 2) to a temporary file until
 * test_capture_end, which returns what was written (caller frees). For
 * messages printed by the code under test (Criterion runs each test in its
 * own process). */
void test_capture_begin(int fd);
char *test_capture_end(void);

/* Asserts that `st` is `want` and that the error message contains `needle`. */
void test_expect_error(xf_status st, xf_status want, const char *needle);

#endif
