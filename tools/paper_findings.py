#!/usr/bin/python3
"""The numbers docs/FINDINGS.md quotes, from a finished paper-mini study.

Reads DIR/report/results.json (written by `xfer report DIR`) and
DIR/study.db, and prints, per finding: for the main US task (--us) the
hull, all-points and stochastic-frontier fits, the frontier's intervals and
its DS accuracy at the top of the US range, and the decline after the
hull's peak (1), both least-squares fits' errors on the same held-out hull
(2); for every US task DS accuracy at matched difficulty (3), the knob
tests (4), the best layer per DS task with the Spearman correlations (5);
and the head weight-decay / learning-rate sweeps averaged over seeds, each
end-to-end change in test-set and seed standard errors (6).

    tools/paper_findings.py runs/paper-mini [--us fashion-mnist]
    tools/paper_findings.py --audit docs/paper-mini/intervals.csv

--audit reads an intervals.csv (the committed docs/paper-mini/ one, or any
report's) and prints on how many held-out hull points each hull prediction
error rests and any underdetermined fit that has an interval (there should
be none; the table written before the statistics were revised had five).
Give --us for a study's other US task.

Standard library only.
"""
import argparse
import json
import sqlite3
import statistics
from collections import defaultdict

NEAR_TO_FAR = ["fashion-mnist", "quickdraw-clothing", "mnist", "font-digits", "font-letters",
               "quickdraw-ds", "emoji"]


def fit_text(f):
    if f.get("status") == "underdetermined":
        return f.get("status")
    ci = f.get("ci95", {})
    nan = float("nan")

    def num(x):
        return nan if x is None else x

    def param(k):
        lo, hi = ci.get(k) or [None, None]
        if lo is None or hi is None:  # no bootstrap asked for
            return "%.3g" % num(f[k])
        return "%.3g [%.3g, %.3g]" % (num(f[k]), lo, hi)

    v = {k: num(x) for k, x in (f.get("validation") or {}).items()}
    return "k %s  alpha %s  e_IR %s  rms %.3g | validation fit %.3g predict %.3g (n %s/%s)" % (
        param("k"), param("alpha"), param("e_ir"), num(f["rms"]), v.get("fit_rms", nan),
        v.get("predict_rms", nan), v.get("n_fit"), v.get("n_test"))


def fits(r, us):
    print("== 1. fits per (DS task, shots): hull | all points")
    for f in r["fits"]:
        if f["us_task"] == us:
            print("%-18s %2d hull (%d): %s" % (f["ds_task"], f["shots"], f["hull"].get("n", 0),
                                               fit_text(f["hull"])))
            print("%-18s %2d all      : %s" % ("", f["shots"], fit_text(f["all"])))
            fr = f["frontier"]
            if fr["status"] != "underdetermined":
                ci = fr["ci95"]
                print("%-18s %2d frontier : k %.3g [%.3g, %.3g]  alpha %.3g [%.3g, %.3g]"
                      "  e_IR %.3g [%.3g, %.3g]  sigma_u %.3g  (median point SE %.3g)" % (
                          "", f["shots"], fr["k"], ci["k"][0], ci["k"][1] or float("inf"),
                          fr["alpha"], ci["alpha"][0], ci["alpha"][1], fr["e_ir"],
                          ci["e_ir"][0], ci["e_ir"][1], fr["sigma_u"],
                          statistics.median(p["ds_se"] for p in f["points"])))
                best = max(p["us_acc"] for p in f["points"])

                def acc(us_acc):
                    return 1 - (fr["k"] * (1 - us_acc) ** fr["alpha"] + fr["e_ir"])
                print("%-18s %2d frontier DS at US 0.62 %.3f, at the best model's US %.3f %.3f,"
                      " at US 1 %.3f" % ("", f["shots"], acc(0.62), best, acc(best), acc(1.0)))
            d = f["decline"]
            if d["hull_points_after_peak"]:
                print("%-18s %2d decline  : peak US %.3f, DS drop %.3f after it" % (
                    "", f["shots"], d["peak_us_acc"], d["ds_drop_after_peak"]))


