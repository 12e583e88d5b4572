/* A study on a real single-host Slurm (munge + slurmctld + slurmd started
 * by tests/cluster/start_slurm.sh and stopped after): xfer study --slurm
 * submits an array of 2 workers and a merge job; at the end study.db holds
 * the 8 trials. Skipped where Slurm is not installed or we are not root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/registry.h"
#include "support.h"

static char base[256];
static char env[1024];

static void stop_cluster(void) {
    if (!base[0]) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "BASE='%s' '%s/tests/cluster/stop_slurm.sh' >/dev/null 2>&1; rm -rf '%s'",
             base, test_root(), base);
    test_system(cmd);
    base[0] = 0;
}

Test(study_slurm, array_of_workers_then_merge, .timeout = 120, .fini = stop_cluster) {
    const xf_task_info *t = xf_task_find("digits-8x8");
    if (!t || !xf_task_available(t)) cr_skip_test("digits-8x8 is not installed (make deps)");
    if (geteuid() != 0) cr_skip_test("the throw-away Slurm needs root");
    if (test_system("command -v slurmctld && command -v munged && command -v sbatch") != 0)
        cr_skip_test("Slurm is not installed (apt-get install slurm-wlm munge)");
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
    char *dir = test_tmpdir();
    snprintf(base, sizeof base, "%s/slurm", dir);
    /* Ports from the pid: two test runs on one host must not meet. */
    int port = 20000 + (int)(getpid() % 20000) * 2 % 20000;
    snprintf(env, sizeof env, "BASE='%s' CTLD_PORT=%d SLURMD_PORT=%d SLURM_CONF='%s/etc/slurm.conf'",
             base, port, port + 1, base);
    char cmd[4096], out[600], file[1024];
    snprintf(cmd, sizeof cmd, "%s '%s/tests/cluster/start_slurm.sh' > '%s.log' 2>&1", env,
             test_root(), base);
    cr_assert_eq(test_system(cmd), 0, "start_slurm.sh failed; see %s.log", base);

    snprintf(out, sizeof out, "%s/study", dir);
    snprintf(file, sizeof file, "%s/tests/fixtures/study/digits.yaml", test_root());
    snprintf(cmd, sizeof cmd, "%s '%s' -q study '%s' --out '%s' --slurm --workers 2 > '%s.submit'",
             env, test_xfer_bin(), file, out, out);
    cr_assert_eq(test_system(cmd), 0);

    /* Wait for the queue to empty (the merge job runs last). */
    for (int i = 0; i < 600; i++) {
        snprintf(cmd, sizeof cmd, "%s squeue -h 2>/dev/null | grep -q .", env);
        if (test_system(cmd) != 0) break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(cmd, sizeof cmd, "ls '%s'/results/*.json | wc -l | grep -qx 8", out);
    cr_assert_eq(test_system(cmd), 0, "not 8 result files");
    snprintf(cmd, sizeof cmd, "grep -q '8 result files, 8 merged' '%s'/slurm/merge-*.log", out);
    cr_assert_eq(test_system(cmd), 0, "the merge job did not merge 8 trials");
    snprintf(cmd, sizeof cmd, "ls '%s'/slurm/worker-*_0.log '%s'/slurm/worker-*_1.log", out, out);
    cr_assert_eq(test_system(cmd), 0, "not two array tasks");
    snprintf(cmd, sizeof cmd,
             "test \"$(sqlite3 '%s/study.db' \"SELECT count(*) FROM trials WHERE status = "
             "'finished'\")\" = 8",
             out);
    cr_assert_eq(test_system(cmd), 0, "study.db lacks the 8 trials");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    stop_cluster();
    test_system(cmd);
    free(dir);
}
