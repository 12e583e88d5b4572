/* xfer probe: few-shot ridge probes of one checkpoint at every tap, on one
 * or more downstream tasks; a table, or a JSON document with every draw. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/npy.h"
#include "core/timer.h"
#include "data/registry.h"
#include "probe/probe.h"
#include "train/checkpoint.h"

static const char usage[] =
    "xfer probe CKPT --ds TASK[,TASK...] [--shots 1,5,10,25|all] [--draws 3] "
    "[--lambda 1024[,L...]|loo] [--layers all|last|LIST] [--test-limit N] [--json]\n"
    "       xfer probe --features TRAIN.npy[,...] --labels TRAIN_LABELS.npy "
    "--test-features TEST.npy[,...] --test-labels TEST_LABELS.npy [options as above]";

static void print_help(void) {
    printf("usage: %s\n\n"
           "Few-shot linear probes of a pre-trained checkpoint (shared/STUDY.md's protocol):\n"
           "for every downstream task, every layer (tap) of the model, every shot count and\n"
           "draw, a closed-form ridge head on k images per class of the task's training set,\n"
           "scored on its test set.\n\n"
           "  CKPT           a checkpoint written by `xfer pretrain` (.safetensors)\n"
           "  --ds LIST      comma-separated task specs (see `xfer data list`); images of\n"
           "                 another shape are brought to the model's input (docs/data.md)\n"
           "  --features F   instead of CKPT: float32 N x D features (.npy) computed\n"
           "                 elsewhere, one file per layer (comma-separated), with\n"
           "                 --labels (integer .npy), --test-features, --test-labels\n"
           "  --shots LIST   images per class of the support sets (default 1,5,10,25);\n"
           "                 'all': every training image, one deterministic draw\n"
           "  --draws N      support sets drawn per shot count, seeds 0..N-1 (default 3)\n"
           "  --lambda X     ridge strength (default 1024); a list L1,L2,... solves\n"
           "                 each from one eigendecomposition; 'loo' chooses per probe\n"
           "                 from 2^-4..2^16 by closed-form leave-one-out error\n"
           "  --layers L     all (default), last, or tap indices (negative: from the end)\n"
           "  --test-limit N score on a fixed seeded subsample of N test images (default: all)\n"
           "  --json         print one JSON document with every draw instead of the table\n\n"
           "The table shows the mean accuracy over draws +- their standard deviation\n"
           "(n-1 denominator; 0 for one draw). docs/probe.md describes the protocol.\n",
           usage);
}

static bool parse_int(const char *s, int lo, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > 1000000000L) return false;
    *out = (int)v;
    return true;
}

static bool parse_shots(const char *s, xf_probe_config *cfg) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    cfg->n_shots = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (cfg->n_shots == XF_PROBE_MAX_SHOTS) return false;
        if (strcmp(tok, "all") == 0)
            cfg->shots[cfg->n_shots] = XF_PROBE_SHOTS_ALL;
        else if (!parse_int(tok, 1, &cfg->shots[cfg->n_shots]))
            return false;
        cfg->n_shots++;
    }
    return cfg->n_shots > 0;
}

static bool parse_lambdas(const char *s, xf_probe_config *cfg) {
    if (strcmp(s, "loo") == 0) return cfg->loo = true;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    cfg->n_lambdas = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(tok, &end);
        if (cfg->n_lambdas == XF_PROBE_MAX_LAMBDAS || end == tok || *end || !(v > 0) ||
            !isfinite(v))
            return false;
        cfg->lambdas[cfg->n_lambdas++] = v;
    }
    if (cfg->n_lambdas == 0) return false;
    if (cfg->n_lambdas == 1) cfg->lambda = cfg->lambdas[0], cfg->n_lambdas = 0;
    return true;
}

static bool parse_layers(const char *s, xf_probe_config *cfg) {
    cfg->n_layers = 0;
    if (strcmp(s, "all") == 0) return true;
    if (strcmp(s, "last") == 0) {
        cfg->layers[cfg->n_layers++] = -1;
        return true;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (cfg->n_layers == XF_PROBE_MAX_LAYERS || end == tok || *end || v < -100000 ||
            v > 100000)
            return false;
        cfg->layers[cfg->n_layers++] = (int)v;
    }
    return cfg->n_layers > 0;
}

typedef struct {
    const char *checkpoint;
    const char *tasks;
    const char *features, *labels, *test_features, *test_labels;
    xf_probe_config cfg;
    bool json;
    bool header_printed;
} options;

/* Returns -1 when the options are fine, else the exit status to return. */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    xf_probe_config_default(&o->cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--ds") == 0 && v) {
            o->tasks = v, i++;
        } else if (strcmp(a, "--features") == 0 && v) {
            o->features = v, i++;
        } else if (strcmp(a, "--labels") == 0 && v) {
            o->labels = v, i++;
        } else if (strcmp(a, "--test-features") == 0 && v) {
            o->test_features = v, i++;
        } else if (strcmp(a, "--test-labels") == 0 && v) {
            o->test_labels = v, i++;
        } else if (strcmp(a, "--shots") == 0 && v) {
            if (!parse_shots(v, &o->cfg))
                return cli_fail(xf_fail(XF_EINVAL,
                                        "--shots '%s': expected up to %d positive integers or "
                                        "'all' separated by commas",
                                        v, XF_PROBE_MAX_SHOTS),
                                "probe");
            i++;
        } else if (strcmp(a, "--draws") == 0 && v) {
            if (!parse_int(v, 1, &o->cfg.draws))
                return cli_fail(xf_fail(XF_EINVAL, "--draws '%s': expected an integer >= 1", v),
                                "probe");
            i++;
        } else if (strcmp(a, "--test-limit") == 0 && v) {
            if (!parse_int(v, 0, &o->cfg.test_limit))
                return cli_fail(
                    xf_fail(XF_EINVAL, "--test-limit '%s': expected an integer >= 0", v), "probe");
            i++;
        } else if (strcmp(a, "--lambda") == 0 && v) {
            if (!parse_lambdas(v, &o->cfg))
                return cli_fail(xf_fail(XF_EINVAL,
                                        "--lambda '%s': expected 'loo' or up to %d numbers > 0 "
                                        "separated by commas",
                                        v, XF_PROBE_MAX_LAMBDAS),
                                "probe");
            i++;
        } else if (strcmp(a, "--layers") == 0 && v) {
            if (!parse_layers(v, &o->cfg))
                return cli_fail(xf_fail(XF_EINVAL,
                                        "--layers '%s': expected all, last or tap indices "
                                        "separated by commas",
                                        v),
                                "probe");
            i++;
        } else if (a[0] != '-' && !o->checkpoint) {
            o->checkpoint = a;
        } else {
            fprintf(stderr, "xfer probe: unknown or incomplete option '%s'\n", a);
            return cli_usage(usage);
        }
    }
    bool by_features = o->features || o->labels || o->test_features || o->test_labels;
    if (by_features) {
        if (o->checkpoint || o->tasks || !o->features || !o->labels || !o->test_features ||
            !o->test_labels) {
            fprintf(stderr, "xfer probe: --features needs --labels, --test-features and "
                            "--test-labels, and no CKPT or --ds\n");
            return cli_usage(usage);
        }
    } else if (!o->checkpoint || !o->tasks) {
        return cli_usage(usage);
    }
    return -1;
}

