/* xfer probe: few-shot ridge probes of one checkpoint at every tap, on one
 * or more downstream tasks; a table, or a JSON document with every draw. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/npy.h"
#include "core/timer.h"
#include "data/registry.h"
#include "probe/probe.h"
#include "probe/probe_settings.h"
#include "zoo/import.h"

static const cli_command command = {
    .name = "probe",
    .usage = "xfer probe CKPT --ds TASK[,TASK...] [--shots 1,5,10,25|all] [--draws 3] "
             "[--lambda 1024[,L...]|loo] [--layers all|last|LIST] [--test-limit N] [--json]\n"
             "       [--arch TIMM_NAME] [--sidecar FILE] [--set KEY=VALUE]... [--image-size N]\n"
             "       xfer probe --features TRAIN.npy[,...] --labels TRAIN_LABELS.npy "
             "--test-features TEST.npy[,...] --test-labels TEST_LABELS.npy [options as above]",
    .about = "Few-shot linear probes of a pre-trained checkpoint (docs/protocol.md), xfer's own\n"
             "or a timm ViT / MLP-Mixer / ResNetV2 state_dict in safetensors (docs/zoo.md):\n"
             "for every downstream task, every layer (tap) of the model, every shot count and\n"
             "draw, a closed-form ridge head on k images per class of the task's training set,\n"
             "scored on its test set. The limits are those of a study file's downstream keys.",
    .epilog = "The table shows the mean accuracy over draws +- their standard deviation\n"
              "(n-1 denominator; 0 for one draw). docs/probe.md describes the protocol.",
    .operand = "CKPT",
    .min_operands = 0,
    .max_operands = 1,
};

enum { MAX_TASKS = 64, MAX_SETS = 32 };

typedef struct {
    const char *checkpoint;
    const char *tasks[MAX_TASKS];
    int n_tasks;
    const char *features[XF_PROBE_MAX_LAYERS], *test_features[XF_PROBE_MAX_LAYERS];
    int n_features, n_test_features;
    const char *labels, *test_labels;
    xf_probe_config cfg;
    xf_import_options import;
    const char *sets[MAX_SETS];
    bool json;
    bool header_printed;
} options;

static const xf_setting *probe_setting(const char *key) {
    return xf_setting_find(xf_probe_settings, xf_probe_n_settings, key);
}

/* Calls one(item) for each comma-separated item of text. */
static xf_status each_item(const char *text, xf_status (*one)(const char *item, void *ctx),
                           void *ctx) {
    char item[64];
    for (const char *p = text;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= sizeof item) return xf_fail(XF_EINVAL, "'%.60s...': not a value", p);
        memcpy(item, p, len);
        item[len] = 0;
        xf_status st = one(item, ctx);
        if (st) return st;
        if (!comma) return XF_OK;
        p = comma + 1;
    }
}

static xf_status one_shot(const char *item, void *ctx) {
    xf_probe_config *cfg = ctx;
    if (cfg->n_shots == XF_PROBE_MAX_SHOTS)
        return xf_fail(XF_EINVAL, "more than %d shot counts", XF_PROBE_MAX_SHOTS);
    if (strcmp(item, "all") == 0) {
        cfg->shots[cfg->n_shots++] = XF_PROBE_SHOTS_ALL;
        return XF_OK;
    }
    xf_setting each = *probe_setting("shots");
    each.kind = XF_SETTING_INT;
    double v;
    xf_status st = xf_setting_parse(&each, item, &v, NULL);
    if (st) return xf_fail_context(st, "'all' or ");
    cfg->shots[cfg->n_shots++] = (int)v;
    return XF_OK;
}

/* 1,5,10,25 or all, or a mix. */
static xf_status parse_shots(const char *text, void *dest) {
    xf_probe_config *cfg = dest;
    cfg->n_shots = 0;
    return each_item(text, one_shot, cfg);
}

static xf_status one_lambda(const char *item, void *ctx) {
    xf_probe_config *cfg = ctx;
    if (cfg->n_lambdas == XF_PROBE_MAX_LAMBDAS)
        return xf_fail(XF_EINVAL, "more than %d ridge strengths", XF_PROBE_MAX_LAMBDAS);
    double v;
    xf_status st = xf_setting_parse(probe_setting("lambda"), item, &v, NULL);
    if (st) return st;
    cfg->lambdas[cfg->n_lambdas++] = v;
    return XF_OK;
}

/* loo, one strength, or several solved from one eigendecomposition. */
static xf_status parse_lambdas(const char *text, void *dest) {
    xf_probe_config *cfg = dest;
    cfg->loo = strcmp(text, "loo") == 0;
    cfg->n_lambdas = 0;
    if (cfg->loo) return XF_OK;
    xf_status st = each_item(text, one_lambda, cfg);
    if (st) return xf_fail_context(st, "'loo' or ");
    if (cfg->n_lambdas == 1) cfg->lambda = cfg->lambdas[0], cfg->n_lambdas = 0;
    return XF_OK;
}

