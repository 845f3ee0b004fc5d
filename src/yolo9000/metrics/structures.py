"""Ground truth and detections for scoring, held as flat NumPy arrays (one row per box).

Boxes are kept in COCO's ``[x, y, w, h]`` pixels exactly as given (so COCO scoring sees the very
numbers of the JSON); ``.xyxy`` derives corners for the VOC metrics. Images and categories are
indexed 0..N-1 here; ``image_keys`` and ``category_ids`` hold the original COCO ids.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yolo9000.errors import Yolo9000Error, file_error, require_file
from yolo9000.ops.boxes import box_convert


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """Ground-truth boxes of a dataset.

    Attributes:
        image_keys: (I,) original image ids (COCO ``id``); ``file_names``: (I,) file names.
        category_ids: (K,) original category ids; ``names``: (K,) category names.
        image_index: (G,) int64 image of each box (index into ``image_keys``).
        label: (G,) int64 category of each box (index into ``category_ids``).
        boxes_xywh: (G, 4) float64 x, y, w, h in pixels.
        area: (G,) float64 COCO area (the annotation's ``area``, else w*h).
        difficult: (G,) bool (VOC ``difficult``); iscrowd: (G,) bool (COCO ``iscrowd``).
    """

    image_keys: tuple[Any, ...]
    file_names: tuple[str, ...]
    category_ids: tuple[int, ...]
    names: tuple[str, ...]
    image_index: np.ndarray
    label: np.ndarray
    boxes_xywh: np.ndarray
    area: np.ndarray
    difficult: np.ndarray
    iscrowd: np.ndarray

    @property
    def xyxy(self) -> np.ndarray:
        """(G, 4) x1, y1, x2, y2 in pixels."""
        return box_convert(self.boxes_xywh, "xywh", "xyxy")

    @property
    def num_images(self) -> int:
        return len(self.image_keys)

    @property
    def num_classes(self) -> int:
        return len(self.category_ids)


@dataclass(frozen=True, eq=False)
class DetectionSet:
    """Detections to score, in the order given (ties in score keep this order).

    Attributes:
        image_index: (D,) int64 index into the ground truth's images.
        label: (D,) int64 index into the ground truth's categories.
        boxes_xywh: (D, 4) float64 x, y, w, h in pixels.
        scores: (D,) float64.
    """

    image_index: np.ndarray
    label: np.ndarray
    boxes_xywh: np.ndarray
    scores: np.ndarray

    @property
    def xyxy(self) -> np.ndarray:
        """(D, 4) x1, y1, x2, y2 in pixels."""
        return box_convert(self.boxes_xywh, "xywh", "xyxy")

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def _read_json(path: str | Path) -> Any:
    p = require_file(path, "JSON file")
    try:
        with open(p, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise file_error(p, f"malformed JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except UnicodeDecodeError:
        raise file_error(p, "not a UTF-8 text file") from None


def _box(value: Any, where: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise Yolo9000Error(f"{where}: bbox must be [x, y, w, h], got {value!r}")
    try:
        box = [float(v) for v in value]
    except (TypeError, ValueError):
        raise Yolo9000Error(f"{where}: bbox must hold numbers, got {value!r}") from None
    if not all(np.isfinite(box)) or box[2] < 0 or box[3] < 0:
        raise Yolo9000Error(f"{where}: bbox {value!r} has a negative or non-finite size")
    return box


def _flag(value: Any, where: str, key: str) -> bool:
    """A 0/1 flag of an annotation (``difficult``, ``iscrowd``): a JSON boolean, 0 or 1, or the strings
    ``"0"``, ``"1"``, ``"true"``, ``"false"`` (any case); anything else is a one-line error at ``where``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAG_WORDS:
        return _FLAG_WORDS[value.strip().lower()]
    raise Yolo9000Error(f"{where}: '{key}' must be 0 or 1 (or true / false), got {value!r}")


_FLAG_WORDS = {"0": False, "1": True, "false": False, "true": True}


def _all_under_a_pixel(boxes_xywh: np.ndarray) -> bool:
    """Whether there are boxes ((G, 4) x, y, w, h) and every one is under a pixel wide and high: normalised
    coordinates (fractions of the image) where pixels are expected."""
    return len(boxes_xywh) > 0 and bool(np.all((boxes_xywh[:, 2] < 1) & (boxes_xywh[:, 3] < 1)))


def ground_truth_from_coco(data: dict[str, Any], source: str = "<gt>") -> GroundTruth:
    """Build :class:`GroundTruth` from a COCO instances dict (``images``, ``annotations``, ``categories``)."""
    if not isinstance(data, dict) or not all(k in data for k in ("images", "annotations", "categories")):
        raise Yolo9000Error(f"{source}: not COCO instances (needs 'images', 'annotations' and 'categories')")
    try:
        image_keys = tuple(im["id"] for im in data["images"])
        file_names = tuple(str(im.get("file_name", im["id"])) for im in data["images"])
        category_ids = tuple(int(c["id"]) for c in data["categories"])
        names = tuple(str(c.get("name", c["id"])) for c in data["categories"])
    except (KeyError, TypeError, ValueError) as e:
        raise Yolo9000Error(f"{source}: malformed images or categories ({type(e).__name__}: {e})") from None
    if len(set(image_keys)) != len(image_keys) or len(set(category_ids)) != len(category_ids):
        raise Yolo9000Error(f"{source}: duplicate image or category ids")
    img_of = {k: i for i, k in enumerate(image_keys)}
    cat_of = {c: i for i, c in enumerate(category_ids)}
    rows_img, rows_cat, boxes, area, difficult, crowd = [], [], [], [], [], []
    for n, ann in enumerate(data["annotations"]):
        where = f"{source}: annotation {n}"
        if not isinstance(ann, dict) or "image_id" not in ann or "category_id" not in ann or "bbox" not in ann:
            raise Yolo9000Error(f"{where}: needs image_id, category_id and bbox")
        if ann["image_id"] not in img_of:
            raise Yolo9000Error(f"{where}: unknown image_id {ann['image_id']!r}")
        if ann["category_id"] not in cat_of:
            raise Yolo9000Error(f"{where}: unknown category_id {ann['category_id']!r}")
        box = _box(ann["bbox"], where)
        rows_img.append(img_of[ann["image_id"]])
        rows_cat.append(cat_of[ann["category_id"]])
        boxes.append(box)
        area.append(float(ann["area"]) if "area" in ann else box[2] * box[3])
        difficult.append(_flag(ann.get("difficult", 0), where, "difficult"))
        crowd.append(_flag(ann.get("iscrowd", 0), where, "iscrowd"))
    boxes_xywh = np.array(boxes, np.float64).reshape(-1, 4)
    if _all_under_a_pixel(boxes_xywh):
        warnings.warn(f"{source}: every box is under a pixel wide and high (largest {boxes_xywh[:, 2].max():g} x "
                      f"{boxes_xywh[:, 3].max():g}): normalised coordinates? COCO boxes are [x, y, w, h] in pixels; "
                      f"the scores mean nothing (VOC's +1-pixel widths make every such box overlap)", stacklevel=2)
    return GroundTruth(image_keys, file_names, category_ids, names, np.array(rows_img, np.int64),
                       np.array(rows_cat, np.int64), boxes_xywh,
                       np.array(area, np.float64), np.array(difficult, bool), np.array(crowd, bool))


def detections_from_coco(results: list[dict[str, Any]], gt: GroundTruth, source: str = "<dets>") -> DetectionSet:
    """Build a :class:`DetectionSet` from a COCO results list.

    Detections of categories absent from the ground truth are dropped (no reference scores them), with a
    warning; an image id absent from the ground truth is an error.
    """
    if not isinstance(results, list):
        raise Yolo9000Error(f"{source}: a COCO results file is a JSON list of detections")
    img_of = {k: i for i, k in enumerate(gt.image_keys)}
    cat_of = {c: i for i, c in enumerate(gt.category_ids)}
    rows_img, rows_cat, boxes, scores = [], [], [], []
    unknown: list[Any] = []
    for n, det in enumerate(results):
        where = f"{source}: detection {n}"
        if not isinstance(det, dict) or not all(k in det for k in ("image_id", "category_id", "bbox", "score")):
            raise Yolo9000Error(f"{where}: needs image_id, category_id, bbox and score")
        if det["image_id"] not in img_of:
            raise Yolo9000Error(f"{where}: image_id {det['image_id']!r} is not in the ground truth")
        if det["category_id"] not in cat_of:
            unknown.append(det["category_id"])
            continue
        try:
            score = float(det["score"])
        except (TypeError, ValueError):
            raise Yolo9000Error(f"{where}: score {det['score']!r} is not a number") from None
        if not np.isfinite(score):
            raise Yolo9000Error(f"{where}: score {det['score']!r} is not finite")
        rows_img.append(img_of[det["image_id"]])
        rows_cat.append(cat_of[det["category_id"]])
        boxes.append(_box(det["bbox"], where))
        scores.append(score)
    if unknown:
        warnings.warn(f"{source}: {len(unknown)} detections of category ids the ground truth lacks (first "
                      f"{unknown[0]!r}) are not scored", stacklevel=2)
    return DetectionSet(np.array(rows_img, np.int64), np.array(rows_cat, np.int64),
                        np.array(boxes, np.float64).reshape(-1, 4), np.array(scores, np.float64))


def load_ground_truth(path: str | Path) -> GroundTruth:
    """Read COCO instances JSON (an extra per-annotation ``difficult`` 0/1 is kept; ``difficult`` and
    ``iscrowd`` may be JSON booleans, 0/1 or the strings "0", "1", "true", "false"). Warns (one line) when
    every box is under a pixel: normalised coordinates where COCO has pixels."""
    return ground_truth_from_coco(_read_json(path), str(path))


def load_detections(path: str | Path, gt: GroundTruth) -> DetectionSet:
    """Read a COCO results JSON list against ``gt``."""
    return detections_from_coco(_read_json(path), gt, str(path))


def ground_truth_to_coco(gt: GroundTruth) -> dict[str, Any]:
    """The COCO instances dict of ``gt`` (boxes, areas and ids exactly as held)."""
    anns = [{"id": i + 1, "image_id": gt.image_keys[int(im)], "category_id": gt.category_ids[int(c)],
             "bbox": [float(v) for v in box], "area": float(a), "iscrowd": int(cr), "difficult": int(d)}
            for i, (im, c, box, a, cr, d) in enumerate(zip(gt.image_index, gt.label, gt.boxes_xywh, gt.area,
                                                           gt.iscrowd, gt.difficult))]
    return {"images": [{"id": k, "file_name": f} for k, f in zip(gt.image_keys, gt.file_names)],
            "annotations": anns,
            "categories": [{"id": c, "name": n} for c, n in zip(gt.category_ids, gt.names)]}


def detections_to_coco(dets: DetectionSet, gt: GroundTruth) -> list[dict[str, Any]]:
    """The COCO results list of ``dets``."""
    return [{"image_id": gt.image_keys[int(im)], "category_id": gt.category_ids[int(c)],
             "bbox": [float(v) for v in box], "score": float(s)}
            for im, c, box, s in zip(dets.image_index, dets.label, dets.boxes_xywh, dets.scores)]
