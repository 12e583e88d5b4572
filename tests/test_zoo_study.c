/* Zoo studies end to end: existing checkpoints (random weights, written
 * here by xfer itself at test time, a few KB each) probed like pre-trained
 * trials, with their US accuracies from a results table in timm's layout;
 * killed and resumed; moved without new trials; a bad entry refused at plan
 * time with its file:line; the report. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "data/registry.h"
#include "models/model.h"
#include "study/config.h"
#include "study/hash_cache.h"
#include "study/plan.h"
#include "study/store.h"
#include "support.h"
#include "train/checkpoint.h"
#include "zoo/us_csv.h"

static void need_digits(void) {
    const xf_task_info *t = xf_task_find("digits-8x8");
    if (!t || !xf_task_available(t)) cr_skip_test("digits-8x8 is not installed (make deps)");
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
}

/* The six checkpoints: four timm state_dicts with random weights (ViT,
 * MLP-Mixer and BiT at 32 and 48 px, tests/fixtures/zoo/ from
 * tools/zoo_fixtures.py)
 * and two of xfer's own, written here with random weights (an MLP at 16 px,
 * a ResNet at the digits' 8 px); their rows in the results table, top1 in
 * percent as timm writes it. */
enum { N_ZOO = 6, N_TIMM = 4 };
static const struct {
    const char *file, *csv_name;
    double top1;
    int resolution;
} zoo[N_ZOO] = {
    {"vit_cls32.safetensors", "xf_vit_cls32", 61.25, 32},
    {"vit_cls48.safetensors", "xf_vit_cls48", 68.5, 48},
    {"mixer32.safetensors", "xf_mixer32", 72.125, 32},
    {"bit32.safetensors", "xf_bit32", 75.75, 32},
    {"mlp-16.safetensors", "xf_mlp_16", 70.0, 16},
    {"resnet-8.safetensors", "xf_resnet_8", 77.5, 8},
};

static void own_config(int i, xf_model_config *c) {
    xf_model_config_default(c, i == 4 ? XF_FAMILY_MLP : XF_FAMILY_RESNET);
    c->height = c->width = zoo[i].resolution;
    c->channels = 1;
    c->n_classes = 10;
    if (i == 4) {
        c->mlp.width = 32;
        c->mlp.depth = 2;
    } else {
        c->resnet.stages = 2;
        c->resnet.blocks[0] = c->resnet.blocks[1] = 1;
        c->resnet.base_width = 4;
    }
}

/* Puts the checkpoints into dir/ckpt/: the timm fixtures copied, xfer's
 * own written with random weights. */
static void write_zoo(const char *dir) {
    char path[2048];
    snprintf(path, sizeof path, "mkdir -p '%s/ckpt'", dir);
    cr_assert_eq(test_system(path), 0);
    for (int i = 0; i < N_TIMM; i++) {
        snprintf(path, sizeof path, "cp '%s/tests/fixtures/zoo/%s' '%s/ckpt/'", test_root(),
                 zoo[i].file, dir);
        cr_assert_eq(test_system(path), 0);
    }
    for (int i = N_TIMM; i < N_ZOO; i++) {
        xf_model_config c;
        own_config(i, &c);
        xf_model m;
        cr_assert_eq(xf_model_init(&m, &c), XF_OK, "%s", xf_error_message());
        xf_model_init_weights(&m, 100 + (uint64_t)i);
        snprintf(path, sizeof path, "%s/ckpt/%s", dir, zoo[i].file);
        cr_assert_eq(xf_checkpoint_save(&m, path, NULL, NULL, 0), XF_OK, "%s",
                     xf_error_message());
        xf_model_free(&m);
    }
}

/* The results table, in timm's columns; `changed` gives the BiT's row
 * another top1. */
static void write_csv(const char *dir, bool changed) {
    char path[1024], text[2048];
    int n = snprintf(text, sizeof text, "model,top1,top5,param_count,img_size,crop_pct,"
                                        "interpolation\n");
    for (int i = 0; i < N_ZOO; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s,%.3f,90.0,0.01,%d,0.875,bicubic\n",
                      zoo[i].csv_name, changed && i == 3 ? 80.0 : zoo[i].top1,
                      zoo[i].resolution);
    snprintf(path, sizeof path, "%s/results.csv", dir);
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
}

