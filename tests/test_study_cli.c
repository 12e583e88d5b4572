/* The study commands end to end through the xfer binary: array workers
 * with result files and an idempotent merge, status, export, plan, and the
 * Slurm batch scripts of a dry run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "data/registry.h"
#include "support.h"

static void need_digits(void) {
    const xf_task_info *t = xf_task_find("digits-8x8");
    if (!t || !xf_task_available(t)) cr_skip_test("digits-8x8 is not installed (make deps)");
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
}

/* Runs `xfer ARGS > out` and returns its exit status; out holds stdout. */
static int xfer(const char *env, const char *args, const char *out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' -q %s > '%s' 2>> '%s.err'", env ? env : "",
             test_xfer_bin(), args, out, out);
    return test_system(cmd);
}

/* The file's text; valid until the next call (so asserts need no frees). */
static char *slurp(const char *path) {
    static unsigned char *last;
    unsigned char *data = NULL;
    size_t size = 0;
    cr_assert_eq(xf_read_file(path, &data, &size), XF_OK, "%s", xf_error_message());
    free(last);
    last = data;
    return (char *)data;
}

Test(study_cli, array_workers_merge_status_export, .timeout = 60) {
    need_digits();
    char *dir = test_tmpdir();
    char out[600], args[2048], o[700], file[1024];
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(o, sizeof o, "%s/stdout", dir);
    snprintf(file, sizeof file, "%s/tests/fixtures/study/digits.yaml", test_root());

    /* Two array tasks, each its half of the plan, as files. */
    snprintf(args, sizeof args, "study '%s' --out '%s' --array 2", file, out);
    cr_assert_eq(xfer("SLURM_ARRAY_TASK_ID=0", args, o), 0);
    cr_assert(strstr(slurp(o), "4 run (4 finished"), "%s", slurp(o));
    cr_assert_eq(xfer("SGE_TASK_ID=1", args, o), 0);
    cr_assert(strstr(slurp(o), "4 run (4 finished"), "%s", slurp(o));
    cr_assert_eq(xfer("SLURM_ARRAY_TASK_ID=1", args, o), 0); /* again: nothing left */
    cr_assert(strstr(slurp(o), "0 run"), "%s", slurp(o));
    cr_assert_eq(xfer("env -u SLURM_ARRAY_TASK_ID", args, o), 1, "no index in the environment");

    snprintf(args, sizeof args, "merge '%s'", out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    cr_assert(strstr(slurp(o), "8 result files, 8 merged, 0 already"), "%s", slurp(o));
    cr_assert_eq(xfer(NULL, args, o), 0);
    cr_assert(strstr(slurp(o), "8 result files, 0 merged, 8 already"), "%s", slurp(o));

    snprintf(args, sizeof args, "plan '%s' --out '%s'", file, out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    char *plan = slurp(o);
    cr_assert(strstr(plan, "8 trials (grid search over a space of 8): 8 finished, 0 failed"),
              "%s", plan);
    cr_assert(strstr(plan, "mlp w16 d1 | digits-8x8 0.5 | 1 ep lr 0.01 seed 3"), "%s", plan);

    /* The store-side run finds every trial done. */
    snprintf(args, sizeof args, "study '%s' --out '%s' -j 2", file, out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    cr_assert(strstr(slurp(o), "0 run"), "%s", slurp(o));

    snprintf(args, sizeof args, "status '%s'", out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    cr_assert(strstr(slurp(o), "study digits: 8/8 finished, 0 failed, 0 diverged, 0 in flight, "
                               "0 left; 32 probe rows"),
              "%s", slurp(o));

    snprintf(args, sizeof args, "export '%s' --csv", out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    char *csv = slurp(o);
    cr_assert(strncmp(csv, "id,study,family,us_task,status,us_acc,", 38) == 0, "%s", csv);
    int lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 9);
    cr_assert(strstr(csv, "\"{\"\"downstream\"\":"), "config JSON is CSV-quoted: %s", csv);
    snprintf(args, sizeof args, "export '%s' --csv --probes", out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    lines = 0;
    for (char *p = slurp(o); *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 33);
    snprintf(args, sizeof args, "export '%s' --json", out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    char *json = slurp(o);
    cr_assert(strstr(json, "\"config\":{\"downstream\":{\"draws\":2,"), "%s", json);
    int probes = 0;
    for (char *p = json; (p = strstr(p, "\"ds_task\":\"digits-8x8\"")); p++) probes++;
    cr_assert_eq(probes, 32);

    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    test_system(args);
    free(dir);
}

Test(study_cli, slurm_dry_run_writes_the_batch_scripts, .timeout = 30) {
    need_digits();
    char *dir = test_tmpdir();
    char out[600], args[2048], o[700], file[1024], path[800];
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(o, sizeof o, "%s/stdout", dir);
    snprintf(file, sizeof file, "%s/tests/fixtures/study/digits.yaml", test_root());
    snprintf(args, sizeof args,
             "study '%s' --out '%s' --slurm --workers 3 --partition debug --time 0:10:00 "
             "--dry-run",
             file, out);
    cr_assert_eq(xfer(NULL, args, o), 0);
    cr_assert(strstr(slurp(o), "8 trials to run over 3 array tasks"), "%s", slurp(o));
    snprintf(path, sizeof path, "%s/slurm/workers.sh", out);
    char *w = slurp(path);
    cr_assert(strncmp(w, "#!/bin/bash\n", 12) == 0, "%s", w);
    cr_assert(strstr(w, "#SBATCH --array=0-2\n"), "%s", w);
    cr_assert(strstr(w, "#SBATCH --partition=debug\n#SBATCH --time=0:10:00\n"), "%s", w);
    cr_assert(strstr(w, " study '"), "%s", w);
    cr_assert(strstr(w, "' --array 3 --todo '"), "%s", w);
    snprintf(path, sizeof path, "%s/slurm/merge.sh", out);
    cr_assert(strstr(slurp(path), " merge '"), "%s", slurp(path));
    snprintf(path, sizeof path, "%s/slurm/todo.txt", out);
    int lines = 0;
    for (char *p = slurp(path); *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 8);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    test_system(args);
    free(dir);
}
