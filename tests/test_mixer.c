/* The mixer family: whole-model gradients against central differences in
 * double, the float model against the double one, parameter count and FLOPs
 * against hand formulas, taps (also through the probe's extraction), config
 * checks, and the PyTorch fixture made by tools/torch_reference.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model.h"
#include "support.h"
#include "zoo_fixture.inc"

static xf_model_config small_config(void) {
    return (xf_model_config){.family = XF_FAMILY_MIXER, .height = 4, .width = 6, .channels = 2,
                             .n_classes = 3,
                             .mixer = {.patch = 2, .dim = 5, .depth = 2, .token_mlp_dim = 4,
                                       .channel_mlp_dim = 7}};
}

enum { BATCH = 2 };

/* The token MLP's output bias shifts every channel of a token alike, which
 * the next LayerNorm (norm2, the next block's norm1, the final norm)
 * removes: its gradient is exactly 0. */
Test(mixer, gradients_match_central_differences_in_double) {
    xf_model_config cfg = small_config();
    test_grad_case c;
    test_grad_case_init(&c, &cfg, BATCH, 31);
    test_check_gradients(&c, 1e-5, 1e-6, "mlp_tokens.fc2.bias");
    test_grad_case_free(&c);
}

Test(mixer, float_model_matches_double_instance) {
    xf_model_config cfg = small_config();
    test_grad_case c;
    test_grad_case_init(&c, &cfg, BATCH, 31);
    test_float_gap gap = test_float_against_double(&c, 4);
    cr_assert_float_eq(gap.loss, gap.loss_f64, 1e-5);
    cr_assert_lt(gap.worst / gap.scale, 1e-5, "float grads off by %g of %g", gap.worst,
                 gap.scale);
    test_grad_case_free(&c);
}

/* P = C p^2 D + D + depth (2D + TM N + TM + N TM + N + 2D + CM D + CM + D CM + D) + 2D + K D + K;
 * FLOPs = 2 N C p^2 D + depth (4 D N TM + 4 N D CM) + 2 D K. */
Test(mixer, parameter_count_and_flops_match_hand_formulas) {
    xf_model_config cfg = {.family = XF_FAMILY_MIXER, .height = 28, .width = 28, .channels = 1,
                           .n_classes = 10,
                           .mixer = {.patch = 4, .dim = 64, .depth = 3, .token_mlp_dim = 32,
                                     .channel_mlp_dim = 256}};
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
    double C = 1, p = 4, D = 64, N = 49, TM = 32, CM = 256, K = 10, depth = 3;
    double params = C * p * p * D + D +
                    depth * (2 * D + TM * N + TM + N * TM + N + 2 * D + CM * D + CM + D * CM + D) +
                    2 * D + K * D + K;
    cr_assert_eq((double)m.n_params, params);
    double flops = 2 * N * C * p * p * D + depth * (4 * D * N * TM + 4 * N * D * CM) + 2 * D * K;
    cr_assert_float_eq(m.flops_per_image, flops, 1e-9 * flops);
    cr_assert_eq(xf_model_find_tensor(&m, "blocks.1.mlp_tokens.fc1.weight")->shape[1], 49);
    cr_assert_eq(xf_model_find_tensor(&m, "head.bias")->group, XF_GROUP_HEAD);
    cr_assert_eq(xf_model_find_tensor(&m, "stem.proj.weight")->group, XF_GROUP_BODY);
    xf_model_free(&m);
}

Test(mixer, config_errors_and_json_round_trip) {
    xf_model m;
    xf_model_config cfg = small_config(), back;
    cfg.width = 7;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "mixer.patch 2 does not divide the 4 x 7"), "%s",
              xf_error_message());
    cfg = small_config();
    char *json = xf_model_config_to_json(&cfg);
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.family, XF_FAMILY_MIXER);
    cr_assert_eq(back.mixer.token_mlp_dim, 4);
    cr_assert_eq(back.mixer.channel_mlp_dim, 7);
    free(json);
    cr_assert_eq(xf_model_config_from_json(
                     "{\"family\":\"mixer\",\"height\":4,\"width\":6,\"channels\":2,"
                     "\"n_classes\":3,\"mixer\":{\"patch\":2,\"dim\":5,\"depth\":2,"
                     "\"token_mlp_dim\":4}}",
                     &back),
                 XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "mixer.channel_mlp_dim"), "%s", xf_error_message());
}

Test(mixer, taps_feed_the_head_and_the_probe) {
    xf_model_config cfg = small_config();
    xf_model m;
    test_check_block_taps(&m, &cfg, 9, 3, 53);
    xf_model_free(&m);
}

Test(mixer, matches_pytorch) { zoo_check_fixture("mixer.safetensors", 1e-4); }
