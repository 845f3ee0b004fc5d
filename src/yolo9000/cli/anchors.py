"""``yolo9000 anchors``: k-means anchors of a dataset, their report and plots."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from yolo9000.anchors.kmeans import (
    STRIDE,
    BoxShapes,
    boxes_from_coco_json,
    dataset_boxes,
    kmeans_anchors,
    load_image_sizes,
    to_grid,
)
from yolo9000.anchors.report import (
    anchor_study,
    format_cfg_anchors,
    format_python_anchors,
    plot_shapes,
    plot_study,
    study_markdown,
)
from yolo9000.datasets import DatasetPaths, dataset_paths, load_dataset
from yolo9000.errors import Yolo9000Error
from yolo9000.fileio import check_outputs, write_json


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
    data = dataset_paths(a.data) if a.data else DatasetPaths(frozenset(), frozenset())
    check_outputs({"--json": a.json, "--plot": a.plot}, reads=[a.coco_json, a.image_sizes, *data.files],
                  data_folders=data.folders)
    if a.plot and Path(a.plot).suffix.lower() != ".png":
        raise Yolo9000Error(f"{a.plot}: --plot writes a PNG picture; give a .png file name")
    boxes = _load_shapes(a)
    letterbox = not a.no_letterbox
    shapes = boxes.normalised(letterbox)
    mode = "letterboxed (sides / the longer image side)" if letterbox else "stretched (w / width, h / height)"
    head = f"{boxes.source}: {len(boxes)} boxes in {boxes.images} images, {mode}; {boxes.sizes_note}"
    if a.study:
        return _run_study(a, boxes, shapes, letterbox, head)
    fit = kmeans_anchors(shapes, a.k, a.restarts, a.seed, a.iters, source=boxes.source)
    grid = to_grid(fit.anchors_norm, a.imgsz)
    report = [head, f"k-means (d = 1 - IoU, mean update, k-means++ init), k={a.k}, best of {a.restarts} restarts, "
                    f"seed {a.seed}",
              f"mean IoU of every box with its closest anchor: {fit.mean_iou:.4f}",
              f"anchors in grid cells at {a.imgsz} (x {STRIDE} px), sorted by area:"]
    for i, (w, h) in enumerate(grid):
        n = int(np.count_nonzero(fit.assignments == i))
        report.append(f"  {w:8.{a.decimals}f} {h:8.{a.decimals}f}   ({w * STRIDE:6.1f} x {h * STRIDE:6.1f} px, "
                      f"{n} boxes)")
    report += [f"cfg [region]:  {format_cfg_anchors(grid, a.decimals)}",
               f"python:        anchors={format_python_anchors(grid, a.decimals)}"]
    # the files first, then the report: a disk that refuses them is the one line of the run
    if a.json:
        _write_json(a.json, {"anchors": [[float(w), float(h)] for w, h in grid], "mean_iou": fit.mean_iou,
                             "k": a.k, "imgsz": a.imgsz, "letterbox": letterbox, "num_boxes": len(boxes),
                             "source": boxes.source, "image_sizes": boxes.sizes_note})
    if a.plot:
        plot_shapes(a.plot, shapes, fit, a.imgsz,
                    title=f"{_label(a)}: {len(boxes)} boxes, {a.k} anchors, mean IoU {fit.mean_iou:.4f}")
    print("\n".join(report + [f"wrote {f}" for f in (a.json, a.plot) if f]))
    return 0


def _run_study(a: argparse.Namespace, boxes: BoxShapes, shapes: np.ndarray, letterbox: bool, head: str) -> int:
    rows = anchor_study(shapes, restarts=a.restarts, seed=a.seed, source=boxes.source)
    if a.json:
        _write_json(a.json, {"study": [{"method": r.method, "k": r.k, "mean_iou": r.mean_iou,
                                        "anchors": [[float(w), float(h)] for w, h in to_grid(r.anchors_norm, a.imgsz)]}
                                       for r in rows],
                             "imgsz": a.imgsz, "letterbox": letterbox, "num_boxes": len(boxes),
                             "source": boxes.source, "image_sizes": boxes.sizes_note})
    if a.plot:
        plot_study(a.plot, rows, title=f"{_label(a)}: mean IoU against k ({len(boxes)} boxes)")
    print("\n".join([head, f"mean IoU of every box with its closest anchor ({a.restarts} restarts, seed {a.seed}):",
                     "", study_markdown(rows, a.imgsz, a.decimals), *[f"wrote {f}" for f in (a.json, a.plot) if f]]))
    return 0
