"""The per-class report of a validation, as darknet's ``detector map`` and Ultralytics' ``val`` print it:
images and instances, TP / FP / FN with precision, recall, F1 and the mean IoU of the true positives at one
working confidence, beside AP at the chosen metric and COCO's AP@[.50:.95].

The working point: the detections scored above ``conf`` (darknet's ``map`` uses 0.25, strictly above), each
matched as VOC matches them (highest score first, to the unmatched box of its class with the highest IoU
above ``iou``; a box marked difficult or crowd neither counts nor is missed). FN = boxes - TP. Darknet's
"average IoU" divides the true positives' IoUs by TP + FP; the mean IoU here is over the true positives
only, the localisation of what was found.

AP@[.50:.95] is COCO's (:func:`~yolo9000.metrics.coco.evaluate_coco`) on the same detections, with
difficult boxes as COCO's crowd boxes (matched but not counted), so both APs ignore the same boxes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from yolo9000.metrics.coco import COCOResult, evaluate_coco
from yolo9000.metrics.structures import DetectionSet, GroundTruth
from yolo9000.metrics.voc import VOCResult, evaluate_voc, match_detections


@dataclass(frozen=True, eq=False)
class BoxMetrics:
    """Ultralytics' ``metrics.box`` names over a :class:`DetectionSummary`: per-class arrays ``p``, ``r``,
    ``f1``, ``ap50``, ``ap`` (AP@[.50:.95]) and their means over the classes with boxes: ``mp``, ``mr``,
    ``map50``, ``map``."""

    p: np.ndarray
    r: np.ndarray
    f1: np.ndarray
    ap50: np.ndarray
    ap: np.ndarray
    scored: np.ndarray  # (K,) bool: the class has boxes (the means are over these)

    def _mean(self, v: np.ndarray) -> float:
        return float(np.mean(v[self.scored])) if self.scored.any() else float("nan")

    @property
    def mp(self) -> float:
        return self._mean(self.p)

    @property
    def mr(self) -> float:
        return self._mean(self.r)

    @property
    def map50(self) -> float:
        return self._mean(self.ap50)

    @property
    def map(self) -> float:
        return self._mean(self.ap)


@dataclass(frozen=True, eq=False)
class DetectionSummary:
    """One row per class (arrays of shape (K,), in the ground truth's class order).

    Attributes:
        names: class names. conf: the working confidence; iou: the match threshold (strictly above).
        images: images holding a box of the class; instances: its boxes that count (not difficult/crowd).
        tp, fp, fn: at ``conf``; precision = TP / (TP + FP) (0 without detections), recall = TP / instances
            (NaN without boxes), f1 their harmonic mean (0 where both are 0).
        mean_iou: mean IoU of the true positives with their boxes (NaN without any).
        ap: the chosen metric's AP per class (``ap_name`` says which: ``AP50`` for VOC at IoU 0.5);
            ap50_95: COCO's AP@[.50:.95] (-1 for a class without boxes, as COCO gives).
    """

    names: tuple[str, ...]
    conf: float
    iou: float
    ap_name: str
    images: np.ndarray
    instances: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    mean_iou: np.ndarray
    ap: np.ndarray
    ap50_95: np.ndarray
    totals: dict[str, float]

    @property
    def box(self) -> BoxMetrics:
        """Ultralytics' ``metrics.box``: ``map50``, ``map``, ``mp``, ``mr`` and the per-class arrays."""
        return BoxMetrics(self.precision, self.recall, self.f1, self.ap, self.ap50_95, self.instances > 0)

    def table(self) -> str:
        """The report: a header, an ``all`` row, one row per class. The ``all`` row sums the counts (images:
        those with any box) and, as darknet's ``map`` does, takes P, R, F1 and IoU of the sums; its APs are the
        means over the classes with boxes (the mAPs)."""
        width = max([len(n) for n in self.names] + [8])
        head = (f"{'class':<{width}} {'images':>7} {'instances':>9} {'TP':>6} {'FP':>6} {'FN':>6} {'P':>6} "
                f"{'R':>6} {'F1':>6} {'IoU':>6} {self.ap_name:>7} {'AP50-95':>7}")
        lines = [f"at confidence > {self.conf:g} (TP/FP/FN, P, R, F1, IoU of the true positives); AP over all "
                 f"detections", head]
        t = self.totals
        lines.append(self._row("all", width, t["images"], t["instances"], t["tp"], t["fp"], t["fn"], t["precision"],
                               t["recall"], t["f1"], t["mean_iou"], t["ap"], t["ap50_95"]))
        for k, name in enumerate(self.names):
            lines.append(self._row(name, width, self.images[k], self.instances[k], self.tp[k], self.fp[k], self.fn[k],
                                   self.precision[k], self.recall[k], self.f1[k], self.mean_iou[k], self.ap[k],
                                   self.ap50_95[k]))
        return "\n".join(lines)

    @staticmethod
    def _row(name: str, width: int, *v: Any) -> str:
        counts = " ".join(f"{int(x):>{w}}" for x, w in zip(v[:5], (7, 9, 6, 6, 6)))
        return f"{name:<{width}} {counts} " + " ".join(f"{_num(x):>{w}}" for x, w in zip(v[5:], (6, 6, 6, 6, 7, 7)))

    def to_json(self) -> dict[str, Any]:
        """``{"conf", "iou", "ap_name", "all": {...}, "per_class": {name: {...}}}``: counts as integers, the
        rest as floats, undefined values (NaN, COCO's -1) as null."""
        per_class = {n: {k: _clean(k, getattr(self, k)[i]) for k in _KEYS} for i, n in enumerate(self.names)}
        return {"conf": self.conf, "iou": self.iou, "ap_name": self.ap_name,
                "all": {k: _clean(k, self.totals[k]) for k in _KEYS}, "per_class": per_class}


_COUNTS = ("images", "instances", "tp", "fp", "fn")
_KEYS = (*_COUNTS, "precision", "recall", "f1", "mean_iou", "ap", "ap50_95")


def _num(v: float) -> str:
    return "   n/a" if v is None or math.isnan(v) or v < 0 else f"{v:.3f}"


def _clean(key: str, v: Any) -> float | int | None:
    if key in _COUNTS:
        return int(v)
    v = float(v)
    return None if math.isnan(v) or v < 0 else v


def _ratio(a: np.ndarray, b: np.ndarray, empty: float) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.full(a.shape, empty), where=b > 0)


