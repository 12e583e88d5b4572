/* xfer pretrain: train one model of any family on an upstream task, report
 * its test accuracy and cost, and write it as a safetensors checkpoint.
 *
 * Family names are parsed here, not through the model registry, so every
 * flag is understood even before a family's code is registered; building
 * an unregistered family then fails in xf_model_init with its name. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/timer.h"
#include "data/registry.h"
#include "models/model.h"
#include "train/checkpoint.h"
#include "train/train.h"

static const char usage[] =
    "xfer pretrain --us TASK --out CKPT.safetensors [--family mlp|vit|mixer|resnet] "
    "[family knobs] [--epochs 1] [--batch 128] [--optimizer adamw|sgd] [--lr 1e-3] [--wd 1e-4] "
    "[--momentum 0.9] [--head-lr X] [--head-wd X] [--warmup 0.05] [--decay cosine|linear] "
    "[--clip-norm X] [--label-smoothing X] [--crop-padding N] [--flip] "
    "[--data-fraction 1] [--seed 0] [--data-seed N] [--augment-seed N]";

static void print_help(void) {
    printf("usage: %s\n\n"
           "Pre-trains a model on the training set of an upstream task, evaluates it on the\n"
           "task's test set and writes the checkpoint.\n\n"
           "  --us TASK            upstream task (see `xfer data list`) or idx:DIR\n"
           "  --out PATH           checkpoint to write (.safetensors)\n"
           "  --family F           mlp (default), vit, mixer or resnet\n"
           "mlp:     flatten, DEPTH x [Linear(WIDTH) + GELU], Linear head\n"
           "  --width N            hidden units per block (default 256)\n"
           "  --depth N            hidden blocks (default 2)\n"
           "vit:     patch embedding, DEPTH pre-norm transformer blocks, head\n"
           "  --patch N --dim N --depth N --heads N   (defaults 4, 64, 4, 4)\n"
           "  --mlp-ratio X        MLP hidden = dim x X (default 4)\n"
           "  --pool gap|cls       pooling before the head (default gap)\n"
           "mixer:   patch embedding, DEPTH token- and channel-mixing blocks, head\n"
           "  --patch N --dim N --depth N             (defaults 4, 64, 4)\n"
           "  --token-mlp-dim N --channel-mlp-dim N   (defaults 64, 256)\n"
           "resnet:  stem conv, pre-activation stages, head\n"
           "  --blocks A,B,C       blocks per stage, 1 to 4 stages (default 2,2,2)\n"
           "  --base-width N       channels of the first stage, doubled per stage (16)\n"
           "  --norm gn|bn         GroupNorm + weight standardisation, or BatchNorm (gn)\n"
           "training:\n"
           "  --epochs N           passes over the training set (default 1)\n"
           "  --batch N            images per step (default 128); a last partial batch\n"
           "                       of an epoch is dropped\n"
           "  --optimizer O        adamw (default) or sgd (with momentum)\n"
           "  --lr X, --wd X       body learning rate and weight decay (1e-3, 1e-4)\n"
           "  --momentum X         SGD momentum (default 0.9)\n"
           "  --head-lr X          head learning rate (default: --lr)\n"
           "  --head-wd X          head weight decay (default: --wd)\n"
           "  --warmup F           fraction of steps with linear warmup (default 0.05)\n"
           "  --decay D            cosine (default) or linear decay to 0 after warmup\n"
           "  --clip-norm X        clip the global gradient norm to X (default off)\n"
           "  --label-smoothing X  cross-entropy label smoothing (default 0)\n"
           "  --crop-padding N     random crops of the image padded by N zeros (default 0)\n"
           "  --flip               random horizontal flips\n"
           "  --data-fraction F    train on this fraction of each class (default 1)\n"
           "  --seed N             weight init (default 0)\n"
           "  --data-seed N        data order and subset (default: --seed)\n"
           "  --augment-seed N     crops and flips (default: --seed)\n",
           usage);
}

/* Which family a knob belongs to, as a bit set over xf_family. */
#define FAM(f) (1u << (f))
enum { ANY_FAMILY = 0xffu };

typedef struct {
    const char *task, *out;
    xf_model_config model;
    double data_fraction;
    xf_train_config train;
} options;

