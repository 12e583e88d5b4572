#!/usr/bin/python3
"""NumPy reference of the few-shot ridge probe of docs/protocol.md.

Given features, labels and the support indices, it fits the closed-form
ridge head exactly as the protocol says and prints the test predictions and
the accuracy, so xfer's C solver (src/probe/ridge.c) can be checked against
it. Run it with Debian's interpreter: /usr/bin/python3 (python3-numpy).

    ridge_reference.py FEATURES.txt CASE.txt        # text fixture, prints result
    ridge_reference.py --npy TRAIN.npy TRAIN_LABELS.npy TEST.npy TEST_LABELS.npy \
                       SUPPORT.npy [--lambda 1024]
    ridge_reference.py --make-fixture DIR           # writes tests/fixtures/probe
    ridge_reference.py --make-fixture DIR --paths-only  # only the path_*.txt cases

It also holds the protocol's other pieces for bench/probe_numpy.py: the
support sets (fewshot_support: xoshiro256** as src/core/rng.c), several
lambdas (ridge_lambdas) and the closed-form leave-one-out choice
(loo_scores, loo_choose), each computed directly rather than as the C code
does, so the fixtures check the C algebra.

Text formats (whitespace separated):
  FEATURES: "n_train n_test dim n_classes", then n_train + n_test lines
            "label f_1 ... f_dim" (training rows first), values are float32.
  CASE:     "lambda L", "support i ...", and once made, "accuracy A" and
            "predictions p ..." (the expected output of the C solver).
  PATH:     path_{primal,dual,all}_{lambdas,loo}.txt: "loo 0|1",
            "lambdas L ..." (the grid with loo), "support i ...", with loo
            "chosen k" and "loo_errors e ..." (per grid value), then per head
            "accuracy A" and "predictions p ...".
"""
import argparse
import sys

import numpy as np

from xfer_rng import Xoshiro

BIAS = 100.0
LOO_GRID = [2.0 ** e for e in range(-4, 17)]  # XF_PROBE_LOO_MIN_LOG2 .. MAX_LOG2


def fewshot_support(labels, n_classes, shots, draw):
    """The support set of xf_fewshot_support: per draw, each class's
    indices (ascending) shuffled in class order; the first `shots` kept.
    shots None means every training image (--shots all)."""
    if shots is None:
        return np.arange(len(labels))
    rng = Xoshiro(draw)
    out = []
    for c in range(n_classes):
        members = [int(i) for i in np.flatnonzero(labels == c)]
        if len(members) < shots:
            sys.exit(f"class {c} has {len(members)} training images, fewer than {shots} shots")
        rng.shuffle(members)
        out.extend(members[:shots])
    return np.array(out, dtype=np.int64)


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


def standardised(train, support):
    """The support rows standardised with their own statistics plus the
    bias column, and the function that does the same to other rows."""
    x = train[support].astype(np.float64)
    mu = x.mean(axis=0)
    sigma = x.std(axis=0) + 1e-5

    def design(rows):
        z = (rows.astype(np.float64) - mu) / sigma
        return np.hstack([z, np.full((z.shape[0], 1), BIAS)])

    return design(train[support]), design


def ridge_lambdas(train, train_labels, support, test, n_classes, lambdas):
    """Predictions of one head per lambda, each solved on its own (the C
    code solves them all from one eigendecomposition instead)."""
    xs, design = standardised(train, support)
    y = 2.0 * np.eye(n_classes)[train_labels[support]] - 1.0
    n, d = xs.shape
    zt = design(test)
    preds = []
    for lam in lambdas:
        if n >= d:
            w = np.linalg.solve(xs.T @ xs + lam * np.eye(d), xs.T @ y)
        else:
            w = xs.T @ np.linalg.solve(xs @ xs.T + lam * np.eye(n), y)
        preds.append(np.argmax(zt @ w, axis=1))
    return preds


def loo_scores(train, train_labels, support, n_classes, grid):
    """(errors, press) of every grid lambda from the explicit hat matrix
    H = X (X^T X + lambda I)^-1 X^T: the LOO residual of row i is
    (y_i - yhat_i) / (1 - H_ii); an error is a row whose LOO scores
    y_i - residual have their argmax (first on ties) off its label."""
    xs, _ = standardised(train, support)
    labels = train_labels[support]
    y = 2.0 * np.eye(n_classes)[labels] - 1.0
    n, d = xs.shape
    out = []
    for lam in grid:
        h = xs @ np.linalg.solve(xs.T @ xs + lam * np.eye(d), xs.T)
        e = (y - h @ y) / (1.0 - np.diag(h))[:, None]
        errors = int(np.sum(np.argmax(y - e, axis=1) != labels))
        out.append((errors, float(np.sum(e * e))))
    return out


def loo_choose(scores):
    """The grid index with the fewest LOO errors, then the smallest PRESS,
    then the first."""
    return min(range(len(scores)), key=lambda i: (scores[i][0], scores[i][1], i))


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


def make_path_fixtures(out_dir):
    """Cases for --shots all, several lambdas and --lambda loo on the same
    features (a separate rng, so the older cases stay as they were)."""
    train, ytr, test, yte, n_classes = read_features(f"{out_dir}/features.txt")
    rng = np.random.default_rng(5)
    lambdas = [1024.0, 64.0, 4.0, 0.25]
    per_class = {"primal": (5, 5, 5), "dual": (2, 2, 2), "all": None}
    for form, shots in per_class.items():
        if shots is None:
            support = np.arange(len(train))
        else:
            support = np.concatenate(
                [rng.permutation(np.flatnonzero(ytr == c))[:k] for c, k in enumerate(shots)])
        for mode in ("lambdas", "loo"):
            if mode == "loo":
                scores = loo_scores(train, ytr, support, n_classes, LOO_GRID)
                chosen = loo_choose(scores)
                heads = [LOO_GRID[chosen]]
            else:
                heads = lambdas
            preds = ridge_lambdas(train, ytr, support, test, n_classes, heads)
            with open(f"{out_dir}/path_{form}_{mode}.txt", "w") as f:
                f.write(f"loo {int(mode == 'loo')}\n")
                grid = LOO_GRID if mode == "loo" else lambdas
                f.write("lambdas " + " ".join(repr(v) for v in grid) + "\n")
                f.write("support " + " ".join(str(i) for i in support) + "\n")
                if mode == "loo":
                    f.write(f"chosen {chosen}\n")
                    f.write("loo_errors " + " ".join(str(e) for e, _ in scores) + "\n")
                for h, pred in enumerate(preds):
                    acc = float(np.sum(pred == yte)) / len(yte)
                    f.write(f"accuracy {acc!r}\n")
                    f.write("predictions " + " ".join(str(p) for p in pred) + "\n")
            print(f"path_{form}_{mode}: {len(support)} support rows"
                  + (f", loo chose lambda {heads[0]}" if mode == "loo" else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("--npy", action="store_true", help="inputs are five .npy files")
    ap.add_argument("--lambda", dest="lam", type=float, default=1024.0)
    ap.add_argument("--make-fixture", metavar="DIR")
    ap.add_argument("--paths-only", action="store_true",
                    help="with --make-fixture: only the --shots all / lambdas / loo cases")
    args = ap.parse_args()
    if args.make_fixture:
        if not args.paths_only:
            make_fixture(args.make_fixture)
        make_path_fixtures(args.make_fixture)
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
