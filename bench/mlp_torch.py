#!/usr/bin/python3
"""PyTorch peer for bench/run.sh: trains the same MLP as `xfer pretrain`
(flatten -> depth x [Linear(width) + GELU] -> Linear(10), AdamW, batch 128)
on Fashion-MNIST for one epoch and prints images/s and test accuracy.

Run in its fastest setup here (see DESIGN.md): OPENBLAS_CORETYPE=SkylakeX
OPENBLAS_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx512, torch.set_num_threads(N).
"""
import argparse
import gzip
import time

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def load(split):
        x = read_idx(f"{args.data}/{split}-images-idx3-ubyte.gz").astype(np.float32)
        y = read_idx(f"{args.data}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
        return torch.from_numpy(x.reshape(len(x), -1) * (2 / 255) - 1), torch.from_numpy(y)

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    layers, d = [], xtr.shape[1]
    for _ in range(args.depth):
        layers += [torch.nn.Linear(d, args.width), torch.nn.GELU()]
        d = args.width
    model = torch.nn.Sequential(*layers, torch.nn.Linear(d, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(xtr))
    n_batches = len(xtr) // args.batch
    start = time.perf_counter()
    for b in range(n_batches):
        idx = perm[b * args.batch:(b + 1) * args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - start
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"torch mlp: {n_batches * args.batch / train_s:.0f} img/s train, "
          f"test acc {100 * acc:.2f}%")


if __name__ == "__main__":
    main()