def hull_vs_all(r, us):
    print("\n== 2. held-out prediction rms on the held-out models' hull, hull fit against"
          " all-points fit")
    ratios = []
    for f in r["fits"]:
        vh, va = f["hull"].get("validation") or {}, f["all"].get("validation") or {}
        if f["us_task"] != us or not vh.get("predict_rms") or not va.get("predict_rms"):
            continue
        ratios.append(va["predict_rms"] / vh["predict_rms"])
        print("%-18s %2d hull %.4f  all %.4f  all/hull %.2f (%d points)" % (
            f["ds_task"], f["shots"], vh["predict_rms"], va["predict_rms"], ratios[-1],
            vh["n_test"]))
    if ratios:
        print("hull lower in %d of %d, median all/hull %.2f" % (
            sum(x > 1 for x in ratios), len(ratios), statistics.median(ratios)))


def diversity(r):
    print("\n== 3. DS accuracy at matched difficulty, hull fit and frontier of each US task"
          " (US accuracy / the US task's best)")
    for d in r["diversity"]:
        print("%-18s %2d %-34s n %3d best US %.3f US/best %s DS hull fit %s frontier %s" % (
            d["ds_task"], d["shots"], d["us_task"], d["n_points"], d["us_best"] or float("nan"),
            ["%.3f" % x for x in d["us_frac_of_best_at"]],
            [None if x is None else round(x, 3) for x in d["ds_acc_at"]],
            [None if x is None else round(x, 3) for x in d["frontier_ds_acc_at"]]))


def knobs(r):
    print("\n== 4. knobs that add information beyond US accuracy"
          " (%d tests in the report, Holm-adjusted)" % r["knob_tests"])
    for us in dict.fromkeys(k["us_task"] for k in r["knobs"]):
        print("US task %s:" % us)
        knob_counts(r, us)


def knob_counts(r, us):
    count = defaultdict(lambda: [0, 0])
    for k in r["knobs"]:
        if k["us_task"] != us:
            continue
        for name, v in k.items():
            if isinstance(v, dict) and "testable" in v:
                count[name][1] += v["testable"]
                if v.get("adds_information"):
                    count[name][0] += 1
                    per2 = v.get("ds_acc_per_doubling")
                    print("  %s (%d shot counts pooled): %s (p %.2g, Holm %.2g, partial R2 %.3f%s)"
                          % (k["ds_task"], k["shot_counts_pooled"], name, v["p"], v["p_holm"],
                             v["partial_r2"],
                             "" if per2 is None else ", DS acc %+.4f per doubling" % per2))
    for name, (hits, testable) in count.items():
        print("%-22s adds information for %d of %d DS tasks where testable" % (
            name, hits, testable))


def layers(r):
    print("\n== 5. relative depth of the best layer (mean over the 5 best models)")
    for name, key in (("the frontier", "spearman_frontier_e_ir_vs_best_depth"),
                      ("the hull fit", "spearman_e_ir_vs_best_depth")):
        rho = r["layers"][key]
        n = sum(s["best_depth"] is not None and
                s["frontier_e_ir" if "frontier" in key else "e_ir"] is not None
                for s in r["layers"]["sets"])
        print("Spearman(e_IR of %s, best depth) = %s over %d sets" % (
            name, "-" if rho is None else "%.3f" % rho, n))
    for s in r["layers"]["sets"]:
        if s["shots"] in (1, 25):
            print("%-34s %-18s %2d best depth %.2f" % (s["us_task"], s["ds_task"], s["shots"],
                                                        s["best_depth"]))


