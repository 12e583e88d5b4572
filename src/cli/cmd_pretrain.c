/* xfer pretrain: train one mlp on an upstream task, report its test
 * accuracy and cost, and write it as a safetensors checkpoint. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/registry.h"
#include "models/model.h"
#include "train/checkpoint.h"
#include "train/train.h"

static const char usage[] =
    "xfer pretrain --us TASK --out CKPT.safetensors [--width 256] [--depth 2] [--epochs 1] "
    "[--batch 128] [--lr 1e-3] [--wd 1e-4] [--head-lr X] [--head-wd X] [--warmup 0.05] "
    "[--data-fraction 1] [--seed 0]";

static void print_help(void) {
    printf("usage: %s\n\n"
           "Pre-trains an mlp (flatten, DEPTH x [Linear(WIDTH) + GELU], Linear head) on the\n"
           "training set of an upstream task with AdamW, linear warmup then cosine decay,\n"
           "evaluates it on the task's test set and writes the checkpoint.\n\n"
           "  --us TASK            upstream task (see `xfer data list`) or idx:DIR\n"
           "  --out PATH           checkpoint to write (.safetensors)\n"
           "  --width N            hidden units per block (default 256)\n"
           "  --depth N            hidden blocks (default 2)\n"
           "  --epochs N           passes over the training set (default 1)\n"
           "  --batch N            images per step (default 128); a last partial batch\n"
           "                       of an epoch is dropped\n"
           "  --lr X, --wd X       body learning rate and weight decay (1e-3, 1e-4)\n"
           "  --head-lr X          head learning rate (default: --lr)\n"
           "  --head-wd X          head weight decay (default: --wd)\n"
           "  --warmup F           fraction of steps with linear warmup (default 0.05)\n"
           "  --data-fraction F    train on this fraction of each class (default 1)\n"
           "  --seed N             weight init, data order and subset (default 0)\n",
           usage);
}

typedef struct {
    const char *task, *out;
    int width, depth;
    double data_fraction;
    xf_train_config train;
} options;

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

/* Returns -1 when the options are fine, else the exit status to return. */
static int parse_options(int argc, char **argv, options *o) {
    static const struct option longopts[] = {
        {"us", required_argument, NULL, 'u'},
        {"out", required_argument, NULL, 'o'},
        {"width", required_argument, NULL, 'W'},
        {"depth", required_argument, NULL, 'D'},
        {"epochs", required_argument, NULL, 'e'},
        {"batch", required_argument, NULL, 'b'},
        {"lr", required_argument, NULL, 'l'},
        {"wd", required_argument, NULL, 'w'},
        {"head-lr", required_argument, NULL, 'L'},
        {"head-wd", required_argument, NULL, 'H'},
        {"warmup", required_argument, NULL, 'a'},
        {"data-fraction", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->width = 256;
    o->depth = 2;
    o->data_fraction = 1;
    xf_train_config_default(&o->train);
    bool head_lr = false, head_wd = false;
    int seed = 0, c, index;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, &index)) != -1) {
        const char *name = c == '?' || c == 'h' ? "" : longopts[index].name;
        xf_status st = XF_OK;
        switch (c) {
        case 'h': print_help(); return 0;
        case 'u': o->task = optarg; break;
        case 'o': o->out = optarg; break;
        case 'W': st = parse_int(name, optarg, 1, 1 << 16, &o->width); break;
        case 'D': st = parse_int(name, optarg, 1, 256, &o->depth); break;
        case 'e': st = parse_int(name, optarg, 1, 100000, &o->train.epochs); break;
        case 'b': st = parse_int(name, optarg, 1, 1 << 20, &o->train.batch_size); break;
        case 'l': st = parse_double(name, optarg, 0, 1e6, &o->train.lr); break;
        case 'w': st = parse_double(name, optarg, 0, 1e6, &o->train.weight_decay); break;
        case 'L':
            st = parse_double(name, optarg, 0, 1e6, &o->train.head_lr);
            head_lr = true;
            break;
        case 'H':
            st = parse_double(name, optarg, 0, 1e6, &o->train.head_weight_decay);
            head_wd = true;
            break;
        case 'a': st = parse_double(name, optarg, 0, 1, &o->train.warmup_fraction); break;
        case 'f': st = parse_double(name, optarg, 1e-9, 1, &o->data_fraction); break;
        case 's': st = parse_int(name, optarg, 0, 2147483647, &seed); break;
        default: return cli_usage(usage);
        }
        if (st != XF_OK) return cli_fail(st, "pretrain");
    }
    if (optind < argc) {
        fprintf(stderr, "xfer pretrain: unexpected argument '%s'\n", argv[optind]);
        return cli_usage(usage);
    }
    if (!o->task || !o->out) return cli_usage(usage);
    if (!head_lr) o->train.head_lr = o->train.lr;
    if (!head_wd) o->train.head_weight_decay = o->train.weight_decay;
    o->train.seed = (uint64_t)seed;
    return -1;
}