/* The study file dir/zoo.yaml over the checkpoints in dir/<folder>/. */
static void write_study(const char *dir, const char *folder) {
    char path[1024], text[4096];
    int n = snprintf(text, sizeof text,
                     "name: zoo\n"
                     "upstream: imagenet-1k\n"
                     "us_csv: results.csv\n"
                     "checkpoints:\n");
    for (int i = 0; i < N_ZOO; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "  - {path: %s/%s, us_name: %s%s}\n",
                      folder, zoo[i].file, zoo[i].csv_name,
                      /* the tensors tell neither a ViT's heads nor a
                       * ResNet's resolution (timm's default for BiT is 224) */
                      strncmp(zoo[i].file, "vit", 3) == 0   ? ", settings: {heads: 2}"
                      : strncmp(zoo[i].file, "bit", 3) == 0 ? ", image_size: 32"
                                                            : "");
    snprintf(text + n, sizeof text - (size_t)n,
             "downstream: {tasks: [digits-8x8], shots: [1, 5], draws: 2, test_limit: 100}\n");
    snprintf(path, sizeof path, "%s/zoo.yaml", dir);
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
}

/* `xfer -q ARGS >> log 2>&1` in its own process group. */
static pid_t start_xfer(const char *log, const char *a1, const char *a2, const char *a3,
                        const char *a4) {
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        FILE *f = freopen(log, "a", stdout);
        if (f) dup2(fileno(f), 2);
        execl(test_xfer_bin(), test_xfer_bin(), "-q", a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static char *slurp(const char *path) {
    unsigned char *data = NULL;
    size_t size = 0;
    cr_assert_eq(xf_read_file(path, &data, &size), XF_OK, "%s", xf_error_message());
    return (char *)data;
}

/* Every checkpoint finished once, with the top1 of its row as a fraction
 * and its taps x 2 shots x 2 draws probe rows, nothing twice, no claims. */
static void check_complete(const char *db, bool changed) {
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE status = 'finished'"), N_ZOO);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials"), N_ZOO);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM probes"),
                 test_query(db, "SELECT count(*) FROM (SELECT DISTINCT trial_id, ds_task, layer,"
                           " shots, draw FROM probes)"));
    cr_assert_eq(test_query(db, "SELECT count(*) FROM probes p JOIN trials t ON t.id = p.trial_id"
                           " WHERE p.n_layers * 4 != (SELECT count(*) FROM probes q"
                           " WHERE q.trial_id = p.trial_id)"),
                 0, "a trial lacks probe rows");
    cr_assert_eq(test_query(db, "SELECT count(*) FROM claims"), 0);
    cr_assert_eq(test_query(db, "SELECT count(DISTINCT family) FROM trials"), 4);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE family = 'vit'"), 2);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE family = 'resnet'"), 2);
    for (int i = 0; i < N_ZOO; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM trials WHERE resolution = %d",
                 zoo[i].resolution);
        cr_assert_eq(test_query(db, sql), zoo[i].resolution == 32 ? 3 : 1, "%s", sql);
    }
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE us_task = 'imagenet-1k'"), N_ZOO);
    for (int i = 0; i < N_ZOO; i++) {
        char sql[256];
        double top1 = changed && i == 3 ? 80.0 : zoo[i].top1;
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM trials WHERE abs(us_acc - %.6f) < 1e-12 AND params > 0",
                 top1 / 100);
        cr_assert_eq(test_query(db, sql), 1, "%s", zoo[i].csv_name);
    }
}

