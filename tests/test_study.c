#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/registry.h"
#include "study/config.h"
#include "study/plan.h"
#include "study/runner.h"
#include "study/store.h"
#include "support.h"

static void path_of(char *buf, size_t size, const char *relative) {
    snprintf(buf, size, "%s/%s", test_root(), relative);
}

static void load_ok(const char *relative, xf_study_config *cfg) {
    char path[1024];
    path_of(path, sizeof path, relative);
    xf_status st = xf_study_config_load(path, cfg);
    cr_assert_eq(st, XF_OK, "%s: %s", relative, xf_error_message());
}

static void expect_error(const char *fixture, const char *needles[], int n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/study/%s", test_root(), fixture);
    xf_study_config cfg;
    xf_status st = xf_study_config_load(path, &cfg);
    cr_assert_eq(st, XF_EINVAL, "%s parsed: %s", fixture, xf_error_message());
    const char *msg = xf_error_message();
    cr_assert(strstr(msg, fixture), "no file name in: %s", msg);
    for (int i = 0; i < n; i++)
        cr_assert(strstr(msg, needles[i]), "no '%s' in: %s", needles[i], msg);
}

Test(study, the_demo_has_four_families_and_a_colour_task) {
    xf_study_config cfg;
    load_ok("examples/quick.yaml", &cfg);
    cr_assert_eq(cfg.n_models, 4);
    const char *families[4] = {"mlp", "vit", "mixer", "resnet"};
    for (int i = 0; i < 4; i++) cr_assert_str_eq(cfg.models[i].family, families[i]);
    cr_assert_eq(cfg.n_ds_tasks, 3);
    cr_assert_str_eq(cfg.ds_tasks[0], "clipart"); /* sorted */
    xf_plan p;
    cr_assert_eq(xf_plan_build(&cfg, &p), XF_OK, "%s", xf_error_message());
    cr_assert_eq(p.n, 3 * 2 * 2 * 4 + 3 * 2, "the MLP grid and two sizes of each other family");
    xf_plan_free(&p);
}

Test(study, parses_the_example) {
    xf_study_config cfg;
    load_ok("tests/fixtures/study/quick-mlp.yaml", &cfg);
    cr_assert_str_eq(cfg.name, "quick");
    cr_assert_eq(cfg.n_upstream, 1);
    cr_assert_str_eq(cfg.upstream[0], "fashion-mnist");
    cr_assert_eq(cfg.n_models, 1);
    cr_assert_str_eq(cfg.models[0].family, "mlp");
    cr_assert_eq(cfg.models[0].width.n, 5);
    cr_assert_eq(cfg.models[0].width.v[0], 32);
    cr_assert_eq(cfg.models[0].width.v[4], 512);
    cr_assert_eq(cfg.models[0].depth.n, 3);
    cr_assert_eq(cfg.models[0].depth.v[2], 3);
    cr_assert_eq(cfg.train.epochs.n, 2);
    cr_assert_eq(cfg.train.epochs.v[1], 2);
    cr_assert_eq(cfg.train.data_fraction.n, 5);
    cr_assert_eq(cfg.train.data_fraction.v[0], 0.02);
    cr_assert_eq(cfg.train.data_fraction.v[4], 1.0);
    cr_assert_eq(cfg.train.batch.v[0], 128);
    cr_assert_eq(cfg.train.lr.v[0], 0.001);
    cr_assert_eq(cfg.train.wd.v[0], 0.0001);
    cr_assert_eq(cfg.train.head_wd.n, 1);
    cr_assert_eq(cfg.train.head_lr.n, 0, "head_lr follows lr when omitted");
    cr_assert_eq(cfg.train.seed.v[0], 0);
    cr_assert_eq(cfg.n_ds_tasks, 2);
    cr_assert_str_eq(cfg.ds_tasks[0], "fashion-mnist"); /* sorted */
    cr_assert_str_eq(cfg.ds_tasks[1], "mnist");
    cr_assert_eq(cfg.n_shots, 4);
    int shots[] = {1, 5, 10, 25};
    for (int i = 0; i < 4; i++) cr_assert_eq(cfg.shots[i], shots[i]);
    cr_assert_eq(cfg.draws, 3);
    cr_assert_eq(cfg.test_limit, 2000);
    cr_assert_eq(cfg.lambda, 1024, "default ridge strength");
}

