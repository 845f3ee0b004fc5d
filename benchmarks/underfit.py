"""Why darknet's recipe underfits from scratch on small data, measured: one detector trained twice, with
darknet's objectness loss (``--obj-loss mse``, the squared error of the sigmoid) and with ours (``bce``,
the cross-entropy of the logit), nothing else changed.

    .venv/bin/python benchmarks/underfit.py [--data data/raccoon.yaml] [--mosaic] [--model yolov2-tiny-voc] \
        [--epochs 30] [--imgsz 256] [--augment] [--obj-loss mse bce] [--out runs/underfit]

``--mosaic`` trains on a harder set made from ``--data``'s photos, with several smaller boxes per image: 164
training and 40 test images at 416 x 416, each one
photo or a 2 x 2 grid of 2 to 4 photos (squashed to 208 x 208), drawn with a fixed seed from the train and
test splits respectively, with their boxes; written once to ``<out>/mosaic/`` (Ultralytics' YOLO layout).

By default without augmentation or multi-scale, so what is measured is the fit itself: how well the
detector finds its own training boxes (VOC07 mAP@0.5 on every training photo, ``--train-eval``), beside the
test split. Every run's ``results.csv`` also logs, per epoch, the loss terms and the three fit columns of
:func:`yolo9000.train.loss.fit_stats`: ``iou_resp`` (how well the responsible boxes fit their truths),
``obj_resp`` (their objectness, the score validation ranks by; its rescore target is ``iou_resp``) and
``obj_free`` (the objectness everywhere else). With ``mse`` the objectness collapses in the first epoch and
never comes back to the IoU (the sigmoid's derivative in darknet's update, see ``yolo9000/loss.py``).

``--probe 10`` also records every 10th batch (the fit, the loss terms and each term's gradient norm w.r.t.
the raw head) in ``<out>/probe_<obj-loss>.jsonl``: the first epochs' collapse, batch by batch.

Writes ``<out>/underfit.json``, ``underfit.md`` (the table per validated epoch) and ``underfit.png``. Not
part of the test suite: about 13 minutes on two CPU cores with the defaults.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

import yolo9000.train.loss as loss_module
from yolo9000.datasets import load_dataset
from yolo9000.fileio import atomic_write, write_json
from yolo9000.metrics.plots import _pyplot
from yolo9000.train.detect import TrainConfig, train
from yolo9000.train.loss import OBJ_LOSSES

ROOT = Path(__file__).resolve().parents[1]
NO_AUGMENTATION = {"multiscale": False, "jitter": 0.0, "hue": 0.0, "saturation": 1.0, "exposure": 1.0,
                   "flip": False}


def make_mosaic(data: str, out: Path, seed: int = 0) -> Path:
    """The ``--mosaic`` set from ``data``'s train and val splits (see the module docstring); returns its YAML."""
    yaml = out / "data.yaml"
    if yaml.is_file():
        return yaml
    rng = np.random.default_rng(seed)
    grey = (124, 116, 104)
    for split, n_images in (("train", 164), ("val", 40)):
        ds = load_dataset(data, split)
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        for k in range(n_images):
            n = int(rng.integers(1, 5))
            picks = rng.choice(len(ds.records), size=n, replace=False)
            side = 416 if n == 1 else 208
            corners = [(0, 0)] if n == 1 else [(208 * (c % 2), 208 * (c // 2)) for c in rng.permutation(4)[:n]]
            canvas = Image.new("RGB", (416, 416), grey)
            lines = []
            for idx, (ox, oy) in zip(picks, corners):
                r = ds.records[int(idx)]
                with Image.open(r.image) as im:
                    w, h = im.size
                    canvas.paste(im.convert("RGB").resize((side, side), Image.BILINEAR), (ox, oy))
                for (x1, y1, x2, y2), label in zip(np.asarray(r.boxes_xyxy, dtype=np.float64).reshape(-1, 4), r.labels):
                    bx1, by1 = (ox + x1 / w * side) / 416, (oy + y1 / h * side) / 416
                    bx2, by2 = (ox + x2 / w * side) / 416, (oy + y2 / h * side) / 416
                    lines.append(f"{int(label)} {(bx1 + bx2) / 2:.6f} {(by1 + by2) / 2:.6f} {bx2 - bx1:.6f} "
                                 f"{by2 - by1:.6f}")
            stem = f"{split}_{k:04d}"
            with atomic_write(out / "images" / split / f"{stem}.jpg") as f:
                canvas.save(f, format="JPEG", quality=92)
            with atomic_write(out / "labels" / split / f"{stem}.txt", "w") as f:
                f.write("\n".join(lines) + "\n")
    names = ", ".join(load_dataset(data, "train").names)
    with atomic_write(yaml, "w") as f:  # last: a complete set has its YAML
        f.write(f"path: .\ntrain: images/train\nval: images/val\nnames: [{names}]\n")
    return yaml


@contextlib.contextmanager
def probe(path: Path, every: int):
    """Record, every ``every``-th call of the region loss during training, the batch's fit (``fit_stats``), its
    loss terms and the gradient norm of each term w.r.t. the raw head, one JSON line per record in ``path``.

    It wraps ``yolo9000.train.loss.region_loss``, which the trainer looks up when it starts; a run that never calls
    the wrapper (the trainer changed) is an error rather than an empty file.
    """
    real, calls = loss_module.region_loss, [0]
    with open(path, "w") as sink:
        def wrapped(raw, targets, region, seen, *args, **kw):
            out = real(raw, targets, region, seen, *args, **kw)
            calls[0] += 1
            if (calls[0] - 1) % every == 0 and raw.requires_grad:
                rec = {"batch": calls[0], "seen": seen, **{k: float(v) for k, v in out.items()}}
                for k in ("coord", "obj", "noobj", "prior"):
                    if out[k].requires_grad:
                        g, = torch.autograd.grad(out[k], raw, retain_graph=True)
                        rec["grad_" + k] = float(g.norm())
                sink.write(json.dumps(rec) + "\n")
            return out

        loss_module.region_loss = wrapped
        try:
            yield
        finally:
            loss_module.region_loss = real
    if calls[0] == 0:
        raise SystemExit(f"underfit: --probe saw no call of yolo9000.train.loss.region_loss; {path} is empty")


def run_one(a: argparse.Namespace, obj_loss: str) -> dict[str, Any]:
    """Train with ``obj_loss``; returns the settings, the seconds and results.csv's rows as numbers."""
    cfg = TrainConfig(data=a.data, model=a.model, epochs=a.epochs, imgsz=a.imgsz, batch=a.batch, lr=a.lr,
                      burn_in=a.burn_in, optimizer="sgd", box_loss="mse", class_scale=1.0, anchors="auto",
                      device=a.device, workers=a.workers,
                      val_every=a.val_every, train_eval=a.train_eval, tensorboard=False, obj_loss=obj_loss,
                      project=str(Path(a.out) / "runs"), name=obj_loss, seed=a.seed,
                      **({} if a.augment else NO_AUGMENTATION))
    t0 = time.perf_counter()
    with probe(Path(a.out) / f"probe_{obj_loss}.jsonl", a.probe) if a.probe else contextlib.nullcontext():
        run = train(cfg)
    seconds = time.perf_counter() - t0
    with open(run / "results.csv", newline="") as f:
        rows = [{k: float(v) if v not in ("", None) else None for k, v in r.items()} for r in csv.DictReader(f)]
    return {"obj_loss": obj_loss, "run": str(run), "seconds": round(seconds, 1), "rows": rows}


def markdown(results: list[dict[str, Any]], a: argparse.Namespace) -> str:
    data = "the mosaic set" if a.mosaic else Path(a.data).name
    head = (f"## Underfitting: {a.model} from scratch, {data}, {a.epochs} epochs at {a.imgsz}, "
            f"batch {a.batch}, lr {a.lr}, {'with' if a.augment else 'without'} augmentation")
    lines = [head, "", "| objectness loss | epoch | IoU of responsible boxes | their objectness | objectness "
             "elsewhere | loss | mAP@0.5 training photos | mAP@0.5 test |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for row in r["rows"]:
            if row.get("mAP50") is None:
                continue
            tr = row.get("train_mAP50")
            lines.append(f"| {r['obj_loss']} | {int(row['epoch'])} | {row['iou_resp']:.3f} | {row['obj_resp']:.3f} | "
                         f"{row['obj_free']:.4f} | {row['total']:.3f} | {'' if tr is None else f'{tr:.3f}'} | "
                         f"{row['mAP50']:.3f} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"mse": "tab:red", "bce": "tab:blue", "mixed": "tab:green"}
    for r in results:
        c = colours.get(r["obj_loss"], None)
        rows = r["rows"]
        ep = [row["epoch"] for row in rows]
        axes[0].plot(ep, [row["iou_resp"] for row in rows], color=c, ls="--",
                     label=f"{r['obj_loss']}: IoU of responsible boxes")
        axes[0].plot(ep, [row["obj_resp"] for row in rows], color=c, label=f"{r['obj_loss']}: their objectness")
        val = [row for row in rows if row.get("mAP50") is not None]
        axes[1].plot([row["epoch"] for row in val], [row["train_mAP50"] for row in val], color=c, marker="o",
                     label=f"{r['obj_loss']}: training photos")
        axes[1].plot([row["epoch"] for row in val], [row["mAP50"] for row in val], color=c, marker=".", ls=":",
                     label=f"{r['obj_loss']}: test")
    axes[0].set(xlabel="epoch", ylim=(0, 1), title="objectness against IoU at the responsible boxes")
    axes[1].set(xlabel="epoch", ylabel="VOC07 mAP@0.5", ylim=(0, 1), title="fit and test")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "raccoon.yaml"))
    ap.add_argument("--mosaic", action="store_true", help="train on the harder mosaic set made from --data")
    ap.add_argument("--model", default="yolov2-tiny-voc")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--imgsz", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--burn-in", type=int, default=100)
    ap.add_argument("--augment", action="store_true", help="darknet's augmentation and multi-scale (default: off)")
    ap.add_argument("--obj-loss", nargs="+", default=list(OBJ_LOSSES), choices=OBJ_LOSSES)
    ap.add_argument("--val-every", type=int, default=5)
    ap.add_argument("--train-eval", type=int, default=1000, help="training photos scored (all of raccoon's 160)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--probe", type=int, default=0, metavar="N",
                    help="every N-th batch, write the fit, the loss terms and each term's gradient norm w.r.t. the "
                         "raw head to <out>/probe_<obj-loss>.jsonl (0: off)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "runs" / "underfit"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.mosaic:
        a.data = str(make_mosaic(a.data, out / "mosaic", a.seed))
    results = [run_one(a, v) for v in a.obj_loss]
    md = markdown(results, a)
    print("\n" + md)
    write_json({"settings": vars(a), "results": results,
                "machine": {"cpus": os.cpu_count(), "processor": platform.processor(), "torch": torch.__version__}},
               out / "underfit.json")
    with atomic_write(out / "underfit.md", "w") as f:
        f.write(md)
    plot(results, out / "underfit.png")
    print(f"wrote {out / 'underfit.json'}, {out / 'underfit.md'} and {out / 'underfit.png'}")


if __name__ == "__main__":
    main()