Test(zoo_study, six_checkpoints_killed_resumed_moved_reported, .timeout = 120) {
    need_digits();
    char *dir = test_tmpdir();
    char file[700], out[700], db[800], log[700], cmd[4096];
    snprintf(file, sizeof file, "%s/zoo.yaml", dir);
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(db, sizeof db, "%s/study.db", out);
    snprintf(log, sizeof log, "%s/log", dir);
    write_zoo(dir);
    write_csv(dir, false);
    write_study(dir, "ckpt");

    /* Killed once the first trial is stored... */
    pid_t pid = start_xfer(log, "study", file, "--out", out);
    for (;;) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        if (access(db, F_OK) == 0 &&
            test_query(db, "SELECT count(*) FROM trials WHERE status = 'finished'") >= 1)
            break;
        usleep(1000);
    }
    if (pid) {
        kill(-pid, SIGKILL);
        test_wait_exit(pid);
    }
    long long kept = test_query(db, "SELECT count(*) FROM trials");
    cr_assert(pid && kept >= 1 && kept < N_ZOO, "the kill came after %lld trials", kept);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE status != 'finished'"), 0);

    /* ... and resumed with two workers: the rest run, nothing twice. */
    snprintf(cmd, sizeof cmd, "'%s' study '%s' --out '%s' -j 2 > '%s' 2>&1", test_xfer_bin(),
             file, out, log);
    cr_assert_eq(test_system(cmd), 0, "%s", slurp(log));
    char *text = slurp(log);
    char expect[64];
    snprintf(expect, sizeof expect, "%d trials planned, %lld finished", N_ZOO, kept);
    cr_assert(strstr(text, expect), "%s", text);
    free(text);
    check_complete(db, false);

    /* Moved: the same trials (ids hash the content, not the path). */
    snprintf(cmd, sizeof cmd, "mv '%s/ckpt' '%s/moved'", dir, dir);
    cr_assert_eq(test_system(cmd), 0);
    write_study(dir, "moved");
    /* A corrected results table updates the stored US accuracy in place. */
    write_csv(dir, true);
    snprintf(cmd, sizeof cmd, "'%s' study '%s' --out '%s' > '%s' 2>&1", test_xfer_bin(), file,
             out, log);
    cr_assert_eq(test_system(cmd), 0, "%s", slurp(log));
    text = slurp(log);
    cr_assert(strstr(text, "6 trials planned, 6 finished"), "%s", text);
    cr_assert(strstr(text, "US accuracy set to 0.8000"), "%s", text);
    free(text);
    check_complete(db, true);

    /* The report: the zoo's points under its US task with the table's
     * accuracies, the knobs with the resolution. */
    snprintf(cmd, sizeof cmd, "'%s' -q report '%s' > '%s' 2>&1", test_xfer_bin(), out, log);
    cr_assert_eq(test_system(cmd), 0, "%s", slurp(log));
    snprintf(cmd, sizeof cmd, "%s/report/results.json", out);
    text = slurp(cmd);
    cr_assert(strstr(text, "\"us_task\":\t\"imagenet-1k\""), "%.2000s", text);
    for (int i = 0; i < N_ZOO; i++) {
        char acc[48];
        snprintf(acc, sizeof acc, "\"us_acc\":\t%.17g", (i == 3 ? 80.0 : zoo[i].top1) / 100);
        char *at = strstr(text, acc);
        if (!at) { /* cJSON prints the shortest form that reads back */
            snprintf(acc, sizeof acc, "\"us_acc\":\t%g", (i == 3 ? 80.0 : zoo[i].top1) / 100);
            at = strstr(text, acc);
        }
        cr_assert(at, "%s missing from results.json", acc);
    }
    free(text);
    snprintf(cmd, sizeof cmd, "%s/report/knobs.csv", out);
    text = slurp(cmd);
    cr_assert(strstr(text, "log resolution"), "%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "%s/report/index.html", out);
    text = slurp(cmd);
    cr_assert(strstr(text, "imagenet-1k"));
    cr_assert(strstr(text, "6 of the trials probe existing checkpoints (a zoo study)"));
    free(text);

    test_remove_dir(dir);
}

/* Loads a study written to dir/zoo.yaml and expects the error `needle`. */
static void expect_refused(const char *dir, const char *yaml, const char *needle) {
    char path[1024];
    snprintf(path, sizeof path, "%s/zoo.yaml", dir);
    cr_assert_eq(test_write_file(path, yaml, strlen(yaml)), 0);
    xf_study_config *cfg = xf_malloc(sizeof *cfg);
    xf_status st = xf_study_config_load(path, cfg);
    cr_assert_neq(st, XF_OK, "accepted: %s", yaml);
    cr_assert(strstr(xf_error_message(), needle), "'%s' lacks '%s'", xf_error_message(), needle);
    free(cfg);
}