/* Results of one output row: the draws of one (layer, shots, lambda). */
static int group_size(const xf_probe_results *res, int i) {
    const xf_probe_result *r = &res->items[i];
    int k = i + 1;
    while (k < res->count && res->items[k].layer == r->layer && res->items[k].shots == r->shots &&
           res->items[k].lambda_index == r->lambda_index)
        k++;
    return k - i;
}

/* Mean and n-1 standard deviation of the draws of one output row. */
static void summarise(const xf_probe_result *r, int draws, double *mean, double *std) {
    double sum = 0, sq = 0;
    for (int d = 0; d < draws; d++) sum += r[d].accuracy;
    *mean = sum / draws;
    for (int d = 0; d < draws; d++) sq += (r[d].accuracy - *mean) * (r[d].accuracy - *mean);
    *std = draws > 1 ? sqrt(sq / (draws - 1)) : 0;
}

/* Adds one task's results to the JSON array (results come grouped by tap,
 * then shots, then lambda, then draw, as xf_probe_model orders them). */
static bool add_json(cJSON *array, const char *task, const char *const *layer_names,
                     const options *o, const xf_probe_results *res) {
    for (int i = 0, n; i < res->count; i += n) {
        n = group_size(res, i);
        const xf_probe_result *r = &res->items[i];
        double mean, std;
        summarise(r, n, &mean, &std);
        cJSON *item = cJSON_CreateObject();
        if (!item) return false;
        cJSON_AddItemToArray(array, item);
        bool all = r->shots == XF_PROBE_SHOTS_ALL;
        if (!cJSON_AddStringToObject(item, "task", task) ||
            !cJSON_AddStringToObject(item, "layer", layer_names[r->layer]) ||
            !cJSON_AddNumberToObject(item, "layer_index", r->layer) ||
            !(all ? cJSON_AddStringToObject(item, "shots", "all")
                  : cJSON_AddNumberToObject(item, "shots", r->shots)) ||
            !(o->cfg.loo ? cJSON_AddStringToObject(item, "lambda", "loo")
                         : cJSON_AddNumberToObject(item, "lambda", r->lambda)) ||
            !cJSON_AddNumberToObject(item, "mean", mean) ||
            !cJSON_AddNumberToObject(item, "std", std))
            return false;
        cJSON *acc = cJSON_AddArrayToObject(item, "accuracies");
        cJSON *chosen = o->cfg.loo ? cJSON_AddArrayToObject(item, "chosen_lambdas") : NULL;
        if (!acc || (o->cfg.loo && !chosen)) return false;
        for (int d = 0; d < n; d++) {
            cJSON *v = cJSON_CreateNumber(r[d].accuracy);
            if (!v) return false;
            cJSON_AddItemToArray(acc, v);
            if (chosen) {
                if (!(v = cJSON_CreateNumber(r[d].lambda))) return false;
                cJSON_AddItemToArray(chosen, v);
            }
        }
    }
    return true;
}

