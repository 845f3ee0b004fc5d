"""The letterbox's cost: darknet's exact resize (``yolo9000.ops.letterbox.letterbox``) beside the
``F.interpolate(align_corners=True)`` letterbox it replaced, in one run on the same images.

    .venv/bin/python benchmarks/letterbox_speed.py [--repeats 30] [--threads 1]

Prints, per (image size, network size), the median milliseconds of each and their ratio. The previous
path is rebuilt here (it is no longer in the package) only to be timed.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from yolo9000.ops.letterbox import letterbox, letterbox_size

CASES = [((640, 480), 416), ((773, 512), 416), ((500, 375), 416), ((1280, 720), 416), ((1920, 1080), 416),
         ((1920, 1080), 608), ((4032, 3024), 416), ((375, 500), 320)]


def interpolate_letterbox(image: np.ndarray, net: int) -> torch.Tensor:
    """The previous fast path: whole image to float, torch's align-corners bilinear, pasted on 0.5."""
    t = torch.as_tensor(image)
    h, w = t.shape[:2]
    new_w, new_h = letterbox_size(w, h, net, net)
    x = t.permute(2, 0, 1).unsqueeze(0).to(torch.float32) / 255.0
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=True)
    canvas = torch.full((3, net, net), 0.5)
    dx, dy = (net - new_w) // 2, (net - new_h) // 2
    canvas[:, dy:dy + new_h, dx:dx + new_w] = x[0]
    return canvas


def median_ms(fns, repeats: int) -> list[float]:
    """Median milliseconds of each function, called in turn (interleaved, so drifts hit all alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [1e3 * statistics.median(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (prediction decodes on 2 threads)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {a.threads} thread(s), median of {a.repeats}")
    print(f"{'image':>11} {'net':>4} {'darknet-exact ms':>17} {'interpolate ms':>15} {'ratio':>6} {'max diff':>9}")
    for (w, h), net in CASES:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ours, old = median_ms([lambda: letterbox(img, net), lambda: interpolate_letterbox(img, net)], a.repeats)
        diff = float((letterbox(img, net) - interpolate_letterbox(img, net)).abs().max())
        print(f"{w:>5}x{h:<5} {net:>4} {ours:>17.2f} {old:>15.2f} {ours / old:>6.2f} {diff:>9.2g}")


if __name__ == "__main__":
    main()
