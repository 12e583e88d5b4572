#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

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
