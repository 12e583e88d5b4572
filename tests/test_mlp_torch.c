/* The mlp family against PyTorch: tests/fixtures/models/mlp.safetensors,
 * written by
 *   tools/torch_reference.py --family mlp --config '{"family":"mlp","height":5,
 *     "width":4,"channels":3,"n_classes":7,"mlp":{"width":24,"depth":2}}'
 *     --out tests/fixtures/models/mlp.safetensors
 * (tools/refmodels/mlp.py). A non-square 3-channel image checks that both
 * flatten H x W x C in the same order. */
#include "zoo_fixture.inc"

Test(mlp_torch, logits_gradients_and_adamw_steps_match_pytorch) {
    zoo_check_fixture("mlp.safetensors", 1e-4);
}
