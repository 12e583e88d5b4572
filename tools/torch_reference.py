#!/usr/bin/python3
"""PyTorch reference dump for one xfer model family (tests/fixtures/models/).

Builds the family's reference model (tools/refmodels/<family>.py, timm's
state_dict names), initialises it from --seed (PyTorch's defaults, then every
parameter whose entries are all equal, such as norm weights and biases, gets
N(0, 0.1) noise added so a swapped or transposed one cannot pass), draws a
batch of NHWC images in [-1, 1] and labels, and records in one safetensors
file: param.<name>, input [B,H,W,C] F32, labels [B] I32, logits, the mean
cross-entropy loss [1], grad.<name>, and loss_after_5 [1], the loss after 5
AdamW steps (lr 1e-3, wd 1e-4, betas 0.9/0.999, eps 1e-8) on the same batch.
__metadata__.xfer_config holds the config JSON.

Parameters and input are rounded to float32 first; everything is then
computed in float64 and stored as F32, so the fixture is the exact answer for
the float32 weights xfer loads.

Usage: tools/torch_reference.py --family vit --config '<json>' --out F.safetensors
"""

import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refmodels  # noqa: E402


def write_safetensors(path, tensors, metadata):
    """tensors: name -> torch tensor (float32, int32 or uint8), in writing order."""
    dtypes = {torch.float32: "F32", torch.int32: "I32", torch.uint8: "U8"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keeps every tensor 8-byte aligned
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", required=True)
    ap.add_argument("--config", required=True, help="xfer model config JSON")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    config = json.loads(args.config)
    if config.get("family") != args.family:
        raise SystemExit(f"--config family {config.get('family')!r} is not --family {args.family!r}")
    torch.manual_seed(args.seed)
    model = refmodels.build(args.family, config)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and bool((p == p.flatten()[0]).all()):
                p.add_(torch.randn_like(p) * 0.1)
            p.copy_(p.float())
    model = model.double()
    model.train()

    b, h, w, c = args.batch, config["height"], config["width"], config["channels"]
    x = (torch.rand(b, h, w, c) * 2 - 1).float()
    labels = torch.randint(0, config["n_classes"], (b,), dtype=torch.int32)
    params = {n: p.detach().float().clone() for n, p in model.named_parameters()}

    def loss_of():
        logits = model(x.double().permute(0, 3, 1, 2))
        return logits, torch.nn.functional.cross_entropy(logits, labels.long())

    logits, loss = loss_of()
    # Buffers (BatchNorm's running statistics) after that one training-mode
    # forward, as state.<name> F32 (num_batches_tracked too).
    states = {n: b.detach().float().clone() for n, b in model.named_buffers()}
    model.zero_grad()
    loss.backward()
    grads = {n: p.grad.detach().float().clone() for n, p in model.named_parameters()}

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=1e-4)
    for _ in range(5):
        opt.zero_grad()
        _, step_loss = loss_of()
        step_loss.backward()
        opt.step()
    with torch.no_grad():
        _, after = loss_of()

    out = {f"param.{n}": t for n, t in params.items()}
    out.update({"input": x, "labels": labels, "logits": logits.detach().float(),
                "loss": loss.detach().float().reshape(1)})
    out.update({f"grad.{n}": t for n, t in grads.items()})
    out.update({f"state.{n}": t for n, t in states.items()})
    out["loss_after_5"] = after.float().reshape(1)
    write_safetensors(args.out, out, {"xfer_config": json.dumps(config, separators=(",", ":"))})
    print(f"{args.out}: loss {loss.item():.6f}, after 5 AdamW steps {after.item():.6f}, "
          f"{os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
