#include "support.h"

#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mem.h"

/* The library expects GSL's abort-on-error handler off, as xfer's main
 * sets it; every process of the test binary does the same. */
__attribute__((constructor)) static void gsl_errors_as_codes(void) {
    gsl_set_error_handler_off();
}

const char *test_root(void) {
    const char *r = getenv("XFER_TEST_ROOT");
    return r ? r : ".";
}

const char *test_xfer_bin(void) {
    const char *b = getenv("XFER_BIN");
    return b ? b : "build/xfer";
}

char *test_tmpdir(void) {
    char templ[] = "/tmp/xfer-test-XXXXXX";
    char *dir = mkdtemp(templ);
    if (!dir) return NULL;
    char *copy = malloc(sizeof templ);
    if (copy) snprintf(copy, sizeof templ, "%s", dir);
    return copy;
}

int test_system(const char *cmd) {
    int st = system(cmd);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int test_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

char *test_tmp;

void test_tmp_make(void) {
    test_tmp = test_tmpdir();
    cr_assert_not_null(test_tmp);
}

void test_tmp_remove(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmp);
    test_system(cmd);
    free(test_tmp);
    test_tmp = NULL;
}

const char *test_tmp_path(const char *rel) {
    static char paths[8][1024];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", test_tmp, rel);
    return p;
}

const char *test_tmp_write(const char *rel, const void *data, size_t size) {
    const char *path = test_tmp_path(rel);
    cr_assert_eq(test_write_file(path, data, size), 0, "cannot write %s", path);
    return path;
}

void test_expect_error(xf_status st, xf_status want, const char *needle) {
    const char *msg = xf_error_message();
    cr_assert_eq(st, want, "status %d (%s), expected %d: %s", st, xf_status_name(st), want, msg);
    cr_assert_not_null(strstr(msg, needle), "message lacks '%s': %s", needle, msg);
}

static int capture_fd = -1, capture_saved = -1;
static char capture_path[64];

void test_capture_begin(int fd) {
    fflush(stdout);
    fflush(stderr);
    snprintf(capture_path, sizeof capture_path, "/tmp/xfer-capture-XXXXXX");
    int tmp = mkstemp(capture_path);
    cr_assert(tmp >= 0);
    capture_saved = dup(fd);
    capture_fd = fd;
    dup2(tmp, fd);
    close(tmp);
}

char *test_capture_end(void) {
    fflush(stdout);
    fflush(stderr);
    dup2(capture_saved, capture_fd);
    close(capture_saved);
    unsigned char *text = NULL;
    size_t size = 0;
    cr_assert_eq(xf_read_file(capture_path, &text, &size), XF_OK); /* NUL-terminated */
    unlink(capture_path);
    return (char *)text;
}
