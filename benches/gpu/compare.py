"""Compare metrics.csv files of same-seed runs: per column, the largest absolute difference of A and B
(and of A and C), over the rows both have; and the epochs where train and validation accuracy first
reach 99 %."""
import csv
import sys


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def first(rows, col, thr=0.99):
    for r in rows:
        try:
            if float(r[col]) >= thr:
                return r.get("epoch")
        except (KeyError, ValueError):
            return None
    return None


def diff(a, b, name):
    n = min(len(a), len(b))
    print(f"{name}: {len(a)} vs {len(b)} rows, compared {n}")
    for col in a[0].keys():
        worst, at = 0.0, None
        for i in range(n):
            try:
                x, y = float(a[i][col]), float(b[i][col])
            except (ValueError, KeyError):
                continue
            if abs(x - y) > worst:
                worst, at = abs(x - y), a[i].get("epoch")
        print(f"  {col:>24}: max |diff| {worst:.3g} (epoch {at})")


runs = [load(p) for p in sys.argv[1:]]
for p, rows in zip(sys.argv[1:], runs):
    cols = rows[0].keys() if rows else []
    acc = [c for c in cols if "acc" in c]
    print(p, {c: first(rows, c) for c in acc})
if len(runs) >= 2 and runs[0] and runs[1]:
    diff(runs[0], runs[1], "A (gpu) vs B (gpu, same seed)")
if len(runs) >= 3 and runs[0] and runs[2]:
    diff(runs[0], runs[2], "A (gpu) vs C (cpu, same seed)")