Test(zoo_study, bad_entries_are_refused_at_plan_time_with_their_line) {
    char *dir = test_tmpdir();
    write_zoo(dir);
    write_csv(dir, false);
    char msg[1200];
    const char *head = "name: zoo\nupstream: imagenet-1k\nus_csv: results.csv\n"
                       "downstream: {tasks: [digits-8x8]}\ncheckpoints:\n"
                       "  - {path: ckpt/mlp-16.safetensors, us_name: xf_mlp_16}\n";
    char yaml[2048];

    snprintf(yaml, sizeof yaml, "%s  - {path: ckpt/none.safetensors, us_name: xf_vit_cls32}\n",
             head);
    snprintf(msg, sizeof msg, "%s/zoo.yaml:7:5: checkpoints[1].path: cannot read '%s/ckpt/"
             "none.safetensors': No such file or directory", dir, dir);
    expect_refused(dir, yaml, msg);

    snprintf(yaml, sizeof yaml, "%s  - {path: ckpt/vit_cls32.safetensors, us_name: vit_huge}\n", head);
    snprintf(msg, sizeof msg, "%s/zoo.yaml:7:5: checkpoints[1].us_name: 'vit_huge' is not a "
             "model of %s/results.csv (6 models", dir, dir);
    expect_refused(dir, yaml, msg);

    snprintf(yaml, sizeof yaml, "%s  - {path: ckpt/vit_cls32.safetensors, us_acc: 72.5}\n",
             head);
    snprintf(msg, sizeof msg, "%s/zoo.yaml:7:48: checkpoints[1].us_acc: expected a US accuracy "
             "as a fraction in [0, 1] or 'measure', got '72.5' (a percentage? divide by 100)",
             dir);
    expect_refused(dir, yaml, msg);

    snprintf(yaml, sizeof yaml, "%s  - {path: ckpt/../ckpt/mlp-16.safetensors, us_acc: 0.5}\n",
             head);
    expect_refused(dir, yaml, "checkpoints[1].path: '");
    expect_refused(dir, yaml, "has the same content as checkpoints[0]");

    /* A timm checkpoint's head and input are not xfer's: no measuring. */
    snprintf(yaml, sizeof yaml, "%s  - {path: ckpt/mixer32.safetensors, upstream: digits-8x8,"
             " us_acc: measure}\n", head);
    snprintf(msg, sizeof msg, "%s/zoo.yaml:7:5: checkpoints[1].us_acc: measure needs a "
             "checkpoint written by xfer", dir);
    expect_refused(dir, yaml, msg);

    snprintf(yaml, sizeof yaml, "name: zoo\ndownstream: {tasks: [digits-8x8]}\ncheckpoints:\n"
             "  - {path: ckpt/vit_cls32.safetensors, us_acc: 0.5}\n");
    snprintf(msg, sizeof msg, "%s/zoo.yaml:4:5: checkpoints[0]: give the checkpoint its upstream",
             dir);
    expect_refused(dir, yaml, msg);

    snprintf(yaml, sizeof yaml, "name: zoo\nupstream: u\ndownstream: {tasks: [digits-8x8]}\n"
             "checkpoints:\n  - {path: ckpt/vit_cls32.safetensors, arch: vit_tiny}\n");
    expect_refused(dir, yaml, "checkpoints[0]: no us_acc, and no us_csv");

    /* A table with a percentage out of range names its line. */
    snprintf(msg, sizeof msg, "%s/results.csv", dir);
    const char *bad = "model,top1,top5\nxf_a,81.2,95\nxf_b,181.2,95\n";
    cr_assert_eq(test_write_file(msg, bad, strlen(bad)), 0);
    snprintf(yaml, sizeof yaml, "%s", head);
    snprintf(msg, sizeof msg, "%s/zoo.yaml:3:9: us_csv: %s/results.csv: line 3: top1 of xf_b: "
             "expected a percentage in [0, 100], got '181.2'", dir, dir);
    expect_refused(dir, yaml, msg);

    test_remove_dir(dir);
}