Test(study, unknown_key_names_file_line_and_key) {
    const char *needles[] = {"unknown_key.yaml:6:3:", "model.widht", "width"};
    expect_error("unknown_key.yaml", needles, 3);
}

Test(study, bad_value_names_line_and_expectation) {
    const char *needles[] = {"bad_type.yaml:6:14:", "model.depth", "expected an integer",
                             "'two'"};
    expect_error("bad_type.yaml", needles, 4);
}

Test(study, malformed_yaml_names_line) {
    const char *needles[] = {"malformed.yaml:6:", "malformed YAML"};
    expect_error("malformed.yaml", needles, 2);
}

Test(study, rejects_bad_values_inline) {
    static const struct {
        const char *yaml, *needle;
    } cases[] = {
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train:\n  data_fraction: [0.5, 1.5]\ndownstream: {tasks: [b]}\n",
         "x.yaml:5:24: train.data_fraction: expected a number in (0, 1], got '1.5'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: \"8\", depth: 1}\n"
         "downstream: {tasks: [b]}\n",
         "x.yaml:3:29: model.width: expected an integer in [1, 65536], got the quoted string '8'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: [8, 8], depth: 1}\n"
         "downstream: {tasks: [b]}\n",
         "x.yaml:3:33: model.width: 8 is listed twice"},
        {"name: x\nupstream: a\nmodel: {family: vgg, width: 8, depth: 1}\n"
         "downstream: {tasks: [b]}\n",
         "x.yaml:3:17: model.family: expected a model family (mlp, vit, mixer, resnet), "
         "got 'vgg'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n",
         "x.yaml:1:1: missing required key 'downstream'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8}\ndownstream: {tasks: [b]}\n",
         "x.yaml:3:8: missing required key 'model.depth'"},
        {"name: ../x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "downstream: {tasks: [b]}\n",
         "x.yaml:1:7: name: expected a name"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "downstream: {tasks: [b], draws: [1, 2]}\n",
         "x.yaml:4:33: downstream.draws: expected an integer in [1, 1000], got a list"},
        {"name: x\nname: y\n", "x.yaml:2:1: name: key given twice"},
        {"", "x.yaml: empty study file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xf_study_config cfg;
        xf_status st = xf_study_config_parse(cases[i].yaml, strlen(cases[i].yaml), "x.yaml", &cfg);
        cr_assert_eq(st, XF_EINVAL, "case %zu parsed", i);
        cr_assert(strstr(xf_error_message(), cases[i].needle), "case %zu: '%s' not in '%s'", i,
                  cases[i].needle, xf_error_message());
    }
}

Test(study, fnv1a_hash_matches_reference_values) {
    char id[XF_TRIAL_ID_LEN];
    xf_trial_hash("", id);
    cr_assert_str_eq(id, "cbf29ce484222325");
    xf_trial_hash("a", id);
    cr_assert_str_eq(id, "af63dc4c8601ec8c");
    xf_trial_hash("foobar", id);
    cr_assert_str_eq(id, "85944171f73967e8");
}

static bool plan_has(const xf_plan *p, const char *id) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->trials[i].id, id) == 0) return true;
    return false;
}

