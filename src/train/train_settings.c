#include "train/train_settings.h"

#include <stddef.h>

#include "train/train.h"

static const char *const optimizer_words[] = {[XF_OPTIMIZER_ADAMW] = "adamw",
                                              [XF_OPTIMIZER_SGD] = "sgd", NULL};
static const char *const decay_words[] = {[XF_DECAY_COSINE] = "cosine",
                                          [XF_DECAY_LINEAR] = "linear", NULL};
_Static_assert(sizeof(xf_optimizer_kind) == sizeof(int) && sizeof(xf_decay_kind) == sizeof(int),
               "the kinds are stored as ints");

#define FIELD(type, name) type, offsetof(xf_train_config, name)
/* 2^53: seeds stay exact as the doubles a study's grid holds. */
#define SEED_MAX 9007199254740992.0

/* The order is the study file's (docs/studies.md). */
const xf_setting xf_train_settings[] = {
    {.key = "epochs", .kind = XF_SETTING_INT, .lo = 1, .hi = 1e6, .def = "1",
     .help = "passes over the training set", FIELD(XF_FIELD_INT, epochs)},
    {.key = "data_fraction", .kind = XF_SETTING_REAL, .lo = 0, .lo_open = true, .hi = 1,
     .def = "1", .help = "train on this fraction of each class"},
    {.key = "data_count", .kind = XF_SETTING_INT, .lo = 1, .hi = 1 << 30,
     .help = "train on this many images (instead of data_fraction; all if the set is smaller)"},
    {.key = "batch", .kind = XF_SETTING_INT, .lo = 1, .hi = 1 << 20, .def = "128",
     .help = "images per step; a last partial batch of an epoch is dropped",
     FIELD(XF_FIELD_INT, batch_size)},
    {.key = "lr", .kind = XF_SETTING_REAL, .lo = 0, .lo_open = true, .hi = 1e6, .def = "0.001",
     .help = "body learning rate", FIELD(XF_FIELD_DOUBLE, lr)},
    {.key = "wd", .kind = XF_SETTING_REAL, .lo = 0, .hi = 1e6, .def = "0.0001",
     .help = "body weight decay", FIELD(XF_FIELD_DOUBLE, weight_decay)},
    {.key = "head_lr", .kind = XF_SETTING_REAL, .lo = 0, .lo_open = true, .hi = 1e6,
     .follows = "lr", .help = "head learning rate", FIELD(XF_FIELD_DOUBLE, head_lr)},
    {.key = "head_wd", .kind = XF_SETTING_REAL, .lo = 0, .hi = 1e6, .follows = "wd",
     .help = "head weight decay", FIELD(XF_FIELD_DOUBLE, head_weight_decay)},
    {.key = "warmup", .kind = XF_SETTING_REAL, .lo = 0, .hi = 1, .hi_open = true, .def = "0.05",
     .help = "fraction of the steps with a linear warmup", FIELD(XF_FIELD_DOUBLE, warmup_fraction)},
    {.key = "seed", .kind = XF_SETTING_INT, .lo = 0, .hi = SEED_MAX, .def = "0",
     .help = "weight initialisation", FIELD(XF_FIELD_U64, seed)},
    {.key = "optimizer", .kind = XF_SETTING_WORD, .words = optimizer_words, .def = "adamw",
     .help = "AdamW, or SGD with momentum", FIELD(XF_FIELD_INT, optimizer)},
    {.key = "momentum", .kind = XF_SETTING_REAL, .lo = 0, .hi = 1, .hi_open = true, .def = "0.9",
     .help = "SGD momentum", FIELD(XF_FIELD_DOUBLE, momentum)},
    {.key = "decay", .kind = XF_SETTING_WORD, .words = decay_words, .def = "cosine",
     .help = "learning-rate decay to 0 after the warmup", FIELD(XF_FIELD_INT, decay)},
    {.key = "clip_norm", .kind = XF_SETTING_REAL, .lo = 0, .hi = 1e6, .def = "0",
     .help = "clip the global gradient norm to this (0: off)", FIELD(XF_FIELD_DOUBLE, clip_norm)},
    {.key = "label_smoothing", .kind = XF_SETTING_REAL, .lo = 0, .hi = 1, .hi_open = true,
     .def = "0", .help = "cross-entropy label smoothing", FIELD(XF_FIELD_DOUBLE, label_smoothing)},
    {.key = "crop_padding", .kind = XF_SETTING_INT, .lo = 0, .hi = 64, .def = "0",
     .help = "random crops of the image padded by this many zeros (0: off)",
     FIELD(XF_FIELD_INT, crop_padding)},
    {.key = "flip", .kind = XF_SETTING_SWITCH, .def = "false", .help = "random horizontal flips",
     FIELD(XF_FIELD_BOOL, flip)},
    {.key = "data_seed", .kind = XF_SETTING_INT, .lo = 0, .hi = SEED_MAX, .follows = "seed",
     .help = "data order and subset", FIELD(XF_FIELD_U64, data_seed)},
    {.key = "augment_seed", .kind = XF_SETTING_INT, .lo = 0, .hi = SEED_MAX, .follows = "seed",
     .help = "crops and flips", FIELD(XF_FIELD_U64, augment_seed)},
};
const int xf_train_n_settings = sizeof xf_train_settings / sizeof xf_train_settings[0];
