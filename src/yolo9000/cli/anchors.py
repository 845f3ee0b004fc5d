"""``yolo9000 anchors``: k-means anchors of a dataset, their report and plots; its flags are
:class:`AnchorsOptions`' fields."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import partial
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
from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.datasets import DatasetPaths, dataset_paths, load_dataset
from yolo9000.errors import Yolo9000Error
from yolo9000.fields import option
from yolo9000.fileio import check_outputs, write_json
from yolo9000.models.darknet import imgsz_problem


# ------------------------------------------------------------------------------------------ CLI
@dataclass(frozen=True)
class AnchorsOptions:
    """``yolo9000 anchors``' options: field names are the flags (``coco_json`` = ``--coco-json``; ``k`` =
    ``-k``); ``data`` or ``coco_json``, one of them."""

    data: str | None = option(None, "dataset YAML", one_of="source")
    coco_json: str | None = option(None, "COCO instances JSON (instead of --data)", one_of="source")
    image_sizes: str | None = option(None, 'with --coco-json lacking image sizes: JSON {"<image id or file_name>": '
                                           "[width, height]}; none: each image's box extents")
    split: str = option("train", "dataset split")
    k: int = option(5, "number of anchors", min=1, flags=("-k",))
    imgsz: int = option(416, f"network input size for grid units (x {STRIDE} px)",
                        check=partial(imgsz_problem, stride=STRIDE))
    restarts: int = option(10, "k-means runs from different seeds; best kept", min=1)
    seed: int = option(0, "random seed")
    iters: int = option(300, "maximum iterations per run")
    letterbox: bool = option(True, "sides / the longer image side (--no-letterbox: stretch, w / image width, "
                                   "h / image height)")
    study: bool = option(False, "the paper's Table 1: k = 1..10 (IoU), k = 5, 9 (Euclidean), darknet's VOC anchors")
    decimals: int = option(2, "decimals of the printed anchors", range="[0, 10]")
    json: str | None = option(None, "write the anchors (or the study) as JSON here")
    plot: str | None = option(None, "write a PNG here: box shapes and anchors (with --study: mean IoU against k)")


def add_anchors_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``anchors`` (k-means dimension clusters and the Table 1 study) to a CLI's subparsers."""
    p = sub.add_parser("anchors", help="anchor shapes by k-means with d = 1 - IoU (YOLOv2 dimension clusters)",
                       description="k-means on the training boxes' shapes with the distance 1 - IoU; prints the "
                                   "anchors in grid cells (32 px) at --imgsz, ready for a cfg and a model config, "
                                   "and the mean IoU of the boxes with their closest anchor. --study prints the "
                                   "paper's Table 1 on the data instead.")
    add_dataclass_args(p, AnchorsOptions)
    return p


def _load_shapes(a: AnchorsOptions) -> BoxShapes:
    if a.coco_json:
        sizes = load_image_sizes(a.image_sizes) if a.image_sizes else None
        return boxes_from_coco_json(a.coco_json, sizes)
    if a.image_sizes:
        raise Yolo9000Error(f"{a.image_sizes}: --image-sizes goes with --coco-json only")

    b = dataset_boxes(load_dataset(a.data, a.split))
    return BoxShapes(b.wh_px, b.image_wh_px, f"{a.data} [{a.split}]", b.sizes_note, b.images)


def _label(a: AnchorsOptions) -> str:
    return Path(a.coco_json).name if a.coco_json else f"{Path(a.data).name} [{a.split}]"


def _write_json(path: str | Path, obj: dict) -> None:
    write_json(obj, path, indent=2)


def cmd_anchors(args: argparse.Namespace) -> int:
    """Run ``anchors``: print anchors (or the study), write --json / --plot; 0 on success."""
    return run_anchors(dataclass_from_args(AnchorsOptions, args))


def run_anchors(a: AnchorsOptions) -> int:
    """``yolo9000 anchors`` on checked options (:func:`cmd_anchors`)."""
    data = dataset_paths(a.data) if a.data else DatasetPaths(frozenset(), frozenset())
    check_outputs({"--json": a.json, "--plot": a.plot}, reads=[a.coco_json, a.image_sizes, *data.files],
                  data_folders=data.folders)
    if a.plot and Path(a.plot).suffix.lower() != ".png":
        raise Yolo9000Error(f"{a.plot}: --plot writes a PNG picture; give a .png file name")
    boxes = _load_shapes(a)
    letterbox = a.letterbox
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


def _run_study(a: AnchorsOptions, boxes: BoxShapes, shapes: np.ndarray, letterbox: bool, head: str) -> int:
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
