#!/usr/bin/python3
"""PyTorch peer for bench/train.sh: trains the same model as `xfer pretrain`
(tools/refmodels/<family>.py, the same config JSON) with the same recipe
(AdamW lr 1e-3, wd 1e-4, linear warmup over 5% of the steps then cosine,
batch 128, last partial batch dropped) on Fashion-MNIST scaled to [-1, 1],
then extracts features (forward passes in eval mode, batch 128) over the
test set. Prints one line of key=value pairs: train_img_s, infer_img_s,
acc (test accuracy, %), steps, peak_rss_mb.

Run it in PyTorch's fastest setup here (see DESIGN.md):
OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx512,
--threads N for torch.set_num_threads(N).
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import refmodels  # noqa: E402


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--config", required=True, help="xfer model config JSON")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-fraction", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=0.05)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    config = json.loads(args.config)
    xtr, ytr = subset(*load(args.data, "train"), args.data_fraction, gen)
    xte, yte = load(args.data, "t10k")
    model = refmodels.build(config["family"], config)
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
    perm = torch.randperm(len(xtr), generator=gen)
    start = time.perf_counter()
    for b in range(steps):
        idx = perm[b * args.batch:(b + 1) * args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
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
          f"loss={loss.item():.4f}")


if __name__ == "__main__":
    main()