def sweeps(r):
    for knob in ("head_wd", "head_lr"):
        print("\n== 6. %s sweep (%d groups), means over seeds" % (knob, r[knob]["groups"]))
        mean = defaultdict(list)
        se = {}
        for p in r[knob]["points"]:
            mean[(p["ds_task"], p["shots"], p["value"])].append((p["us_acc"], p["ds_acc"]))
            if p.get("ds_se_test_set") is not None:
                se[p["ds_task"]] = max(se.get(p["ds_task"], 0), p["ds_se_test_set"])
        for task in NEAR_TO_FAR:
            for shots in (1, 25):
                row = sorted((v, statistics.mean(u for u, _ in xs),
                              statistics.mean(d for _, d in xs))
                             for (t, s, v), xs in mean.items() if t == task and s == shots)
                if row:
                    print("%-18s %2d " % (task, shots) +
                          "  ".join("%g: US %.3f DS %.3f" % x for x in row) +
                          ("  (test-set SE up to %.3f)" % se[task] if task in se else ""))
                if len(row) >= 2 and task in se:
                    # The two ends of the sweep, against two errors: the test
                    # set's (a difference of two accuracies on the same
                    # images taken as independent, an upper bound) and the
                    # seeds' (the sd between seeds pooled over the sweep's
                    # values, which holds training and draw randomness).
                    lo, hi = row[0], row[-1]
                    groups = [[d for _, d in xs] for (t, s, v), xs in mean.items()
                              if t == task and s == shots]
                    dof = sum(len(g) - 1 for g in groups)
                    ss = sum((d - statistics.mean(g)) ** 2 for g in groups for d in g)
                    n_lo = len(mean[(task, shots, lo[0])])
                    n_hi = len(mean[(task, shots, hi[0])])
                    seed_se = (ss / dof * (1 / n_lo + 1 / n_hi)) ** 0.5 if dof else float("nan")
                    diff_se = (2 * se[task] ** 2) ** 0.5
                    diff = hi[2] - lo[2]
                    print("%-18s %2d %g -> %g: DS %+.3f; %.1f test-set SE (%.3f), %.1f seed SE"
                          " (%.3f, %d df)" % (task, shots, lo[0], hi[0], diff,
                                              abs(diff) / diff_se, diff_se,
                                              abs(diff) / seed_se, seed_se, dof))


def top_models(db, us):
    print("\n== 1. best last-layer DS accuracy of the models above US accuracy 0.62")
    q = ("SELECT ds_task, shots, max(acc) FROM (SELECT p.ds_task, p.shots, p.trial_id,"
         " avg(p.acc) AS acc FROM probes p JOIN trials t ON t.id = p.trial_id"
         " WHERE t.status = 'finished' AND t.us_task = ? AND t.us_acc > 0.62"
         " AND p.layer = p.n_layers - 1 GROUP BY 1, 2, 3) GROUP BY 1, 2 ORDER BY 1, 2")
    for task, shots, acc in db.execute(q, (us,)):
        print("%-18s %2d %.3f" % (task, shots, acc))
    print("\n   the %s DS task: the 6 models with the highest US accuracy, 1-shot" % us)
    q = ("SELECT t.us_acc, avg(p.acc) FROM probes p JOIN trials t ON t.id = p.trial_id"
         " WHERE t.status = 'finished' AND t.us_task = ? AND p.ds_task = ? AND p.shots = 1"
         " AND p.layer = p.n_layers - 1 GROUP BY t.id ORDER BY t.us_acc DESC LIMIT 6")
    for us_acc, acc in db.execute(q, (us, us)):
        print("   US %.4f  DS %.3f" % (us_acc, acc))


def audit(path, us):
    import csv
    with open(path) as f:
        rows = list(csv.DictReader(f))
    hull = [r for r in rows if r["us_task"] == us and r["fit_to"] == "hull"]
    scored = [r for r in hull if r["val_predict_rms"] not in ("", "nan")]
    counts = defaultdict(int)
    for r in scored:
        counts[int(r["val_n_test"])] += 1
    print("hull prediction errors on %s: %d of %d sets; held-out hull points per error: %s" % (
        us, len(scored), len(hull), dict(sorted(counts.items()))))
    for r in rows:
        if r["status"] == "underdetermined" and r["e_ir_lo"] not in ("", "nan"):
            print("underdetermined with an interval: %s %s %s-shot %s e_IR [%s, %s]" % (
                r["us_task"], r["ds_task"], r["shots"], r["fit_to"], r["e_ir_lo"],
                r["e_ir_hi"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", help="the study's folder (runs/paper-mini)")
    ap.add_argument("--us", default="fashion-mnist", help="the main US task")
    ap.add_argument("--audit", metavar="INTERVALS_CSV", help="audit an intervals.csv")
    a = ap.parse_args()
    if a.audit:
        audit(a.audit, a.us)
        return
    if not a.dir:
        ap.error("give the study's folder or --audit")
    with open(a.dir + "/report/results.json") as f:
        r = json.load(f)
    print("cost:", r["cost"])
    fits(r, a.us)
    hull_vs_all(r, a.us)
    diversity(r)
    knobs(r)
    layers(r)
    sweeps(r)
    db = sqlite3.connect("file:%s/study.db?mode=ro" % a.dir, uri=True)
    top_models(db, a.us)
    db.close()


if __name__ == "__main__":
    main()