enum {
    OPT_US = 256, OPT_OUT, OPT_FAMILY, OPT_WIDTH, OPT_DEPTH, OPT_PATCH, OPT_DIM, OPT_HEADS,
    OPT_MLP_RATIO, OPT_POOL, OPT_TOKEN_DIM, OPT_CHANNEL_DIM, OPT_BLOCKS, OPT_BASE_WIDTH,
    OPT_NORM, OPT_EPOCHS, OPT_BATCH, OPT_OPTIMIZER, OPT_LR, OPT_WD, OPT_MOMENTUM, OPT_HEAD_LR,
    OPT_HEAD_WD, OPT_WARMUP, OPT_DECAY, OPT_CLIP, OPT_SMOOTHING, OPT_CROP, OPT_FLIP,
    OPT_FRACTION, OPT_SEED, OPT_DATA_SEED, OPT_AUGMENT_SEED, OPT_HELP
};

static xf_status parse_int(const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return xf_fail(XF_EINVAL, "--%s '%s': expected an integer in %d..%d", opt, s, lo, hi);
    *out = (int)v;
    return XF_OK;
}

static xf_status parse_double(const char *opt, const char *s, double lo, double hi,
                              double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return xf_fail(XF_EINVAL, "--%s '%s': expected a number in [%g, %g]", opt, s, lo, hi);
    *out = v;
    return XF_OK;
}

/* Index of s in the NULL-terminated `names`, or an error listing them. */
static xf_status parse_choice(const char *opt, const char *s, const char *const *names,
                              int *out) {
    char known[96] = "";
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return XF_OK;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 names[i]);
    }
    return xf_fail(XF_EINVAL, "--%s '%s': expected one of %s", opt, s, known);
}

/* "2,2,2": 1 to 4 stages of 1..64 blocks each. */
static xf_status parse_blocks(const char *s, xf_model_config *c) {
    int n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < 1 || v > 64 || n == 4 || (*end && *end != ','))
            return xf_fail(XF_EINVAL, "--blocks '%s': expected 1 to 4 comma-separated block "
                           "counts in 1..64, e.g. 2,2,2", s);
        c->resnet.blocks[n++] = (int)v;
        if (!*end) break;
        p = end + 1;
    }
    c->resnet.stages = n;
    return XF_OK;
}

static const char *const family_names[] = {
    [XF_FAMILY_MLP] = "mlp", [XF_FAMILY_VIT] = "vit", [XF_FAMILY_MIXER] = "mixer",
    [XF_FAMILY_RESNET] = "resnet", NULL};
static const char *const optimizer_names[] = {
    [XF_OPTIMIZER_ADAMW] = "adamw", [XF_OPTIMIZER_SGD] = "sgd", NULL};
static const char *const decay_names[] = {
    [XF_DECAY_COSINE] = "cosine", [XF_DECAY_LINEAR] = "linear", NULL};
static const char *const pool_names[] = {[XF_POOL_GAP] = "gap", [XF_POOL_CLS] = "cls", NULL};
static const char *const norm_names[] = {[XF_NORM_GROUP_WS] = "gn", [XF_NORM_BATCH] = "bn",
                                         NULL};

/* The reference models of bench/train.sh, and the mlp of the skeleton. */
static void model_defaults(xf_model_config *c) {
    memset(c, 0, sizeof *c);
    c->family = XF_FAMILY_MLP;
    c->mlp.width = 256;
    c->vit.patch = 4, c->vit.dim = 64, c->vit.heads = 4, c->vit.mlp_ratio = 4;
    c->vit.pool = XF_POOL_GAP;
    c->mixer.patch = 4, c->mixer.dim = 64;
    c->mixer.token_mlp_dim = 64, c->mixer.channel_mlp_dim = 256;
    c->resnet.stages = 3, c->resnet.base_width = 16, c->resnet.norm = XF_NORM_GROUP_WS;
    for (int s = 0; s < 3; s++) c->resnet.blocks[s] = 2;
}

