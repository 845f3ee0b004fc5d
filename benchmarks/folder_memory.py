"""Memory over a long folder: predict on N generated images with ``stream=True`` and print the resident
memory every 1,000 images (it must stay flat), plus images/s.

    .venv/bin/python benchmarks/folder_memory.py [--n 10000] [--model yolov2-nano] [--imgsz 96]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from yolo9000 import YOLO


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--model", default="yolov2-nano")
    ap.add_argument("--imgsz", type=int, default=96)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.n):
            Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(Path(tmp) / f"{i:05d}.jpg",
                                                                                     quality=80)
        yolo = YOLO(a.model)
        t0, marks = time.perf_counter(), []
        for k, r in enumerate(yolo.predict(tmp, imgsz=a.imgsz, batch=a.batch, conf=0.5, stream=True), 1):
            if k % 1000 == 0:
                marks.append((k, rss_mib(), k / (time.perf_counter() - t0)))
    print("| images | RSS MiB | images/s |\n|---|---|---|")
    for k, rss, ips in marks:
        print(f"| {k:,} | {rss:.0f} | {ips:.0f} |")
    growth = marks[-1][1] - marks[0][1]
    print(f"RSS growth from 1,000 to {marks[-1][0]:,} images: {growth:+.1f} MiB")


if __name__ == "__main__":
    main()
