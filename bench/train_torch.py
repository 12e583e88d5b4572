#!/usr/bin/python3
"""PyTorch peer for bench/train.sh: trains the same model as `xfer pretrain`
(tools/refmodels/<family>.py, the same config JSON) with the same recipe
(AdamW lr 1e-3, wd 1e-4, linear warmup over 5% of the steps then cosine,
batch 128, last partial batch dropped) on Fashion-MNIST scaled to [-1, 1],
then extracts features (forward passes in eval mode, batch 128) over the
test set (or its first --eval-images). Prints one line of key=value pairs:
train_img_s, infer_img_s, acc (test accuracy, %), steps, peak_rss_mb, loss
(last step), mean_loss, blas_core (the OpenBLAS kernel set it ran on).

To compare the training itself, start from xfer's weights (--init-from an
xfer checkpoint) and replay xfer's subset and data order (--order xfer,
with --seed = xfer's --data-seed): then both sides see the same numbers
and end at the same accuracy up to float rounding. --init xfer draws
xfer's init distributions from torch's generator instead.

bench/train.sh runs it with the thread and kernel environment it chooses
for the machine; --threads N sets torch.set_num_threads(N) (ATen's OpenMP
threads: its own kernels and oneDNN's convolutions), while OpenBLAS, which
runs the Linear layers' matrix products, takes its threads from
OPENBLAS_NUM_THREADS.
"""
import argparse
import gzip
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch

from blas_core import corename
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import refmodels  # noqa: E402
from xfer_rng import Xoshiro as XferRng  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(root, split):
    x = read_idx(f"{root}/{split}-images-idx3-ubyte.gz").astype(np.float32)
    y = read_idx(f"{root}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
    # NCHW with one channel, xfer's pixel scale v / 255 * 2 - 1.
    x = torch.from_numpy(x * (2 / 255) - 1).unsqueeze(1).contiguous()
    return x, torch.from_numpy(y)


def subset(x, y, fraction, gen):
    """The same fraction of every class (at least one), like xfer's
    --data-fraction (not the same images: only the count matters here)."""
    if fraction >= 1:
        return x, y
    keep = []
    for c in range(int(y.max()) + 1):
        idx = (y == c).nonzero().flatten()
        n = max(1, int(round(fraction * len(idx))))
        keep.append(idx[torch.randperm(len(idx), generator=gen)[:n]])
    keep = torch.cat(keep)
    return x[keep], y[keep]


XFER_ORDER_STREAM = 0x6F72646572


def xfer_subset(y, fraction, seed):
    """The indices xf_dataset_subset keeps, in their original order."""
    if fraction >= 1:
        return list(range(len(y)))
    rng, keep, labels = XferRng(seed), [], y.tolist()
    for c in range(max(labels) + 1):
        members = [i for i, v in enumerate(labels) if v == c]
        if not members:
            continue
        take = min(len(members), max(1, math.floor(fraction * len(members) + 0.5)))
        rng.shuffle(members)
        keep += members[:take]
    return sorted(keep)


def read_safetensors(path):
    """name -> tensor from an xfer checkpoint (float32 only)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{path}: {name} is {t['dtype']}"
        a, b = t["data_offsets"]
        values = np.frombuffer(data[a:b], dtype=np.float32).copy()
        out[name] = torch.from_numpy(values).reshape(t["shape"])
    return out


def trunc_normal(t, std):
    """Normal(0, std) cut at 2 std, as xfer (and Flax) draw it."""
    with torch.no_grad():
        t.normal_()
        while True:
            bad = t.abs() > 2
            if not bad.any():
                break
            t[bad] = torch.randn(int(bad.sum()))
        t.mul_(std)


def xfer_init(model, family):
    """xfer's own init for the family (src/models/<family>.c), drawn from
    torch's generator: the same distributions, not the same numbers."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.fill_(1.0 if name.endswith(".weight") else 0.0)
            elif family == "vit":
                if name.startswith("patch_embed."):  # PyTorch's Conv2d default
                    p.uniform_(-1, 1).mul_(1 / math.sqrt(model.patch_embed.proj.weight[0].numel()))
                elif name in ("pos_embed",) or name.endswith(".weight"):
                    trunc_normal(p, 0.02)
                elif name == "cls_token":
                    p.normal_().mul_(1e-6)
                else:
                    p.zero_()
            elif family == "mixer":
                if name == "stem.proj.weight":
                    trunc_normal(p, 1 / math.sqrt(p[0].numel()))
                elif name.endswith(".weight"):
                    torch.nn.init.xavier_uniform_(p)
                elif "mlp_" in name:
                    p.normal_().mul_(1e-6)
                else:
                    p.zero_()
            else:
                raise SystemExit(f"--init xfer: no xfer init written for family '{family}'")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--config", required=True, help="xfer model config JSON")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-fraction", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--init", choices=["torch", "xfer"], default="torch",
                    help="PyTorch's module defaults or xfer's init for the family")
    ap.add_argument("--init-from", help="start from these weights (an xfer checkpoint)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--order", choices=["torch", "xfer"], default="torch",
                    help="torch's own subset and order, or replay xfer's (data seed = --seed)")
    ap.add_argument("--eval-images", type=int, default=0,
                    help="extract features of the first N test images only (0: all)")
    ap.add_argument("--log-every", type=int, default=0, help="print the loss every N steps")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    config = json.loads(args.config)
    if args.order == "xfer":
        xtr, ytr = load(args.data, "train")
        keep = torch.tensor(xfer_subset(ytr, args.data_fraction, args.seed))
        xtr, ytr = xtr[keep], ytr[keep]
    else:
        xtr, ytr = subset(*load(args.data, "train"), args.data_fraction, gen)
    xte, yte = load(args.data, "t10k")
    if args.eval_images:
        xte, yte = xte[:args.eval_images], yte[:args.eval_images]
    model = refmodels.build(config["family"], config)
    if args.init == "xfer":
        xfer_init(model, config["family"])
    if args.init_from:
        model.load_state_dict(read_safetensors(args.init_from), strict=True)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    steps = len(xtr) // args.batch
    warmup = round(args.warmup * steps)

    def factor(step):  # xfer's xf_schedule_factor
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    loss_fn = torch.nn.CrossEntropyLoss()
    if args.order == "xfer":
        order = list(range(len(xtr)))
        XferRng(args.seed ^ XFER_ORDER_STREAM).shuffle(order)
        perm = torch.tensor(order)
    else:
        perm = torch.randperm(len(xtr), generator=gen)
    losses = []
    start = time.perf_counter()
    for b in range(steps):
        idx = perm[b * args.batch:(b + 1) * args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        losses.append(loss.item())
        if args.log_every and b % args.log_every == 0:
            print(f"step={b} loss={loss.item():.4f}", file=sys.stderr)
        opt.step()
        sched.step()
    train_s = time.perf_counter() - start

    model.eval()
    correct = 0
    start = time.perf_counter()
    with torch.no_grad():
        for b in range(0, len(xte), args.batch):
            logits = model(xte[b:b + args.batch])
            correct += int((logits.argmax(1) == yte[b:b + args.batch]).sum())
    infer_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"train_img_s={steps * args.batch / train_s:.1f} infer_img_s={len(xte) / infer_s:.1f} "
          f"acc={100 * correct / len(xte):.2f} steps={steps} peak_rss_mb={peak_mb:.0f} "
          f"loss={loss.item():.4f} mean_loss={sum(losses) / len(losses):.4f} blas_core={corename()}")


if __name__ == "__main__":
    main()
