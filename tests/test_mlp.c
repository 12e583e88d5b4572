/* The mlp family and the generic model interface: gradients of the whole
 * model against central differences in double, the float model against the
 * double one, taps, sizes, and the config's JSON form. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/mlp.h"
#include "models/model.h"
#include "nn/loss.h"

static xf_model_config small_config(void) {
    return (xf_model_config){.family = XF_FAMILY_MLP,
                             .height = 3,
                             .width = 2,
                             .channels = 2,
                             .n_classes = 4,
                             .mlp = {.width = 5, .depth = 3}};
}

enum { BATCH = 4, D_IN = 12 };

typedef struct {
    xf_model m;
    double x[BATCH * D_IN];
    int32_t labels[BATCH];
    double *params; /* m's float parameters, widened */
} grad_case;

static void grad_case_init(grad_case *c) {
    xf_model_config cfg = small_config();
    cr_assert_eq(xf_model_init(&c->m, &cfg), XF_OK, "%s", xf_error_message());
    xf_model_init_weights(&c->m, 11);
    xf_rng rng;
    xf_rng_seed(&rng, 12);
    for (int i = 0; i < BATCH * D_IN; i++) c->x[i] = 2 * xf_rng_uniform(&rng) - 1;
    for (int i = 0; i < BATCH; i++) c->labels[i] = (int32_t)xf_rng_below(&rng, 4);
    c->params = malloc(sizeof(double) * c->m.n_params);
    /* Doubled weights spread the pre-activations over more of GELU's
     * curve than PyTorch's small init does. */
    for (size_t i = 0; i < c->m.n_params; i++) c->params[i] = 2 * c->m.params[i];
}

static void grad_case_free(grad_case *c) {
    free(c->params);
    xf_model_free(&c->m);
}

static double loss_at(grad_case *c) {
    double loss;
    cr_assert_eq(xf_mlp_loss_f64(&c->m, c->params, c->x, c->labels, BATCH, &loss, NULL), XF_OK);
    return loss;
}

Test(mlp, gradients_match_central_differences_in_double) {
    grad_case c;
    grad_case_init(&c);
    double *grads = calloc(c.m.n_params, sizeof(double));
    double loss;
    cr_assert_eq(xf_mlp_loss_f64(&c.m, c.params, c.x, c.labels, BATCH, &loss, grads), XF_OK);
    cr_assert_float_eq(loss, loss_at(&c), 1e-15);
    const double h = 1e-6;
    for (int t = 0; t < c.m.n_tensors; t++) {
        const xf_tensor_info *ti = &c.m.tensors[t];
        double worst = 0, scale = 0;
        for (size_t j = 0; j < ti->numel; j++) {
            double *p = &c.params[ti->offset + j], keep = *p;
            *p = keep + h;
            double up = loss_at(&c);
            *p = keep - h;
            double down = loss_at(&c);
            *p = keep;
            double numeric = (up - down) / (2 * h);
            worst = fmax(worst, fabs(numeric - grads[ti->offset + j]));
            scale = fmax(scale, fabs(numeric));
        }
        cr_assert_gt(scale, 1e-4, "%s: gradient is all ~0, the check would prove nothing",
                     ti->name);
        cr_assert_lt(worst / scale, 1e-7, "%s: max error %g against max gradient %g", ti->name,
                     worst, scale);
    }
    free(grads);
    grad_case_free(&c);
}

Test(mlp, float_model_matches_double_instance) {
    grad_case c;
    grad_case_init(&c);
    xf_model *m = &c.m;
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = (float)c.params[i];
    double *grads = calloc(m->n_params, sizeof(double));
    double loss;
    cr_assert_eq(xf_mlp_loss_f64(m, c.params, c.x, c.labels, BATCH, &loss, grads), XF_OK);

    float x[BATCH * D_IN], logits[BATCH * 4], dlogits[BATCH * 4];
    for (int i = 0; i < BATCH * D_IN; i++) x[i] = (float)c.x[i];
    cr_assert_eq(xf_model_reserve(m, BATCH), XF_OK);
    xf_model_forward(m, x, BATCH, logits);
    double floss = xf_softmax_xent(logits, c.labels, BATCH, 4, dlogits);
    cr_assert_float_eq(floss, loss, 1e-5);
    /* Backward accumulates: a non-zero start must be kept. */
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] = 1;
    xf_model_backward(m, dlogits, BATCH);
    for (size_t i = 0; i < m->n_params; i++)
        cr_assert_float_eq(m->grads[i] - 1, grads[i], 1e-5, "parameter %zu", i);
    xf_model_zero_grad(m);
    for (size_t i = 0; i < m->n_params; i++) cr_assert_eq(m->grads[i], 0);
    free(grads);
    grad_case_free(&c);
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
    const xf_tensor_info *w = xf_model_find_tensor(&m, "head.weight");
    const xf_tensor_info *b = xf_model_find_tensor(&m, "head.bias");
    cr_assert(w && b);
    const float *pre = xf_model_tap(&m, 2);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++) {
            double s = m.params[b->offset + k];
            for (int j = 0; j < 5; j++)
                s += (double)m.params[w->offset + k * 5 + j] * pre[i * 5 + j];
            cr_assert_float_eq(logits[i * 4 + k], s, 1e-5);
        }
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
