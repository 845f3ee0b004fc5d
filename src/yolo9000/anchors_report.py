"""Anchor reports: cfg and Python formatting, the paper's Table 1 study, plots, and ``yolo9000 anchors``.

The k-means itself is in :mod:`yolo9000.anchors`.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .anchors import (DARKNET_VOC_IMGSZ, STRIDE, YOLO_VOC_2_0_ANCHORS_GRID, YOLOV2_VOC_ANCHORS_GRID, AnchorFit, BoxShapes,
                      _check_inputs, boxes_from_coco_json, dataset_boxes, from_grid, kmeans_anchors,
                      kmeans_euclidean, load_image_sizes, mean_best_iou, to_grid)
from .errors import Yolo9000Error
from .fileio import check_output_file, write_json
from .metrics.plots import _pyplot
from .metrics.plots import _save as _save_png

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


# ------------------------------------------------------------------------------------------ CLI
def add_anchors_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``anchors`` (k-means dimension clusters and the Table 1 study) to a CLI's subparsers."""
    p = sub.add_parser("anchors", help="anchor shapes by k-means with d = 1 - IoU (YOLOv2 dimension clusters)",
                       description="k-means on the training boxes' shapes with the distance 1 - IoU; prints the "
                                   "anchors in grid cells (32 px) at --imgsz, ready for a cfg and a model config, "
                                   "and the mean IoU of the boxes with their closest anchor. --study prints the "
                                   "paper's Table 1 on the data instead.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset YAML")
    src.add_argument("--coco-json", help="COCO instances JSON (instead of --data)")
    p.add_argument("--image-sizes", help='with --coco-json lacking image sizes: JSON {"<image id or file_name>": '
                                         "[width, height]} (default: each image's box extents)")
    p.add_argument("--split", default="train", help="dataset split (default train)")
    p.add_argument("-k", type=int, default=5, help="number of anchors (default 5)")
    p.add_argument("--imgsz", type=int, default=416, help="network input size for grid units (default 416)")
    p.add_argument("--restarts", type=int, default=10, help="k-means runs from different seeds; best kept (10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--iters", type=int, default=300, help="maximum iterations per run (default 300)")
    p.add_argument("--no-letterbox", action="store_true",
                   help="stretch: w / image width, h / image height (default: sides / the longer image side)")
    p.add_argument("--study", action="store_true",
                   help="the paper's Table 1: k = 1..10 (IoU), k = 5, 9 (Euclidean), darknet's VOC anchors")
    p.add_argument("--decimals", type=int, default=2, help="decimals of the printed anchors (default 2)")
    p.add_argument("--json", help="write the anchors (or the study) as JSON here")
    p.add_argument("--plot", help="write a PNG here: box shapes and anchors (with --study: mean IoU against k)")
    return p


def _load_shapes(a: argparse.Namespace) -> BoxShapes:
    if a.coco_json:
        sizes = load_image_sizes(a.image_sizes) if a.image_sizes else None
        return boxes_from_coco_json(a.coco_json, sizes)
    if a.image_sizes:
        raise Yolo9000Error(f"{a.image_sizes}: --image-sizes goes with --coco-json only")
    from .datasets import load_dataset

    b = dataset_boxes(load_dataset(a.data, a.split))
    return BoxShapes(b.wh_px, b.image_wh_px, f"{a.data} [{a.split}]", b.sizes_note, b.images)


def _label(a: argparse.Namespace) -> str:
    return Path(a.coco_json).name if a.coco_json else f"{Path(a.data).name} [{a.split}]"


def _write_json(path: str | Path, obj: dict) -> None:
    write_json(obj, path, indent=2)


