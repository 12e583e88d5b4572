/* The settings tables (core/setting.h): one name, range, default and
 * spelling per setting, read alike by study files, checkpoints' config JSON,
 * the trainer's and probes' defaults and the docs. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/setting.h"
#include "models/family.h"
#include "probe/probe.h"
#include "probe/probe_settings.h"
#include "study/config.h"
#include "study/plan.h"
#include "support.h"
#include "train/train.h"
#include "train/train_settings.h"

static const char *const words[] = {"gap", "cls", NULL};
static const char *const aliases[][2] = {{"avg", "gap"}, {NULL, NULL}};

Test(settings, parse_checks_range_overflow_and_junk) {
    xf_setting n = {.key = "n", .kind = XF_SETTING_INT, .lo = 1, .hi = 1 << 20};
    double v;
    cr_assert_eq(xf_setting_parse(&n, "1048576", &v, NULL), XF_OK);
    cr_assert_eq(v, 1048576);
    test_expect_error(xf_setting_parse(&n, "1048577", &v, NULL), XF_EINVAL,
                      "expected an integer in [1, 1048576], got '1048577'");
    test_expect_error(xf_setting_parse(&n, "99999999999999999999", &v, NULL), XF_EINVAL,
                      "got '99999999999999999999'");
    test_expect_error(xf_setting_parse(&n, "12abc", &v, NULL), XF_EINVAL, "got '12abc'");
    test_expect_error(xf_setting_parse(&n, "2.5", &v, NULL), XF_EINVAL, "an integer");
    xf_setting x = {.key = "x", .kind = XF_SETTING_REAL, .lo = 0, .lo_open = true, .hi = 1,
                    .hi_open = true};
    test_expect_error(xf_setting_parse(&x, "1", &v, NULL), XF_EINVAL, "a number in (0, 1)");
    test_expect_error(xf_setting_parse(&x, "1e999", &v, NULL), XF_EINVAL, "a number in (0, 1)");
    cr_assert_eq(xf_setting_parse(&x, "0.5", &v, NULL), XF_OK);
    xf_setting w = {.key = "pool", .kind = XF_SETTING_WORD, .words = words, .aliases = aliases};
    bool old;
    cr_assert_eq(xf_setting_parse(&w, "cls", &v, &old), XF_OK);
    cr_assert(v == 1 && !old);
    cr_assert_eq(xf_setting_parse(&w, "avg", &v, &old), XF_OK);
    cr_assert(v == 0 && old, "an old spelling is read and flagged");
    test_expect_error(xf_setting_parse(&w, "max", &v, NULL), XF_EINVAL,
                      "expected gap or cls, got 'max'");
    xf_setting list = {.key = "blocks", .kind = XF_SETTING_INTS, .lo = 1, .hi = 64,
                       .max_items = 4};
    int items[4], count;
    cr_assert_eq(xf_setting_parse_ints(&list, "2,3,64", items, &count), XF_OK);
    cr_assert(count == 3 && items[2] == 64);
    test_expect_error(xf_setting_parse_ints(&list, "1,1,1,1,1", items, &count), XF_EINVAL,
                      "1 to 4 integers in [1, 64]");
    test_expect_error(xf_setting_parse_ints(&list, "1,,1", items, &count), XF_EINVAL,
                      "1 to 4 integers");
}

/* The defaults users see are the ones the code uses. */
Test(settings, defaults_come_from_the_tables) {
    xf_train_config t;
    xf_train_config_default(&t);
    cr_assert(t.epochs == 1 && t.batch_size == 128 && t.lr == 1e-3 && t.weight_decay == 1e-4);
    cr_assert(t.head_lr == t.lr && t.head_weight_decay == t.weight_decay, "head follows body");
    cr_assert(t.warmup_fraction == 0.05 && t.momentum == 0.9 && t.beta2 == 0.999);
    cr_assert(t.optimizer == XF_OPTIMIZER_ADAMW && t.decay == XF_DECAY_COSINE && !t.flip);
    xf_probe_config p;
    xf_probe_config_default(&p);
    cr_assert(p.n_shots == 4 && p.shots[3] == 25 && p.draws == 3 && p.lambda == 1024);
    cr_assert(p.n_layers == 0 && p.test_limit == 0);
    xf_model_config m;
    xf_model_config_default(&m, XF_FAMILY_VIT);
    cr_assert(m.vit.patch == 4 && m.vit.dim == 64 && m.vit.depth == 4 && m.vit.heads == 4);
    cr_assert(m.vit.mlp_ratio == 4 && m.vit.pool == XF_POOL_GAP);
    xf_model_config_default(&m, XF_FAMILY_MLP);
    cr_assert(m.mlp.width == 256 && m.mlp.depth == 2);
}

/* The norm is group_ws | batch in checkpoints as everywhere; checkpoints
 * written with "group" still load. */