static xf_status save(const xf_model *m, const options *o, double acc) {
    char acc_text[32], lr[32], wd[32], head_lr[32], head_wd[32], epochs[16], batch[16],
        fraction[32], seed[32];
    snprintf(acc_text, sizeof acc_text, "%.6f", acc);
    snprintf(lr, sizeof lr, "%g", o->train.lr);
    snprintf(wd, sizeof wd, "%g", o->train.weight_decay);
    snprintf(head_lr, sizeof head_lr, "%g", o->train.head_lr);
    snprintf(head_wd, sizeof head_wd, "%g", o->train.head_weight_decay);
    snprintf(epochs, sizeof epochs, "%d", o->train.epochs);
    snprintf(batch, sizeof batch, "%d", o->train.batch_size);
    snprintf(fraction, sizeof fraction, "%g", o->data_fraction);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->train.seed);
    const char *keys[] = {"us_task", "us_test_acc", "lr",            "wd",   "head_lr",
                          "head_wd", "epochs",      "batch",         "seed", "data_fraction"};
    const char *values[] = {o->task, acc_text, lr,    wd,   head_lr,
                            head_wd, epochs,   batch, seed, fraction};
    return xf_checkpoint_save(m, o->out, keys, values, (int)(sizeof keys / sizeof keys[0]));
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
    if (o.data_fraction < 1) {
        if ((st = xf_dataset_subset(&full, o.data_fraction, o.train.seed, &sub)) != XF_OK)
            goto done;
        train = &sub;
    }
    xf_model_config cfg = {
        .family = XF_FAMILY_MLP,
        .height = train->height,
        .width = train->width,
        .channels = train->channels,
        .n_classes = train->n_classes,
        .mlp = {.width = o.width, .depth = o.depth},
    };
    xf_train_result result;
    double acc;
    if ((st = xf_model_init(&m, &cfg)) || (st = xf_train(&m, train, &o.train, &result)) ||
        (st = xf_evaluate(&m, &test, &acc)) || (st = save(&m, &o, acc)))
        goto done;
    printf("US task: %s, %d training images, %d test images\n", o.task, train->n, test.n);
    printf("model: mlp width %d depth %d, %zu params, %.4g MFLOPs/image\n", o.width, o.depth,
           m.n_params, m.flops_per_image / 1e6);
    /* xf_train uses the whole set as one batch when it is smaller. */
    int batch = o.train.batch_size < train->n ? o.train.batch_size : train->n;
    double images = (double)result.steps * batch;
    printf("training: %ld steps in %.2f s, %.0f img/s, final loss %.4g\n", result.steps,
           result.seconds, result.seconds > 0 ? images / result.seconds : 0, result.final_loss);
    printf("US test accuracy: %.2f%%\n", 100 * acc);
    printf("checkpoint: %s\n", o.out);
done:
    if (st != XF_OK) rc = cli_fail(st, "pretrain");
    else rc = 0;
    xf_model_free(&m);
    xf_dataset_free(&sub);
    xf_dataset_free(&full);
    xf_dataset_free(&test);
    return rc;
}
