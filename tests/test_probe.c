#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "data/preprocess.h"
#include "models/model.h"
#include "probe/features.h"
#include "probe/probe.h"
#include "probe/ridge.h"
#include "support.h"
#include "train/checkpoint.h"

/* Two points x = 0 (class 0) and x = 2 (class 1), one feature, lambda 2.
 * Support mean 1, std 1, so with e = 1 / (1 + 1e-5) the standardised rows
 * with the bias are X = [[-e, 100], [e, 100]] and Y = [[1, -1], [-1, 1]].
 * N = 2 >= D = 2: primal. X^T X + 2I = diag(2e^2 + 2, 20002) and
 * X^T Y = [[-2e, 2e], [0, 0]], so W = [[-e, e] / (e^2 + 1), [0, 0]]:
 * the bias weights vanish because the classes are balanced. */
Test(probe, ridge_hand_solved_primal) {
    const float train[] = {0, 2};
    const int32_t labels[] = {0, 1};
    const int support[] = {0, 1};
    cr_assert(xf_ridge_uses_primal(2, 1));
    xf_ridge r;
    cr_assert_eq(xf_ridge_fit(train, labels, support, 2, 1, 2, 2.0, &r), XF_OK, "%s",
                 xf_error_message());
    double e = 1 / (1 + 1e-5);
    cr_assert_float_eq(r.mean[0], 1.0, 1e-12);
    cr_assert_float_eq(r.scale[0], 1.0 + 1e-5, 1e-12);
    cr_assert_float_eq(r.weights[0], -e / (e * e + 1), 1e-12);
    cr_assert_float_eq(r.weights[1], e / (e * e + 1), 1e-12);
    cr_assert(fabs(r.weights[2]) < 1e-12 && fabs(r.weights[3]) < 1e-12);
    const float test[] = {0.5f, 1.5f, -3, 10};
    int32_t pred[4];
    cr_assert_eq(xf_ridge_predict(&r, test, 4, pred), XF_OK);
    cr_assert(pred[0] == 0 && pred[1] == 1 && pred[2] == 0 && pred[3] == 1);
    xf_ridge_free(&r);

    const int32_t truth[] = {0, 0, 0, 1};
    double acc = -1;
    cr_assert_eq(xf_ridge_probe(train, labels, support, 2, test, truth, 4, 1, 2, 2.0, pred, &acc),
                 XF_OK);
    cr_assert_eq(acc, 0.75);
}

/* Two points (0, 0) (class 0) and (2, 4) (class 1), lambda 2. Means (1, 2),
 * stds (1, 2); with e = 1/(1+1e-5), f = 2/(2+1e-5) the rows are
 * r0 = (-e, -f, 100), r1 = (e, f, 100). N = 2 < D = 3: dual.
 * K = X X^T + 2I has Y's columns +-(1, -1) as eigenvectors with eigenvalue
 * |r0|^2 - r0.r1 + 2 = 2s + 2, s = e^2 + f^2, so A = Y / (2s + 2) and
 * W = X^T A has first column (r0 - r1) / (2s + 2) = (-e, -f, 0) / (s + 1). */
Test(probe, ridge_hand_solved_dual) {
    const float train[] = {0, 0, 2, 4};
    const int32_t labels[] = {0, 1};
    const int support[] = {0, 1};
    cr_assert(!xf_ridge_uses_primal(2, 2));
    xf_ridge r;
    cr_assert_eq(xf_ridge_fit(train, labels, support, 2, 2, 2, 2.0, &r), XF_OK, "%s",
                 xf_error_message());
    double e = 1 / (1 + 1e-5), f = 2 / (2 + 1e-5), s = e * e + f * f;
    const double want[3][2] = {{-e / (s + 1), e / (s + 1)}, {-f / (s + 1), f / (s + 1)}, {0, 0}};
    for (int j = 0; j < 3; j++)
        for (int k = 0; k < 2; k++)
            cr_assert(fabs(r.weights[j * 2 + k] - want[j][k]) < 1e-10,
                      "W[%d][%d] = %.15g, want %.15g", j, k, r.weights[j * 2 + k], want[j][k]);
    const float test[] = {0.2f, 0.1f, 1.9f, 3.5f};
    int32_t pred[2];
    cr_assert_eq(xf_ridge_predict(&r, test, 2, pred), XF_OK);
    cr_assert(pred[0] == 0 && pred[1] == 1);
    xf_ridge_free(&r);
}

typedef struct {
    int n_train, n_test, dim, n_classes;
    float *train, *test;
    int32_t *train_labels, *test_labels;
} fixture;

static FILE *open_fixture(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/probe/%s", test_root(), name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    return f;
}

static void read_rows(FILE *f, int n, int dim, float *x, int32_t *y) {
    for (int i = 0; i < n; i++) {
        cr_assert_eq(fscanf(f, "%d", &y[i]), 1);
        for (int j = 0; j < dim; j++) cr_assert_eq(fscanf(f, "%f", &x[(size_t)i * dim + j]), 1);
    }
}

