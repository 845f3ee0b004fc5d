"""Anchor reports: cfg and Python formatting, the paper's Table 1 study, plots, and ``yolo9000 anchors``.

The k-means itself is in :mod:`yolo9000.anchors.kmeans`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo9000.anchors.kmeans import (
    DARKNET_VOC_IMGSZ,
    YOLO_VOC_2_0_ANCHORS_GRID,
    YOLOV2_VOC_ANCHORS_GRID,
    AnchorFit,
    _check_inputs,
    from_grid,
    kmeans_anchors,
    kmeans_euclidean,
    mean_best_iou,
    to_grid,
)
from yolo9000.metrics.plots import _pyplot
from yolo9000.metrics.plots import _save as _save_png


# ------------------------------------------------------------------------------------------ formatting
def format_cfg_anchors(anchors_grid: np.ndarray, decimals: int = 2) -> str:
    """(K, 2) grid-cell anchors -> the darknet cfg line ``anchors = 1.08,1.19, 3.42,4.41, ...``."""
    a = np.asarray(anchors_grid, np.float64).reshape(-1, 2)
    return "anchors = " + ", ".join(f"{w:.{decimals}f},{h:.{decimals}f}" for w, h in a)


def format_python_anchors(anchors_grid: np.ndarray, decimals: int = 2) -> str:
    """(K, 2) grid-cell anchors -> a flat Python tuple literal, as ``RegionSpec.anchors`` takes them."""
    a = np.asarray(anchors_grid, np.float64).reshape(-1)
    return "(" + ", ".join(f"{v:.{decimals}f}" for v in a) + ")"


# ------------------------------------------------------------------------------------------ study
@dataclass(frozen=True)
class StudyRow:
    """One row of the Table 1 study: how the anchors were made, how many, their (k, 2) ``_norm`` shapes, and
    the mean IoU of the boxes with their closest anchor."""

    method: str
    k: int
    anchors_norm: np.ndarray
    mean_iou: float


IOU_METHOD = "k-means, d = 1 - IoU"
EUCLID_METHOD = "k-means, Euclidean on (w, h)"
YOLOV2_VOC_METHOD = "darknet yolov2-voc.cfg anchors"
YOLO_VOC_2_0_METHOD = "darknet yolo-voc.2.0.cfg anchors (paper era)"


def anchor_study(shapes_norm: np.ndarray, ks: Sequence[int] = tuple(range(1, 11)),
                 euclid_ks: Sequence[int] = (5, 9), restarts: int = 10, seed: int = 0,
                 source: str = "box shapes") -> tuple[StudyRow, ...]:
    """The paper's Table 1 on ``shapes_norm`` (N, 2): IoU k-means for each of ``ks`` (a k above the number of
    distinct shapes is skipped), Euclidean k-means for ``euclid_ks``, and darknet's two VOC anchor sets (grid
    cells at 416, i.e. / 13 to fractions of the input side)."""
    s = _check_inputs(shapes_norm, 1, source)
    distinct = len(np.unique(s, axis=0)) if len(s) <= 65536 else None
    rows = []
    for method, fit_fn, kk in ((IOU_METHOD, kmeans_anchors, ks), (EUCLID_METHOD, kmeans_euclidean, euclid_ks)):
        for k in kk:
            if distinct is not None and k > distinct:
                continue
            fit = fit_fn(s, k, restarts, seed, source=source)
            rows.append(StudyRow(method, k, fit.anchors_norm, fit.mean_iou))
    darknet = ((YOLOV2_VOC_METHOD, YOLOV2_VOC_ANCHORS_GRID), (YOLO_VOC_2_0_METHOD, YOLO_VOC_2_0_ANCHORS_GRID))
    for method, grid in darknet:
        a = from_grid(grid, DARKNET_VOC_IMGSZ)
        rows.append(StudyRow(method, len(a), a, mean_best_iou(s, a)))
    return tuple(rows)


def study_markdown(rows: Sequence[StudyRow], imgsz: int = 416, decimals: int = 2) -> str:
    """A markdown table: method, k, mean IoU (%), anchors in grid cells at ``imgsz``."""
    lines = [f"| box generation | k | mean IoU | anchors (grid cells at {imgsz}) |", "|---|---|---|---|"]
    for r in rows:
        a = to_grid(r.anchors_norm, imgsz)
        anchors = " ".join(f"{w:.{decimals}f}x{h:.{decimals}f}" for w, h in a)
        lines.append(f"| {r.method} | {r.k} | {100 * r.mean_iou:.1f} | {anchors} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ plots


def plot_shapes(path: str | Path, shapes_norm: np.ndarray, fit: AnchorFit, imgsz: int, title: str = "",
                max_points: int = 100_000) -> Path:
    """Scatter of the box shapes (grid cells at ``imgsz``) coloured by cluster, the anchors marked; PNG.
    Above ``max_points`` boxes a fixed random subset is drawn."""
    plt = _pyplot()
    s = to_grid(np.asarray(shapes_norm, np.float64), imgsz)
    assign = fit.assignments
    if len(s) > max_points:
        keep = np.sort(np.random.default_rng(0).choice(len(s), max_points, replace=False))
        s, assign = s[keep], assign[keep]
    a = to_grid(fit.anchors_norm, imgsz)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.scatter(s[:, 0], s[:, 1], c=assign, cmap="tab10", s=4 if len(s) > 2000 else 12, alpha=0.5,
               vmin=0, vmax=max(9, len(a) - 1), linewidths=0)
    ax.scatter(a[:, 0], a[:, 1], marker="X", s=160, c="black", edgecolors="white", linewidths=1.5, zorder=3,
               label="anchors")
    for i, (w, h) in enumerate(a):
        ax.annotate(f"{w:.2f}x{h:.2f}", (w, h), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set(xlabel=f"width (grid cells at {imgsz})", ylabel=f"height (grid cells at {imgsz})",
           title=title or f"{len(a)} anchors, mean IoU {fit.mean_iou:.4f}")
    ax.set_xlim(0, max(s[:, 0].max(), a[:, 0].max()) * 1.05)
    ax.set_ylim(0, max(s[:, 1].max(), a[:, 1].max()) * 1.05)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    out = _save_png(fig, path)
    plt.close(fig)
    return out


def plot_study(path: str | Path, rows: Sequence[StudyRow], title: str = "") -> Path:
    """The paper's Figure 2 (left): mean IoU against k for IoU k-means, with the other rows as markers; PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    iou = [r for r in rows if r.method == IOU_METHOD]
    ax.plot([r.k for r in iou], [100 * r.mean_iou for r in iou], "o-", label=IOU_METHOD)
    markers = {EUCLID_METHOD: "s", YOLOV2_VOC_METHOD: "^", YOLO_VOC_2_0_METHOD: "v"}
    for method, m in markers.items():
        rs = [r for r in rows if r.method == method]
        if rs:
            ax.plot([r.k for r in rs], [100 * r.mean_iou for r in rs], m, ms=9, label=method)
    ax.set(xlabel="k (number of anchors)", ylabel="mean IoU with the closest anchor (%)",
           title=title or "dimension clusters", xticks=range(1, max(r.k for r in rows) + 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    out = _save_png(fig, path)
    plt.close(fig)
    return out
