#!/usr/bin/python3
"""PyTorch peer for bench/features.sh: feature extraction with the same model
as xfer (tools/refmodels/<family>.py, built from the same config JSON) with
random weights (the modules' own init), on random images, in eval mode under
torch.inference_mode(). Like xfer's probe, every block's output is pooled
(mean over tokens, or over positions for a ResNet) and copied out, as are the
pre-logits, through forward hooks. One batch warms up, then --batches
batches of --batch images are timed, each on its own.

Prints one line of key=value pairs: img_s (the median batch's, as
bench/features.c), mean_img_s (over all), seconds, images, peak_rss_mb
(getrusage's ru_maxrss, the whole process at exit) and blas_core (the
OpenBLAS kernel set it ran on). --threads N sets torch.set_num_threads(N);
OpenBLAS (the Linear layers' matrix products in Debian's build) takes its
threads from OPENBLAS_NUM_THREADS, which bench/features.sh sets.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

from blas_core import corename
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import refmodels  # noqa: E402


def tapped_modules(model):
    """The blocks whose outputs xfer taps: a ViT's or Mixer's blocks, a
    ResNet's stages' blocks."""
    if hasattr(model, "blocks"):
        return list(model.blocks)
    if hasattr(model, "stages"):
        return [b for s in model.stages for b in s.blocks]
    raise SystemExit(f"no tapped blocks known for {type(model).__name__}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="xfer model config JSON")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    config = json.loads(args.config)
    model = refmodels.build(config["family"], config).eval()

    taps = []

    def keep(_module, _inputs, out):
        taps.append((out.mean(dim=1) if out.dim() == 3 else out.mean(dim=(2, 3))).clone())

    for block in tapped_modules(model):
        block.register_forward_hook(keep)
    head = model.head.fc if hasattr(model.head, "fc") else model.head
    head.register_forward_hook(lambda _m, inputs, _out: taps.append(inputs[0].flatten(1).clone()))

    shape = (args.batch, config["channels"], config["height"], config["width"])
    images = [torch.rand(shape) * 2 - 1 for _ in range(args.batches + 1)]
    times = []
    with torch.inference_mode():
        model(images[0])
        taps.clear()
        for x in images[1:]:
            start = time.perf_counter()
            model(x)
            taps.clear()
            times.append(time.perf_counter() - start)
    n, seconds = args.batch * args.batches, sum(times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"img_s={args.batch / statistics.median(times):.2f} mean_img_s={n / seconds:.2f} "
          f"seconds={seconds:.2f} images={n} peak_rss_mb={peak_mb:.0f} blas_core={corename()}")


if __name__ == "__main__":
    main()