/* A US accuracy given in the file, and one measured on the US task (the
 * head of a checkpoint made for digits, on the digits test set); the ids
 * hash what the checkpoint is and how it is probed, never its path or a
 * given US accuracy. */
Test(zoo_study, given_and_measured_us_accuracies_and_ids, .timeout = 60) {
    need_digits();
    char *dir = test_tmpdir();
    write_zoo(dir);
    char path[1024], yaml[1024];
    snprintf(path, sizeof path, "%s/zoo.yaml", dir);
    const char *study = "name: zoo\nupstream: digits-8x8\n"
                        "downstream: {tasks: [digits-8x8], shots: 1, draws: 1, test_limit: 50}\n"
                        "checkpoints:\n"
                        "  - {path: ckpt/mlp-16.safetensors, us_acc: %s}\n"
                        "  - {path: ckpt/resnet-8.safetensors, us_acc: measure}\n";
    xf_study_config *cfg = xf_malloc(sizeof *cfg);
    xf_plan plan[2];
    const char *given[2] = {"0.25", "0.5"};
    for (int k = 0; k < 2; k++) {
        snprintf(yaml, sizeof yaml, study, given[k]);
        cr_assert_eq(test_write_file(path, yaml, strlen(yaml)), 0);
        cr_assert_eq(xf_study_config_load(path, cfg), XF_OK, "%s", xf_error_message());
        cr_assert_eq(xf_plan_build(cfg, &plan[k]), XF_OK, "%s", xf_error_message());
        cr_assert_eq(plan[k].n, 2);
    }
    cr_assert_str_eq(plan[0].trials[0].id, plan[1].trials[0].id);
    cr_assert(strstr(plan[0].trials[1].config_json, "\"us_acc\":\"measure\""));
    cr_assert(strstr(plan[0].trials[0].config_json, "\"checkpoint\":{\"content\":\""));
    cr_assert(!strstr(plan[0].trials[0].config_json, "mlp-16"), "no path in the id");
    cr_assert_eq(plan[0].trials[0].is_checkpoint, true);
    for (int k = 0; k < 2; k++) xf_plan_free(&plan[k]);
    free(cfg);

    char out[1100], db[1200], log[1100], cmd[4096];
    snprintf(out, sizeof out, "%s/s", dir);
    snprintf(db, sizeof db, "%s/study.db", out);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(cmd, sizeof cmd, "'%s' -q study '%s' --out '%s' > '%s' 2>&1", test_xfer_bin(), path,
             out, log);
    cr_assert_eq(test_system(cmd), 0, "%s", slurp(log));
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE status = 'finished'"), 2);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE us_acc = 0.5 AND family = 'mlp'"),
                 1);
    /* The measured one: random weights on 10 classes score near chance
     * (the digits test set has 300 images), and the run says what it got. */
    cr_assert_eq(test_query(db, "SELECT count(*) FROM trials WHERE family = 'resnet' AND"
                           " us_acc BETWEEN 0.0 AND 0.35 AND us_acc * 300 = round(us_acc * 300)"),
                 1);

    /* As a cluster array of two tasks and a merge: the same records. */
    char arr[1100], arr_db[1200];
    snprintf(arr, sizeof arr, "%s/a", dir);
    snprintf(arr_db, sizeof arr_db, "%s/study.db", arr);
    for (int task = 0; task < 2; task++) {
        snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=%d '%s' -q study '%s' --out '%s' "
                 "--array 2 > '%s' 2>&1", task, test_xfer_bin(), path, arr, log);
        cr_assert_eq(test_system(cmd), 0, "%s", slurp(log));
    }
    snprintf(cmd, sizeof cmd, "'%s' -q merge '%s' > '%s' 2>&1", test_xfer_bin(), arr, log);
    cr_assert_eq(test_system(cmd), 0, "%s", slurp(log));
    cr_assert_eq(test_query(arr_db, "SELECT count(*) FROM trials WHERE status = 'finished'"), 2);
    cr_assert_eq(test_query(arr_db, "SELECT count(*) FROM trials WHERE resolution IN (8, 16)"), 2);
    cr_assert_eq(test_query(arr_db, "SELECT count(*) FROM probes"),
                 test_query(db, "SELECT count(*) FROM probes"));
    cr_assert_eq(test_query(arr_db, "SELECT sum(us_acc * 1000) FROM trials"),
                 test_query(db, "SELECT sum(us_acc * 1000) FROM trials"));
    test_remove_dir(dir);
}

