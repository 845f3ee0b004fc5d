"""The first command a user types on their own data, measured: ``yolo9000 train --data D.yaml`` and nothing
else, on the raccoon photos and on BCCD, then one table of what it gives.

    .venv/bin/python benchmarks/own_data.py [--data data/raccoon.yaml data/bccd.yaml] [--out runs/own_data] \
        [--train-args "--amp"]

For each dataset YAML it runs ``python -m yolo9000.cli train --data D.yaml --project OUT --name STEM`` (the
run folder is the only thing chosen for it; ``--train-args`` adds flags, to measure another recipe beside
the default), printing and logging the run's own output (``OUT/STEM.log``, whose first lines give the
recipe), then scores the run's ``last.pt`` (the final epoch, the headline: the test split is also the
split ``best.pt`` is chosen on) and ``best.pt`` with ``yolo9000.eval.validate`` at the model's own input
size (no ``imgsz``: the size the checkpoint says it was validated at), on the test split and on every
training image, VOC07 mAP@0.5 with AP per class. Beside the scores, what says why a detector falls short:
the fit columns of the last epoch (``iou_resp``, ``obj_resp``, ``obj_free``, ``cls_acc``), recall at IoU 0.3 and 0.5 by
class and by box size (:func:`yolo9000.metrics.analysis.recall_breakdown`, detections scored >= 0.005 as
``val`` keeps them), and how many training boxes share a grid cell and anchor with another at the run's
size (darknet keeps the last of them).

Training time is the sum of the epochs' training loops (images / ``images_per_s`` of ``results.csv``,
validation excluded); wall time is the whole command. A run that was stopped resumes (``--resume``); a
finished one is only scored again. Writes ``OUT/own_data.json`` and ``OUT/own_data.md``. Not part of the
test suite: about an hour for raccoon and BCCD on two CPU cores.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from yolo9000.checkpoints.format import load_checkpoint
from yolo9000.datasets import load_dataset
from yolo9000.eval.validate import validate
from yolo9000.fileio import atomic_write, write_json
from yolo9000.metrics.analysis import recall_breakdown
from yolo9000.predict.predictor import Predictor
from yolo9000.models.darknet import DarknetConfig, config_stride
from yolo9000.ops.letterbox import letterbox_size
from yolo9000.train.loss import build_region_targets

ROOT = Path(__file__).resolve().parents[1]


def train(yaml: Path, out: Path, name: str, extra: list[str]) -> float:
    """Run (or resume) the default training command; returns its wall seconds (0 if it was already done)."""
    last = out / name / "weights" / "last.pt"
    if last.is_file():
        state = load_checkpoint(last)
        if int(state["epoch"]) + 1 >= int(state["train_config"]["epochs"]):
            return 0.0
        cmd = ["train", "--resume", "--project", str(out), "--name", name]
    else:
        cmd = ["train", "--data", str(yaml), "--project", str(out), "--name", name, *extra]
    full = [sys.executable, "-m", "yolo9000.cli", *cmd]
    print("$ " + " ".join(shlex.quote(c) for c in full), flush=True)
    t0 = time.perf_counter()
    with open(out / f"{name}.log", "a") as log:
        proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        if proc.wait():
            raise SystemExit(f"own_data: training {yaml} failed (exit {proc.returncode}); see {out / name}.log")
    return time.perf_counter() - t0


def training_seconds(run: Path, images_per_epoch: int) -> tuple[float, float]:
    """(seconds of the training loops, mean training images/s) from ``results.csv``."""
    with open(run / "results.csv", newline="") as f:
        speeds = [float(r["images_per_s"]) for r in csv.DictReader(f)]
    seconds = sum(images_per_epoch / s for s in speeds)
    return seconds, images_per_epoch * len(speeds) / seconds


def last_row(run: Path) -> dict[str, str]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))[-1]


def assignment_collisions(ds: Any, config: DarknetConfig, imgsz: int) -> dict[str, int]:
    """How many training boxes lose their prediction to another (same cell, same best anchor: darknet's
    assignment keeps the last), each image letterboxed to ``imgsz`` as validation sees it."""
    region = config.region
    grid = imgsz // config_stride(config)
    boxes = shared = 0
    for rec in ds.records:
        b = np.asarray(rec.boxes_xyxy, np.float64).reshape(-1, 4)
        if not len(b):
            continue
        new_w, new_h = letterbox_size(rec.width, rec.height, imgsz, imgsz)
        scale = np.array([new_w / rec.width, new_h / rec.height] * 2)
        b = (b * scale + np.array([(imgsz - new_w) // 2, (imgsz - new_h) // 2] * 2)) / imgsz
        rows = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1],
                         np.asarray(rec.labels, np.float64)], 1)
        xy = torch.full((1, region.num, 2, grid, grid), 0.5)  # every box at its anchor: the assignment by shape
        tg = build_region_targets(xy, torch.zeros_like(xy), torch.tensor(rows[None], dtype=torch.float32), region)
        slots = tg.truth_slot[0]
        valid = slots[slots < region.num * grid * grid]
        boxes += int(valid.numel())
        shared += int(valid.numel() - valid.unique().numel())
    return {"grid": grid, "boxes": boxes, "shared": shared}


def score(ckpt: Path, yaml: Path, train_split: Any, test_split: Any) -> dict[str, Any]:
    """VOC07 mAP@0.5 and AP per class on both splits, at the model's own size; recall by class and size."""
    predictor = Predictor.load(ckpt, device="cpu")
    out: dict[str, Any] = {"imgsz": predictor.imgsz}
    for key, ds in (("test", test_split), ("train", train_split)):
        v = validate(predictor, ds)
        sides = np.array([max(r.width, r.height) for r in ds.records], np.float64)
        out[key] = {"mAP50": v.mAP, "ap": v.result.per_class(),
                    "recall": recall_breakdown(v.gt, v.dets, sides, conf=0.005)}
    return out