Test(study, plan_expands_the_grid_with_stable_ids) {
    xf_study_config cfg, shuffled;
    load_ok("tests/fixtures/study/quick-mlp.yaml", &cfg);
    load_ok("tests/fixtures/study/reordered.yaml", &shuffled);
    xf_plan a, b, again;
    cr_assert_eq(xf_plan_build(&cfg, &a), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_plan_build(&shuffled, &b), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_plan_build(&cfg, &again), XF_OK, "%s", xf_error_message());
    cr_assert_eq(a.n, 150); /* 5 widths x 3 depths x 2 epochs x 5 data fractions */
    cr_assert_eq(b.n, 150);
    for (int i = 0; i < a.n; i++) {
        cr_assert_str_eq(a.trials[i].id, again.trials[i].id);
        cr_assert(plan_has(&b, a.trials[i].id), "trial %s lost by reordering the file",
                  a.trials[i].id);
        for (int j = 0; j < i; j++) cr_assert_str_neq(a.trials[i].id, a.trials[j].id);
        char check[XF_TRIAL_ID_LEN];
        xf_trial_hash(a.trials[i].config_json, check);
        cr_assert_str_eq(check, a.trials[i].id);
    }
    /* The canonical config of the first trial, fixed once and for all: a
     * change here changes every id and orphans the stores already run. */
    const xf_trial *t = &a.trials[0];
    cr_assert_eq(t->model.family, XF_FAMILY_MLP);
    cr_assert_eq(t->model.mlp.width, 32);
    cr_assert_eq(t->model.mlp.depth, 1);
    cr_assert_eq(t->train.epochs, 1);
    cr_assert_eq(t->data_fraction, 0.02);
    cr_assert_eq(t->train.head_lr, 0.001);
    cr_assert_str_eq(t->config_json,
                     "{\"downstream\":{\"draws\":3,\"lambda\":1024,\"shots\":[1,5,10,25],"
                     "\"tasks\":[\"fashion-mnist\",\"mnist\"],\"test_limit\":2000},"
                     "\"model\":{\"depth\":1,\"family\":\"mlp\",\"width\":32},"
                     "\"train\":{\"batch\":128,\"data_fraction\":0.02,\"epochs\":1,"
                     "\"head_lr\":0.001,\"head_wd\":0.0001,\"lr\":0.001,\"seed\":0,"
                     "\"warmup\":0.05,\"wd\":0.0001},\"upstream\":\"fashion-mnist\"}");
    char expect[XF_TRIAL_ID_LEN];
    xf_trial_hash(t->config_json, expect);
    cr_assert_str_eq(t->id, expect);

    /* One more width adds 30 trials and keeps the 150 ids. */
    xf_study_config grown = cfg;
    grown.models[0].width.v[grown.models[0].width.n++] = 1024;
    xf_plan c;
    cr_assert_eq(xf_plan_build(&grown, &c), XF_OK);
    cr_assert_eq(c.n, 180);
    for (int i = 0; i < a.n; i++) cr_assert(plan_has(&c, a.trials[i].id));

    /* The DS settings are part of a trial's identity. */
    xf_study_config more_shots = cfg;
    more_shots.draws = 5;
    xf_plan d;
    cr_assert_eq(xf_plan_build(&more_shots, &d), XF_OK);
    for (int i = 0; i < d.n; i++) cr_assert(!plan_has(&a, d.trials[i].id));

    xf_plan_free(&a);
    xf_plan_free(&b);
    xf_plan_free(&again);
    xf_plan_free(&c);
    xf_plan_free(&d);
}

static xf_trial_record record(const char *id, xf_trial_status status, double us_acc) {
    return (xf_trial_record){.id = id, .study = "t", .config_json = "{}", .family = "mlp",
                             .us_task = "fashion-mnist", .status = status, .us_acc = us_acc,
                             .params = 1000, .flops_per_image = 2000, .train_flops = 3e9,
                             .seconds = 1.5, .error = NULL};
}

