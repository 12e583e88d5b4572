#!/usr/bin/python3
"""Reference for xfer's saturation fit (src/analysis/satfit.c), with SciPy.

Fits e_DS = k * e_US**alpha + e_IR (e = 1 - accuracy) by bounded least
squares with scipy.optimize.curve_fit, from several starting points, to the
upper hull of the (US accuracy, DS accuracy) points of a CSV (the same
hull xfer fits: src/analysis/hull.h), or to all of them with --all.

    tools/fit_reference.py FILE.csv [--us COL] [--ds COL] [--all]
    tools/fit_reference.py --fixtures tests/fixtures/fit

--fixtures writes a few small seeded synthetic CSVs (hull points only) and
expected.csv with SciPy's parameters and SSE; tests/test_analysis.c checks
xfer against them (parameters to 1e-3 relative, or SSE within 1e-6 where
the optimum is flat).

Needs Debian's python3-numpy and python3-scipy (run with /usr/bin/python3).
"""
import argparse
import csv
import os

import numpy as np
from scipy.optimize import curve_fit


def law(e_us, k, alpha, e_ir):
    return k * np.power(e_us, alpha) + e_ir


def fit(e_us, e_ds):
    best = None
    for alpha0 in (0.1, 0.3, 1.0, 3.0, 10.0):
        for k0 in (0.2, 1.0, 5.0):
            try:
                p, _ = curve_fit(law, e_us, e_ds, p0=(k0, alpha0, 0.05),
                                 bounds=([0, 0.01, 0], [np.inf, 20, 1]), max_nfev=20000,
                                 xtol=1e-15, ftol=1e-15, gtol=1e-15)
            except (RuntimeError, ValueError):
                continue
            sse = float(np.sum((e_ds - law(e_us, *p)) ** 2))
            if best is None or sse < best[1]:
                best = (p, sse)
    return best


def upper_hull(x, y):
    """Indices of the rising part of the upper convex hull (hull.h's rules)."""
    best = {}
    for i, (a, b) in enumerate(zip(x, y)):
        if a not in best or b > y[best[a]]:
            best[a] = i
    idx = sorted(best.values(), key=lambda i: x[i])
    chain = []
    for i in idx:
        while len(chain) >= 2:
            o, a = chain[-2], chain[-1]
            cross = (x[a] - x[o]) * (y[i] - y[o]) - (y[a] - y[o]) * (x[i] - x[o])
            if cross >= 0:
                chain.pop()
            else:
                break
        chain.append(i)
    out = [chain[0]] if chain else []
    for i in chain[1:]:
        if y[i] < y[out[-1]]:
            break
        out.append(i)
    return out


def read(path, us, ds):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return (np.array([float(r[us]) for r in rows]), np.array([float(r[ds]) for r in rows]))


FIXTURES = [  # name, k, alpha, e_IR, n, noise, seed
    ("steep", 0.6, 1.3, 0.08, 25, 0.004, 1),
    ("quadratic", 0.8, 2.0, 0.02, 30, 0.0005, 2),
    ("saturating", 0.3, 3.0, 0.25, 30, 0.002, 3),
    ("noisy", 0.5, 0.9, 0.1, 40, 0.02, 4),
]


def write_fixtures(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "expected.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "n_hull", "k", "alpha", "e_ir", "sse"])
        for name, k, a, c, n, noise, seed in FIXTURES:
            rng = np.random.default_rng(seed)
            e = np.sort(0.05 + 0.6 * rng.random(n))
            d = np.clip(law(e, k, a, c) + noise * rng.standard_normal(n), 0, 1)
            us, dsa = 1 - e, 1 - d
            h = upper_hull(us, dsa)
            with open(os.path.join(folder, name + ".csv"), "w", newline="") as g:
                gw = csv.writer(g)
                gw.writerow(["us_acc", "ds_acc"])
                for i in h:
                    gw.writerow([repr(float(us[i])), repr(float(dsa[i]))])
            (pk, pa, pc), sse = fit(1 - us[h], 1 - dsa[h])
            w.writerow([name, len(h), repr(pk), repr(pa), repr(pc), repr(sse)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?")
    ap.add_argument("--us", default="us_acc")
    ap.add_argument("--ds", default="ds_acc")
    ap.add_argument("--all", action="store_true", help="fit every point, not the hull")
    ap.add_argument("--fixtures", metavar="DIR")
    a = ap.parse_args()
    if a.fixtures:
        write_fixtures(a.fixtures)
        return
    us, ds = read(a.csv, a.us, a.ds)
    idx = list(range(len(us))) if a.all else upper_hull(us, ds)
    (k, alpha, e_ir), sse = fit(1 - us[idx], 1 - ds[idx])
    print(f"n={len(idx)} k={k:.6f} alpha={alpha:.6f} e_IR={e_ir:.6f} "
          f"rms={np.sqrt(sse / len(idx)):.3g} sse={sse:.6g}")


if __name__ == "__main__":
    main()