Test(settings, checkpoint_json_spells_values_as_the_tables) {
    xf_model_config cfg;
    xf_model_config_default(&cfg, XF_FAMILY_RESNET);
    cfg.height = cfg.width = 8, cfg.channels = 1, cfg.n_classes = 3;
    char *json = xf_model_config_to_json(&cfg);
    cr_assert(json);
    cr_assert(strstr(json, "\"norm\":\"group_ws\""), "%s", json);
    cr_assert(strstr(json, "\"blocks\":[2,2,2],\"stages\":3"), "%s", json);
    free(json);
    xf_model_config back;
    cr_assert_eq(xf_model_config_from_json(
                     "{\"family\":\"resnet\",\"height\":8,\"width\":8,\"channels\":1,"
                     "\"n_classes\":3,\"resnet\":{\"stages\":2,\"blocks\":[1,1],"
                     "\"base_width\":4,\"norm\":\"group\"}}",
                     &back),
                 XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.resnet.norm, XF_NORM_GROUP_WS);
    /* The range of the table, with the limit in the message. */
    xf_model_config_default(&cfg, XF_FAMILY_VIT);
    cfg.height = cfg.width = 8, cfg.channels = 1, cfg.n_classes = 3, cfg.vit.patch = 300;
    xf_model m;
    test_expect_error(xf_model_init(&m, &cfg), XF_EINVAL,
                      "field 'vit.patch' is 300, expected an integer in [1, 256]");
}

static xf_status parse(const char *yaml, xf_study_config *cfg) {
    return xf_study_config_parse(yaml, strlen(yaml), "x.yaml", cfg);
}

/* Limits are checked when the study file is read, with file:line:column
 * and the limit; nothing is left to fail after a model has trained. */
Test(settings, study_limits_refused_at_plan_time_with_the_limit) {
    static const struct {
        const char *yaml, *needle;
    } cases[] = {
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train: {batch: 1000000000}\ndownstream: {tasks: [b]}\n",
         "x.yaml:4:16: train.batch: expected an integer in [1, 1048576], got '1000000000'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 1048576, depth: 1}\n"
         "downstream: {tasks: [b]}\n",
         "x.yaml:3:29: model.width: expected an integer in [1, 65536], got '1048576'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "downstream: {tasks: [b], shots: [1, 1000000]}\n",
         "x.yaml:4:37: downstream.shots: expected an integer in [1, 10000], got '1000000'"},
        {"name: x\nupstream: a\nmodel: {family: vit, patch: 512, dim: 8, depth: 1, heads: 1}\n"
         "downstream: {tasks: [b]}\n",
         "model.patch: expected an integer in [1, 256], got '512'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train: {crop_padding: 65}\ndownstream: {tasks: [b]}\n",
         "train.crop_padding: expected an integer in [0, 64], got '65'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train: {warmup: 1}\ndownstream: {tasks: [b]}\n",
         "train.warmup: expected a number in [0, 1), got '1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xf_study_config cfg;
        cr_assert_eq(parse(cases[i].yaml, &cfg), XF_EINVAL, "case %zu parsed", i);
        cr_assert(strstr(xf_error_message(), cases[i].needle), "case %zu: '%s' not in '%s'", i,
                  cases[i].needle, xf_error_message());
    }
    /* Every trial the parser lets through passes the model's own range
     * checks (the same table). */
    xf_study_config cfg;
    cr_assert_eq(parse("name: x\nupstream: a\nmodel: {family: mlp, width: 65536, depth: 1}\n"
                       "downstream: {tasks: [b], shots: 10000}\n",
                       &cfg),
                 XF_OK, "%s", xf_error_message());
    xf_plan plan;
    cr_assert_eq(xf_plan_build(&cfg, &plan), XF_OK);
    xf_model_config mc = plan.trials[0].model;
    mc.height = mc.width = 8, mc.channels = 1, mc.n_classes = 2;
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &mc), XF_OK, "%s", xf_error_message());
    xf_model_free(&m);
    xf_plan_free(&plan);
}

/* Each train key lands in its own axis (xf_study_train follows the
 * table's order). */
Test(settings, study_train_keys_fill_their_axes) {
    xf_study_config cfg;
    cr_assert_eq(parse("name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
                       "train: {epochs: 3, batch: 7, lr: 0.5, wd: 0.25, warmup: 0.125, "
                       "seed: 9, optimizer: sgd, momentum: 0.75, decay: linear, clip_norm: 2, "
                       "label_smoothing: 0.0625, crop_padding: 5, flip: true, data_seed: 11, "
                       "augment_seed: 13, head_lr: 0.03125, head_wd: 6, data_count: 17}\n"
                       "downstream: {tasks: [b]}\n",
                       &cfg),
                 XF_OK, "%s", xf_error_message());
    const xf_study_train *t = &cfg.train;
    cr_assert(t->epochs.v[0] == 3 && t->batch.v[0] == 7 && t->lr.v[0] == 0.5);
    cr_assert(t->wd.v[0] == 0.25 && t->warmup.v[0] == 0.125 && t->seed.v[0] == 9);
    cr_assert(t->optimizer.v[0] == XF_OPTIMIZER_SGD && t->momentum.v[0] == 0.75);
    cr_assert(t->decay.v[0] == XF_DECAY_LINEAR && t->clip_norm.v[0] == 2);
    cr_assert(t->label_smoothing.v[0] == 0.0625 && t->crop_padding.v[0] == 5);
    cr_assert(t->flip.v[0] == 1 && t->data_seed.v[0] == 11 && t->augment_seed.v[0] == 13);
    cr_assert(t->head_lr.v[0] == 0.03125 && t->head_wd.v[0] == 6 && t->data_count.v[0] == 17);
    cr_assert_eq(t->data_fraction.n, 0);
}