static void print_table(const char *task, const char *const *layer_names, options *o,
                        const xf_probe_results *res) {
    if (!o->header_printed)
        printf("%-16s %-12s %5s %10s  %s\n", "task", "layer", "shots", "lambda",
               "accuracy (mean +- std over draws)");
    o->header_printed = true;
    for (int i = 0, n; i < res->count; i += n) {
        n = group_size(res, i);
        const xf_probe_result *r = &res->items[i];
        double mean, std;
        summarise(r, n, &mean, &std);
        char shots[16], lambda[160];
        snprintf(shots, sizeof shots, r->shots == XF_PROBE_SHOTS_ALL ? "all" : "%d", r->shots);
        if (o->cfg.loo) {
            int len = snprintf(lambda, sizeof lambda, "loo:");
            for (int d = 0; d < n && len < (int)sizeof lambda; d++)
                len += snprintf(lambda + len, sizeof lambda - (size_t)len, "%s%g", d ? "/" : "",
                                r[d].lambda);
        } else {
            snprintf(lambda, sizeof lambda, "%g", r->lambda);
        }
        printf("%-16s %-12s %5s %10s  %.4f +- %.4f\n", task, layer_names[r->layer], shots, lambda,
               mean, std);
    }
    fflush(stdout);
}

/* Loads one task (at the model's input shape where its reader can decode
 * straight to it) and probes it. */
