#!/usr/bin/python3
"""Fixtures for importing timm checkpoints (tests/test_import.c).

Writes, into --out-dir (tests/fixtures/models/timm/):
  images.safetensors      images [B, 224, 224, 3] U8: the test pictures, smooth
                          random fields, seed --seed
  <case>.safetensors      a checkpoint: the state_dict of a reference model
                          (tools/refmodels, timm's names and layouts) with random
                          weights, in the case's dtype (F32, F16 or BF16), exactly
                          what timm's save_file(model.state_dict()) gives
  <case>.ref.safetensors  the answer: logits [B, K] (none without a head) and
                          taps.<name> [B, dim] for every tap xfer exposes, of the
                          images normalised as (v / 255 - 0.5) / 0.5, computed in
                          float64 from the checkpoint's weights as stored

The cases cover the variants timm checkpoints come in: a class token read by
the head, average pooling with fc_norm (timm's default for 'avg') and without,
qkv without bias, LayerScale, no head, a position embedding resampled to
another grid (checkpoint at 192 px, run at 224: timm's resample_abs_pos_embed
with F.interpolate(mode='bicubic', align_corners=False, antialias=False)),
and an MLP-Mixer. Widths are reduced (dim 64, patch 16) to keep each file
well under 1 MB.

Usage: tools/timm_reference.py [--out-dir tests/fixtures/models/timm]
"""

import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refmodels.mixer import MlpMixer  # noqa: E402
from refmodels.vit import VisionTransformer, resample_pos_embed  # noqa: E402

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.uint8: "U8"}

VIT = dict(channels=3, patch=16, dim=64, heads=4)
CASES = {
    # name: (constructor kwargs, checkpoint dtype, run at this size (None: as built))
    "vit_cls": (dict(VIT, height=224, width=224, classes=10, depth=2, mlp_ratio=2),
                torch.float32, None),
    "vit_avg_fcnorm": (dict(VIT, height=224, width=224, classes=10, depth=1, mlp_ratio=2,
                            global_pool="avg", fc_norm=True), torch.float16, None),
    "vit_avg": (dict(VIT, height=224, width=224, classes=10, depth=1, mlp_ratio=2,
                     class_token=False, global_pool="avg"), torch.bfloat16, None),
    "vit_noqkvbias": (dict(VIT, height=224, width=224, classes=10, depth=1, mlp_ratio=2,
                           qkv_bias=False), torch.float16, None),
    "vit_layerscale": (dict(VIT, height=224, width=224, classes=10, depth=1, mlp_ratio=2,
                            init_values=1e-1), torch.float16, None),
    "vit_headless": (dict(VIT, height=224, width=224, classes=0, depth=1, mlp_ratio=2),
                     torch.float16, None),
    "vit_resampled": (dict(VIT, height=192, width=192, classes=10, depth=1, mlp_ratio=2),
                      torch.float16, 224),
    "mixer": (None, torch.float32, None),
}
MIXER = dict(height=224, width=224, channels=3, classes=10, patch=16, dim=64, depth=2,
             token_dim=32, channel_dim=128)


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        data = raw.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def smooth_images(n, size, seed):
    """n pictures of smooth colour fields with some edges, uint8."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 7, 7, generator=g)
    img = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic",
                                          align_corners=False)
    img = img + 0.15 * torch.rand(n, 3, size, size, generator=g)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def randomise(model, seed):
    """Every parameter random: norms around 1/0, the rest N(0, 0.05), so no
    swapped or transposed tensor can pass."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight") or name.endswith("gamma"):
                p.copy_(1 + 0.1 * noise)
            else:
                p.copy_(0.05 * noise if p.dim() < 4 else noise / (p[0].numel() ** 0.5))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/fixtures/models/timm")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    images = smooth_images(args.images, 224, args.seed)
    write_safetensors(os.path.join(args.out_dir, "images.safetensors"), {"images": images})
    x = ((images.double() / 255 - 0.5) / 0.5).float().double().permute(0, 3, 1, 2)

    for k, (name, (kwargs, dtype, run_at)) in enumerate(CASES.items()):
        torch.manual_seed(args.seed + k)
        model = MlpMixer(**MIXER) if kwargs is None else VisionTransformer(**kwargs)
        randomise(model, args.seed + 100 + k)
        state = {n: t.to(dtype) for n, t in model.state_dict().items()}
        ckpt = os.path.join(args.out_dir, f"{name}.safetensors")
        write_safetensors(ckpt, state)
        # The answer from the weights as stored.
        model.load_state_dict({n: t.float() for n, t in state.items()})
        model = model.double().eval()
        if run_at is not None:
            old = kwargs["height"] // kwargs["patch"]
            new = run_at // kwargs["patch"]
            run = VisionTransformer(**dict(kwargs, height=run_at, width=run_at)).double().eval()
            sd = model.state_dict()
            sd["pos_embed"] = resample_pos_embed(sd["pos_embed"], model.prefix, (old, old),
                                                 (new, new))
            run.load_state_dict(sd)
            model = run
        with torch.no_grad():
            logits, taps = model.forward_taps(x)
        out = {f"taps.{t}": v.float() for t, v in taps.items()}
        if logits is not taps["prelogits"]:
            out["logits"] = logits.float()
        ref = os.path.join(args.out_dir, f"{name}.ref.safetensors")
        write_safetensors(ref, out, {"tap_order": ",".join(taps)})
        print(f"{name}: {os.path.getsize(ckpt)} + {os.path.getsize(ref)} bytes, "
              f"{len(taps)} taps, logits {'yes' if 'logits' in out else 'none (headless)'}")


if __name__ == "__main__":
    main()
