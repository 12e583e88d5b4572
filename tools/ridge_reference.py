#!/usr/bin/python3
"""NumPy reference of the few-shot ridge probe of shared/STUDY.md.

Given features, labels and the support indices, it fits the closed-form
ridge head exactly as the protocol says and prints the test predictions and
the accuracy, so xfer's C solver (src/probe/ridge.c) can be checked against
it. Run it with Debian's interpreter: /usr/bin/python3 (python3-numpy).

    ridge_reference.py FEATURES.txt CASE.txt        # text fixture, prints result
    ridge_reference.py --npy TRAIN.npy TRAIN_LABELS.npy TEST.npy TEST_LABELS.npy \
                       SUPPORT.npy [--lambda 1024]
    ridge_reference.py --make-fixture DIR           # writes tests/fixtures/probe

Text formats (whitespace separated):
  FEATURES: "n_train n_test dim n_classes", then n_train + n_test lines
            "label f_1 ... f_dim" (training rows first), values are float32.
  CASE:     "lambda L", "support i ...", and once made, "accuracy A" and
            "predictions p ..." (the expected output of the C solver).
"""
import argparse
import sys

import numpy as np

BIAS = 100.0


def ridge_probe(train, train_labels, support, test, n_classes, lam):
    """Predictions for `test` from the head fitted on train[support]."""
    x = train[support].astype(np.float64)
    mu = x.mean(axis=0)
    sigma = x.std(axis=0) + 1e-5  # population std, as the protocol says

    def design(rows):
        z = (rows.astype(np.float64) - mu) / sigma
        return np.hstack([z, np.full((z.shape[0], 1), BIAS)])

    xs = design(train[support])
    y = 2.0 * np.eye(n_classes)[train_labels[support]] - 1.0
    n, d = xs.shape
    if n >= d:
        w = np.linalg.solve(xs.T @ xs + lam * np.eye(d), xs.T @ y)
    else:
        w = xs.T @ np.linalg.solve(xs @ xs.T + lam * np.eye(n), y)
    scores = design(test) @ w
    return np.argmax(scores, axis=1), scores


def top2_margin(scores):
    s = np.sort(scores, axis=1)
    return float(np.min(s[:, -1] - s[:, -2]))


def read_features(path):
    with open(path) as f:
        n_train, n_test, dim, n_classes = (int(v) for v in f.readline().split())
        rows = np.loadtxt(f, dtype=np.float64, ndmin=2)
    if rows.shape != (n_train + n_test, dim + 1):
        sys.exit(f"{path}: expected {n_train + n_test} rows of {dim + 1} values, got {rows.shape}")
    labels = rows[:, 0].astype(np.int32)
    feats = rows[:, 1:].astype(np.float32)
    return (feats[:n_train], labels[:n_train], feats[n_train:], labels[n_train:], n_classes)


def read_case(path):
    case = {}
    with open(path) as f:
        for line in f:
            key, *vals = line.split()
            case[key] = vals
    return float(case["lambda"][0]), np.array([int(v) for v in case["support"]], dtype=np.int64)


def write_features(path, train, ytr, test, yte, n_classes):
    with open(path, "w") as f:
        f.write(f"{len(train)} {len(test)} {train.shape[1]} {n_classes}\n")
        for feats, labels in ((train, ytr), (test, yte)):
            for row, label in zip(feats, labels):
                # %.9g round-trips float32 exactly, so C and NumPy read equal values.
                f.write(f"{label} " + " ".join(f"{v:.9g}" for v in row) + "\n")


def make_fixture(out_dir):
    rng = np.random.default_rng(20211005)
    n_classes, dim, n_train, n_test = 3, 6, 40, 30
    centres = rng.normal(0.0, 1.0, (n_classes, dim))
    scales = rng.uniform(0.5, 3.0, dim)  # unequal feature scales: standardisation matters

    def sample(n):
        labels = np.arange(n) % n_classes
        rng.shuffle(labels)
        feats = (centres[labels] + rng.normal(0.0, 1.1, (n, dim))) * scales + 5.0
        return feats.astype(np.float32), labels.astype(np.int32)

    train, ytr = sample(n_train)  # classes of 14/13/13 rows
    test, yte = sample(n_test)
    write_features(f"{out_dir}/features.txt", train, ytr, test, yte, n_classes)
    # Shots per class. The bias only moves the argmax when the classes are
    # unbalanced (standardised features have zero support mean, so the bias
    # weight is then the same for every class), hence the unbalanced cases.
    cases = {
        "primal": (1024.0, (5, 5, 5)),       # 15 support rows >= 7 = dim + bias
        "dual": (1024.0, (2, 2, 2)),         # 6 support rows < 7
        "primal_lambda1": (1.0, (5, 5, 5)),  # a weak ridge: the solve must be accurate
        "dual_lambda1": (1.0, (2, 2, 2)),
        "primal_unbalanced": (16.0, (9, 2, 4)),
        "dual_unbalanced": (16.0, (3, 1, 2)),
    }
    for name, (lam, shots) in cases.items():
        support = np.concatenate(
            [rng.permutation(np.flatnonzero(ytr == c))[:k] for c, k in enumerate(shots)])
        pred, scores = ridge_probe(train, ytr, support, test, n_classes, lam)
        acc = float(np.sum(pred == yte)) / len(yte)
        with open(f"{out_dir}/case_{name}.txt", "w") as f:
            f.write(f"lambda {lam!r}\n")
            f.write("support " + " ".join(str(i) for i in support) + "\n")
            f.write(f"accuracy {acc!r}\n")
            f.write("predictions " + " ".join(str(p) for p in pred) + "\n")
        print(f"{name}: {len(support)} support rows, accuracy {acc:.4f}, "
              f"smallest top-2 score margin {top2_margin(scores):.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("--npy", action="store_true", help="inputs are five .npy files")
    ap.add_argument("--lambda", dest="lam", type=float, default=1024.0)
    ap.add_argument("--make-fixture", metavar="DIR")
    args = ap.parse_args()
    if args.make_fixture:
        make_fixture(args.make_fixture)
        return
    if args.npy:
        if len(args.inputs) != 5:
            ap.error("--npy takes TRAIN TRAIN_LABELS TEST TEST_LABELS SUPPORT")
        train, ytr, test, yte, support = (np.load(p) for p in args.inputs)
        n_classes = int(max(ytr.max(), yte.max())) + 1
        lam = args.lam
    else:
        if len(args.inputs) != 2:
            ap.error("expected FEATURES.txt CASE.txt")
        train, ytr, test, yte, n_classes = read_features(args.inputs[0])
        lam, support = read_case(args.inputs[1])
    pred, scores = ridge_probe(train, ytr, support, test, n_classes, lam)
    print(f"accuracy {float(np.sum(pred == yte)) / len(yte)!r}")
    print("predictions " + " ".join(str(p) for p in pred))
    print(f"smallest top-2 score margin {top2_margin(scores):.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