static void load_fixture(fixture *fx) {
    FILE *f = open_fixture("features.txt");
    cr_assert_eq(fscanf(f, "%d %d %d %d", &fx->n_train, &fx->n_test, &fx->dim, &fx->n_classes), 4);
    fx->train = malloc(sizeof(float) * fx->n_train * fx->dim);
    fx->test = malloc(sizeof(float) * fx->n_test * fx->dim);
    fx->train_labels = malloc(sizeof(int32_t) * fx->n_train);
    fx->test_labels = malloc(sizeof(int32_t) * fx->n_test);
    read_rows(f, fx->n_train, fx->dim, fx->train, fx->train_labels);
    read_rows(f, fx->n_test, fx->dim, fx->test, fx->test_labels);
    fclose(f);
}

/* Reads "key v v v ..." into ints (or one double); returns the count. */
static int read_case_line(FILE *f, const char *key, int *ints, int cap, double *value) {
    char line[4096], *save = NULL;
    cr_assert_not_null(fgets(line, sizeof line, f));
    char *tok = strtok_r(line, " \n", &save);
    cr_assert_str_eq(tok, key);
    int n = 0;
    while ((tok = strtok_r(NULL, " \n", &save))) {
        if (value)
            *value = strtod(tok, NULL);
        else if (n < cap)
            ints[n] = atoi(tok);
        n++;
    }
    return n;
}

static void check_against_numpy(const char *name, bool primal) {
    fixture fx;
    load_fixture(&fx);
    FILE *f = open_fixture(name);
    int support[64], expected[64];
    double lambda, accuracy;
    read_case_line(f, "lambda", NULL, 0, &lambda);
    int n_support = read_case_line(f, "support", support, 64, NULL);
    read_case_line(f, "accuracy", NULL, 0, &accuracy);
    int n_pred = read_case_line(f, "predictions", expected, 64, NULL);
    fclose(f);
    cr_assert_eq(n_pred, fx.n_test);
    cr_assert_eq(xf_ridge_uses_primal(n_support, fx.dim), primal, "%s: wrong form", name);
    int32_t pred[64];
    double acc = -1;
    cr_assert_eq(xf_ridge_probe(fx.train, fx.train_labels, support, n_support, fx.test,
                                fx.test_labels, fx.n_test, fx.dim, fx.n_classes, lambda, pred,
                                &acc),
                 XF_OK, "%s", xf_error_message());
    for (int i = 0; i < fx.n_test; i++)
        cr_assert_eq(pred[i], expected[i], "%s: test row %d: %d, NumPy says %d", name, i, pred[i],
                     expected[i]);
    cr_assert_eq(acc, accuracy, "%s: accuracy %.17g, NumPy says %.17g", name, acc, accuracy);
    free(fx.train);
    free(fx.test);
    free(fx.train_labels);
    free(fx.test_labels);
}

Test(probe, ridge_matches_numpy_reference_primal) {
    check_against_numpy("case_primal.txt", true);
    check_against_numpy("case_primal_lambda1.txt", true);
    check_against_numpy("case_primal_unbalanced.txt", true);
}

Test(probe, ridge_matches_numpy_reference_dual) {
    check_against_numpy("case_dual.txt", false);
    check_against_numpy("case_dual_lambda1.txt", false);
    check_against_numpy("case_dual_unbalanced.txt", false);
}

Test(probe, ridge_rejects_bad_input) {
    const float train[] = {0, 2, 5};
    const int32_t labels[] = {0, 1, 7};
    const int support[] = {0, 1, 2};
    double acc;
    cr_assert_eq(
        xf_ridge_probe(train, labels, support, 3, train, labels, 2, 1, 2, 1024, NULL, &acc),
        XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "training row 2 has label 7"), "%s", xf_error_message());
    cr_assert_eq(xf_ridge_probe(train, labels, support, 2, train, labels, 2, 1, 2, -1, NULL, &acc),
                 XF_EINVAL);
    cr_assert_eq(
        xf_ridge_probe(train, labels, support, 2, train, labels, 0, 1, 2, 1024, NULL, &acc),
        XF_EINVAL);
    const float bad[] = {0, NAN};
    cr_assert_eq(xf_ridge_probe(bad, labels, support, 2, train, labels, 2, 1, 2, 1024, NULL, &acc),
                 XF_ENUMERIC);
}

/* 3 classes of 12, 15 and 20 images, labels interleaved. */
static void make_labels(int32_t *labels, int *n) {
    int left[3] = {12, 15, 20}, k = 0;
    while (left[0] + left[1] + left[2] > 0)
        for (int c = 0; c < 3; c++)
            if (left[c] > 0) labels[k++] = c, left[c]--;
    *n = k;
}

