/* The mlp family and the generic model interface: gradients of the whole
 * model against central differences in double, the float model against the
 * double one, taps, sizes, and the config's JSON form. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model.h"
#include "support.h"

static xf_model_config small_config(void) {
    return (xf_model_config){.family = XF_FAMILY_MLP, .height = 3, .width = 2, .channels = 2,
                             .n_classes = 4, .mlp = {.width = 5, .depth = 3}};
}

enum { BATCH = 4, D_IN = 12 };

/* Inputs and labels from seed 12; the parameters are the default init's
 * (seed 11), doubled: that spreads the pre-activations over more of GELU's
 * curve than PyTorch's small init does. */
static void grad_case_init(test_grad_case *c) {
    xf_model_config cfg = small_config();
    test_grad_case_init(c, &cfg, BATCH, 12);
    xf_model_init_weights(&c->m, 11);
    for (size_t i = 0; i < c->m.n_params; i++) c->params[i] = 2 * c->m.params[i];
}

Test(mlp, gradients_match_central_differences_in_double) {
    test_grad_case c;
    grad_case_init(&c);
    test_check_gradients(&c, 1e-4, 1e-7, NULL);
    test_grad_case_free(&c);
}

Test(mlp, float_model_matches_double_instance) {
    test_grad_case c;
    grad_case_init(&c);
    test_float_gap gap = test_float_against_double(&c, BATCH);
    cr_assert_float_eq(gap.loss, gap.loss_f64, 1e-5);
    /* Every parameter's gradient within 1e-5, the start of 1 kept. */
    cr_assert_leq(gap.worst, 1e-5, "float grads off by %g", gap.worst);
    xf_model_zero_grad(&c.m);
    for (size_t i = 0; i < c.m.n_params; i++) cr_assert_eq(c.m.grads[i], 0);
    test_grad_case_free(&c);
}

Test(mlp, taps_are_block_outputs_and_prelogits_feed_the_head) {
    xf_model_config cfg = small_config();
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 3);
    cr_assert_eq(m.n_taps, 3);
    cr_assert_str_eq(m.tap_names[0], "block0");
    cr_assert_str_eq(m.tap_names[1], "block1");
    cr_assert_str_eq(m.tap_names[2], "prelogits");
    for (int t = 0; t < 3; t++) cr_assert_eq(m.tap_dims[t], 5);
    /* Reserve more than is used: taps still hold the batch's rows first. */
    cr_assert_eq(xf_model_reserve(&m, 8), XF_OK);
    float x[3 * D_IN], logits[3 * 4];
    for (int i = 0; i < 3 * D_IN; i++) x[i] = (float)((i % 7) - 3) / 3;
    m.taps_enabled = true;
    xf_model_forward(&m, x, 3, logits);
    test_check_head(&m, "head", logits, 3, 1e-5);
    /* block0 is GELU(x W0^T + b0). */
    const xf_tensor_info *w0 = xf_model_find_tensor(&m, "blocks.0.fc.weight");
    const float *t0 = xf_model_tap(&m, 0);
    double z = m.params[xf_model_find_tensor(&m, "blocks.0.fc.bias")->offset + 1];
    for (int j = 0; j < D_IN; j++) z += (double)m.params[w0->offset + D_IN + j] * x[D_IN + j];
    cr_assert_float_eq(t0[5 + 1], z * 0.5 * (1 + erf(z / sqrt(2))), 1e-5);
    xf_model_free(&m);
}