/* all, last, or tap indices (negative: from the end). */
static xf_status parse_layers(const char *text, void *dest) {
    xf_probe_config *cfg = dest;
    cfg->n_layers = 0;
    if (strcmp(text, "all") == 0) return XF_OK;
    if (strcmp(text, "last") == 0) {
        cfg->layers[cfg->n_layers++] = -1;
        return XF_OK;
    }
    xf_status st = xf_setting_parse_ints(probe_setting("layers"), text, cfg->layers,
                                         &cfg->n_layers);
    return st ? xf_fail_context(st, "all, last or ") : XF_OK;
}

/* --set KEY=VALUE, once per setting. */
static xf_status parse_set(const char *text, void *dest) {
    options *o = dest;
    if (!strchr(text, '=')) return xf_fail(XF_EINVAL, "expected KEY=VALUE, got '%s'", text);
    if (o->import.n_settings == MAX_SETS)
        return xf_fail(XF_EINVAL, "more than %d settings", MAX_SETS);
    o->sets[o->import.n_settings++] = text;
    return XF_OK;
}

/* Returns -1 when the options are fine, else the exit status to return. */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    xf_probe_config_default(&o->cfg);
    static char text[2][CLI_SETTING_TEXT];
    /* The limits in the help text come from the settings table. */
    const xf_setting *shots = probe_setting("shots"), *lambda = probe_setting("lambda"),
                     *layers = probe_setting("layers");
    char shots_help[200], lambda_help[200], layers_help[160];
    snprintf(shots_help, sizeof shots_help,
             "images per class of the support sets, up to %d counts each in [%.0f, %.0f] "
             "(default %s); 'all': every training image, one deterministic draw",
             shots->max_items, shots->lo, shots->hi, shots->def);
    snprintf(lambda_help, sizeof lambda_help,
             "ridge strength in (0, %g] (default %s); a list L1,L2,... solves each from one "
             "eigendecomposition; 'loo' chooses per probe from 2^-4..2^16 by closed-form "
             "leave-one-out error",
             lambda->hi, lambda->def);
    snprintf(layers_help, sizeof layers_help,
             "all (default), last, or up to %d tap indices in [%.0f, %.0f] (negative: from "
             "the end)",
             layers->max_items, layers->lo, layers->hi);
    cli_option opts[] = {
        {.name = "--ds", .value = "LIST", .kind = CLI_STRINGS, .dest = o->tasks,
         .count = &o->n_tasks, .max = MAX_TASKS,
         .help = "comma-separated task specs (see `xfer data list`); images of another "
                 "shape are brought to the model's input (docs/data.md)"},
        {.name = "--features", .value = "F,...", .kind = CLI_STRINGS, .dest = o->features,
         .count = &o->n_features, .max = XF_PROBE_MAX_LAYERS,
         .help = "instead of CKPT: float32 N x D features (.npy) computed elsewhere, one file "
                 "per layer, with --labels (integer .npy), --test-features, --test-labels"},
        {.name = "--labels", .value = "F", .kind = CLI_STRING, .dest = &o->labels,
         .help = "training labels of --features"},
        {.name = "--test-features", .value = "F,...", .kind = CLI_STRINGS,
         .dest = o->test_features, .count = &o->n_test_features, .max = XF_PROBE_MAX_LAYERS,
         .help = "test features, one file per layer as --features"},
        {.name = "--test-labels", .value = "F", .kind = CLI_STRING, .dest = &o->test_labels,
         .help = "test labels of --test-features"},
        {.name = "--shots", .value = "LIST", .kind = CLI_CUSTOM, .parse = parse_shots,
         .dest = &o->cfg,
         .help = shots_help},
        cli_setting_option(probe_setting("draws"), &o->cfg, text[0]),
        {.name = "--lambda", .value = "X", .kind = CLI_CUSTOM, .parse = parse_lambdas,
         .dest = &o->cfg,
         .help = lambda_help},
        {.name = "--layers", .value = "L", .kind = CLI_CUSTOM, .parse = parse_layers,
         .dest = &o->cfg,
         .help = layers_help},
        cli_setting_option(probe_setting("test_limit"), &o->cfg, text[1]),
        {.name = "--json", .kind = CLI_FLAG, .dest = &o->json,
         .help = "print one JSON document with every draw instead of the table"},
        {.name = "--arch", .value = "NAME", .kind = CLI_STRING, .dest = &o->import.arch,
         .section = "timm checkpoints (docs/zoo.md):",
         .help = "timm's architecture name (vit_base_patch16_224.augreg_in21k): the settings "
                 "and input pipeline the tensors do not tell"},
        {.name = "--sidecar", .value = "FILE", .kind = CLI_STRING, .dest = &o->import.sidecar,
         .help = "a JSON object of those settings (heads, pool, mean, std, crop_pct, "
                 "interpolation, input_size; arch)"},
        {.name = "--set", .value = "KEY=VALUE", .kind = CLI_CUSTOM, .parse = parse_set,
         .dest = o,
         .help = "one such setting, applied last (repeat for more): --set heads=12 --set "
                 "mean=0.485,0.456,0.406"},
        {.name = "--image-size", .value = "N", .kind = CLI_INT, .dest = &o->import.image_size,
         .lo = 1, .hi = 4096,
         .help = "probe at N x N instead of the checkpoint's size (a ViT's pos_embed is "
                 "resampled bicubically)"},
    };
    int n_operands;
    int rc = cli_parse(&command, opts, (int)(sizeof opts / sizeof opts[0]), argc, argv,
                       &o->checkpoint, &n_operands);
    if (rc >= 0) return rc;
    o->import.settings = o->sets;
    bool by_features = o->n_features || o->labels || o->n_test_features || o->test_labels;
    if (by_features) {
        if (o->checkpoint || o->n_tasks || !o->n_features || !o->labels ||
            !o->n_test_features || !o->test_labels) {
            fprintf(stderr, "xfer probe: --features needs --labels, --test-features and "
                            "--test-labels, and no CKPT or --ds\nusage: %s\n", command.usage);
            return 2;
        }
    } else if (!o->checkpoint || !o->n_tasks) {
        fprintf(stderr, "xfer probe: give CKPT and --ds (or --features)\nusage: %s\n",
                command.usage);
        return 2;
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
static int probe_task(const char *task, xf_model *m, const xf_model_input *input, options *o,
                      cJSON *json_results) {
    /* The messages of task loading and the probes name the task already. */
    const char *context = "probe";
    xf_dataset train, test;
    xf_status st = xf_task_load_at(task, &input->pipeline, &train, &test);
    if (st != XF_OK) return cli_fail(st, context);
    int rc = 0;
    xf_probe_results res;
    const char **names = xf_malloc(sizeof(char *) * (m->n_taps > 0 ? m->n_taps : 1));
    for (int t = 0; names && t < m->n_taps; t++) names[t] = m->tap_names[t];
    st = names ? xf_probe_model_input(m, input, &train, &test, &o->cfg, &res) : XF_ENOMEM;
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
    const char *const *train_files = o->features, *const *test_files = o->test_features;
    int n_taps = o->n_features, n_test_taps = o->n_test_features;
    if (n_taps != n_test_taps)
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

/* The --features list as given, for the JSON document. */
static char *join(const char *const *items, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(items[i]) + 1;
    char *out = xf_malloc(len);
    if (!out) return NULL;
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, ",");
        strcat(out, items[i]);
    }
    return out;
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
    xf_model_input input;
    if (!o.n_features) {
        xf_status st = xf_model_import(o.checkpoint, &o.import, &m, &input);
        if (st != XF_OK) return cli_fail(st, "probe");
    } else if (o.import.arch || o.import.sidecar || o.import.n_settings ||
               o.import.image_size) {
        return cli_fail(xf_fail(XF_EINVAL, "--arch, --sidecar, --set and --image-size apply "
                                "to a checkpoint, not to --features"), "probe");
    }

    cJSON *doc = cJSON_CreateObject();
    cJSON *results = doc ? cJSON_AddArrayToObject(doc, "results") : NULL;
    char *features = o.n_features ? join(o.features, o.n_features) : NULL;
    if (!results || (o.n_features && !features) ||
        !(o.n_features ? cJSON_AddStringToObject(doc, "features", features)
                       : cJSON_AddStringToObject(doc, "checkpoint", o.checkpoint)) ||
        !(o.cfg.loo ? cJSON_AddStringToObject(doc, "lambda", "loo")
                    : cJSON_AddNumberToObject(doc, "lambda", o.cfg.lambda)) ||
        !cJSON_AddNumberToObject(doc, "draws", o.cfg.draws) ||
        !cJSON_AddNumberToObject(doc, "test_limit", o.cfg.test_limit)) {
        rc = cli_fail(xf_fail(XF_ENOMEM, "building the JSON document"), "probe");
        goto done;
    }

    rc = o.n_features ? probe_features(&o, results) : 0;
    for (int i = 0; i < o.n_tasks && rc == 0; i++) rc = probe_task(o.tasks[i], &m, &input, &o, results);
    if (rc == 0 && o.json) rc = print_json(doc);
done:
    free(features);
    cJSON_Delete(doc);
    if (!o.n_features) xf_model_free(&m);
    return rc;
}