Test(study, store_writes_a_trial_and_reads_points_back) {
    char *dir = test_tmpdir();
    cr_assert(dir);
    char db[512];
    snprintf(db, sizeof db, "%s/study.db", dir);
    xf_store *s;
    cr_assert_eq(xf_store_open(db, &s), XF_OK, "%s", xf_error_message());

    /* Trial a: 2 layers; only the last (layer 1) counts, averaged over draws. */
    xf_probe_row pa[] = {
        {"mnist", 0, "block0", 2, 1, 0, 0.9}, {"mnist", 1, "prelogits", 2, 1, 0, 0.5},
        {"mnist", 1, "prelogits", 2, 1, 1, 0.6}, {"mnist", 1, "prelogits", 2, 1, 2, 0.7},
        {"mnist", 1, "prelogits", 2, 5, 0, 0.8}, {"emnist", 1, "prelogits", 2, 1, 0, 0.25},
    };
    xf_trial_record ra = record("aaaa", XF_TRIAL_FINISHED, 0.8);
    cr_assert_eq(xf_store_write_trial(s, &ra, pa, 6), XF_OK, "%s", xf_error_message());
    /* Trial b: lower US accuracy, 3 layers. */
    xf_probe_row pb[] = {{"mnist", 2, "prelogits", 3, 1, 0, 0.4},
                         {"mnist", 1, "block1", 3, 1, 0, 0.95}};
    xf_trial_record rb = record("bbbb", XF_TRIAL_FINISHED, 0.7);
    cr_assert_eq(xf_store_write_trial(s, &rb, pb, 2), XF_OK);
    /* Trial c failed: its row is kept, its point is not. */
    xf_trial_record rc = record("cccc", XF_TRIAL_FAILED, 0);
    rc.error = "out of memory";
    xf_probe_row pc[] = {{"mnist", 0, "prelogits", 1, 1, 0, 0.99}};
    cr_assert_eq(xf_store_write_trial(s, &rc, pc, 1), XF_OK);

    xf_trial_status ts;
    cr_assert_eq(xf_store_trial_status(s, "aaaa", &ts), XF_OK);
    cr_assert_eq(ts, XF_TRIAL_FINISHED);
    cr_assert_eq(xf_store_trial_status(s, "cccc", &ts), XF_OK);
    cr_assert_eq(ts, XF_TRIAL_FAILED);
    cr_assert_eq(xf_store_trial_status(s, "zzzz", &ts), XF_OK);
    cr_assert_eq(ts, XF_TRIAL_ABSENT);
    xf_store_close(s);

    /* Reopen: everything is there. */
    cr_assert_eq(xf_store_open(db, &s), XF_OK, "%s", xf_error_message());
    xf_trial_info info;
    cr_assert_eq(xf_store_trial_get(s, "cccc", &info), XF_OK);
    cr_assert_eq(info.status, XF_TRIAL_FAILED);
    cr_assert_str_eq(info.error, "out of memory");
    cr_assert_eq(xf_store_trial_get(s, "aaaa", &info), XF_OK);
    cr_assert_eq(info.us_acc, 0.8);
    cr_assert_eq(info.params, 1000);
    cr_assert_str_eq(info.us_task, "fashion-mnist");
    cr_assert(strlen(info.finished_at) >= 19, "finished_at '%s'", info.finished_at);
    cr_assert_eq(xf_store_trial_get(s, "nope", &info), XF_ENOTFOUND);
    long long n_trials, n_probes;
    cr_assert_eq(xf_store_count(s, XF_TRIAL_ABSENT, &n_trials, &n_probes), XF_OK);
    cr_assert_eq(n_trials, 3);
    cr_assert_eq(n_probes, 9);

    xf_point_set *sets;
    int n_sets;
    cr_assert_eq(xf_store_points(s, &sets, &n_sets), XF_OK, "%s", xf_error_message());
    cr_assert_eq(n_sets, 3); /* (emnist,1) (mnist,1) (mnist,5) */
    cr_assert_str_eq(sets[0].ds_task, "emnist");
    cr_assert_eq(sets[0].n_points, 1);
    cr_assert_float_eq(sets[0].points[0].ds_acc, 0.25, 1e-12);
    cr_assert_str_eq(sets[1].ds_task, "mnist");
    cr_assert_eq(sets[1].shots, 1);
    cr_assert_eq(sets[1].n_points, 2);
    cr_assert_str_eq(sets[1].points[0].trial_id, "bbbb"); /* lower US accuracy first */
    cr_assert_float_eq(sets[1].points[0].ds_acc, 0.4, 1e-12);
    cr_assert_float_eq(sets[1].points[0].us_acc, 0.7, 1e-12);
    cr_assert_str_eq(sets[1].points[1].trial_id, "aaaa");
    cr_assert_float_eq(sets[1].points[1].ds_acc, 0.6, 1e-12); /* mean of 0.5 0.6 0.7 */
    cr_assert_str_eq(sets[1].points[1].family, "mlp");
    cr_assert_eq(sets[1].points[1].params, 1000);
    cr_assert_eq(sets[2].shots, 5);
    cr_assert_eq(sets[2].n_points, 1);
    cr_assert_float_eq(sets[2].points[0].ds_acc, 0.8, 1e-12);
    xf_point_sets_free(sets, n_sets);

    /* Re-recording a trial replaces its row and all its probes. */
    xf_trial_record again = record("aaaa", XF_TRIAL_DIVERGED, 0);
    cr_assert_eq(xf_store_write_trial(s, &again, NULL, 0), XF_OK);
    cr_assert_eq(xf_store_count(s, XF_TRIAL_ABSENT, &n_trials, &n_probes), XF_OK);
    cr_assert_eq(n_trials, 3);
    cr_assert_eq(n_probes, 3);
    cr_assert_eq(xf_store_points(s, &sets, &n_sets), XF_OK);
    cr_assert_eq(n_sets, 1);
    cr_assert_str_eq(sets[0].points[0].trial_id, "bbbb");
    xf_point_sets_free(sets, n_sets);
    xf_store_close(s);

    /* The file is in WAL mode, so readers never block the writer. */
    sqlite3 *raw;
    cr_assert_eq(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(raw);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}

Test(study, store_rejects_an_unwritable_path) {
    xf_store *s;
    xf_status st = xf_store_open("/nonexistent-dir/x/study.db", &s);
    cr_assert_eq(st, XF_EDB);
    cr_assert(strstr(xf_error_message(), "/nonexistent-dir/x/study.db"), "%s",
              xf_error_message());
}

/* A tiny study run twice through the runner: the second run finds both
 * trials finished and leaves their rows alone. */
Test(study, rerun_skips_finished_trials, .timeout = 60) {
    const xf_task_info *fm = xf_task_find("fashion-mnist"), *mn = xf_task_find("mnist");
    if (!fm || !mn || !xf_task_available(fm) || !xf_task_available(mn))
        cr_skip_test("fashion-mnist or mnist is not installed (make deps)");
    xf_study_config cfg;
    load_ok("tests/fixtures/study/tiny.yaml", &cfg);
    char *dir = test_tmpdir();
    cr_assert(dir);
    char out[512], db[600];
    snprintf(out, sizeof out, "%s/tiny", dir);
    snprintf(db, sizeof db, "%s/study.db", out);

    xf_study_options opts = {.out_dir = out, .workers = 1};
    xf_study_summary first;
    cr_assert_eq(xf_study_run(&cfg, &opts, &first), XF_OK, "%s", xf_error_message());
    cr_assert_eq(first.planned, 2);
    cr_assert_eq(first.skipped, 0);
    cr_assert_eq(first.ran, 2);
    cr_assert_eq(first.finished, 2, "failed %d diverged %d", first.failed, first.diverged);

    xf_plan plan;
    cr_assert_eq(xf_plan_build(&cfg, &plan), XF_OK);
    cr_assert_eq(plan.n, 2);
    xf_store *s;
    cr_assert_eq(xf_store_open(db, &s), XF_OK, "%s", xf_error_message());
    xf_trial_info before[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(xf_store_trial_get(s, plan.trials[i].id, &before[i]), XF_OK);
        cr_assert_eq(before[i].status, XF_TRIAL_FINISHED);
        cr_assert(before[i].us_acc > 0.3 && before[i].us_acc <= 1, "US acc %g",
                  before[i].us_acc);
        cr_assert_gt(before[i].params, 0);
        char ckpt[700];
        snprintf(ckpt, sizeof ckpt, "%s/checkpoints/%s.safetensors", out, plan.trials[i].id);
        struct stat sb;
        cr_assert_eq(stat(ckpt, &sb), 0, "no checkpoint %s", ckpt);
        cr_assert_gt(sb.st_size, 16 * 784 * 4);
    }
    long long n_trials, n_probes;
    cr_assert_eq(xf_store_count(s, XF_TRIAL_FINISHED, &n_trials, &n_probes), XF_OK);
    cr_assert_eq(n_trials, 2);
    /* 2 trials x (shots 1, 5) x 2 draws x 1 layer (a depth-1 mlp has one
     * tap, the pre-logits). */
    cr_assert_eq(n_probes, 8);
    xf_point_set *sets;
    int n_sets;
    cr_assert_eq(xf_store_points(s, &sets, &n_sets), XF_OK);
    cr_assert_eq(n_sets, 2);
    for (int k = 0; k < 2; k++) {
        cr_assert_str_eq(sets[k].ds_task, "mnist");
        cr_assert_eq(sets[k].shots, k ? 5 : 1);
        cr_assert_eq(sets[k].n_points, 2);
        for (int i = 0; i < 2; i++)
            cr_assert(sets[k].points[i].ds_acc > 0.12 && sets[k].points[i].ds_acc <= 1,
                      "%d-shot DS acc %g", sets[k].shots, sets[k].points[i].ds_acc);
    }
    xf_point_sets_free(sets, n_sets);
    xf_store_close(s);

    xf_study_summary second;
    cr_assert_eq(xf_study_run(&cfg, &opts, &second), XF_OK, "%s", xf_error_message());
    cr_assert_eq(second.planned, 2);
    cr_assert_eq(second.skipped, 2);
    cr_assert_eq(second.ran, 0);

    cr_assert_eq(xf_store_open(db, &s), XF_OK);
    for (int i = 0; i < 2; i++) {
        xf_trial_info after;
        cr_assert_eq(xf_store_trial_get(s, plan.trials[i].id, &after), XF_OK);
        cr_assert_str_eq(after.finished_at, before[i].finished_at);
        cr_assert_eq(after.us_acc, before[i].us_acc);
        cr_assert_eq(after.seconds, before[i].seconds);
    }
    xf_store_close(s);
    xf_plan_free(&plan);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}

/* A trial that fails (here: its checkpoint path is blocked by a folder) is
 * recorded with its error, the study goes on, a plain re-run leaves it
 * alone and --retry-failed runs it again. */
Test(study, failed_trial_is_recorded_and_retried, .timeout = 60) {
    const xf_task_info *fm = xf_task_find("fashion-mnist"), *mn = xf_task_find("mnist");
    if (!fm || !mn || !xf_task_available(fm) || !xf_task_available(mn))
        cr_skip_test("fashion-mnist or mnist is not installed (make deps)");
    xf_study_config cfg;
    load_ok("tests/fixtures/study/tiny.yaml", &cfg);
    xf_plan plan;
    cr_assert_eq(xf_plan_build(&cfg, &plan), XF_OK);
    char *dir = test_tmpdir();
    cr_assert(dir);
    char out[512], blocker[700], cmd[1600], db[600];
    snprintf(out, sizeof out, "%s/tiny", dir);
    snprintf(db, sizeof db, "%s/study.db", out);
    snprintf(blocker, sizeof blocker, "%s/checkpoints/%s.safetensors", out, plan.trials[0].id);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && touch '%s/x'", blocker, blocker);
    cr_assert_eq(test_system(cmd), 0);

    xf_study_options opts = {.out_dir = out, .workers = 1};
    xf_study_summary sum;
    cr_assert_eq(xf_study_run(&cfg, &opts, &sum), XF_OK, "%s", xf_error_message());
    cr_assert_eq(sum.ran, 2);
    cr_assert_eq(sum.failed, 1);
    cr_assert_eq(sum.finished, 1);
    xf_store *s;
    cr_assert_eq(xf_store_open(db, &s), XF_OK);
    xf_trial_info info;
    cr_assert_eq(xf_store_trial_get(s, plan.trials[0].id, &info), XF_OK);
    cr_assert_eq(info.status, XF_TRIAL_FAILED);
    cr_assert(strstr(info.error, plan.trials[0].id), "error '%s'", info.error);
    long long n_probes;
    cr_assert_eq(xf_store_count(s, XF_TRIAL_FAILED, NULL, &n_probes), XF_OK);
    cr_assert_eq(n_probes, 0);
    xf_store_close(s);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", blocker);
    cr_assert_eq(test_system(cmd), 0);
    cr_assert_eq(xf_study_run(&cfg, &opts, &sum), XF_OK, "%s", xf_error_message());
    cr_assert_eq(sum.skipped, 1);
    cr_assert_eq(sum.skipped_failed, 1);
    cr_assert_eq(sum.ran, 0);
    opts.retry_failed = true;
    cr_assert_eq(xf_study_run(&cfg, &opts, &sum), XF_OK, "%s", xf_error_message());
    cr_assert_eq(sum.skipped, 1);
    cr_assert_eq(sum.skipped_failed, 0);
    cr_assert_eq(sum.ran, 1);
    cr_assert_eq(sum.finished, 1);
    cr_assert_eq(xf_store_open(db, &s), XF_OK);
    cr_assert_eq(xf_store_trial_get(s, plan.trials[0].id, &info), XF_OK);
    cr_assert_eq(info.status, XF_TRIAL_FINISHED);
    cr_assert_str_eq(info.error, "");
    long long n_trials;
    cr_assert_eq(xf_store_count(s, XF_TRIAL_FINISHED, &n_trials, &n_probes), XF_OK);
    cr_assert_eq(n_trials, 2);
    cr_assert_eq(n_probes, 8);
    xf_store_close(s);
    xf_plan_free(&plan);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}