Test(probe, fewshot_support_sets_nested_deterministic_and_draws_differ) {
    int32_t labels[47];
    int n;
    make_labels(labels, &n);
    cr_assert_eq(n, 47);
    const int shots[] = {1, 5, 10};
    int sets[3][3][30], sizes[3][3];
    for (int s = 0; s < 3; s++)
        for (int d = 0; d < 3; d++) {
            cr_assert_eq(xf_fewshot_support(labels, n, 3, shots[s], d, sets[s][d], &sizes[s][d]),
                         XF_OK, "%s", xf_error_message());
            cr_assert_eq(sizes[s][d], 3 * shots[s]);
            int seen[47] = {0};
            for (int i = 0; i < sizes[s][d]; i++) {
                int idx = sets[s][d][i];
                cr_assert(idx >= 0 && idx < n);
                cr_assert_eq(labels[idx], i / shots[s], "entry %d is not of class %d", i,
                             i / shots[s]);
                cr_assert_eq(seen[idx]++, 0, "image %d twice", idx);
            }
        }
    /* Nested: each class's first k entries of a larger shot set are the k-shot set. */
    for (int d = 0; d < 3; d++)
        for (int s = 0; s < 2; s++)
            for (int big = s + 1; big < 3; big++)
                for (int c = 0; c < 3; c++)
                    cr_assert_eq(memcmp(&sets[s][d][c * shots[s]], &sets[big][d][c * shots[big]],
                                        sizeof(int) * shots[s]),
                                 0, "draw %d: %d-shot set not inside the %d-shot set", d, shots[s],
                                 shots[big]);
    /* Deterministic per draw. */
    int again[30], n_again;
    cr_assert_eq(xf_fewshot_support(labels, n, 3, 10, 1, again, &n_again), XF_OK);
    cr_assert_eq(memcmp(again, sets[2][1], sizeof(int) * 30), 0);
    /* Different across draws. */
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            cr_assert_neq(memcmp(sets[2][a], sets[2][b], sizeof(int) * 30), 0,
                          "draws %d and %d gave the same 10-shot set", a, b);
}

Test(probe, fewshot_too_few_images_names_the_class) {
    const int32_t labels[] = {0, 0, 0, 1, 1, 2, 2, 2};
    int support[9], n_support = -1;
    cr_assert_eq(xf_fewshot_support(labels, 8, 3, 3, 0, support, &n_support), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "class 1 has 2 training images"), "%s",
              xf_error_message());
    cr_assert_eq(n_support, 0);
    const int32_t bad[] = {0, 3};
    cr_assert_eq(xf_fewshot_support(bad, 2, 3, 1, 0, support, &n_support), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "image 1 has label 3"), "%s", xf_error_message());
}

Test(probe, config_default) {
    xf_probe_config cfg;
    xf_probe_config_default(&cfg);
    cr_assert_eq(cfg.n_shots, 4);
    cr_assert(cfg.shots[0] == 1 && cfg.shots[1] == 5 && cfg.shots[2] == 10 && cfg.shots[3] == 25);
    cr_assert_eq(cfg.draws, 3);
    cr_assert_eq(cfg.lambda, 1024);
    cr_assert_eq(cfg.test_limit, 0);
}

/* Images whose class sets a bright quadrant of a 4x4 grey image, plus noise. */
static void make_images(xf_dataset *ds, const char *name, int n, unsigned seed) {
    cr_assert_eq(xf_dataset_alloc(ds, name, n, 4, 4, 1, 3), XF_OK, "%s", xf_error_message());
    srand(seed);
    for (int i = 0; i < n; i++) {
        int c = (i * 7 + (int)seed) % 3;
        ds->labels[i] = c;
        for (int p = 0; p < 16; p++) {
            int quadrant = (p / 8) * 2 + (p % 4) / 2;
            int v = (quadrant == c ? 200 : 60) + rand() % 50;
            ds->images[(size_t)i * 16 + p] = (uint8_t)v;
        }
    }
}

static void make_mlp(xf_model *m) {
    xf_model_config cfg = {0};
    cfg.family = XF_FAMILY_MLP;
    cfg.height = 4, cfg.width = 4, cfg.channels = 1, cfg.n_classes = 5;
    cfg.mlp.width = 8, cfg.mlp.depth = 2;
    cr_assert_eq(xf_model_init(m, &cfg), XF_OK, "%s", xf_error_message());
    xf_model_init_weights(m, 3);
    cr_assert_geq(m->n_taps, 2);
}

