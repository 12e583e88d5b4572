/* Study files with several families, the newer training keys, random
 * search, and the errors they can make. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "study/config.h"
#include "study/plan.h"
#include "support.h"

static void load(const char *fixture, xf_study_config *cfg) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/study/%s", test_root(), fixture);
    cr_assert_eq(xf_study_config_load(path, cfg), XF_OK, "%s", xf_error_message());
}

Test(study_plan, families_have_their_own_grids) {
    xf_study_config cfg;
    load("families.yaml", &cfg);
    cr_assert_eq(cfg.n_models, 4);
    cr_assert_str_eq(cfg.models[3].family, "resnet");
    cr_assert_eq(cfg.models[3].n_blocks, 2);
    cr_assert_eq(cfg.models[3].n_stages[1], 3);
    cr_assert_eq(cfg.models[3].blocks[1][2], 2);
    cr_assert_eq(cfg.n_layers, 1);
    cr_assert_eq(cfg.layers[0], -1);
    xf_plan plan;
    cr_assert_eq(xf_plan_build(&cfg, &plan), XF_OK, "%s", xf_error_message());
    /* (2 mlp + 2 vit + 1 mixer + 2 resnet) x 2 optimizers */
    cr_assert_eq(plan.n, 14);
    const xf_trial *vit = &plan.trials[4];
    cr_assert_eq(vit->model.family, XF_FAMILY_VIT);
    cr_assert_eq(vit->model.vit.dim, 16);
    cr_assert_eq(vit->model.vit.mlp_ratio, 4, "the default");
    cr_assert_eq(vit->model.vit.pool, XF_POOL_CLS);
    cr_assert_eq(vit->train.optimizer, XF_OPTIMIZER_ADAMW);
    cr_assert_eq(vit->train.momentum, 0.9);
    cr_assert_eq(vit->train.crop_padding, 2);
    cr_assert_eq(vit->data_count, 500);
    cr_assert_str_eq(vit->config_json,
                     "{\"downstream\":{\"draws\":3,\"lambda\":1024,\"layers\":[-1],"
                     "\"shots\":[1,5],\"tasks\":[\"digits-8x8\"],\"test_limit\":100},"
                     "\"model\":{\"depth\":1,\"dim\":16,\"family\":\"vit\",\"heads\":2,"
                     "\"mlp_ratio\":4,\"patch\":4,\"pool\":\"cls\"},"
                     "\"train\":{\"batch\":128,\"clip_norm\":1,\"crop_padding\":2,"
                     "\"data_count\":500,\"epochs\":1,\"flip\":false,\"head_lr\":0.001,"
                     "\"head_wd\":0.0001,\"label_smoothing\":0.1,\"lr\":0.001,\"momentum\":0.9,"
                     "\"optimizer\":\"adamw\",\"seed\":0,\"warmup\":0.05,\"wd\":0.0001},"
                     "\"upstream\":\"digits-8x8\"}");
    const xf_trial *res = &plan.trials[13];
    cr_assert_eq(res->model.family, XF_FAMILY_RESNET);
    cr_assert_eq(res->model.resnet.stages, 3);
    cr_assert_eq(res->model.resnet.blocks[0], 2);
    cr_assert_eq(res->model.resnet.norm, XF_NORM_BATCH);
    cr_assert_eq(res->train.optimizer, XF_OPTIMIZER_SGD);
    cr_assert(strstr(res->config_json, "\"blocks\":[2,2,2]"), "%s", res->config_json);
    for (int i = 0; i < plan.n; i++)
        for (int j = 0; j < i; j++) cr_assert_str_neq(plan.trials[i].id, plan.trials[j].id);

    /* A random search draws from the same trials; more samples keep the
     * earlier ones as a prefix. */
    xf_study_config rnd = cfg;
    rnd.search = XF_SEARCH_RANDOM;
    rnd.samples = 5;
    rnd.search_seed = 7;
    xf_plan a, b;
    cr_assert_eq(xf_plan_build(&rnd, &a), XF_OK);
    rnd.samples = 9;
    cr_assert_eq(xf_plan_build(&rnd, &b), XF_OK);
    cr_assert_eq(a.n, 5);
    cr_assert_eq(b.n, 9);
    for (int i = 0; i < a.n; i++) {
        cr_assert_str_eq(a.trials[i].id, b.trials[i].id);
        bool in_grid = false;
        for (int k = 0; k < plan.n; k++) in_grid |= strcmp(plan.trials[k].id, a.trials[i].id) == 0;
        cr_assert(in_grid);
        for (int j = 0; j < i; j++) cr_assert_str_neq(a.trials[i].id, a.trials[j].id);
    }
    rnd.samples = 100; /* more than the space: the whole grid */
    xf_plan c;
    cr_assert_eq(xf_plan_build(&rnd, &c), XF_OK);
    cr_assert_eq(c.n, 14);
    xf_plan_free(&a);
    xf_plan_free(&b);
    xf_plan_free(&c);
    xf_plan_free(&plan);
}

