/* `xfer status` rates the latest run by the run's own time (run_started to
 * run_ended, or to its last record when it was killed, or to now while it
 * runs), never by the time since it started. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study/store.h"
#include "support.h"

static char *dir;
static xf_store *store;

static void open_store(void) {
    dir = test_tmpdir();
    cr_assert_not_null(dir);
    char db[600];
    snprintf(db, sizeof db, "%s/study.db", dir);
    cr_assert_eq(xf_store_open(db, &store), XF_OK, "%s", xf_error_message());
}

static void close_store(void) {
    xf_store_close(store);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}

/* Trial id `n` recorded as finished at the given time. */
static void finished_at(int n, const char *when) {
    char id[16];
    snprintf(id, sizeof id, "t%03d", n);
    xf_trial_record rec = {.id = id, .study = "s", .status = XF_TRIAL_FINISHED,
                           .finished_at = when};
    cr_assert_eq(xf_store_write_trial(store, &rec, NULL, 0), XF_OK, "%s", xf_error_message());
}

/* A run of 150 trials from 10:00:00 to 10:01:24 (84 s), read back much
 * later (the store's clock is now, years after 2020). */
static void record_a_run(bool ended) {
    cr_assert_eq(xf_store_set_meta(store, "planned", "150"), XF_OK);
    cr_assert_eq(xf_store_set_meta(store, "run_started", "2020-05-01T10:00:00.000Z"), XF_OK);
    for (int i = 0; i < 149; i++) finished_at(i, "2020-05-01T10:00:40.000Z");
    finished_at(149, "2020-05-01T10:01:23.500Z");
    if (ended)
        cr_assert_eq(xf_store_set_meta(store, "run_ended", "2020-05-01T10:01:24.000Z"), XF_OK);
}

/* The latest run as xf_store_progress_get sees it, into p. */
static void expect_run(xf_store_progress *p, long long done, double seconds) {
    cr_assert_eq(xf_store_progress_get(store, p), XF_OK, "%s", xf_error_message());
    cr_assert_eq(p->run_done, done);
    cr_assert_float_eq(p->run_seconds, seconds, 1e-3);
}

Test(study_status, a_finished_run_is_measured_to_its_end, .init = open_store,
     .fini = close_store) {
    record_a_run(true);
    xf_store_progress p;
    expect_run(&p, 150, 84.0);
    cr_assert_float_eq(p.run_done / p.run_seconds * 60, 107.14, 0.01); /* trials/min */
    cr_assert_eq(p.in_flight, 0);
}

Test(study_status, a_killed_run_is_measured_to_its_last_record, .init = open_store,
     .fini = close_store) {
    record_a_run(false);
    xf_store_progress p;
    expect_run(&p, 150, 83.5);
}

Test(study_status, the_end_of_an_earlier_run_does_not_end_a_newer_one, .init = open_store,
     .fini = close_store) {
    record_a_run(true);
    /* A newer run started, recorded two trials and was killed. */
    cr_assert_eq(xf_store_set_meta(store, "run_started", "2020-05-02T08:00:00.000Z"), XF_OK);
    finished_at(150, "2020-05-02T08:00:05.000Z");
    finished_at(151, "2020-05-02T08:00:12.250Z");
    xf_store_progress p;
    expect_run(&p, 2, 12.25);
}

Test(study_status, no_run_recorded_is_zero, .init = open_store, .fini = close_store) {
    xf_store_progress p;
    expect_run(&p, 0, 0);
}

Test(study_status, a_run_in_flight_is_measured_to_now, .init = open_store, .fini = close_store) {
    /* Even if another study on the store recorded its end. */
    record_a_run(true);
    /* This process holds a trial: the run is still going. */
    xf_claimant me;
    xf_claimant_self(&me, "run-1");
    xf_claim_result res;
    cr_assert_eq(xf_store_claim(store, "t999", &me, false, &res), XF_OK);
    cr_assert_eq(res, XF_CLAIM_TAKEN);
    xf_store_progress p;
    cr_assert_eq(xf_store_progress_get(store, &p), XF_OK, "%s", xf_error_message());
    cr_assert_eq(p.in_flight, 1);
    cr_assert_gt(p.run_seconds, 5 * 365 * 86400.0, "%g s since 2020", p.run_seconds);
}