static int probe_task(const char *task, xf_model *m, options *o, cJSON *json_results) {
    /* The messages of task loading and the probes name the task already. */
    const char *context = "probe";
    xf_dataset train, test;
    xf_pipeline target;
    xf_pipeline_default(&target);
    xf_pipeline_to_shape(&target, m->config.height, m->config.width, m->config.channels);
    xf_status st = xf_task_load_at(task, &target, &train, &test);
    if (st != XF_OK) return cli_fail(st, context);
    int rc = 0;
    xf_probe_results res;
    const char **names = xf_malloc(sizeof(char *) * (m->n_taps > 0 ? m->n_taps : 1));
    for (int t = 0; names && t < m->n_taps; t++) names[t] = m->tap_names[t];
    st = names ? xf_probe_model(m, &train, &test, &o->cfg, &res) : XF_ENOMEM;
    if (st != XF_OK) {
        rc = cli_fail(st, context);
    } else {
        if (o->json) {
            if (!add_json(json_results, task, names, o, &res))
                rc = cli_fail(xf_fail(XF_ENOMEM, "building the JSON document"), context);
        } else {
            print_table(task, names, o, &res);
        }
        xf_probe_results_free(&res);
    }
    free(names);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
    return rc;
}

/* Splits a comma-separated list in place into at most `cap` items. */
static int split_list(char *s, char **items, int cap) {
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == cap) return -1;
        items[n++] = tok;
    }
    return n;
}

/* A layer's name: its training feature file's name without folder and .npy. */
static void layer_name(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    snprintf(out, cap, "%s", slash ? slash + 1 : path);
    size_t len = strlen(out);
    if (len > 4 && strcmp(out + len - 4, ".npy") == 0) out[len - 4] = 0;
}

/* Probes features computed elsewhere: one pair of .npy files per layer,
 * loaded one layer at a time. */
static int probe_features(options *o, cJSON *json_results) {
    const char *context = "probe";
    char train_list[4096], test_list[4096];
    char *train_files[XF_PROBE_MAX_LAYERS], *test_files[XF_PROBE_MAX_LAYERS];
    snprintf(train_list, sizeof train_list, "%s", o->features);
    snprintf(test_list, sizeof test_list, "%s", o->test_features);
    int n_taps = split_list(train_list, train_files, XF_PROBE_MAX_LAYERS);
    int n_test_taps = split_list(test_list, test_files, XF_PROBE_MAX_LAYERS);
    if (n_taps < 1 || n_taps != n_test_taps)
        return cli_fail(xf_fail(XF_EINVAL,
                                "--features names %d file(s), --test-features %d: expected the "
                                "same number, 1 to %d",
                                n_taps, n_test_taps, XF_PROBE_MAX_LAYERS),
                        context);
    for (int i = 0; i < o->cfg.n_layers; i++)
        if (o->cfg.layers[i] >= n_taps || o->cfg.layers[i] < -n_taps)
            return cli_fail(xf_fail(XF_EINVAL, "--layers: layer %d does not exist (%d feature "
                                    "files)", o->cfg.layers[i], n_taps),
                            context);
    int32_t *ytrain = NULL, *ytest = NULL;
    int n_train = 0, n_test = 0, rc = 0;
    xf_status st;
    if ((st = xf_npy_read_labels(o->labels, &ytrain, &n_train)) != XF_OK ||
        (st = xf_npy_read_labels(o->test_labels, &ytest, &n_test)) != XF_OK) {
        rc = cli_fail(st, context);
        goto done;
    }
    int n_classes = 0;
    for (int i = 0; i < n_train + n_test; i++) {
        int32_t y = i < n_train ? ytrain[i] : ytest[i - n_train];
        if (y < 0) {
            rc = cli_fail(xf_fail(XF_EINVAL, "%s: label %d is %d, expected >= 0",
                                  i < n_train ? o->labels : o->test_labels,
                                  i < n_train ? i : i - n_train, (int)y),
                          context);
            goto done;
        }
        n_classes = y + 1 > n_classes ? y + 1 : n_classes;
    }
    char names[XF_PROBE_MAX_LAYERS][64];
    const char *name_ptrs[XF_PROBE_MAX_LAYERS];
    xf_probe_results res = {0};
    double load_s = 0, probe_s = 0;
    for (int t = 0; t < n_taps && rc == 0; t++) {
        layer_name(train_files[t], names[t], sizeof names[t]);
        name_ptrs[t] = names[t];
        if (!xf_probe_layer_selected(&o->cfg, t, n_taps)) continue;
        float *xtrain = NULL, *xtest = NULL;
        int rows[2], cols[2];
        double t0 = xf_now();
        if ((st = xf_npy_read_matrix(train_files[t], &xtrain, &rows[0], &cols[0])) != XF_OK ||
            (st = xf_npy_read_matrix(test_files[t], &xtest, &rows[1], &cols[1])) != XF_OK) {
            rc = cli_fail(st, context);
        } else if (rows[0] != n_train || rows[1] != n_test || cols[0] != cols[1]) {
            rc = cli_fail(xf_fail(XF_EINVAL,
                                  "%s is %d x %d and %s is %d x %d, but there are %d training "
                                  "and %d test labels (the feature counts must match too)",
                                  train_files[t], rows[0], cols[0], test_files[t], rows[1],
                                  cols[1], n_train, n_test),
                          context);
        } else {
            double t1 = xf_now();
            xf_probe_data data = {xtrain, ytrain, n_train, xtest, ytest, n_test, cols[0],
                                  n_classes};
            st = xf_probe_tap(&data, &o->cfg, t, &res);
            if (st != XF_OK)
                rc = cli_fail(xf_fail_context(st, "layer %s: ", names[t]), context);
            load_s += t1 - t0;
            probe_s += xf_now() - t1;
        }
        free(xtrain);
        free(xtest);
    }
    if (rc == 0) {
        xf_log_info("probes: %d results on %d layer(s) in %.3f s (+ %.3f s loading features)",
                    res.count, n_taps, probe_s, load_s);
        if (o->json) {
            if (!add_json(json_results, "features", name_ptrs, o, &res))
                rc = cli_fail(xf_fail(XF_ENOMEM, "building the JSON document"), context);
        } else {
            print_table("features", name_ptrs, o, &res);
        }
    }
    xf_probe_results_free(&res);
done:
    free(ytrain);
    free(ytest);
    return rc;
}