Test(probe, features_batches_match_single_image_forward) {
    xf_model m;
    make_mlp(&m);
    xf_dataset ds;
    make_images(&ds, "synthetic", 300, 1);
    int idx[] = {299, 0, 257, 5};
    xf_features all, some;
    cr_assert_eq(xf_features_extract(&m, &ds, NULL, 300, &all), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_features_extract(&m, &ds, idx, 4, &some), XF_OK, "%s", xf_error_message());
    cr_assert_eq(all.n_taps, m.n_taps);
    cr_assert(!m.taps_enabled, "taps left on");
    float x[16], logits[5];
    m.taps_enabled = true;
    for (int i = 0; i < 4; i++) {
        xf_dataset_gather(&ds, &idx[i], 1, x, NULL);
        xf_model_forward(&m, x, 1, logits);
        for (int t = 0; t < m.n_taps; t++) {
            const float *tap = xf_model_tap(&m, t);
            for (int j = 0; j < m.tap_dims[t]; j++) {
                float a = all.data[t][(size_t)idx[i] * all.dims[t] + j];
                float b = some.data[t][(size_t)i * some.dims[t] + j];
                cr_assert(fabsf(a - tap[j]) <= 1e-5f * (1 + fabsf(tap[j])),
                          "tap %d image %d feature %d: %g vs %g", t, idx[i], j, a, tap[j]);
                cr_assert(fabsf(b - tap[j]) <= 1e-5f * (1 + fabsf(tap[j])));
            }
        }
    }
    xf_features_free(&all);
    xf_features_free(&some);

    /* Images of another shape are brought to the model's batch by batch,
     * exactly as the whole set through the pipeline beforehand. */
    xf_dataset wrong, brought;
    cr_assert_eq(xf_dataset_alloc(&wrong, "wrongshape", 2, 7, 5, 3, 3), XF_OK);
    for (int i = 0; i < 2 * 7 * 5 * 3; i++) wrong.images[i] = (uint8_t)(i * 37);
    wrong.labels[0] = wrong.labels[1] = 0;
    xf_pipeline to_model;
    xf_pipeline_default(&to_model);
    xf_pipeline_to_shape(&to_model, 4, 4, 1);
    cr_assert_eq(xf_dataset_preprocess(&wrong, &to_model, &brought), XF_OK);
    cr_assert_eq(xf_features_extract(&m, &wrong, NULL, 2, &all), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_features_extract(&m, &brought, NULL, 2, &some), XF_OK);
    for (int t = 0; t < m.n_taps; t++)
        cr_assert(memcmp(all.data[t], some.data[t], sizeof(float) * 2 * all.dims[t]) == 0,
                  "tap %d", t);
    xf_features_free(&all);
    xf_features_free(&some);
    xf_dataset_free(&brought);
    xf_dataset_free(&wrong);
    xf_dataset_free(&ds);
    xf_model_free(&m);
}

Test(probe, model_results_cover_every_tap_shot_draw) {
    xf_model m;
    make_mlp(&m);
    xf_dataset train, test;
    make_images(&train, "synthetic", 60, 2);
    make_images(&test, "synthetic", 40, 5);
    xf_probe_config cfg;
    xf_probe_config_default(&cfg);
    cfg.n_shots = 2, cfg.shots[0] = 1, cfg.shots[1] = 5;
    cfg.draws = 2;
    xf_probe_results res;
    cr_assert_eq(xf_probe_model(&m, &train, &test, &cfg, &res), XF_OK, "%s", xf_error_message());
    cr_assert_eq(res.count, m.n_taps * 2 * 2);

    /* The same probes by hand, on features of the whole training set: checks
     * that xf_probe_model maps support indices onto its extracted rows. */
    xf_features ftrain, ftest;
    cr_assert_eq(xf_features_extract(&m, &train, NULL, train.n, &ftrain), XF_OK);
    cr_assert_eq(xf_features_extract(&m, &test, NULL, test.n, &ftest), XF_OK);
    int k = 0, support[15], n_support;
    double best_last = 0;
    for (int t = 0; t < m.n_taps; t++)
        for (int s = 0; s < 2; s++)
            for (int d = 0; d < 2; d++, k++) {
                const xf_probe_result *r = &res.items[k];
                cr_assert(r->layer == t && r->shots == cfg.shots[s] && r->draw == d);
                cr_assert(r->accuracy >= 0 && r->accuracy <= 1);
                cr_assert_eq(xf_fewshot_support(train.labels, train.n, 3, cfg.shots[s], d, support,
                                                &n_support),
                             XF_OK);
                double acc;
                cr_assert_eq(xf_ridge_probe(ftrain.data[t], train.labels, support, n_support,
                                            ftest.data[t], test.labels, test.n, ftrain.dims[t], 3,
                                            cfg.lambda, NULL, &acc),
                             XF_OK);
                cr_assert_eq(acc, r->accuracy, "tap %d shots %d draw %d", t, r->shots, d);
                if (t == m.n_taps - 1 && r->accuracy > best_last) best_last = r->accuracy;
            }
    /* The classes differ in a bright quadrant: even a random mlp's
     * features separate them far above chance (1/3). */
    cr_assert_gt(best_last, 0.6);
    xf_features_free(&ftrain);
    xf_features_free(&ftest);
    xf_probe_results_free(&res);

    cfg.test_limit = 7;
    cr_assert_eq(xf_probe_model(&m, &train, &test, &cfg, &res), XF_OK, "%s", xf_error_message());
    for (int i = 0; i < res.count; i++) {
        double hits = res.items[i].accuracy * 7;
        cr_assert(fabs(hits - round(hits)) < 1e-9, "accuracy %g is not a count over 7",
                  res.items[i].accuracy);
    }
    xf_probe_results_free(&res);

    cfg.shots[1] = 30; /* more than any class holds */
    cr_assert_eq(xf_probe_model(&m, &train, &test, &cfg, &res), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "fewer than 30 shots"), "%s", xf_error_message());
    cr_assert_eq(res.count, 0);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
    xf_model_free(&m);
}

