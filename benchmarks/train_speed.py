"""Training speed on CPU, float32 against ``--amp`` (bfloat16 autocast), in one run.

    .venv/bin/python benchmarks/train_speed.py [--epochs 2] [--json OUT]
    .venv/bin/python benchmarks/train_speed.py --map       # also the raccoon test-split mAP of each (2 long runs)

The default recipe on the raccoon training photos (``yolo9000 train --data data/raccoon.yaml``: the
``scratch`` preset, yolov2-tiny-voc from scratch at 256, batch 8), at one fixed size (no multi-scale, so
both see the same batches), timed by the trainer itself (``images_per_s`` in ``results.csv``: the
training loop only, without validation). The first epoch includes the warm-up of the oneDNN kernels; the
figure is the last epoch's. ``--map`` instead trains both with the whole default recipe (100 epochs,
multi-scale) and scores their ``last.pt`` and ``best.pt`` on the test split, to show what bfloat16 training
costs in accuracy. The GEMM peaks of both precisions are measured in the same run.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import platform
import tempfile
from pathlib import Path

from yolo9000 import YOLO
from yolo9000.predict.benchmark import gemm_peak_gflops
from yolo9000.fileio import write_json
from yolo9000.train.detect import TrainConfig, resolve_recipe, train

ROOT = Path(__file__).resolve().parents[1]


def _last_speed(run: Path) -> float:
    with open(run / "results.csv", newline="") as f:
        return float(list(csv.DictReader(f))[-1]["images_per_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2, help="epochs per precision for the speed figure")
    ap.add_argument("--map", action="store_true", help="the whole default recipe per precision, and its mAP")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--project", default=None, help="where the runs go (default: a temporary folder)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    project = Path(a.project or tempfile.mkdtemp(prefix="train-speed-"))
    base = resolve_recipe(TrainConfig(data=str(ROOT / "data" / "raccoon.yaml"), workers=a.workers,
                                      tensorboard=False, project=str(project)))  # the scratch preset, concrete
    if a.map:
        base = dataclasses.replace(base, val_every=10)
    else:
        base = dataclasses.replace(base, epochs=a.epochs, multiscale=False, val_every=0, train_eval=0)
    peaks = {p: gemm_peak_gflops(precision=p).best for p in ("fp32", "bf16")}
    rows = {}
    for name, amp in (("fp32", False), ("bf16", True)):
        # a run of this --project that was killed (or is done) is resumed, not started again beside it
        again = (project / name / "weights" / "last.pt").is_file()
        run = train(dataclasses.replace(base, amp=amp, name=name, resume=again))
        row = {"images_per_s": _last_speed(run), "run": str(run)}
        if a.map:
            for w in ("last", "best"):
                row[f"mAP50_voc07_test_{w}"] = YOLO(run / "weights" / f"{w}.pt").val(base.data).mAP
        rows[name] = row
    report = {"model": base.model, "imgsz": base.imgsz, "batch": base.batch, "epochs": base.epochs,
              "multiscale": base.multiscale, "gemm_peak_gflops": peaks, "results": rows,
              "bf16_speedup": rows["bf16"]["images_per_s"] / rows["fp32"]["images_per_s"],
              "machine": platform.processor() or platform.machine()}
    print(f"| precision | training images/s | GEMM peak (GFLOP/s) |{' test mAP@0.5 final | best |' if a.map else ''}")
    print(f"|---|---|---|{'---|---|' if a.map else ''}")
    for name, row in rows.items():
        extra = (f" {row['mAP50_voc07_test_last']:.4f} | {row['mAP50_voc07_test_best']:.4f} |" if a.map else "")
        print(f"| {name} | {row['images_per_s']:.2f} | {peaks[name]:.0f} |{extra}")
    print(f"bf16 / fp32 training speed: {report['bf16_speedup']:.2f}x")
    if a.json:
        write_json(report, a.json)


if __name__ == "__main__":
    main()
