#!/usr/bin/python3
"""Reference for xfer's saturation fit (src/analysis/satfit.c), with SciPy.

Fits e_DS = k * e_US**alpha + e_IR (e = 1 - accuracy) by bounded least
squares with scipy.optimize.curve_fit, from several starting points, on the
columns of a CSV of accuracies; or, with --synthetic OUT.csv, first writes
30 noisy points of a known law there. Compare with
    xfer fit OUT.csv --us us_acc --ds ds_acc
(xfer fits the upper hull; the synthetic points all lie on it only when the
noise leaves them concave, so compare on hull points or with --noise 0).

Needs Debian's python3-numpy and python3-scipy (run with /usr/bin/python3).
"""
import argparse
import csv

import numpy as np
from scipy.optimize import curve_fit


def law(e_us, k, alpha, e_ir):
    return k * np.power(e_us, alpha) + e_ir


def fit(e_us, e_ds):
    best = None
    for alpha0 in (0.3, 1.0, 3.0, 10.0):
        try:
            p, _ = curve_fit(law, e_us, e_ds, p0=(0.5, alpha0, 0.05),
                             bounds=([0, 0.01, 0], [np.inf, 20, 1]), max_nfev=20000,
                             xtol=1e-15, ftol=1e-15, gtol=1e-15)
        except RuntimeError:
            continue
        sse = float(np.sum((e_ds - law(e_us, *p)) ** 2))
        if best is None or sse < best[1]:
            best = (p, sse)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--us", default="us_acc")
    ap.add_argument("--ds", default="ds_acc")
    ap.add_argument("--synthetic", action="store_true",
                    help="write 30 points of k=0.6 alpha=1.3 e_IR=0.08 to CSV first")
    ap.add_argument("--noise", type=float, default=0.002)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.synthetic:
        rng = np.random.default_rng(a.seed)
        e = np.sort(0.05 + 0.55 * rng.random(30))
        d = law(e, 0.6, 1.3, 0.08) + a.noise * rng.standard_normal(30)
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([a.us, a.ds])
            for x, y in zip(e, d):
                w.writerow([repr(1 - x), repr(1 - y)])
    with open(a.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    e_us = 1 - np.array([float(r[a.us]) for r in rows])
    e_ds = 1 - np.array([float(r[a.ds]) for r in rows])
    (k, alpha, e_ir), sse = fit(e_us, e_ds)
    print(f"n={len(rows)} k={k:.6f} alpha={alpha:.6f} e_IR={e_ir:.6f} "
          f"rms={np.sqrt(sse / len(rows)):.3g} sse={sse:.6g}")


if __name__ == "__main__":
    main()
