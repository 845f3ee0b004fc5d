"""Time ``kmeans_anchors`` (k=9, default 10 restarts) on 1,000,000 synthetic box shapes.

    python benchmarks/anchors_speed.py [--boxes 1000000] [-k 9] [--restarts 10] [--exact]

Shapes: a mixture of five log-normal clusters in (0, 1] (seeded, so every run clusters the same boxes).
``--exact`` turns off the histogram compression (every restart on every box) for comparison.
Prints the seconds of one call (after one warm-up on 10,000 boxes) and the mean IoU.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from yolo9000.anchors.kmeans import kmeans_anchors


def synthetic_shapes_norm(n: int, seed: int = 0) -> np.ndarray:
    """(n, 2) float64 (w, h) in (0, 1]: five log-normal clusters around typical object shapes."""
    rng = np.random.default_rng(seed)
    centres = np.log(np.array([[0.05, 0.07], [0.15, 0.3], [0.3, 0.18], [0.45, 0.6], [0.8, 0.75]]))
    which = rng.integers(0, len(centres), n)
    return np.clip(np.exp(centres[which] + rng.normal(0.0, 0.35, (n, 2))), 1e-3, 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boxes", type=int, default=1_000_000)
    ap.add_argument("-k", type=int, default=9)
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--exact", action="store_true", help="no histogram compression")
    a = ap.parse_args()
    shapes = synthetic_shapes_norm(a.boxes)
    compress = None if a.exact else 65536
    kmeans_anchors(shapes[:10_000], a.k, 1, 0, compress_above=compress)  # warm-up
    t = time.perf_counter()
    fit = kmeans_anchors(shapes, a.k, a.restarts, 0, compress_above=compress)
    dt = time.perf_counter() - t
    print(f"{a.boxes:,} boxes, k={a.k}, {a.restarts} restarts{' (exact)' if a.exact else ''}: "
          f"{dt:.2f} s, mean IoU {fit.mean_iou:.5f}")


if __name__ == "__main__":
    main()
