"""Printing and serialising evaluation results (used by ``yolo9000 score`` and ``yolo9000 val``)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Union

from yolo9000.errors import Yolo9000Error
from yolo9000.fileio import write_json
from yolo9000.metrics.coco import COCOResult, evaluate_coco
from yolo9000.metrics.structures import DetectionSet, GroundTruth
from yolo9000.metrics.voc import VOCResult, evaluate_voc

Result = Union[VOCResult, COCOResult]
METRICS = ("voc07", "voc", "coco")
COCO_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def evaluate(gt: GroundTruth, dets: DetectionSet, metric: str, iou: float = 0.5, plus1: bool = True) -> Result:
    """Score ``dets`` against ``gt`` with ``metric``: voc07 (11-point), voc (area) or coco."""
    if metric == "coco":
        return evaluate_coco(gt, dets)
    if metric not in ("voc07", "voc"):
        raise Yolo9000Error(f"metric {metric!r}: choose voc07, voc or coco")
    if not 0.0 < iou < 1.0:
        raise Yolo9000Error(f"IoU threshold {iou}: must be between 0 and 1")
    return evaluate_voc(gt, dets, iou=iou, use_07_metric=metric == "voc07", plus1=plus1)


def headline(result: Result) -> float:
    """The one number of a result: VOC mAP over the classes with ground truth, or COCO AP@[.5:.95]."""
    return float(result.stats["AP"]) if isinstance(result, COCOResult) else float(result.mAP)


def protocol(result: Result) -> str:
    """One line naming exactly what was computed."""
    if isinstance(result, COCOResult):
        return "COCO AP (pycocotools COCOeval bbox: IoU .50:.05:.95, 101 recall points, maxDets 100)"
    kind = "VOC2007 11-point AP" if result.metric == "voc07" else "VOC2010+ area AP"
    return f"{kind}, IoU > {result.iou:g}, {'+1' if result.plus1 else 'no +1'} pixel widths"


def _fmt(v: float) -> str:
    return "   n/a" if v is None or (isinstance(v, float) and math.isnan(v)) or v < 0 else f"{v:.4f}"


def format_table(result: Result) -> str:
    """A per-class table and the mean (VOC), or the 12 COCO numbers and per-class AP."""
    lines = [protocol(result)]
    names = list(result.names)
    width = max([len(n) for n in names] + [8])
    if isinstance(result, COCOResult):
        lines.append("  ".join(f"{k:>6}" for k in COCO_KEYS))
        lines.append("  ".join(f"{_fmt(result.stats[k]):>6}" for k in COCO_KEYS))
        lines.append(f"{'class':<{width}}  {'AP':>6}  {'AP50':>6}  {'AR100':>6}")
        for n, ap, ap50, ar in zip(names, result.per_class_ap, result.per_class_ap50, result.per_class_ar100):
            lines.append(f"{n:<{width}}  {_fmt(float(ap)):>6}  {_fmt(float(ap50)):>6}  {_fmt(float(ar)):>6}")
        return "\n".join(lines)
    lines.append(f"{'class':<{width}}  {'gt':>6}  {'AP':>6}")
    for n, npos, ap in zip(names, result.npos, result.ap):
        lines.append(f"{n:<{width}}  {int(npos):>6}  {_fmt(float(ap)):>6}")
    lines.append(f"{'mAP':<{width}}  {int(result.npos.sum()):>6}  {_fmt(float(result.mAP)):>6}")
    return "\n".join(lines)


def to_json(result: Result) -> dict[str, Any]:
    """VOC: ``{"metric", "mAP", "per_class"}``; COCO: ``{"metric": "coco", "stats", "per_class"}``."""
    def clean(v: float) -> float | None:
        return None if v is None or math.isnan(v) else float(v)

    per_class = {n: clean(float(v)) for n, v in result.per_class().items()}
    if isinstance(result, COCOResult):
        return {"metric": "coco", "stats": {k: float(result.stats[k]) for k in COCO_KEYS}, "per_class": per_class}
    return {"metric": result.metric, "mAP": clean(float(result.mAP)), "per_class": per_class,
            "iou": result.iou, "plus1": result.plus1}


def write_result_json(result: Result, path: str | Path, **extra: Any) -> Path:
    """Write a metric result (see :func:`to_json`) plus ``extra`` keys as strict JSON, atomically."""
    return write_json({**to_json(result), **extra}, path)