def cmd_anchors(a: argparse.Namespace) -> int:
    """Run ``anchors``: print anchors (or the study), write --json / --plot; 0 on success."""
    if a.imgsz < STRIDE or a.imgsz % STRIDE:
        raise Yolo9000Error(f"--imgsz must be a positive multiple of {STRIDE}, got {a.imgsz}")
    if not 0 <= a.decimals <= 10:
        raise Yolo9000Error(f"--decimals must be between 0 and 10, got {a.decimals}")
    if a.k < 1 or a.restarts < 1:
        raise Yolo9000Error(f"k must be at least 1 and --restarts at least 1 (got -k {a.k}, --restarts {a.restarts})")
    check_output_file(a.json, "--json")
    check_output_file(a.plot, "--plot")
    if a.plot and Path(a.plot).suffix.lower() != ".png":
        raise Yolo9000Error(f"{a.plot}: --plot writes a PNG picture; give a .png file name")
    boxes = _load_shapes(a)
    letterbox = not a.no_letterbox
    shapes = boxes.normalised(letterbox)
    mode = "letterboxed (sides / the longer image side)" if letterbox else "stretched (w / width, h / height)"
    print(f"{boxes.source}: {len(boxes)} boxes in {boxes.images} images, {mode}; {boxes.sizes_note}")
    if a.study:
        return _run_study(a, boxes, shapes, letterbox)
    fit = kmeans_anchors(shapes, a.k, a.restarts, a.seed, a.iters, source=boxes.source)
    grid = to_grid(fit.anchors_norm, a.imgsz)
    print(f"k-means (d = 1 - IoU, mean update, k-means++ init), k={a.k}, best of {a.restarts} restarts, "
          f"seed {a.seed}")
    print(f"mean IoU of every box with its closest anchor: {fit.mean_iou:.4f}")
    print(f"anchors in grid cells at {a.imgsz} (x {STRIDE} px), sorted by area:")
    for i, (w, h) in enumerate(grid):
        n = int(np.count_nonzero(fit.assignments == i))
        print(f"  {w:8.{a.decimals}f} {h:8.{a.decimals}f}   ({w * STRIDE:6.1f} x {h * STRIDE:6.1f} px, {n} boxes)")
    print(f"cfg [region]:  {format_cfg_anchors(grid, a.decimals)}")
    print(f"python:        anchors={format_python_anchors(grid, a.decimals)}")
    if a.json:
        _write_json(a.json, {"anchors": [[float(w), float(h)] for w, h in grid], "mean_iou": fit.mean_iou,
                             "k": a.k, "imgsz": a.imgsz, "letterbox": letterbox, "num_boxes": len(boxes),
                             "source": boxes.source, "image_sizes": boxes.sizes_note})
        print(f"wrote {a.json}")
    if a.plot:
        plot_shapes(a.plot, shapes, fit, a.imgsz,
                    title=f"{_label(a)}: {len(boxes)} boxes, {a.k} anchors, mean IoU {fit.mean_iou:.4f}")
        print(f"wrote {a.plot}")
    return 0


def _run_study(a: argparse.Namespace, boxes: BoxShapes, shapes: np.ndarray, letterbox: bool) -> int:
    rows = anchor_study(shapes, restarts=a.restarts, seed=a.seed, source=boxes.source)
    print(f"mean IoU of every box with its closest anchor ({a.restarts} restarts, seed {a.seed}):")
    print()
    print(study_markdown(rows, a.imgsz, a.decimals))
    if a.json:
        _write_json(a.json, {"study": [{"method": r.method, "k": r.k, "mean_iou": r.mean_iou,
                                        "anchors": [[float(w), float(h)] for w, h in to_grid(r.anchors_norm, a.imgsz)]}
                                       for r in rows],
                             "imgsz": a.imgsz, "letterbox": letterbox, "num_boxes": len(boxes),
                             "source": boxes.source, "image_sizes": boxes.sizes_note})
        print(f"wrote {a.json}")
    if a.plot:
        plot_study(a.plot, rows, title=f"{_label(a)}: mean IoU against k ({len(boxes)} boxes)")
        print(f"wrote {a.plot}")
    return 0
