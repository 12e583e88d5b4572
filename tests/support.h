/* Helpers shared by the test files. */
#ifndef XF_TEST_SUPPORT_H
#define XF_TEST_SUPPORT_H

#include <stddef.h>

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

#endif