/* Writes ds as the four MNIST-named IDX files in dir (train and test the same). */
static void write_idx_task(const char *dir, const xf_dataset *train, const xf_dataset *test) {
    const char *names[2][2] = {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
                               {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}};
    const xf_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        const xf_dataset *ds = sets[s];
        size_t pixels = (size_t)ds->n * ds->height * ds->width;
        unsigned char *buf = malloc(16 + pixels);
        unsigned char head[16] = {0, 0, 8, 3};
        uint32_t dims[3] = {(uint32_t)ds->n, (uint32_t)ds->height, (uint32_t)ds->width};
        for (int d = 0; d < 3; d++)
            for (int b = 0; b < 4; b++)
                head[4 + 4 * d + b] = (unsigned char)(dims[d] >> (24 - 8 * b));
        memcpy(buf, head, 16);
        memcpy(buf + 16, ds->images, pixels);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[s][0]);
        cr_assert_eq(test_write_file(path, buf, 16 + pixels), 0);
        memcpy(buf, (unsigned char[8]){0, 0, 8, 1}, 4);
        for (int b = 0; b < 4; b++) buf[4 + b] = (unsigned char)(dims[0] >> (24 - 8 * b));
        for (int i = 0; i < ds->n; i++) buf[8 + i] = (unsigned char)ds->labels[i];
        snprintf(path, sizeof path, "%s/%s", dir, names[s][1]);
        cr_assert_eq(test_write_file(path, buf, 8 + (size_t)ds->n), 0);
        free(buf);
    }
}

static char *read_text(const char *path) {
    unsigned char *data;
    size_t size;
    cr_assert_eq(xf_read_file(path, &data, &size), XF_OK, "%s", xf_error_message());
    return (char *)data;
}