Test(zoo_study, results_table_reader) {
    char *dir = test_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    const char *text = "top5,model,top1\r\n99.1,\"vit_base_patch16_224.augreg2_in21k_ft_in1k\","
                       "85.102\r\n\r\n90,\"a,b\",0\r\n";
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    xf_us_csv csv;
    cr_assert_eq(xf_us_csv_load(path, &csv), XF_OK, "%s", xf_error_message());
    cr_assert_eq(csv.n, 2);
    int row = xf_us_csv_find(&csv, "vit_base_patch16_224.augreg2_in21k_ft_in1k");
    cr_assert_eq(row, 0);
    cr_assert_float_eq(csv.top1[row], 0.85102, 1e-15);
    cr_assert_eq(csv.line[1], 4);
    cr_assert_eq(xf_us_csv_find(&csv, "a,b"), 1);
    cr_assert_eq(xf_us_csv_find(&csv, "vit_base"), -1);
    xf_us_csv_free(&csv);

    const char *twice = "model,top1\nm,1\nm,2\n";
    cr_assert_eq(test_write_file(path, twice, strlen(twice)), 0);
    cr_assert_neq(xf_us_csv_load(path, &csv), XF_OK);
    cr_assert(strstr(xf_error_message(), "t.csv: line 3: model m is listed twice (first on "
                                         "line 2)"), "%s", xf_error_message());
    const char *no_top1 = "model,acc\nm,1\n";
    cr_assert_eq(test_write_file(path, no_top1, strlen(no_top1)), 0);
    cr_assert_neq(xf_us_csv_load(path, &csv), XF_OK);
    cr_assert(strstr(xf_error_message(), "line 1: no column named 'top1'"), "%s",
              xf_error_message());
    test_remove_dir(dir);
}

/* A store written before zoo studies has no resolution column: a writer
 * adds it, a reader of one it cannot write reads the resolution as unknown. */
