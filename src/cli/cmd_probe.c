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
#include "data/registry.h"
#include "probe/features.h"
#include "probe/probe.h"
#include "train/checkpoint.h"

static const char usage[] =
    "xfer probe CKPT --ds TASK[,TASK...] [--shots 1,5,10,25] [--draws 3] [--lambda 1024] "
    "[--test-limit N] [--json]";

static void print_help(void) {
    printf("usage: %s\n\n"
           "Few-shot linear probes of a pre-trained checkpoint (shared/STUDY.md's protocol):\n"
           "for every downstream task, every layer (tap) of the model, every shot count and\n"
           "draw, a closed-form ridge head on k images per class of the task's training set,\n"
           "scored on its test set.\n\n"
           "  CKPT           a checkpoint written by `xfer pretrain` (.safetensors)\n"
           "  --ds LIST      comma-separated task names (see `xfer data list`) or idx:DIR;\n"
           "                 their images must have the model's input shape\n"
           "  --shots LIST   images per class of the support sets (default 1,5,10,25)\n"
           "  --draws N      support sets drawn per shot count, seeds 0..N-1 (default 3)\n"
           "  --lambda X     ridge strength (default 1024)\n"
           "  --test-limit N score on a fixed seeded subsample of N test images (default: all)\n"
           "  --json         print one JSON document with every draw instead of the table\n\n"
           "The table shows the mean accuracy over draws +- their standard deviation\n"
           "(n-1 denominator; 0 for one draw).\n",
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
        if (cfg->n_shots == XF_PROBE_MAX_SHOTS || !parse_int(tok, 1, &cfg->shots[cfg->n_shots]))
            return false;
        cfg->n_shots++;
    }
    return cfg->n_shots > 0;
}

typedef struct {
    const char *checkpoint;
    const char *tasks;
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
        } else if (strcmp(a, "--shots") == 0 && v) {
            if (!parse_shots(v, &o->cfg))
                return cli_fail(xf_fail(XF_EINVAL,
                                        "--shots '%s': expected up to %d positive integers "
                                        "separated by commas",
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
            char *end;
            o->cfg.lambda = strtod(v, &end);
            if (end == v || *end || !(o->cfg.lambda > 0) || !isfinite(o->cfg.lambda))
                return cli_fail(xf_fail(XF_EINVAL, "--lambda '%s': expected a number > 0", v),
                                "probe");
            i++;
        } else if (a[0] != '-' && !o->checkpoint) {
            o->checkpoint = a;
        } else {
            fprintf(stderr, "xfer probe: unknown or incomplete option '%s'\n", a);
            return cli_usage(usage);
        }
    }
    if (!o->checkpoint || !o->tasks) return cli_usage(usage);
    return -1;
}

/* Mean and n-1 standard deviation of the draws of one (tap, shots). */
static void summarise(const xf_probe_result *r, int draws, double *mean, double *std) {
    double sum = 0, sq = 0;
    for (int d = 0; d < draws; d++) sum += r[d].accuracy;
    *mean = sum / draws;
    for (int d = 0; d < draws; d++) sq += (r[d].accuracy - *mean) * (r[d].accuracy - *mean);
    *std = draws > 1 ? sqrt(sq / (draws - 1)) : 0;
}

/* Adds one task's results to the JSON array (results come grouped by tap,
 * then shots, then draw, as xf_probe_model orders them). */