Test(probe, cli_probes_a_checkpoint_on_an_idx_task) {
    char *dir = test_tmpdir();
    cr_assert_not_null(dir);
    char cmd[2048], path[512], task[512], wrong[512];
    xf_model m;
    make_mlp(&m);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(xf_checkpoint_save(&m, path, NULL, NULL, 0), XF_OK, "%s", xf_error_message());
    int n_taps = m.n_taps;
    xf_model_free(&m);
    xf_dataset train, test;
    make_images(&train, "synthetic", 60, 2);
    make_images(&test, "synthetic", 30, 5);
    snprintf(task, sizeof task, "%s/task", dir);
    cr_assert_eq(xf_mkdirs(task), XF_OK);
    write_idx_task(task, &train, &test);
    xf_dataset_free(&train);
    xf_dataset_free(&test);

    const char *bin = test_xfer_bin();
    char spec[520];
    snprintf(spec, sizeof spec, "idx:%s", task);
    snprintf(cmd, sizeof cmd, "%s probe %s --ds %s --shots 1,5 --draws 2 --json > %s/out.json", bin,
             path, spec, dir);
    cr_assert_eq(test_system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s/out.json", dir);
    char *text = read_text(cmd);
    cJSON *doc = cJSON_Parse(text);
    cr_assert_not_null(doc, "not JSON: %s", text);
    const cJSON *results = cJSON_GetObjectItem(doc, "results");
    cr_assert_eq(cJSON_GetArraySize(results), n_taps * 2);
    const cJSON *item;
    cJSON_ArrayForEach(item, results) {
        const cJSON *accs = cJSON_GetObjectItem(item, "accuracies");
        cr_assert_eq(cJSON_GetArraySize(accs), 2);
        double mean = cJSON_GetObjectItem(item, "mean")->valuedouble;
        double a0 = cJSON_GetArrayItem(accs, 0)->valuedouble;
        double a1 = cJSON_GetArrayItem(accs, 1)->valuedouble;
        cr_assert_float_eq(mean, (a0 + a1) / 2, 1e-12);
        cr_assert(a0 >= 0 && a0 <= 1 && a1 >= 0 && a1 <= 1);
        cr_assert_str_eq(cJSON_GetObjectItem(item, "task")->valuestring, spec);
    }
    cJSON_Delete(doc);
    free(text);

    /* A task whose images are not the model's input shape is brought to it,
     * and the probe says so. */
    snprintf(wrong, sizeof wrong, "%s/wrong", dir);
    cr_assert_eq(xf_mkdirs(wrong), XF_OK);
    cr_assert_eq(xf_dataset_alloc(&train, "wrong", 6, 5, 5, 1, 2), XF_OK);
    memset(train.images, 9, 6 * 25);
    for (int i = 0; i < 6; i++) train.labels[i] = i % 2;
    write_idx_task(wrong, &train, &train);
    xf_dataset_free(&train);
    snprintf(cmd, sizeof cmd, "%s probe %s --ds idx:%s --shots 1 > /dev/null 2> %s/err.txt", bin,
             path, wrong, dir);
    cr_assert_eq(test_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/err.txt", dir);
    text = read_text(cmd);
    cr_assert(strstr(text, "5x5x1 images brought to the model's 4x4x1 input"), "%s", text);
    free(text);

    snprintf(cmd, sizeof cmd, "%s probe --help > /dev/null", bin);
    cr_assert_eq(test_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s probe %s 2> /dev/null", bin, path);
    cr_assert_eq(test_system(cmd), 2, "no --ds is a usage error");
    snprintf(cmd, sizeof cmd, "%s probe %s --ds idx:%s --shots 0 2> /dev/null", bin, path, task);
    cr_assert_eq(test_system(cmd), 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    test_system(cmd);
    free(dir);
}

/* ---- .npy files ---- */

Test(probe, npy_round_trip_and_errors_name_the_byte) {
    char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/m.npy", dir);
    const float m[6] = {1, 2, 3, 4, 5, -6.5f};
    cr_assert_eq(xf_npy_write(path, XF_NPY_F4, 2, (int64_t[]){2, 3}, m), XF_OK, "%s",
                 xf_error_message());
    float *back;
    int rows, cols;
    cr_assert_eq(xf_npy_read_matrix(path, &back, &rows, &cols), XF_OK, "%s", xf_error_message());
    cr_assert(rows == 2 && cols == 3 && memcmp(back, m, sizeof m) == 0);
    free(back);
    unsigned char *raw;
    size_t size;
    cr_assert_eq(xf_read_file(path, &raw, &size), XF_OK);
    cr_assert_eq((10 + raw[8]) % 64, 0, "data not 64-byte aligned");

    /* A Fortran-order float64 file, as NumPy writes np.asfortranarray. */
    const char *head = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
    unsigned char buf[256] = "\x93NUMPY\x01\x00";
    size_t hlen = 128 - 10;
    buf[8] = (unsigned char)hlen;
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, head, strlen(head));
    buf[10 + hlen - 1] = '\n';
    const double fm[6] = {1, 4, 2, 5, 3, -6.5}; /* column-major m */
    memcpy(buf + 128, fm, sizeof fm);
    cr_assert_eq(test_write_file(path, buf, 128 + sizeof fm), 0);
    cr_assert_eq(xf_npy_read_matrix(path, &back, &rows, &cols), XF_OK, "%s", xf_error_message());
    cr_assert(rows == 2 && cols == 3 && memcmp(back, m, sizeof m) == 0);
    free(back);
    /* One byte short of the shape. */
    cr_assert_eq(test_write_file(path, buf, 128 + sizeof fm - 1), 0);
    cr_assert_eq(xf_npy_read_matrix(path, &back, &rows, &cols), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "byte 175") && strstr(xf_error_message(), path), "%s",
              xf_error_message());
    /* An unsupported descr, named with its offset. */
    memcpy(buf + 10 + 10, "'>f8'", 5);
    cr_assert_eq(test_write_file(path, buf, 128 + sizeof fm), 0);
    cr_assert_eq(xf_npy_read_matrix(path, &back, &rows, &cols), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "byte 20") && strstr(xf_error_message(), "'>f8'"), "%s",
              xf_error_message());

    /* Labels of every integer width; floats are refused. */
    const int64_t wide[3] = {0, 9, 2};
    cr_assert_eq(xf_npy_write(path, XF_NPY_I8, 1, (int64_t[]){3}, wide), XF_OK);
    int32_t *y;
    int n;
    cr_assert_eq(xf_npy_read_labels(path, &y, &n), XF_OK, "%s", xf_error_message());
    cr_assert(n == 3 && y[0] == 0 && y[1] == 9 && y[2] == 2);
    free(y);
    const uint8_t narrow[2] = {7, 255};
    cr_assert_eq(xf_npy_write(path, XF_NPY_U1, 1, (int64_t[]){2}, narrow), XF_OK);
    cr_assert_eq(xf_npy_read_labels(path, &y, &n), XF_OK);
    cr_assert(n == 2 && y[0] == 7 && y[1] == 255);
    free(y);
    cr_assert_eq(xf_npy_write(path, XF_NPY_F4, 1, (int64_t[]){2}, m), XF_OK);
    cr_assert_eq(xf_npy_read_labels(path, &y, &n), XF_EFORMAT);
    cr_assert_eq(test_write_file(path, "not npy", 7), 0);
    cr_assert_eq(xf_npy_read_labels(path, &y, &n), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "byte 0"), "%s", xf_error_message());
    free(raw);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    test_system(path);
    free(dir);
}

/* ---- several lambdas, LOO and --shots all against tools/ridge_reference.py ---- */

typedef struct {
    bool loo;
    double lambdas[32];
    int n_lambdas, support[64], n_support, chosen, loo_errors[32], heads;
    double accuracy[8];
    int predictions[8][64];
} path_case;