Test(zoo_study, stores_older_than_the_resolution_column) {
    char *dir = test_tmpdir();
    char db[1024];
    snprintf(db, sizeof db, "%s/study.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h,
                              "CREATE TABLE trials(id TEXT PRIMARY KEY, study TEXT, config_json"
                              " TEXT, family TEXT, us_task TEXT, status TEXT, us_acc REAL, params"
                              " INTEGER, flops_per_image REAL, train_flops REAL, seconds REAL,"
                              " error TEXT, finished_at TEXT);"
                              "CREATE TABLE probes(trial_id TEXT, ds_task TEXT, layer INTEGER,"
                              " layer_name TEXT, n_layers INTEGER, shots INTEGER, draw INTEGER,"
                              " acc REAL, PRIMARY KEY (trial_id, ds_task, layer, shots, draw));"
                              "INSERT INTO trials VALUES('a', 's', '{}', 'mlp', 'u', 'finished',"
                              " 0.5, 10, 1, 3, 1, NULL, '2026-01-01T00:00:00Z');",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(h);
    xf_study_table t;
    cr_assert_eq(xf_store_read_table(db, &t), XF_OK, "%s", xf_error_message());
    cr_assert_eq(t.n_trials, 1);
    cr_assert(isnan(t.trials[0].resolution));
    xf_study_table_free(&t);
    cr_assert_eq(test_query(db, "SELECT count(*) FROM pragma_table_info('trials')"
                           " WHERE name = 'resolution'"), 0);

    xf_store *store;
    cr_assert_eq(xf_store_open(db, &store), XF_OK, "%s", xf_error_message());
    xf_trial_record rec = {.id = "b", .study = "s", .config_json = "{}", .family = "vit",
                           .us_task = "u", .status = XF_TRIAL_FINISHED, .us_acc = 0.6,
                           .params = 20, .resolution = 224};
    cr_assert_eq(xf_store_write_trial(store, &rec, NULL, 0), XF_OK, "%s", xf_error_message());
    bool changed;
    cr_assert_eq(xf_store_update_us_acc(store, "b", 0.6, &changed), XF_OK);
    cr_assert(!changed);
    cr_assert_eq(xf_store_update_us_acc(store, "b", 0.7, &changed), XF_OK);
    cr_assert(changed);
    xf_store_close(store);
    cr_assert_eq(xf_store_read_table(db, &t), XF_OK, "%s", xf_error_message());
    cr_assert_eq(t.n_trials, 2);
    cr_assert(isnan(t.trials[0].resolution));
    cr_assert_float_eq(t.trials[1].resolution, 224, 0);
    cr_assert_float_eq(t.trials[1].us_acc, 0.7, 0);
    xf_study_table_free(&t);
    test_remove_dir(dir);
}

/* examples/zoo.yaml parses, and each of its checkpoints has its row in the
 * table committed next to it (the files themselves are downloaded by the
 * user: docs/zoo.md). */
Test(zoo_study, the_example_and_its_table_agree) {
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/zoo.yaml", test_root());
    unsigned char *text = NULL;
    size_t size = 0;
    cr_assert_eq(xf_read_file(path, &text, &size), XF_OK, "%s", xf_error_message());
    xf_study_config *cfg = xf_malloc(sizeof *cfg);
    cr_assert_eq(xf_study_config_parse((const char *)text, size, path, cfg), XF_OK, "%s",
                 xf_error_message());
    free(text);
    cr_assert_eq(cfg->n_models, 0);
    cr_assert_eq(cfg->n_checkpoints, 13);
    snprintf(path, sizeof path, "%s/examples/%s", test_root(), cfg->us_csv);
    xf_us_csv csv;
    cr_assert_eq(xf_us_csv_load(path, &csv), XF_OK, "%s", xf_error_message());
    cr_assert_eq(csv.n, 13);
    int families[3] = {0, 0, 0};
    for (int i = 0; i < cfg->n_checkpoints; i++) {
        const xf_study_checkpoint *e = &cfg->checkpoints[i];
        cr_assert_eq(e->us_source, XF_US_ACC_CSV);
        cr_assert_str_eq(e->upstream, "imagenet-1k");
        int row = xf_us_csv_find(&csv, e->arch);
        cr_assert_geq(row, 0, "%s", e->arch);
        cr_assert(csv.top1[row] > 0.7 && csv.top1[row] < 0.9, "%s: %g", e->arch, csv.top1[row]);
        bool vit = strncmp(e->arch, "vit_", 4) == 0, mixer = strncmp(e->arch, "mixer_", 6) == 0;
        families[vit ? 0 : mixer ? 1 : 2]++;
    }
    cr_assert_eq(families[0], 6);
    cr_assert_eq(families[1], 2);
    cr_assert_eq(families[2], 5);
    /* timm's number for ViT-B/16 AugReg (in21k, fine-tuned on in1k) */
    int b16 = xf_us_csv_find(&csv, "vit_base_patch16_224.augreg_in21k_ft_in1k");
    cr_assert_float_eq(csv.top1[b16], 0.84534, 1e-12);
    xf_us_csv_free(&csv);
    free(cfg);
}

/* Waits until files written so far have settled for the hash cache. */
static void settle(void) {
    struct timespec t = {XF_HASH_CACHE_SETTLE_S, 200 * 1000 * 1000};
    nanosleep(&t, NULL);
}

/* The hash cache: a hash is remembered by the file's identity and used
 * while the file is unchanged; a changed file, a line that does not parse
 * and a cache that is off all fall back to reading the file. */
Test(zoo_study, hash_cache_remembers_unchanged_files_only) {
    char *dir = test_tmpdir();
    char cache_path[700], file[700];
    snprintf(cache_path, sizeof cache_path, "%s/cache/hashes", dir);
    snprintf(file, sizeof file, "%s/weights.bin", dir);
    setenv("XFER_HASH_CACHE", cache_path, 1);
    cr_assert_eq(test_write_file(file, "abc", 3), 0);
    struct stat sb;
    cr_assert_eq(stat(file, &sb), 0);
    xf_hash_cache cache;
    char got[17];
    xf_hash_cache_load(&cache);
    cr_assert_not(xf_hash_cache_get(&cache, &sb, got));
    /* a file changed a moment ago is not remembered yet */
    xf_hash_cache_put(&cache, file, &sb, "0123456789abcdef");
    cr_assert_eq(cache.n, 0);
    settle();
    xf_hash_cache_put(&cache, file, &sb, "0123456789abcdef");
    cr_assert_eq(cache.n, 1);
    xf_hash_cache_close(&cache); /* makes the folder and writes the file */

    /* a line of another format is skipped, the others still read */
    FILE *f = fopen(cache_path, "a");
    cr_assert_not_null(f);
    fputs("not a cache line\n", f);
    fclose(f);
    xf_hash_cache_load(&cache);
    cr_assert_eq(cache.n, 1);
    cr_assert(xf_hash_cache_get(&cache, &sb, got));
    cr_assert_str_eq(got, "0123456789abcdef");
    xf_hash_cache_close(&cache);

    /* changed content: the identity (size, change time) no longer matches */
    cr_assert_eq(test_write_file(file, "abcd", 4), 0);
    cr_assert_eq(stat(file, &sb), 0);
    xf_hash_cache_load(&cache);
    cr_assert_not(xf_hash_cache_get(&cache, &sb, got));
    xf_hash_cache_close(&cache);

    setenv("XFER_HASH_CACHE", "off", 1);
    xf_hash_cache_load(&cache);
    cr_assert_eq(cache.n, 0);
    xf_hash_cache_put(&cache, file, &sb, "0123456789abcdef");
    cr_assert_eq(cache.n, 0);
    xf_hash_cache_close(&cache);
    test_remove_dir(dir);
}

/* Planning a zoo study fills the cache, and planning it again takes the
 * hashes from it (shown by a planted hash that the plan then uses); a
 * file written since is read again. */
Test(zoo_study, planning_again_takes_hashes_from_the_cache, .timeout = 60) {
    need_digits();
    char *dir = test_tmpdir();
    write_zoo(dir);
    char path[1024], cache_path[1024], ckpt[1024];
    snprintf(path, sizeof path, "%s/zoo.yaml", dir);
    snprintf(cache_path, sizeof cache_path, "%s/hashes", dir);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt/mlp-16.safetensors", dir);
    setenv("XFER_HASH_CACHE", cache_path, 1);
    settle();
    const char *study = "name: zoo\nupstream: digits-8x8\n"
                        "downstream: {tasks: [digits-8x8], shots: 1, draws: 1, test_limit: 50}\n"
                        "checkpoints:\n  - {path: ckpt/mlp-16.safetensors, us_acc: 0.5}\n";
    cr_assert_eq(test_write_file(path, study, strlen(study)), 0);
    xf_study_config *cfg = xf_malloc(sizeof *cfg);
    cr_assert_eq(xf_study_config_load(path, cfg), XF_OK, "%s", xf_error_message());
    char read_hash[17];
    memcpy(read_hash, cfg->checkpoints[0].content, 17);
    cr_assert_eq(strlen(read_hash), 16);

    struct stat sb;
    cr_assert_eq(stat(ckpt, &sb), 0);
    xf_hash_cache cache;
    char cached[17];
    xf_hash_cache_load(&cache);
    cr_assert(xf_hash_cache_get(&cache, &sb, cached), "planning left no entry");
    cr_assert_str_eq(cached, read_hash);
    xf_hash_cache_put(&cache, ckpt, &sb, "00000000000000aa"); /* planted */
    xf_hash_cache_close(&cache);
    cr_assert_eq(xf_study_config_load(path, cfg), XF_OK, "%s", xf_error_message());
    cr_assert_str_eq(cfg->checkpoints[0].content, "00000000000000aa");

    /* the same bytes written again: a new change time, so read again */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.tmp' && cat '%s.tmp' > '%s'", ckpt, ckpt, ckpt, ckpt);
    cr_assert_eq(test_system(cmd), 0);
    cr_assert_eq(xf_study_config_load(path, cfg), XF_OK, "%s", xf_error_message());
    cr_assert_str_eq(cfg->checkpoints[0].content, read_hash);
    free(cfg);
    test_remove_dir(dir);
}