static int print_json(cJSON *doc) {
    char *text = cJSON_Print(doc);
    if (!text) return cli_fail(xf_fail(XF_ENOMEM, "printing the JSON document"), "probe");
    printf("%s\n", text);
    cJSON_free(text);
    return 0;
}

int cmd_probe(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    xf_model m = {0};
    if (!o.features) {
        xf_status st = xf_checkpoint_load(o.checkpoint, &m);
        if (st != XF_OK) return cli_fail(st, "probe");
    }

    cJSON *doc = cJSON_CreateObject();
    cJSON *results = doc ? cJSON_AddArrayToObject(doc, "results") : NULL;
    if (!results || !(o.features ? cJSON_AddStringToObject(doc, "features", o.features)
                    : cJSON_AddStringToObject(doc, "checkpoint", o.checkpoint)) ||
        !(o.cfg.loo ? cJSON_AddStringToObject(doc, "lambda", "loo")
                    : cJSON_AddNumberToObject(doc, "lambda", o.cfg.lambda)) ||
        !cJSON_AddNumberToObject(doc, "draws", o.cfg.draws) ||
        !cJSON_AddNumberToObject(doc, "test_limit", o.cfg.test_limit)) {
        rc = cli_fail(xf_fail(XF_ENOMEM, "building the JSON document"), "probe");
        goto done;
    }

    char tasks[1024];
    snprintf(tasks, sizeof tasks, "%s", o.tasks ? o.tasks : "");
    char *save = NULL;
    rc = o.features ? probe_features(&o, results) : 0;
    for (char *task = o.features ? NULL : strtok_r(tasks, ",", &save); task && rc == 0;
         task = strtok_r(NULL, ",", &save))
        rc = probe_task(task, &m, &o, results);
    if (rc == 0 && o.json) rc = print_json(doc);
done:
    cJSON_Delete(doc);
    if (!o.features) xf_model_free(&m);
    return rc;
}
