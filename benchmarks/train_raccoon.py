"""A real training run: a detector from scratch on the raccoon photos (train split), scored on the test split.

    .venv/bin/python benchmarks/train_raccoon.py [--model yolov2-tiny-voc] [--epochs 100] [--imgsz 256] \
        [--batch 8] [--lr 0.002] [--obj-loss bce|mse] [--device cpu] [--name raccoon]

Prints (and writes to runs/<name>/report.json) the VOC07 mAP@0.5 on the 40 test photos, the training
time, images/s and every setting. Not part of the test suite: it takes about an hour on two CPU cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import torch

from yolo9000 import YOLO
from yolo9000.train.detect import TrainConfig, train
from yolo9000.eval.validate import validate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="yolov2-tiny-voc")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--imgsz", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--burn-in", type=int, default=100)
    ap.add_argument("--anchors", default="auto")
    ap.add_argument("--obj-loss", default="bce", choices=("bce", "mse"),
                    help="objectness loss (bce: the recipe's, for small data from scratch; mse: darknet's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--val-every", type=int, default=10)
    ap.add_argument("--name", default="raccoon")
    ap.add_argument("--project", default=str(ROOT / "runs"))
    a = ap.parse_args()
    cfg = TrainConfig(data=str(ROOT / "data" / "raccoon.yaml"), model=a.model, epochs=a.epochs, imgsz=a.imgsz,
                      batch=a.batch, lr=a.lr, burn_in=a.burn_in, anchors=a.anchors or None, device=a.device,
                      amp=a.amp, workers=a.workers, val_every=a.val_every, project=a.project, name=a.name,
                      obj_loss=a.obj_loss)
    t0 = time.perf_counter()
    run = train(cfg)
    seconds = time.perf_counter() - t0
    n_train = 160 * a.epochs
    yolo = YOLO(run / "weights" / "best.pt", device=a.device)
    scores = {}
    for metric in ("voc07", "voc"):
        v = validate(yolo, cfg.data, split="val", metric=metric, imgsz=a.imgsz)
        scores[metric] = v.mAP
    best = torch.load(run / "weights" / "best.pt", weights_only=True)
    report = {"mAP50_voc07_test": scores["voc07"], "mAP50_voc_area_test": scores["voc"],
              "best_epoch": int(best["epoch"]) + 1, "train_seconds": round(seconds, 1),
              "images_per_s_incl_validation": round(n_train / seconds, 2), "settings": dataclasses.asdict(cfg),
              "machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
                          "device": torch.cuda.get_device_name() if a.device.startswith("cuda") else platform.processor()}}
    (run / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