/* Returns -1 when the options are fine, else the exit status to return. */
static int parse_options(int argc, char **argv, options *o) {
    static const struct option longopts[] = {
        {"us", required_argument, NULL, OPT_US},
        {"out", required_argument, NULL, OPT_OUT},
        {"family", required_argument, NULL, OPT_FAMILY},
        {"width", required_argument, NULL, OPT_WIDTH},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"patch", required_argument, NULL, OPT_PATCH},
        {"dim", required_argument, NULL, OPT_DIM},
        {"heads", required_argument, NULL, OPT_HEADS},
        {"mlp-ratio", required_argument, NULL, OPT_MLP_RATIO},
        {"pool", required_argument, NULL, OPT_POOL},
        {"token-mlp-dim", required_argument, NULL, OPT_TOKEN_DIM},
        {"channel-mlp-dim", required_argument, NULL, OPT_CHANNEL_DIM},
        {"blocks", required_argument, NULL, OPT_BLOCKS},
        {"base-width", required_argument, NULL, OPT_BASE_WIDTH},
        {"norm", required_argument, NULL, OPT_NORM},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
        {"lr", required_argument, NULL, OPT_LR},
        {"wd", required_argument, NULL, OPT_WD},
        {"momentum", required_argument, NULL, OPT_MOMENTUM},
        {"head-lr", required_argument, NULL, OPT_HEAD_LR},
        {"head-wd", required_argument, NULL, OPT_HEAD_WD},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"decay", required_argument, NULL, OPT_DECAY},
        {"clip-norm", required_argument, NULL, OPT_CLIP},
        {"label-smoothing", required_argument, NULL, OPT_SMOOTHING},
        {"crop-padding", required_argument, NULL, OPT_CROP},
        {"flip", no_argument, NULL, OPT_FLIP},
        {"data-fraction", required_argument, NULL, OPT_FRACTION},
        {"seed", required_argument, NULL, OPT_SEED},
        {"data-seed", required_argument, NULL, OPT_DATA_SEED},
        {"augment-seed", required_argument, NULL, OPT_AUGMENT_SEED},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    model_defaults(&o->model);
    o->data_fraction = 1;
    xf_train_config_default(&o->train);
    bool head_lr = false, head_wd = false, data_seed = false, augment_seed = false;
    int depth = 0, seed = 0, dseed = 0, aseed = 0, c, index, choice = 0;
    int patch = 0, dim = 0;
    /* Family knobs given, checked against --family once it is known. */
    const char *knob[64];
    unsigned knob_families[64];
    int n_knobs = 0;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, &index)) != -1) {
        const char *name = c == '?' || c == 'h' ? "" : longopts[index].name;
        unsigned families = ANY_FAMILY;
        xf_model_config *m = &o->model;
        xf_status st = XF_OK;
        switch (c) {
        case 'h':
        case OPT_HELP: print_help(); return 0;
        case OPT_US: o->task = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_FAMILY:
            st = parse_choice(name, optarg, family_names, &choice);
            m->family = (xf_family)choice;
            break;
        case OPT_WIDTH:
            families = FAM(XF_FAMILY_MLP);
            st = parse_int(name, optarg, 1, 1 << 16, &m->mlp.width);
            break;
        case OPT_DEPTH:
            families = FAM(XF_FAMILY_MLP) | FAM(XF_FAMILY_VIT) | FAM(XF_FAMILY_MIXER);
            st = parse_int(name, optarg, 1, 256, &depth);
            break;
        case OPT_PATCH:
            families = FAM(XF_FAMILY_VIT) | FAM(XF_FAMILY_MIXER);
            st = parse_int(name, optarg, 1, 4096, &patch);
            break;
        case OPT_DIM:
            families = FAM(XF_FAMILY_VIT) | FAM(XF_FAMILY_MIXER);
            st = parse_int(name, optarg, 1, 1 << 16, &dim);
            break;
        case OPT_HEADS:
            families = FAM(XF_FAMILY_VIT);
            st = parse_int(name, optarg, 1, 1024, &m->vit.heads);
            break;
        case OPT_MLP_RATIO:
            families = FAM(XF_FAMILY_VIT);
            st = parse_double(name, optarg, 1e-3, 1024, &m->vit.mlp_ratio);
            break;
        case OPT_POOL:
            families = FAM(XF_FAMILY_VIT);
            st = parse_choice(name, optarg, pool_names, &choice);
            m->vit.pool = (xf_vit_pool)choice;
            break;
        case OPT_TOKEN_DIM:
            families = FAM(XF_FAMILY_MIXER);
            st = parse_int(name, optarg, 1, 1 << 16, &m->mixer.token_mlp_dim);
            break;
        case OPT_CHANNEL_DIM:
            families = FAM(XF_FAMILY_MIXER);
            st = parse_int(name, optarg, 1, 1 << 16, &m->mixer.channel_mlp_dim);
            break;
        case OPT_BLOCKS:
            families = FAM(XF_FAMILY_RESNET);
            st = parse_blocks(optarg, m);
            break;
        case OPT_BASE_WIDTH:
            families = FAM(XF_FAMILY_RESNET);
            st = parse_int(name, optarg, 1, 4096, &m->resnet.base_width);
            break;
        case OPT_NORM:
            families = FAM(XF_FAMILY_RESNET);
            st = parse_choice(name, optarg, norm_names, &choice);
            m->resnet.norm = (xf_resnet_norm)choice;
            break;
        case OPT_EPOCHS: st = parse_int(name, optarg, 1, 100000, &o->train.epochs); break;
        case OPT_BATCH: st = parse_int(name, optarg, 1, 1 << 20, &o->train.batch_size); break;
        case OPT_OPTIMIZER:
            st = parse_choice(name, optarg, optimizer_names, &choice);
            o->train.optimizer = (xf_optimizer_kind)choice;
            break;
        case OPT_LR: st = parse_double(name, optarg, 0, 1e6, &o->train.lr); break;
        case OPT_WD: st = parse_double(name, optarg, 0, 1e6, &o->train.weight_decay); break;
        case OPT_MOMENTUM:
            st = parse_double(name, optarg, 0, 0.999999, &o->train.momentum);
            break;
        case OPT_HEAD_LR:
            st = parse_double(name, optarg, 0, 1e6, &o->train.head_lr);
            head_lr = true;
            break;
        case OPT_HEAD_WD:
            st = parse_double(name, optarg, 0, 1e6, &o->train.head_weight_decay);
            head_wd = true;
            break;
        case OPT_WARMUP: st = parse_double(name, optarg, 0, 1, &o->train.warmup_fraction); break;
        case OPT_DECAY:
            st = parse_choice(name, optarg, decay_names, &choice);
            o->train.decay = (xf_decay_kind)choice;
            break;
        case OPT_CLIP: st = parse_double(name, optarg, 0, 1e12, &o->train.clip_norm); break;
        case OPT_SMOOTHING:
            st = parse_double(name, optarg, 0, 1, &o->train.label_smoothing);
            break;
        case OPT_CROP: st = parse_int(name, optarg, 0, 4096, &o->train.crop_padding); break;
        case OPT_FLIP: o->train.flip = true; break;
        case OPT_FRACTION: st = parse_double(name, optarg, 1e-9, 1, &o->data_fraction); break;
        case OPT_SEED: st = parse_int(name, optarg, 0, 2147483647, &seed); break;
        case OPT_DATA_SEED:
            st = parse_int(name, optarg, 0, 2147483647, &dseed);
            data_seed = true;
            break;
        case OPT_AUGMENT_SEED:
            st = parse_int(name, optarg, 0, 2147483647, &aseed);
            augment_seed = true;
            break;
        default: return cli_usage(usage);
        }
        if (st != XF_OK) return cli_fail(st, "pretrain");
        if (families != ANY_FAMILY && n_knobs < 64) {
            knob[n_knobs] = name;
            knob_families[n_knobs++] = families;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xfer pretrain: unexpected argument '%s'\n", argv[optind]);
        return cli_usage(usage);
    }
    if (!o->task || !o->out) return cli_usage(usage);
    xf_model_config *m = &o->model;
    for (int i = 0; i < n_knobs; i++)
        if (!(knob_families[i] & FAM(m->family))) {
            fprintf(stderr, "xfer pretrain: --%s does not apply to --family %s\n", knob[i],
                    family_names[m->family]);
            return cli_usage(usage);
        }
    int default_depth = m->family == XF_FAMILY_MLP ? 2 : 4;
    m->mlp.depth = m->vit.depth = m->mixer.depth = depth ? depth : default_depth;
    if (patch) m->vit.patch = m->mixer.patch = patch;
    if (dim) m->vit.dim = m->mixer.dim = dim;
    if (!head_lr) o->train.head_lr = o->train.lr;
    if (!head_wd) o->train.head_weight_decay = o->train.weight_decay;
    o->train.seed = (uint64_t)seed;
    o->train.data_seed = (uint64_t)(data_seed ? dseed : seed);
    o->train.augment_seed = (uint64_t)(augment_seed ? aseed : seed);
    return -1;
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
    snprintf(v[10], sizeof v[10], "%s", optimizer_names[t->optimizer]);
    snprintf(v[11], sizeof v[11], "%g", t->momentum);
    snprintf(v[12], sizeof v[12], "%g", t->warmup_fraction);
    snprintf(v[13], sizeof v[13], "%s", decay_names[t->decay]);
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