/* Settings that depend on each other are refused by the plan, naming the
 * entry and the trial, before any trial runs. */
Test(settings, dependent_settings_refused_at_plan_time) {
    static const struct {
        const char *yaml, *needle;
    } cases[] = {
        {"name: x\nupstream: a\nmodels:\n  - {family: mlp, width: 8, depth: 1}\n"
         "  - {family: vit, patch: 4, dim: [8, 10], depth: 1, heads: 4}\n"
         "downstream: {tasks: [b]}\n",
         "study x: models[1] (vit p4 dim10 d1 h4"},
        {"name: x\nupstream: a\nmodel: {family: vit, patch: 4, dim: [8, 10], depth: 1, "
         "heads: 4}\ndownstream: {tasks: [b]}\n",
         "vit.dim 10 is not divisible by vit.heads 4"},
        {"name: x\nupstream: a\nmodel: {family: resnet, blocks: [1, 1, 1, 1], "
         "base_width: 1024}\ndownstream: {tasks: [b]}\n",
         "field 'resnet.base_width' is 1024, expected at most 512 with 4 stages"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xf_study_config cfg;
        cr_assert_eq(parse(cases[i].yaml, &cfg), XF_OK, "case %zu: %s", i, xf_error_message());
        xf_plan plan;
        cr_assert_eq(xf_plan_build(&cfg, &plan), XF_EINVAL, "case %zu planned", i);
        cr_assert(strstr(xf_error_message(), cases[i].needle), "case %zu: '%s' not in '%s'", i,
                  cases[i].needle, xf_error_message());
    }
}

/* An old spelling is read with a warning naming the new one, and plans the
 * very trial (same id) as the new spelling. */
Test(settings, old_spelling_read_with_a_warning) {
    const char *base = "name: x\nupstream: a\n"
                       "model: {family: resnet, blocks: [1, 1], base_width: 8, norm: %s}\n"
                       "downstream: {tasks: [b]}\n";
    char yaml[256];
    xf_study_config cfg;
    xf_plan old_plan, new_plan;
    xf_log_set_level(XF_LOG_WARN);
    snprintf(yaml, sizeof yaml, base, "bn");
    test_capture_begin(2);
    xf_status st = parse(yaml, &cfg);
    char *err = test_capture_end();
    cr_assert_eq(st, XF_OK, "%s", xf_error_message());
    cr_assert(strstr(err, "x.yaml:3:62: model.norm: 'bn' is deprecated; write batch"), "%s",
              err);
    free(err);
    cr_assert_eq(xf_plan_build(&cfg, &old_plan), XF_OK);
    snprintf(yaml, sizeof yaml, base, "batch");
    test_capture_begin(2);
    st = parse(yaml, &cfg);
    err = test_capture_end();
    cr_assert_eq(st, XF_OK);
    cr_assert_eq(err[0], 0, "no warning for the current spelling: %s", err);
    free(err);
    cr_assert_eq(xf_plan_build(&cfg, &new_plan), XF_OK);
    cr_assert_str_eq(old_plan.trials[0].id, new_plan.trials[0].id);
    cr_assert(strstr(new_plan.trials[0].config_json, "\"norm\":\"batch\""), "%s",
              new_plan.trials[0].config_json);
    xf_plan_free(&old_plan);
    xf_plan_free(&new_plan);
}

/* docs/models.md and docs/studies.md hold the tables `xfer help settings
 * --markdown` prints, so the docs list every setting with its range and
 * default as the code has them. */
static void expect_in_doc(const char *topic, const char *doc) {
    char cmd[1200], path[1024];
    snprintf(cmd, sizeof cmd, "'%s' help settings %s --markdown > %s/help.md", test_xfer_bin(),
             topic, test_tmp);
    cr_assert_eq(test_system(cmd), 0, "%s", cmd);
    snprintf(path, sizeof path, "%s/help.md", test_tmp);
    unsigned char *table = NULL, *text = NULL; /* NUL-terminated */
    size_t n, m;
    cr_assert_eq(xf_read_file(path, &table, &n), XF_OK);
    snprintf(path, sizeof path, "%s/docs/%s", test_root(), doc);
    cr_assert_eq(xf_read_file(path, &text, &m), XF_OK);
    cr_assert(n > 100 && strstr((char *)text, (char *)table),
              "docs/%s lacks the output of `xfer help settings %s --markdown`; paste it in:\n%s",
              doc, topic, table);
    free(table);
    free(text);
}

Test(settings, docs_list_every_setting_as_the_code, .init = test_tmp_make,
     .fini = test_tmp_remove) {
    expect_in_doc("models", "models.md");
    expect_in_doc("train", "studies.md");
    expect_in_doc("downstream", "studies.md");
}
