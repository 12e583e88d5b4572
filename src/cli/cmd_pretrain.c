/* xfer pretrain: train one model of any family on an upstream task, report
 * its test accuracy and cost, and write it as a safetensors checkpoint.
 *
 * Every model and training option is a setting of its table (the family's,
 * train/train_settings.h): the same names, ranges, defaults and words as a
 * study file's keys, with '-' for '_'. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/timer.h"
#include "data/registry.h"
#include "models/family.h"
#include "models/model.h"
#include "train/checkpoint.h"
#include "train/train.h"
#include "train/train_settings.h"

static const cli_command command = {
    .name = "pretrain",
    .usage = "xfer pretrain --us TASK --out CKPT.safetensors [--family mlp|vit|mixer|resnet] "
             "[family options] [training options]",
    .about = "Pre-trains a model on the training set of an upstream task, evaluates it on the\n"
             "task's test set and writes the checkpoint. The options below are the settings\n"
             "of study files (docs/models.md, docs/studies.md) with '-' for '_'.",
};

typedef struct {
    const char *task, *out, *family;
    xf_model_config model;
    double data_fraction, data_count;
    xf_train_config train;
} options;

/* The value of --family, looked at first: which knobs exist depends on it. */
static const char *family_arg(int argc, char **argv) {
    const char *family = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--family") == 0 && i + 1 < argc) family = argv[++i];
        else if (strncmp(argv[i], "--family=", 9) == 0) family = argv[i] + 9;
    }
    return family;
}

static xf_status not_this_family(const char *text, void *family) {
    (void)text;
    return xf_fail(XF_EINVAL, "does not apply to --family %s", (const char *)family);
}

enum { MAX_OPTIONS = 80 };

/* Returns -1 when the options are fine, else the exit status to return. */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    xf_family family = XF_FAMILY_MLP;
    const char *name = family_arg(argc, argv);
    if (name && xf_family_parse(name, &family) != XF_OK) {
        fprintf(stderr, "xfer pretrain: --family: %s\n", xf_error_message());
        return 1;
    }
    o->family = xf_family_name(family);
    xf_model_config_default(&o->model, family);
    xf_train_config_default(&o->train);
    o->data_fraction = 1;

    static char text[MAX_OPTIONS][CLI_SETTING_TEXT];
    static char sections[XF_N_FAMILIES][128];
    cli_option opts[MAX_OPTIONS] = {
        {.name = "--us", .value = "TASK", .help = "upstream task (see `xfer data list`) or idx:DIR",
         .kind = CLI_STRING, .dest = &o->task},
        {.name = "--out", .value = "PATH", .help = "checkpoint to write (.safetensors)",
         .kind = CLI_STRING, .dest = &o->out},
        {.name = "--family", .value = "F", .help = "mlp (default), vit, mixer or resnet",
         .kind = CLI_STRING, .dest = &name},
    };
    int n = 3;
    /* Every family's knobs are listed; only the chosen family's are read,
     * and another's is refused by name. */
    const xf_family_info *chosen = xf_family_of(family);
    for (int f = 0; f < XF_N_FAMILIES; f++) {
        const xf_family_info *fi = xf_family_of((xf_family)f);
        snprintf(sections[f], sizeof sections[f], "%s: %s", fi->name, fi->summary);
        for (int k = 0; k < fi->n_settings; k++) {
            XF_ASSERT(n + 2 <= MAX_OPTIONS);
            const xf_setting *s = &fi->settings[k];
            opts[n] = cli_setting_option(s, &o->model, text[n]);
            opts[n].section = k == 0 ? sections[f] : NULL;
            opts[n].help_only = fi != chosen;
            n++;
            if (fi != chosen && !xf_setting_find(chosen->settings, chosen->n_settings, s->key)) {
                bool listed = false;
                for (int i = 0; i < n && !listed; i++)
                    listed = !opts[i].help_only && strcmp(opts[i].name, opts[n - 1].name) == 0;
                if (!listed) {
                    const char *flag = opts[n - 1].name;
                    opts[n++] = (cli_option){.name = flag, .kind = CLI_CUSTOM,
                                             .parse = not_this_family,
                                             .dest = (void *)o->family};
                }
            }
        }
    }
    int first_train = n;
    for (int k = 0; k < xf_train_n_settings; k++) {
        XF_ASSERT(n < MAX_OPTIONS);
        const xf_setting *s = &xf_train_settings[k];
        void *base = strcmp(s->key, "data_fraction") == 0 ? (void *)&o->data_fraction
                     : strcmp(s->key, "data_count") == 0  ? (void *)&o->data_count
                                                          : (void *)&o->train;
        opts[n] = cli_setting_option(s, base, text[n]);
        opts[n].section = k == 0 ? "training:" : NULL;
        n++;
    }
    int rc = cli_parse(&command, opts, n, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    if (!o->task || !o->out) {
        fprintf(stderr, "xfer pretrain: --us and --out are required\nusage: %s\n", command.usage);
        return 2;
    }
    /* Settings that follow another follow what the user gave it. */
    for (int i = first_train; i < n; i++) {
        const xf_setting *s = opts[i].setting;
        if (!s->follows || opts[i].seen) continue;
        const xf_setting *leader = xf_setting_find(xf_train_settings, xf_train_n_settings,
                                                   s->follows);
        xf_setting_set(s, &o->train, xf_setting_get(leader, &o->train));
    }
    bool fraction = false, count = false;
    for (int i = first_train; i < n; i++) {
        fraction |= opts[i].seen && strcmp(opts[i].setting->key, "data_fraction") == 0;
        count |= opts[i].seen && strcmp(opts[i].setting->key, "data_count") == 0;
    }
    if (fraction && count) {
        fprintf(stderr, "xfer pretrain: give --data-fraction or --data-count, not both\n");
        return 2;
    }
    return -1;
}