def finite(x: Any) -> Any:
    """``x`` with every NaN (a group with no boxes) as None, for JSON."""
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [finite(v) for v in x]
    return None if isinstance(x, float) and x != x else x


def recipe_line(log: Path) -> str:
    """The run's one-line recipe, as it printed it first."""
    if not log.is_file():
        return ""
    return next((ln.strip() for ln in log.read_text().splitlines() if ln.startswith("recipe")), "")


def measure(yaml: Path, out: Path, extra: list[str]) -> dict[str, Any]:
    name = yaml.stem
    wall = train(yaml, out, name, extra)
    run = out / name
    state = load_checkpoint(run / "weights" / "last.pt")
    cfg = state["train_config"]
    train_split = load_dataset(yaml, "train", skip_bad=bool(cfg.get("skip_bad")))
    test_split = load_dataset(yaml, "val", skip_bad=bool(cfg.get("skip_bad")))
    batch = int(cfg["batch"])
    per_epoch = len(train_split) // batch * batch if len(train_split) >= batch else len(train_split)
    seconds, ips = training_seconds(run, per_epoch)
    best = load_checkpoint(run / "weights" / "best.pt")
    row = last_row(run)
    predictor = Predictor.load(run / "weights" / "last.pt", device="cpu")
    collisions = assignment_collisions(train_split, predictor.config, predictor.imgsz)
    return {"data": str(yaml), "run": str(run), "recipe": recipe_line(out / f"{name}.log"),
            "train_config": cfg, "epochs": int(state["epoch"]) + 1, "best_epoch": int(best["epoch"]) + 1,
            "train_seconds": round(seconds, 1), "train_images_per_s": round(ips, 2),
            "wall_seconds": round(wall, 1) if wall else None,
            "fit": {k: float(row[k]) for k in ("iou_resp", "obj_resp", "obj_free", "cls_acc") if k in row},
            "collisions": collisions,
            "last": score(run / "weights" / "last.pt", yaml, train_split, test_split),
            "best": score(run / "weights" / "best.pt", yaml, train_split, test_split)}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| data | test mAP@0.5 (last) | training images (last) | AP per class (test) | best epoch: test | "
             "training time | images/s | size |", "|---|---:|---:|---|---|---:|---:|---:|"]
    for r in rows:
        last, best = r["last"], r["best"]
        ap = ", ".join(f"{k} {v:.3f}" for k, v in last["test"]["ap"].items())
        lines.append(f"| {Path(r['data']).name} | **{last['test']['mAP50']:.4f}** | {last['train']['mAP50']:.4f} | {ap} "
                     f"| {r['best_epoch']}: {best['test']['mAP50']:.4f} | {r['train_seconds'] / 60:.1f} min | "
                     f"{r['train_images_per_s']:.2f} | {last['imgsz']} |")
    lines.append("")
    for r in rows:
        lines.append(f"**{Path(r['data']).name}**: `{r['recipe']}`")
        fit = r["fit"]
        if fit:
            lines.append(f"- fit at the last epoch: IoU of the responsible boxes {fit.get('iou_resp', float('nan')):.3f}, "
                         f"their objectness {fit.get('obj_resp', float('nan')):.3f}, objectness elsewhere "
                         f"{fit.get('obj_free', float('nan')):.4f}, class accuracy there "
                         f"{fit.get('cls_acc', float('nan')):.3f}")
        c = r["collisions"]
        lines.append(f"- training boxes sharing a cell and anchor with another at {c['grid']}x{c['grid']}: "
                     f"{c['shared']} of {c['boxes']}")
        lines.append("")
        lines.append("| split | group | boxes | recall@0.3 | recall@0.5 | median best IoU |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for split in ("train", "test"):
            rec = r["last"][split]["recall"]
            for kind in ("class", "size"):
                for g, v in rec[kind].items():
                    if not v["boxes"]:
                        continue
                    lines.append(f"| {split} | {g} | {v['boxes']} | {v['recall@0.3']:.3f} | {v['recall@0.5']:.3f} | "
                                 f"{v['median_iou']:.3f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=[str(ROOT / "data" / "raccoon.yaml"), str(ROOT / "data" / "bccd.yaml")])
    ap.add_argument("--out", default=str(ROOT / "runs" / "own_data"))
    ap.add_argument("--train-args", default="", help="extra flags for every training command (quoted)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [measure(Path(d).resolve(), out, shlex.split(a.train_args)) for d in a.data]
    md = markdown(rows)
    print("\n" + md)
    write_json({"rows": finite(rows), "machine": {"cpus": os.cpu_count(), "processor": platform.processor(),
                                          "torch": torch.__version__, "python": platform.python_version()}},
               out / "own_data.json")
    with atomic_write(out / "own_data.md", "w") as f:
        f.write(md)
    print(f"wrote {out / 'own_data.json'} and {out / 'own_data.md'}")


if __name__ == "__main__":
    main()