def _f1(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    s = p + r
    return np.divide(2 * p * r, s, out=np.zeros_like(s), where=s > 0)


def _subset(dets: DetectionSet, keep: np.ndarray) -> DetectionSet:
    return DetectionSet(dets.image_index[keep], dets.label[keep], dets.boxes_xywh[keep], dets.scores[keep])


def summarize(gt: GroundTruth, dets: DetectionSet, result: VOCResult | COCOResult, conf: float = 0.25,
              iou: float = 0.5, plus1: bool = True) -> DetectionSummary:
    """The per-class report of ``dets`` against ``gt`` (see the module docstring); ``result`` is the chosen
    metric's, already computed on ``dets``, whose per-class AP it shows beside COCO's AP@[.50:.95]."""
    k = gt.num_classes
    hard = np.asarray(gt.difficult, bool) | np.asarray(gt.iscrowd, bool)
    present = np.zeros((k, max(gt.num_images, 1)), bool)
    present[gt.label, gt.image_index] = True
    images = present.sum(axis=1).astype(np.int64)

    working = _subset(dets, np.asarray(dets.scores) > conf)
    at = evaluate_voc(gt, working, iou=iou, use_07_metric=True, plus1=plus1)  # its tp / fp per class
    best_iou, _ = match_detections(gt, working, plus1)
    true_pos = at.outcome == 1
    iou_sum = np.bincount(working.label[true_pos], weights=best_iou[true_pos], minlength=k)
    tp, fp, instances = at.tp, at.fp, at.npos
    fn = instances - tp
    precision, recall = _ratio(tp, tp + fp, 0.0), _ratio(tp, instances, float("nan"))
    f1 = _f1(precision, np.nan_to_num(recall))

    coco = evaluate_coco(replace(gt, iscrowd=hard), dets)
    if isinstance(result, COCOResult):
        ap, ap_name = result.per_class_ap50, "AP50"
    else:
        ap, ap_name = result.ap, f"AP{round(result.iou * 100)}"
    scored = instances > 0
    T = {"images": float(np.any(present, axis=0).sum()), "instances": float(instances.sum()),
         "tp": float(tp.sum()), "fp": float(fp.sum()), "fn": float(fn.sum())}
    T["precision"] = T["tp"] / (T["tp"] + T["fp"]) if T["tp"] + T["fp"] else 0.0
    T["recall"] = T["tp"] / T["instances"] if T["instances"] else float("nan")
    T["f1"] = float(_f1(np.array([T["precision"]]), np.nan_to_num(np.array([T["recall"]])))[0])
    T["mean_iou"] = float(iou_sum.sum() / T["tp"]) if T["tp"] else float("nan")
    T["ap"] = float(np.mean(ap[scored])) if scored.any() else float("nan")
    T["ap50_95"] = float(coco.stats["AP"])
    return DetectionSummary(tuple(gt.names), conf, iou, ap_name, images, instances, tp, fp, fn, precision, recall,
                            f1, _ratio(iou_sum, tp, float("nan")), np.asarray(ap, np.float64),
                            np.asarray(coco.per_class_ap, np.float64), T)