static bool add_json(cJSON *array, const char *task, const xf_model *m, const options *o,
                     const xf_probe_results *res) {
    for (int i = 0; i < res->count; i += o->cfg.draws) {
        const xf_probe_result *r = &res->items[i];
        double mean, std;
        summarise(r, o->cfg.draws, &mean, &std);
        cJSON *item = cJSON_CreateObject();
        if (!item) return false;
        cJSON_AddItemToArray(array, item);
        if (!cJSON_AddStringToObject(item, "task", task) ||
            !cJSON_AddStringToObject(item, "layer", m->tap_names[r->layer]) ||
            !cJSON_AddNumberToObject(item, "layer_index", r->layer) ||
            !cJSON_AddNumberToObject(item, "shots", r->shots) ||
            !cJSON_AddNumberToObject(item, "mean", mean) ||
            !cJSON_AddNumberToObject(item, "std", std))
            return false;
        cJSON *acc = cJSON_AddArrayToObject(item, "accuracies");
        for (int d = 0; acc && d < o->cfg.draws; d++) {
            cJSON *v = cJSON_CreateNumber(r[d].accuracy);
            if (!v) return false;
            cJSON_AddItemToArray(acc, v);
        }
        if (!acc) return false;
    }
    return true;
}

static void print_table(const char *task, const xf_model *m, options *o,
                        const xf_probe_results *res) {
    if (!o->header_printed)
        printf("%-16s %-12s %5s  %s\n", "task", "layer", "shots",
               "accuracy (mean +- std over draws)");
    o->header_printed = true;
    for (int i = 0; i < res->count; i += o->cfg.draws) {
        const xf_probe_result *r = &res->items[i];
        double mean, std;
        summarise(r, o->cfg.draws, &mean, &std);
        printf("%-16s %-12s %5d  %.4f +- %.4f\n", task, m->tap_names[r->layer], r->shots, mean,
               std);
    }
    fflush(stdout);
}

/* Loads one task, checks its image shape against the model and probes it. */
static int probe_task(const char *task, xf_model *m, options *o, cJSON *json_results) {
    /* The messages of task loading, the shape check and the probes name the
     * task already. */
    const char *context = "probe";
    xf_dataset train, test;
    xf_status st = xf_task_load(task, &train, &test);
    if (st != XF_OK) return cli_fail(st, context);
    int rc = 0;
    if ((st = xf_features_check_shape(m, &train)) != XF_OK ||
        (st = xf_features_check_shape(m, &test)) != XF_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", xf_error_message());
        rc = cli_fail(xf_fail(st, "%s, so this checkpoint cannot be probed on it", why), context);
    } else {
        xf_probe_results res;
        st = xf_probe_model(m, &train, &test, &o->cfg, &res);
        if (st != XF_OK) {
            rc = cli_fail(st, context);
        } else {
            if (o->json) {
                if (!add_json(json_results, task, m, o, &res))
                    rc = cli_fail(xf_fail(XF_ENOMEM, "building the JSON document"), context);
            } else {
                print_table(task, m, o, &res);
            }
            xf_probe_results_free(&res);
        }
    }
    xf_dataset_free(&train);
    xf_dataset_free(&test);
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
    xf_model m;
    xf_status st = xf_checkpoint_load(o.checkpoint, &m);
    if (st != XF_OK) return cli_fail(st, "probe");

    cJSON *doc = cJSON_CreateObject();
    cJSON *results = doc ? cJSON_AddArrayToObject(doc, "results") : NULL;
    if (!results || !cJSON_AddStringToObject(doc, "checkpoint", o.checkpoint) ||
        !cJSON_AddNumberToObject(doc, "lambda", o.cfg.lambda) ||
        !cJSON_AddNumberToObject(doc, "draws", o.cfg.draws) ||
        !cJSON_AddNumberToObject(doc, "test_limit", o.cfg.test_limit)) {
        rc = cli_fail(xf_fail(XF_ENOMEM, "building the JSON document"), "probe");
        goto done;
    }

    char tasks[1024];
    snprintf(tasks, sizeof tasks, "%s", o.tasks);
    char *save = NULL;
    rc = 0;
    for (char *task = strtok_r(tasks, ",", &save); task && rc == 0;
         task = strtok_r(NULL, ",", &save))
        rc = probe_task(task, &m, &o, results);
    if (rc == 0 && o.json) rc = print_json(doc);
done:
    cJSON_Delete(doc);
    xf_model_free(&m);
    return rc;
}