Test(study_plan, a_key_of_another_family_is_named) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/study/bad_family_key.yaml", test_root());
    xf_study_config cfg;
    cr_assert_eq(xf_study_config_load(path, &cfg), XF_EINVAL);
    const char *msg = xf_error_message();
    cr_assert(strstr(msg, "bad_family_key.yaml:5:58: unknown key 'models[1].width'"), "%s", msg);
    cr_assert(strstr(msg, "heads"), "%s", msg);
}

/* A sweep on one model (the head-wd sweep, a second US task) must not
 * multiply the other entries, and must leave their ids as they were. */
Test(study_plan, an_entry_overrides_upstream_and_train_keys) {
    static const char base[] =
        "name: x\nupstream: [a]\nmodels:\n"
        "  - {family: mlp, width: [8, 16], depth: 1}\n"
        "train: {epochs: [1, 2], data_fraction: 0.5, head_wd: 0.001}\n"
        "downstream: {tasks: [b]}\n";
    static const char swept[] =
        "name: x\nupstream: [a]\nmodels:\n"
        "  - {family: mlp, width: [8, 16], depth: 1}\n"
        "  - {family: mlp, width: 32, depth: 1, train: {head_wd: [0, 0.1, 1], epochs: 3}}\n"
        "  - {family: mlp, width: 8, depth: 1, upstream: [c+d, e], train: {data_count: 100}}\n"
        "train: {epochs: [1, 2], data_fraction: 0.5, head_wd: 0.001}\n"
        "downstream: {tasks: [b]}\n";
    xf_study_config a, b;
    cr_assert_eq(xf_study_config_parse(base, strlen(base), "base.yaml", &a), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(xf_study_config_parse(swept, strlen(swept), "swept.yaml", &b), XF_OK, "%s",
                 xf_error_message());
    xf_plan pa, pb;
    cr_assert_eq(xf_plan_build(&a, &pa), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_plan_build(&b, &pb), XF_OK, "%s", xf_error_message());
    cr_assert_eq(pa.n, 4);
    cr_assert_eq(pb.n, 4 + 3 + 2 * 2, "2x2 + 3 head_wd x 1 epoch + 2 upstream x 2 epochs");
    for (int i = 0; i < pa.n; i++) {
        cr_assert_str_eq(pb.trials[i].id, pa.trials[i].id, "the first entry's ids change");
        cr_assert_str_eq(pb.trials[i].config_json, pa.trials[i].config_json);
    }
    const double head_wd[] = {0, 0.1, 1};
    for (int i = 4; i < 7; i++) {
        const xf_trial *t = &pb.trials[i];
        cr_assert_eq(t->model.mlp.width, 32);
        cr_assert_eq(t->train.epochs, 3, "the entry's epochs replace the study's");
        cr_assert_eq(t->data_fraction, 0.5, "keys the entry omits come from the study");
        cr_assert_str_eq(t->upstream, "a");
        cr_assert_eq(t->train.head_weight_decay, head_wd[i - 4]);
    }
    const char *up[] = {"c+d", "c+d", "e", "e"};
    for (int i = 7; i < 11; i++) {
        const xf_trial *t = &pb.trials[i];
        cr_assert_str_eq(t->upstream, up[i - 7]);
        cr_assert_eq(t->data_count, 100, "data_count replaces the study's data_fraction");
        cr_assert_eq(t->train.epochs, 1 + (i - 7) % 2);
        cr_assert(strstr(t->config_json, "\"data_count\":100"), "%s", t->config_json);
        cr_assert(!strstr(t->config_json, "data_fraction"), "%s", t->config_json);
    }
    xf_plan_free(&pa);
    xf_plan_free(&pb);
}

Test(study_plan, rejects_bad_values_inline) {
    static const struct {
        const char *yaml, *needle;
    } cases[] = {
        {"name: x\nupstream: a\nmodels:\n  - {family: vit, patch: 4, dim: 8, depth: 1}\n"
         "downstream: {tasks: [b]}\n",
         "x.yaml:4:5: missing required key 'models[0].heads'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train: {optimizer: adam}\ndownstream: {tasks: [b]}\n",
         "x.yaml:4:20: train.optimizer: expected adamw or sgd, got 'adam'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train: {data_fraction: 0.5, data_count: 10}\ndownstream: {tasks: [b]}\n",
         "x.yaml:4:8: train: give data_fraction or data_count, not both"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "search: random\ndownstream: {tasks: [b]}\n",
         "x.yaml:4:9: search: random search needs samples"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "search: {method: grid, samples: 3}\ndownstream: {tasks: [b]}\n",
         "search: samples and seed are for method: random"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "downstream: {tasks: [b], layers: first}\n",
         "x.yaml:4:34: downstream.layers: expected all, last, or tap indices"},
        {"name: x\nupstream: a\nmodels:\n  - {family: resnet, blocks: [1, 1, 1, 1, 1], "
         "base_width: 8}\ndownstream: {tasks: [b]}\n",
         "models[0].blocks: expected a list of 1 to 4 integers in [1, 64]"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "models: [{family: mlp, width: 8, depth: 1}]\ndownstream: {tasks: [b]}\n",
         "x.yaml:4:9: models: give model or models, not both"},
        {"name: x\nupstream: a\ndownstream: {tasks: [b]}\n",
         "x.yaml:1:1: missing required key 'models'"},
        {"name: x\nupstream: a\nmodel: {family: mlp, width: 8, depth: 1}\n"
         "train: {flip: yes}\ndownstream: {tasks: [b]}\n",
         "train.flip: expected true or false, got 'yes'"},
        {"name: x\nupstream: a\nmodels:\n  - {family: mlp, width: 8, depth: 1, "
         "train: {head_wd: [1, -1]}}\ndownstream: {tasks: [b]}\n",
         "x.yaml:4:60: models[0].train.head_wd: expected a number in [0, 1e+06], got '-1'"},
        {"name: x\nupstream: a\nmodels:\n  - {family: mlp, width: 8, depth: 1, "
         "train: {epoch: 2}}\ndownstream: {tasks: [b]}\n",
         "unknown key 'models[0].train.epoch'"},
        {"name: x\nupstream: a\nmodels:\n  - {family: mlp, width: 8, depth: 1, "
         "train: {data_count: 5, data_fraction: 1}}\ndownstream: {tasks: [b]}\n",
         "models[0].train: give data_fraction or data_count, not both"},
        {"name: x\nupstream: a\nmodels:\n  - {family: mlp, width: 8, depth: 1, "
         "upstream: [c, c]}\ndownstream: {tasks: [b]}\n",
         "models[0].upstream: 'c' is listed twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xf_study_config cfg;
        xf_status st = xf_study_config_parse(cases[i].yaml, strlen(cases[i].yaml), "x.yaml", &cfg);
        cr_assert_eq(st, XF_EINVAL, "case %zu parsed", i);
        cr_assert(strstr(xf_error_message(), cases[i].needle), "case %zu: '%s' not in '%s'", i,
                  cases[i].needle, xf_error_message());
    }
}