Test(mlp, tensor_table_param_count_and_flops) {
    xf_model_config cfg = {.family = XF_FAMILY_MLP,
                           .height = 28,
                           .width = 28,
                           .channels = 1,
                           .n_classes = 10,
                           .mlp = {.width = 256, .depth = 2}};
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    cr_assert_eq(m.n_params, 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    cr_assert_eq(m.n_params, 269322);
    cr_assert_float_eq(m.flops_per_image, 2.0 * (784 * 256 + 256 * 256 + 256 * 10), 0.5);
    const char *names[] = {"blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.1.fc.weight",
                           "blocks.1.fc.bias",   "head.weight",      "head.bias"};
    const int rows[] = {256, 256, 256, 256, 10, 10}, cols[] = {784, 0, 256, 0, 256, 0};
    cr_assert_eq(m.n_tensors, 6);
    size_t offset = 0;
    for (int i = 0; i < 6; i++) {
        const xf_tensor_info *t = &m.tensors[i];
        cr_assert_str_eq(t->name, names[i]);
        cr_assert_eq(t->offset, offset);
        cr_assert_eq(t->ndim, cols[i] ? 2 : 1);
        cr_assert_eq(t->shape[0], rows[i]);
        if (cols[i]) cr_assert_eq(t->shape[1], cols[i]);
        cr_assert_eq(t->group, i >= 4 ? XF_GROUP_HEAD : XF_GROUP_BODY, "%s", t->name);
        cr_assert_eq(xf_model_find_tensor(&m, names[i]), t);
        offset += t->numel;
    }
    cr_assert_eq(offset, m.n_params);
    cr_assert_null(xf_model_find_tensor(&m, "blocks.2.fc.weight"));
    for (size_t i = 0; i < m.n_params; i++) cr_assert_eq(m.params[i], 0);
    xf_model_free(&m);
}

Test(mlp, init_weights_is_seeded_and_pytorch_bounded) {
    xf_model_config cfg = small_config();
    xf_model a, b;
    cr_assert_eq(xf_model_init(&a, &cfg), XF_OK);
    cr_assert_eq(xf_model_init(&b, &cfg), XF_OK);
    xf_model_init_weights(&a, 5);
    xf_model_init_weights(&b, 5);
    cr_assert_arr_eq(a.params, b.params, sizeof(float) * a.n_params);
    xf_model_init_weights(&b, 6);
    cr_assert(memcmp(a.params, b.params, sizeof(float) * a.n_params) != 0);
    for (int t = 0; t < a.n_tensors; t += 2) {
        double bound = 1 / sqrt(a.tensors[t].shape[1]), largest = 0;
        for (size_t j = a.tensors[t].offset; j < a.tensors[t + 1].offset + a.tensors[t + 1].numel;
             j++) {
            cr_assert_leq(fabs(a.params[j]), bound, "%s", a.tensors[t].name);
            largest = fmax(largest, fabs(a.params[j]));
        }
        cr_assert_gt(largest, bound / 2, "%s", a.tensors[t].name);
    }
    xf_model_free(&a);
    xf_model_free(&b);
}

Test(mlp, config_json_round_trip) {
    xf_model_config cfg = small_config(), back;
    char *json = xf_model_config_to_json(&cfg);
    cr_assert_not_null(json);
    cr_assert_str_eq(json, "{\"family\":\"mlp\",\"height\":3,\"width\":2,\"channels\":2,"
                           "\"n_classes\":4,\"mlp\":{\"width\":5,\"depth\":3}}");
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.family, cfg.family);
    cr_assert_eq(back.height, 3);
    cr_assert_eq(back.width, 2);
    cr_assert_eq(back.channels, 2);
    cr_assert_eq(back.n_classes, 4);
    cr_assert_eq(back.mlp.width, 5);
    cr_assert_eq(back.mlp.depth, 3);
    free(json);
    cr_assert_str_eq(xf_family_name(XF_FAMILY_MLP), "mlp");
    xf_family f;
    cr_assert_eq(xf_family_parse("mlp", &f), XF_OK);
    cr_assert_eq(f, XF_FAMILY_MLP);
}

static void expect_bad(const char *json, const char *needle) {
    xf_model_config cfg;
    xf_status st = xf_model_config_from_json(json, &cfg);
    cr_assert_neq(st, XF_OK, "accepted %s", json);
    cr_assert(strstr(xf_error_message(), needle), "for %s: message '%s' lacks '%s'", json,
              xf_error_message(), needle);
}

Test(mlp, bad_config_json_names_the_field) {
    expect_bad("{\"family\":\"mlp\",", "not valid JSON");
    expect_bad("[1,2]", "object");
    expect_bad("{\"height\":3}", "'family'");
    expect_bad("{\"family\":\"vit9\",\"height\":3}", "'vit9'");
    const char *head = "{\"family\":\"mlp\",\"width\":2,\"channels\":2,\"n_classes\":4,";
    char buf[256];
    snprintf(buf, sizeof buf, "%s\"mlp\":{\"width\":5,\"depth\":3}}", head);
    expect_bad(buf, "missing field 'height'");
    snprintf(buf, sizeof buf, "%s\"height\":\"3\",\"mlp\":{\"width\":5,\"depth\":3}}", head);
    expect_bad(buf, "field 'height': expected an integer");
    snprintf(buf, sizeof buf, "%s\"height\":2.5,\"mlp\":{\"width\":5,\"depth\":3}}", head);
    expect_bad(buf, "field 'height': expected an integer");
    snprintf(buf, sizeof buf, "%s\"height\":3,\"mlp\":{\"width\":5}}", head);
    expect_bad(buf, "missing field 'mlp.depth'");
    snprintf(buf, sizeof buf, "%s\"height\":3,\"mlp\":{\"width\":0,\"depth\":3}}", head);
    expect_bad(buf, "'mlp.width' is 0");
    snprintf(buf, sizeof buf, "%s\"height\":3}", head);
    expect_bad(buf, "missing field 'mlp'");
    expect_bad("{\"family\":\"mlp\",\"height\":3,\"width\":2,\"channels\":2,\"n_classes\":1,"
               "\"mlp\":{\"width\":5,\"depth\":3}}",
               "'n_classes' is 1");
}

Test(mlp, init_rejects_bad_config_and_reserve_bad_batch) {
    xf_model_config cfg = small_config();
    cfg.mlp.depth = 0;
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "mlp.depth"), "%s", xf_error_message());
    cr_assert_null(m.params);
    cfg = small_config();
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    cr_assert_eq(xf_model_reserve(&m, 0), XF_EINVAL);
    cr_assert_eq(xf_model_reserve(&m, 4), XF_OK);
    cr_assert_eq(xf_model_reserve(&m, 2), XF_OK);
    cr_assert_eq(m.reserved_batch, 4);
    xf_model_free(&m);
    xf_model_free(&m); /* freeing twice is harmless: free zeroes the struct */
}
