#!/usr/bin/python3
"""The NumPy side of bench/probe.sh.

    probe_numpy.py make DIR [--dims 64,256,512] [--n-train 10000] [--n-test 10000]
    probe_numpy.py run DIR [--shots 1,5,10,25] [--draws 3] [--lambda 1024] [--threads 2]

`make` writes synthetic-but-realistic features of one model (one pair of
.npy files per tap, float32, as `xfer probe --features` reads them): per
tap, class centres in a low-rank subspace, non-negative (post-activation)
values with unequal feature scales and an offset, deeper taps more
separable. `run` does the same probes as `xfer probe --features` with
tools/ridge_reference.py's ridge_probe (double precision, one probe at a
time, as a NumPy user would) on the same support sets, and prints one JSON
document: the accuracies and the seconds spent probing (loading excluded).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import ridge_reference as ref  # noqa: E402


def make(args):
    rng = np.random.default_rng(20211005)
    dims = [int(v) for v in args.dims.split(",")]
    c = args.classes
    ytr = (np.arange(args.n_train) % c).astype(np.int64)
    yte = (np.arange(args.n_test) % c).astype(np.int64)
    rng.shuffle(ytr)
    rng.shuffle(yte)
    np.save(f"{args.dir}/train_labels.npy", ytr)
    np.save(f"{args.dir}/test_labels.npy", yte)
    for t, d in enumerate(dims):
        rank = min(d, 32)
        basis = rng.normal(0, 1, (rank, d)) / np.sqrt(rank)
        centres = rng.normal(0, 1, (c, rank)) @ basis * (0.3 + 0.1 * t)
        scales = rng.lognormal(0, 0.7, d)
        for name, y in (("train", ytr), ("test", yte)):
            x = centres[y] + rng.normal(0, 1, (len(y), d)) + 0.3 * rng.normal(0, 1, (len(y), 1))
            x = np.maximum(x + 0.5, 0) * scales  # ReLU-like, unequal scales
            np.save(f"{args.dir}/tap{t}_d{d}_{name}.npy", x.astype(np.float32))
    print(",".join(f"tap{t}_d{d}" for t, d in enumerate(dims)))


def run(args):
    taps = args.taps.split(",")
    ytr = np.load(f"{args.dir}/train_labels.npy")
    yte = np.load(f"{args.dir}/test_labels.npy")
    c = int(max(ytr.max(), yte.max())) + 1
    shots = [None if s == "all" else int(s) for s in args.shots.split(",")]
    sets = {(k, d): ref.fewshot_support(ytr, c, k, d)
            for k in shots for d in range(1 if k is None else args.draws)}
    results, seconds = [], 0.0
    for t, tap in enumerate(taps):
        xtr = np.load(f"{args.dir}/{tap}_train.npy")
        xte = np.load(f"{args.dir}/{tap}_test.npy")
        best = float("inf")
        for _ in range(args.repeat):  # the fastest of a few: the machine is shared
            start = time.perf_counter()
            rows = []
            for k in shots:
                accs = []
                for d in range(1 if k is None else args.draws):
                    pred, _ = ref.ridge_probe(xtr, ytr, sets[(k, d)], xte, c, args.lam)
                    accs.append(float(np.sum(pred == yte)) / len(yte))
                rows.append({"layer": tap, "shots": "all" if k is None else k, "accuracies": accs})
            best = min(best, time.perf_counter() - start)
        results.extend(rows)
        seconds += best
    print(json.dumps({"seconds": seconds, "results": results}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--dims", default="64,256,512")
    m.add_argument("--n-train", type=int, default=10000)
    m.add_argument("--n-test", type=int, default=10000)
    m.add_argument("--classes", type=int, default=10)
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--taps", required=True)
    r.add_argument("--shots", default="1,5,10,25")
    r.add_argument("--draws", type=int, default=3)
    r.add_argument("--lambda", dest="lam", type=float, default=1024.0)
    r.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    make(args) if args.cmd == "make" else run(args)


if __name__ == "__main__":
    main()