static void read_path_case(const char *name, path_case *pc) {
    FILE *f = open_fixture(name);
    char line[8192];
    memset(pc, 0, sizeof *pc);
    pc->chosen = -1;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *key = strtok_r(line, " \n", &save), *tok;
        int n = 0;
        while ((tok = strtok_r(NULL, " \n", &save))) {
            if (strcmp(key, "loo") == 0) pc->loo = atoi(tok);
            if (strcmp(key, "lambdas") == 0) pc->lambdas[pc->n_lambdas++] = strtod(tok, NULL);
            if (strcmp(key, "support") == 0) pc->support[pc->n_support++] = atoi(tok);
            if (strcmp(key, "chosen") == 0) pc->chosen = atoi(tok);
            if (strcmp(key, "loo_errors") == 0) pc->loo_errors[n] = atoi(tok);
            if (strcmp(key, "accuracy") == 0) pc->accuracy[pc->heads] = strtod(tok, NULL);
            if (strcmp(key, "predictions") == 0) pc->predictions[pc->heads - 1][n] = atoi(tok);
            n++;
        }
        if (strcmp(key, "accuracy") == 0) pc->heads++;
    }
    fclose(f);
}

static void check_path_case(const char *name) {
    fixture fx;
    load_fixture(&fx);
    path_case pc;
    read_path_case(name, &pc);
    cr_assert_eq(pc.heads, pc.loo ? 1 : pc.n_lambdas, "%s", name);
    xf_probe_data data = {fx.train, fx.train_labels, fx.n_train, fx.test,
                          fx.test_labels, fx.n_test, fx.dim, fx.n_classes};
    const int *sets[1] = {pc.support};
    double acc[32], used[32];
    int32_t pred[32 * 64];
    cr_assert_eq(xf_probe_sets(&data, sets, &pc.n_support, 1, pc.lambdas, pc.n_lambdas, pc.loo,
                               acc, used, pred),
                 XF_OK, "%s: %s", name, xf_error_message());
    for (int h = 0; h < pc.heads; h++) {
        for (int i = 0; i < fx.n_test; i++)
            cr_assert_eq(pred[h * fx.n_test + i], pc.predictions[h][i],
                         "%s head %d test row %d: %d, NumPy says %d", name, h, i,
                         pred[h * fx.n_test + i], pc.predictions[h][i]);
        cr_assert_eq(acc[h], pc.accuracy[h], "%s head %d: accuracy %.17g, NumPy %.17g", name, h,
                     acc[h], pc.accuracy[h]);
        cr_assert_eq(used[h], pc.loo ? pc.lambdas[pc.chosen] : pc.lambdas[h], "%s", name);
    }
    if (pc.loo) {
        xf_ridge r;
        xf_ridge_loo scores[32];
        int chosen = -1;
        cr_assert_eq(xf_ridge_fit_path(fx.train, fx.train_labels, pc.support, pc.n_support,
                                       fx.dim, fx.n_classes, pc.lambdas, pc.n_lambdas, true, &r,
                                       &chosen, scores),
                     XF_OK, "%s", xf_error_message());
        cr_assert_eq(chosen, pc.chosen, "%s: LOO chose %d, NumPy %d", name, chosen, pc.chosen);
        for (int l = 0; l < pc.n_lambdas; l++)
            cr_assert_eq(scores[l].errors, pc.loo_errors[l], "%s: lambda %g: %d LOO errors, NumPy %d",
                         name, pc.lambdas[l], scores[l].errors, pc.loo_errors[l]);
        xf_ridge_free(&r);
    }
    free(fx.train);
    free(fx.test);
    free(fx.train_labels);
    free(fx.test_labels);
}

Test(probe, several_lambdas_match_numpy_reference) {
    check_path_case("path_primal_lambdas.txt");
    check_path_case("path_dual_lambdas.txt");
    check_path_case("path_all_lambdas.txt");
}

Test(probe, loo_choice_matches_numpy_reference) {
    check_path_case("path_primal_loo.txt");
    check_path_case("path_dual_loo.txt");
    check_path_case("path_all_loo.txt");
}

/* The batched, folded float32 scoring gives NumPy's predictions on the
 * fixed-lambda cases too (they were made for the double path). */
Test(probe, batched_sets_match_numpy_reference) {
    const char *cases[] = {"case_primal.txt",         "case_dual.txt",
                           "case_primal_lambda1.txt", "case_dual_lambda1.txt",
                           "case_primal_unbalanced.txt", "case_dual_unbalanced.txt"};
    fixture fx;
    load_fixture(&fx);
    xf_probe_data data = {fx.train, fx.train_labels, fx.n_train, fx.test,
                          fx.test_labels, fx.n_test, fx.dim, fx.n_classes};
    int support[6][64], sizes[6], expected[6][64];
    double lambdas[6], accuracy[6];
    const int *sets[6];
    for (int c = 0; c < 6; c++) {
        FILE *f = open_fixture(cases[c]);
        read_case_line(f, "lambda", NULL, 0, &lambdas[c]);
        sizes[c] = read_case_line(f, "support", support[c], 64, NULL);
        read_case_line(f, "accuracy", NULL, 0, &accuracy[c]);
        read_case_line(f, "predictions", expected[c], 64, NULL);
        fclose(f);
        sets[c] = support[c];
        double acc;
        int32_t pred[64];
        cr_assert_eq(xf_probe_sets(&data, &sets[c], &sizes[c], 1, &lambdas[c], 1, false, &acc,
                                   NULL, pred),
                     XF_OK, "%s", xf_error_message());
        for (int i = 0; i < fx.n_test; i++)
            cr_assert_eq(pred[i], expected[c][i], "%s row %d", cases[c], i);
        cr_assert_eq(acc, accuracy[c], "%s", cases[c]);
    }
    /* Many sets in one call score each as if alone. */
    double acc[6];
    cr_assert_eq(xf_probe_sets(&data, sets, sizes, 6, (double[]){1024}, 1, false, acc, NULL, NULL),
                 XF_OK);
    cr_assert_eq(acc[0], accuracy[0]);
    cr_assert_eq(acc[1], accuracy[1]);
    free(fx.train);
    free(fx.test);
    free(fx.train_labels);
    free(fx.test_labels);
}

