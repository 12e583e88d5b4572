#!/usr/bin/python3
"""Checkpoints for the zoo study test (tests/test_zoo_study.c).

Writes, into --out-dir (tests/fixtures/zoo/), timm state_dicts in
safetensors (tools/refmodels: timm's names and layouts) with random weights,
small enough (32-48 px, widths 16-32) that the study probes each in a
fraction of a second:

  vit_cls32.safetensors    ViT, class token, patch 8, 32x32, dim 16, depth 1
  vit_cls48.safetensors    ViT, class token, patch 8, 48x48, dim 16, depth 2
  mixer32.safetensors      MLP-Mixer, patch 8, 32x32, dim 16, depth 2
  bit32.safetensors        BiT's ResNetV2 (bottleneck blocks, 7x7 stem and max pool,
                           GroupNorm + weight standardisation), 32x32, 4 stages of 1
                           block, base width 4

Each is exactly what timm's save_file(model.state_dict()) gives for such a
model; the study imports them with the architecture inferred from the
tensors. The values are random: the test checks the flow (import, probes
at every layer, records, resume, report), not accuracies.

Usage: tools/zoo_fixtures.py [--out-dir tests/fixtures/zoo] [--seed 0]
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refmodels  # noqa: E402
from refmodels.mixer import MlpMixer  # noqa: E402
from refmodels.vit import VisionTransformer  # noqa: E402
from timm_reference import randomise, write_safetensors  # noqa: E402

VIT = dict(channels=3, patch=8, heads=2, classes=10, mlp_ratio=2)
CASES = {
    "vit_cls32": lambda: VisionTransformer(**VIT, height=32, width=32, dim=16, depth=1),
    "vit_cls48": lambda: VisionTransformer(**VIT, height=48, width=48, dim=16, depth=2),
    "mixer32": lambda: MlpMixer(height=32, width=32, channels=3, classes=10, patch=8, dim=16,
                                depth=2, token_dim=8, channel_dim=32),
    "bit32": lambda: refmodels.build("resnet", {
        "family": "resnet", "height": 32, "width": 32, "channels": 3, "n_classes": 10,
        "resnet": {"blocks": [1, 1, 1, 1], "stages": 4, "base_width": 4, "norm": "group_ws",
                   "block": "bottleneck", "stem": "bit"}}),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/fixtures/zoo")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for k, (name, build) in enumerate(CASES.items()):
        torch.manual_seed(args.seed + k)
        model = build()
        randomise(model, args.seed + 100 + k)
        path = os.path.join(args.out_dir, f"{name}.safetensors")
        write_safetensors(path, model.state_dict())
        print(f"{name}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