static const char *train_word(const char *key, int v) {
    return xf_setting_word(xf_setting_find(xf_train_settings, xf_train_n_settings, key), v);
}

static xf_status save(const xf_model *m, const options *o, double acc) {
    const xf_train_config *t = &o->train;
    enum { N = 20 };
    static const char *const keys[N] = {
        "us_task",   "us_test_acc",  "lr",        "wd",           "head_lr",
        "head_wd",   "epochs",       "batch",     "seed",         "data_fraction",
        "optimizer", "momentum",     "warmup",    "decay",        "clip_norm",
        "label_smoothing", "crop_padding", "flip", "data_seed",   "augment_seed"};
    char v[N][32];
    snprintf(v[1], sizeof v[1], "%.6f", acc);
    snprintf(v[2], sizeof v[2], "%g", t->lr);
    snprintf(v[3], sizeof v[3], "%g", t->weight_decay);
    snprintf(v[4], sizeof v[4], "%g", t->head_lr);
    snprintf(v[5], sizeof v[5], "%g", t->head_weight_decay);
    snprintf(v[6], sizeof v[6], "%d", t->epochs);
    snprintf(v[7], sizeof v[7], "%d", t->batch_size);
    snprintf(v[8], sizeof v[8], "%llu", (unsigned long long)t->seed);
    snprintf(v[9], sizeof v[9], "%g", o->data_fraction);
    snprintf(v[10], sizeof v[10], "%s", train_word("optimizer", t->optimizer));
    snprintf(v[11], sizeof v[11], "%g", t->momentum);
    snprintf(v[12], sizeof v[12], "%g", t->warmup_fraction);
    snprintf(v[13], sizeof v[13], "%s", train_word("decay", t->decay));
    snprintf(v[14], sizeof v[14], "%g", t->clip_norm);
    snprintf(v[15], sizeof v[15], "%g", t->label_smoothing);
    snprintf(v[16], sizeof v[16], "%d", t->crop_padding);
    snprintf(v[17], sizeof v[17], "%s", t->flip ? "true" : "false");
    snprintf(v[18], sizeof v[18], "%llu", (unsigned long long)t->data_seed);
    snprintf(v[19], sizeof v[19], "%llu", (unsigned long long)t->augment_seed);
    const char *values[N];
    values[0] = o->task; /* a task path may be longer than v[0] */
    for (int i = 1; i < N; i++) values[i] = v[i];
    return xf_checkpoint_save(m, o->out, keys, values, N);
}

int cmd_pretrain(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    xf_dataset full, test, sub = {0};
    xf_status st = xf_task_load(o.task, &full, &test);
    if (st != XF_OK) return cli_fail(st, "pretrain");
    const xf_dataset *train = &full;
    xf_model m = {0};
    char *config_json = NULL;
    /* data_count as a fraction of the set, as a study's trial takes it. */
    if (o.data_count > 0) o.data_fraction = o.data_count >= full.n ? 1 : o.data_count / full.n;
    if (o.data_fraction < 1) {
        if ((st = xf_dataset_subset(&full, o.data_fraction, o.train.data_seed, &sub)) != XF_OK)
            goto done;
        train = &sub;
    }
    xf_model_config cfg = o.model;
    cfg.height = train->height;
    cfg.width = train->width;
    cfg.channels = train->channels;
    cfg.n_classes = train->n_classes;
    xf_train_result result;
    double acc;
    if ((st = xf_model_init(&m, &cfg))) goto done;
    if (!(config_json = xf_model_config_to_json(&cfg))) {
        st = XF_ENOMEM;
        goto done;
    }
    if ((st = xf_train(&m, train, &o.train, &result))) goto done;
    double eval_start = xf_now();
    if ((st = xf_evaluate(&m, &test, &acc))) goto done;
    double eval_seconds = xf_now() - eval_start;
    if ((st = save(&m, &o, acc))) goto done;
    printf("US task: %s, %d training images, %d test images\n", o.task, train->n, test.n);
    printf("model: %s, %zu params, %.4g MFLOPs/image\n", config_json, m.n_params,
           m.flops_per_image / 1e6);
    /* xf_train uses the whole set as one batch when it is smaller. */
    int batch = o.train.batch_size < train->n ? o.train.batch_size : train->n;
    double images = (double)result.steps * batch;
    printf("training: %ld steps in %.2f s, %.0f img/s, %.2f GFLOP/s, final loss %.4g\n",
           result.steps, result.seconds, result.seconds > 0 ? images / result.seconds : 0,
           result.seconds > 0 ? result.train_flops / result.seconds / 1e9 : 0,
           result.final_loss);
    printf("evaluation: %d images in %.2f s, %.0f img/s\n", test.n, eval_seconds,
           eval_seconds > 0 ? test.n / eval_seconds : 0);
    printf("US test accuracy: %.2f%%\n", 100 * acc);
    printf("checkpoint: %s\n", o.out);
done:
    if (st != XF_OK) rc = cli_fail(st, "pretrain");
    else rc = 0;
    free(config_json);
    xf_model_free(&m);
    xf_dataset_free(&sub);
    xf_dataset_free(&full);
    xf_dataset_free(&test);
    return rc;
}
