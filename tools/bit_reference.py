#!/usr/bin/python3
"""BiT forward reference (tests/fixtures/models/bit_224.safetensors): a
ResNetV2-BiT (bottleneck blocks, the 'fixed' 7x7 stem with zero pad and
max pool, GroupNorm + weight standardisation) at 224 x 224, reduced in width
so the fixture stays small, from tools/refmodels/resnet.py (timm's structure
and state_dict names).

Weights: PyTorch's defaults from --seed, then N(0, 0.1) added to every
parameter whose entries are all equal (norm weights and biases) so a
swapped one cannot pass, rounded to float32. Images: uint8, as xfer holds
them; the model's input is v / 255 * 2 - 1 (BiT's mean 0.5, std 0.5),
computed in float32. The forward runs in float64.

Records: param.<name> F32 (timm's names and layouts), images [B,H,W,C] U8,
logits [B, classes] F32, tap.<i> [B, width] F32 for xfer's taps in order
(every block's output averaged over space, then the pre-logits: the final
norm + ReLU, averaged); __metadata__.xfer_config holds the config JSON.

With --weights-out the parameters are also written there under timm's
names alone (no "param." prefix, no config): the file a timm ResNetV2's
state_dict would be, which xfer's from_timm reads. --blocks, --base-width and
--classes change the model (tools/check_bit_full.sh: BiT-R50x1).

Usage: tools/bit_reference.py --out tests/fixtures/models/bit_224.safetensors
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refmodels  # noqa: E402
from torch_reference import write_safetensors  # noqa: E402

CONFIG = {"family": "resnet", "height": 224, "width": 224, "channels": 3, "n_classes": 10,
          "resnet": {"blocks": [1, 1, 1, 1], "stages": 4, "base_width": 4, "norm": "group_ws",
                     "block": "bottleneck", "stem": "bit"}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blocks", help="blocks per stage, e.g. 3,4,6,3")
    ap.add_argument("--base-width", type=int)
    ap.add_argument("--classes", type=int)
    ap.add_argument("--weights-out")
    args = ap.parse_args()

    config = json.loads(json.dumps(CONFIG))
    if args.blocks:
        config["resnet"]["blocks"] = [int(v) for v in args.blocks.split(",")]
        config["resnet"]["stages"] = len(config["resnet"]["blocks"])
    if args.base_width:
        config["resnet"]["base_width"] = args.base_width
    if args.classes:
        config["n_classes"] = args.classes
    torch.manual_seed(args.seed)
    model = refmodels.build("resnet", config)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and bool((p == p.flatten()[0]).all()):
                p.add_(torch.randn_like(p) * 0.1)
            p.copy_(p.float())
    params = {n: p.detach().float().clone() for n, p in model.named_parameters()}
    model = model.double().eval()

    b, h, w, c = args.batch, config["height"], config["width"], config["channels"]
    images = torch.randint(0, 256, (b, h, w, c), dtype=torch.uint8)
    x = images.float() / 255 * 2 - 1
    with torch.no_grad():
        logits, taps = model.forward_taps(x.double().permute(0, 3, 1, 2))

    out = {f"param.{n}": t for n, t in params.items()}
    out["images"] = images
    out["logits"] = logits.float()
    out.update({f"tap.{i}": t.float() for i, t in enumerate(taps)})
    write_safetensors(args.out, out, {"xfer_config": json.dumps(config, separators=(",", ":"))})
    print(f"{args.out}: {sum(t.numel() for t in params.values())} parameters in "
          f"{len(params)} tensors, {len(taps)} taps, logits[0] {logits[0, :3].tolist()}, "
          f"{os.path.getsize(args.out)} bytes")
    if args.weights_out:
        write_safetensors(args.weights_out, params, {})
        print(f"{args.weights_out}: timm's names, {os.path.getsize(args.weights_out)} bytes")


if __name__ == "__main__":
    main()
