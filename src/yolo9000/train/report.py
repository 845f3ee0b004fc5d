"""What a training run leaves beside its weights: loss and mAP curves, TensorBoard scalars, and pictures
of validation images with predictions and ground truth."""
from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from yolo9000.fileio import atomic_write
from yolo9000.metrics.plots import _pyplot
from yolo9000.optional import available, missing_message
from yolo9000.train.loss import FIT


def _cell(v: Any) -> str:
    """A CSV cell: a NaN or infinite number is an empty (missing) cell, never the text ``nan``/``inf``."""
    return "" if isinstance(v, float) and not math.isfinite(v) else str(v)


def _number(cell: str) -> float:
    """A CSV cell as a float; an empty (missing) cell is NaN, which matplotlib leaves out of a line."""
    return float(cell) if cell else math.nan


def append_csv(path: Path, row: dict[str, Any]) -> None:
    """Add (or replace) the row of ``row["epoch"]`` in ``results.csv``, dropping any later epochs (a resumed
    run rewrites them); written atomically. Non-finite values are written as empty cells."""
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    rows = [r for r in rows if int(r["epoch"]) < row["epoch"]] + [{k: _cell(v) for k, v in row.items()}]
    with atomic_write(path, "w") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        w.writeheader()
        w.writerows(rows)


class Scalars:
    """TensorBoard scalars per epoch (``tensorboard --logdir runs``); a no-op when disabled."""

    def __init__(self, folder: Path, enabled: bool) -> None:
        self.writer = None
        if enabled and not available("tensorboard"):
            warnings.warn(missing_message("tensorboard", "TensorBoard logging (off for this run; results.csv and "
                                          "results.png are written as always)"), stacklevel=2)
        elif enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(folder))

    def log(self, row: dict[str, Any]) -> None:
        if self.writer is None:
            return
        step = int(row["epoch"])
        for k, v in row.items():
            if k != "epoch" and not np.isnan(float(v)):
                group = {"lr": "lr", "images_per_s": "speed", "mAP50": "val", "train_mAP50": "val", "top1": "val",
                         "top5": "val"}.get(k, "loss")
                self.writer.add_scalar(f"{group}/{k}", float(v), step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


SCORES = {"mAP50": "validation VOC07 mAP@0.5", "train_mAP50": "training images (sample)", "top1": "val top-1",
          "top5": "val top-5", "parent_top1": "val parent top-1", "errors_to_ancestor": "errors to an ancestor"}


def plot_results(csv_path: Path, png: Path) -> None:
    """Loss terms per epoch (log scale), the validation scores per epoch (:data:`SCORES`: detection's VOC07
    mAP@0.5 of the validation split and of a training sample, classification's top-1 / top-5) and, when
    logged, the objectness against the IoU at the responsible predictions (:func:`yolo9000.train.loss.fit_stats`),
    side by side."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    plt = _pyplot()
    epochs = [int(r["epoch"]) for r in rows]
    fit = [k for k in FIT if k in rows[0]]
    scores = [k for k in SCORES if k in rows[0]]
    terms = [k for k in rows[0] if k not in ("epoch", "lr", "images_per_s", *SCORES, *FIT)]
    fig, axes = plt.subplots(1, 3 if fit else 2, figsize=(16.5 if fit else 11, 4))
    for k in terms:
        axes[0].plot(epochs, [max(_number(r[k]), 1e-6) for r in rows], label=k)
    axes[0].set(xlabel="epoch", ylabel="loss per image", yscale="log", title="loss terms")
    axes[0].legend(fontsize=8)
    for k in scores:
        axes[1].plot(epochs, [_number(r[k]) for r in rows], marker="o" if k == scores[0] else ".",
                     ls="-" if k == scores[0] else "--", label=SCORES[k])
    if scores:
        axes[1].legend(fontsize=8)
    axes[1].set(xlabel="epoch", ylabel="score", ylim=(0, 1), title="validation (and training fit)")
    if fit:  # objectness far below the IoU at the responsible boxes: the detector cannot rank its good boxes
        for k, label in zip(FIT, ("IoU of responsible boxes", "their objectness", "objectness elsewhere",
                                  "class accuracy there")):
            if k in fit:
                axes[2].plot(epochs, [_number(r[k]) for r in rows], label=label)
        axes[2].legend(fontsize=8)
        axes[2].set(xlabel="epoch", ylim=(0, 1), title="fit at the responsible boxes")
    for ax in axes:
        ax.grid(alpha=0.3)
    with atomic_write(png) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def save_predictions(yolo: Any, records: list, folder: Path, imgsz: int, conf: float = 0.25) -> list[Path]:
    """Annotated predictions of ``records`` (dataset ImageRecords) as ``folder/<stem>.jpg``."""
    out = []
    for r in records:
        res = yolo.predict(str(r.image), imgsz=imgsz, conf=conf, exif=False)[0]  # as the labels: no EXIF turn
        out.append(res.save(folder / f"{Path(r.image).stem}.jpg"))
    return out


def save_val_montage(yolo: Any, records: list, path: Path, imgsz: int, conf: float = 0.25, tile: int = 320) -> Path:
    """One picture of up to 8 validation images: ground truth in white, predictions in class colours."""
    import torchvision

    tiles = []
    for r in records[:8]:
        res = yolo.predict(str(r.image), imgsz=imgsz, conf=conf, exif=False)[0]  # as the labels: no EXIF turn
        drawn = torch.from_numpy(np.array(res.draw())).permute(2, 0, 1)
        if len(r.boxes_xyxy):
            drawn = torchvision.utils.draw_bounding_boxes(drawn, torch.tensor(np.array(r.boxes_xyxy), dtype=torch.float32),
                                                          colors="white", width=1)
        img = Image.fromarray(drawn.permute(1, 2, 0).numpy())
        f = tile / max(img.size)
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (tile, tile), (32, 32, 32))
        canvas.paste(img, ((tile - img.width) // 2, (tile - img.height) // 2))
        tiles.append(canvas)
    cols = min(4, max(1, len(tiles)))
    rows = -(-len(tiles) // cols) or 1
    sheet = Image.new("RGB", (cols * tile, rows * tile), (32, 32, 32))
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % cols) * tile, (k // cols) * tile))
    with atomic_write(path) as f:
        sheet.save(f, format="JPEG", quality=90)
    return path