/* xfer probe --features on .npy files: --shots all with several lambdas
 * and loo give NumPy's accuracies; --layers picks the taps. */
Test(probe, cli_features_match_numpy_reference) {
    fixture fx;
    load_fixture(&fx);
    path_case lam, loo;
    read_path_case("path_all_lambdas.txt", &lam);
    read_path_case("path_all_loo.txt", &loo);
    char *dir = test_tmpdir();
    char p[4][512], cmd[4096];
    const char *names[4] = {"tr.npy", "trl.npy", "te.npy", "tel.npy"};
    for (int i = 0; i < 4; i++) snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
    cr_assert_eq(xf_npy_write(p[0], XF_NPY_F4, 2, (int64_t[]){fx.n_train, fx.dim}, fx.train), XF_OK);
    cr_assert_eq(xf_npy_write(p[1], XF_NPY_I4, 1, (int64_t[]){fx.n_train}, fx.train_labels), XF_OK);
    cr_assert_eq(xf_npy_write(p[2], XF_NPY_F4, 2, (int64_t[]){fx.n_test, fx.dim}, fx.test), XF_OK);
    cr_assert_eq(xf_npy_write(p[3], XF_NPY_I4, 1, (int64_t[]){fx.n_test}, fx.test_labels), XF_OK);
    for (int mode = 0; mode < 2; mode++) {
        /* The same file twice is two layers; --layers last keeps one. */
        snprintf(cmd, sizeof cmd,
                 "%s -q probe --features %s,%s --labels %s --test-features %s,%s --test-labels %s "
                 "--shots all,2 --draws 2 --lambda %s --layers last --json > %s/out.json",
                 test_xfer_bin(), p[0], p[0], p[1], p[2], p[2], p[3],
                 mode ? "loo" : "1024,64,4,0.25", dir);
        cr_assert_eq(test_system(cmd), 0, "%s", cmd);
        snprintf(cmd, sizeof cmd, "%s/out.json", dir);
        char *text = read_text(cmd);
        cJSON *doc = cJSON_Parse(text);
        cr_assert_not_null(doc, "%s", text);
        const cJSON *results = cJSON_GetObjectItem(doc, "results");
        cr_assert_eq(cJSON_GetArraySize(results), mode ? 2 : 8, "%s", text);
        const cJSON *item = cJSON_GetArrayItem(results, 0);
        cr_assert_str_eq(cJSON_GetObjectItem(item, "shots")->valuestring, "all");
        cr_assert_eq(cJSON_GetObjectItem(item, "layer_index")->valueint, 1);
        cr_assert_str_eq(cJSON_GetObjectItem(item, "layer")->valuestring, "tr");
        for (int h = 0; h < (mode ? 1 : 4); h++) {
            item = cJSON_GetArrayItem(results, h);
            const cJSON *accs = cJSON_GetObjectItem(item, "accuracies");
            cr_assert_eq(cJSON_GetArraySize(accs), 1, "--shots all has one draw");
            cr_assert_eq(cJSON_GetArrayItem(accs, 0)->valuedouble,
                         mode ? loo.accuracy[0] : lam.accuracy[h], "head %d: %s", h, text);
            if (mode)
                cr_assert_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(item, "chosen_lambdas"), 0)
                                 ->valuedouble,
                             loo.lambdas[loo.chosen]);
            else
                cr_assert_eq(cJSON_GetObjectItem(item, "lambda")->valuedouble, lam.lambdas[h]);
        }
        /* The 2-shot row of the 4-lambda run has both draws. */
        item = cJSON_GetArrayItem(results, mode ? 1 : 4);
        cr_assert_eq(cJSON_GetObjectItem(item, "shots")->valueint, 2);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(item, "accuracies")), 2);
        cJSON_Delete(doc);
        free(text);
    }
    /* Mismatched rows are refused by file name. */
    snprintf(cmd, sizeof cmd,
             "%s probe --features %s --labels %s --test-features %s --test-labels %s 2> %s/err",
             test_xfer_bin(), p[0], p[3], p[2], p[3], dir);
    cr_assert_eq(test_system(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/err", dir);
    char *text = read_text(cmd);
    cr_assert(strstr(text, p[0]), "%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    test_system(cmd);
    free(dir);
    free(fx.train);
    free(fx.test);
    free(fx.train_labels);
    free(fx.test_labels);
}
