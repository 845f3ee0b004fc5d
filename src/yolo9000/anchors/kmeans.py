"""Dimension clusters (YOLOv2, section 2): anchor shapes by k-means with the distance d = 1 - IoU.

Boxes are compared by shape only: both centred at the origin, so IoU((w1, h1), (w2, h2)) =
min(w1, w2) * min(h1, h2) / (w1 * h1 + w2 * h2 - min(w1, w2) * min(h1, h2)).

Shapes are normalised to the image as the network sees it (``_norm``: fractions of the input side):
letterboxed by default (both sides divided by the image's longer side) or stretched (w / image width,
h / image height). Anchors are printed and returned in grid cells at an input size (``_grid``:
``value_norm * imgsz / 32``), the unit of darknet's ``[region] anchors`` and of
:attr:`yolo9000.models.darknet.RegionSpec.anchors`.

The algorithm (:func:`kmeans_anchors`):

* init: k-means++ seeded by the 1 - IoU distance (the first centre a box drawn with probability
  proportional to its weight, each further centre a box drawn with probability proportional to
  weight * (1 - IoU with its closest centre)^2);
* update: each centroid is the **mean** (w, h) of its boxes (as the paper and darknet do);
* assignment ties go to the lower centroid index; an empty cluster is re-seeded with the worst-fitting box
  (lowest IoU with its closest centroid; ties: lowest index);
* a run stops when no assignment changes, after ``iters`` updates, or when its mean IoU has not improved
  for 20 iterations, and keeps its best iterate: the mean is not the IoU-optimal centre, so the mean IoU
  often peaks after a few iterations and then drifts down while the assignments settle (on 1M synthetic
  boxes, k=9: 0.6966 at iteration 5, 0.6942 at convergence, iteration 46). Of ``restarts`` runs (restart r
  drawn from ``numpy.random.default_rng([seed, r])``) the one with the highest mean IoU wins;
* above ``compress_above`` boxes (default 16,384) the runs cluster a 128 x 128 log-space histogram of the
  shapes instead of the boxes (each occupied bin: the mean shape of its boxes, weighted by their count;
  a bin spans a few percent of a side). The winner's mean IoU and the assignments are then computed
  exactly, over every box. ``compress_above=None`` clusters every box in every iteration.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from yolo9000.datasets import load_dataset
from yolo9000.errors import Yolo9000Error, file_error, require_file
from yolo9000.ops.boxes import box_convert
from yolo9000.words import count

if TYPE_CHECKING:
    from yolo9000.datasets import DetectionDataset

STRIDE = 32
#: darknet ``cfg/yolov2-voc.cfg`` ``[region] anchors`` (grid cells at 416, i.e. a 13 x 13 grid).
YOLOV2_VOC_ANCHORS_GRID = (1.3221, 1.73145, 3.19275, 4.00944, 5.05587, 8.09892, 9.47112, 4.84053, 11.2364, 10.0071)
#: darknet ``cfg/yolo-voc.2.0.cfg`` ``[region] anchors``: the paper-era VOC anchors (grid cells at 416).
YOLO_VOC_2_0_ANCHORS_GRID = (1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52)
DARKNET_VOC_IMGSZ = 416
_BINS = 128
_CHUNK = 65536
_PATIENCE = 20

# A cost function: (points (M, 2), centroids (K, 2)) -> (assignment (M,) int64, cost (M,) float64 >= 0).
CostFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# ------------------------------------------------------------------------------------------ geometry
def shape_iou(a_wh: np.ndarray, b_wh: np.ndarray) -> np.ndarray:
    """IoU of every shape in ``a_wh`` (N, 2) with every shape in ``b_wh`` (K, 2), both centred: (N, K) float64.

    Any consistent unit (pixels, ``_norm``, ``_grid``) works; the shapes must be positive.
    """
    a = np.asarray(a_wh, np.float64).reshape(-1, 2)
    b = np.asarray(b_wh, np.float64).reshape(-1, 2)
    inter = np.minimum(a[:, None, 0], b[None, :, 0]) * np.minimum(a[:, None, 1], b[None, :, 1])
    return inter / (a[:, None, 0] * a[:, None, 1] + b[None, :, 0] * b[None, :, 1] - inter)


def _iou_cost(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest centroid by IoU and the cost 1 - IoU: (M,) int64, (M,) float64. Chunked to stay in cache."""
    m = len(points)
    assign = np.empty(m, np.int64)
    cost = np.empty(m, np.float64)
    cw, ch = centroids[:, 0], centroids[:, 1]
    carea = cw * ch
    for s in range(0, m, _CHUNK):
        w, h = points[s:s + _CHUNK, 0:1], points[s:s + _CHUNK, 1:2]
        inter = np.minimum(w, cw)
        inter *= np.minimum(h, ch)
        union = w * h + carea
        union -= inter
        inter /= union                                           # IoU, (chunk, K)
        idx = inter.argmax(axis=1)
        assign[s:s + _CHUNK] = idx
        cost[s:s + _CHUNK] = 1.0 - np.take_along_axis(inter, idx[:, None], axis=1)[:, 0]
    return assign, cost


def _sq_euclid_cost(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest centroid by Euclidean distance on (w, h) and the squared distance: (M,) int64, (M,) float64."""
    m = len(points)
    assign = np.empty(m, np.int64)
    cost = np.empty(m, np.float64)
    for s in range(0, m, _CHUNK):
        d = points[s:s + _CHUNK, None, :] - centroids[None, :, :]
        d2 = np.einsum("nkc,nkc->nk", d, d)
        idx = d2.argmin(axis=1)
        assign[s:s + _CHUNK] = idx
        cost[s:s + _CHUNK] = np.take_along_axis(d2, idx[:, None], axis=1)[:, 0]
    return assign, cost


def mean_best_iou(shapes: np.ndarray, anchors: np.ndarray) -> float:
    """Mean over the shapes (N, 2) of the IoU with the closest of the anchors (K, 2) (same unit for both)."""
    s = np.asarray(shapes, np.float64).reshape(-1, 2)
    _, cost = _iou_cost(s, np.asarray(anchors, np.float64).reshape(-1, 2))
    return float(1.0 - cost.mean())


def to_grid(anchors_norm: np.ndarray, imgsz: int, stride: int = STRIDE) -> np.ndarray:
    """Anchors (K, 2) as fractions of the input side -> (K, 2) grid cells at input size ``imgsz``."""
    return np.asarray(anchors_norm, np.float64) * (imgsz / stride)


def from_grid(anchors_grid: Sequence[float] | np.ndarray, imgsz: int, stride: int = STRIDE) -> np.ndarray:
    """Grid-cell anchors (flat ``w0, h0, w1, h1, ...`` or (K, 2)) at ``imgsz`` -> (K, 2) fractions of the side."""
    return np.asarray(anchors_grid, np.float64).reshape(-1, 2) * (stride / imgsz)


#: Hand-picked priors, as Faster R-CNN's RPN places them (Ren et al. 2015, section 3.1.1): boxes of 128,
#: 256 and 512 px on images scaled to 600 px (here: fractions of the network input), each at the aspect
#: ratios h:w = 1:2, 1:1 and 2:1 -- the "anchor boxes" the paper's Table 2 starts from, before k-means.
RPN_SIDES_NORM = (128 / 600, 256 / 600, 512 / 600)
RPN_RATIOS_HW = (0.5, 1.0, 2.0)


def hand_picked_anchors(imgsz: int, stride: int = STRIDE) -> tuple[float, ...]:
    """Faster R-CNN's 3 scales x 3 aspect ratios (:data:`RPN_SIDES_NORM`, :data:`RPN_RATIOS_HW`) as 9 anchors
    in grid cells at ``imgsz``, flat ``(w0, h0, ...)`` sorted by area then ratio (each keeps the area of its
    square: ``w = s / sqrt(r)``, ``h = s * sqrt(r)``)."""
    wh = [(s / math.sqrt(r), s * math.sqrt(r)) for s in RPN_SIDES_NORM for r in RPN_RATIOS_HW]
    return tuple(round(float(v), 4) for v in to_grid(np.array(wh), imgsz, stride).ravel())


# ------------------------------------------------------------------------------------------ box shapes
def normalise_shapes(wh_px: np.ndarray, image_wh_px: np.ndarray, letterbox: bool = True) -> np.ndarray:
    """Box sizes (N, 2) px in images of sizes (N, 2) px -> (N, 2) float64 shapes in (0, 1].

    ``letterbox``: both sides / the image's longer side (the network sees a letterboxed square); else
    w / image width, h / image height (the image stretched to the square). Boxes reaching past the image
    (tolerated by the loaders up to a pixel) are clipped to 1.
    """
    wh = np.asarray(wh_px, np.float64).reshape(-1, 2)
    img = np.asarray(image_wh_px, np.float64).reshape(-1, 2)
    scale = np.repeat(img.max(axis=1, keepdims=True), 2, axis=1) if letterbox else img
    return np.minimum(wh / scale, 1.0)


@dataclass(frozen=True, eq=False)
class BoxShapes:
    """Box sizes with the size of the image each lies in.

    Attributes:
        wh_px: (N, 2) float64 box width, height in pixels.
        image_wh_px: (N, 2) float64 width, height of each box's image in pixels.
        source: where the boxes came from (file and split), for messages.
        sizes_note: where the image sizes came from (image headers, the JSON, a sizes file, box extents).
        images: how many images the boxes come from (including images without boxes).
    """

    wh_px: np.ndarray
    image_wh_px: np.ndarray
    source: str
    sizes_note: str
    images: int

    def __len__(self) -> int:
        return len(self.wh_px)

    def normalised(self, letterbox: bool = True) -> np.ndarray:
        """(N, 2) float64 shapes in (0, 1]; see :func:`normalise_shapes`."""
        return normalise_shapes(self.wh_px, self.image_wh_px, letterbox)


def dataset_boxes(dataset: DetectionDataset, keep_difficult: bool = False) -> BoxShapes:
    """The boxes of a :class:`~yolo9000.datasets.DetectionDataset` with their image sizes.

    VOC ``difficult`` boxes are left out unless ``keep_difficult`` (as the trainer and darknet's
    ``voc_label.py`` leave them out); COCO crowd boxes are kept (the trainer keeps them).
    """
    wh, img = [], []
    for r in dataset.records:
        keep = np.ones(len(r), bool) if keep_difficult else ~r.difficult
        if not keep.any():
            continue
        if r.width <= 0 or r.height <= 0:
            raise file_error(r.image, "image size unknown (the image could not be read)")
        b = r.boxes_xyxy[keep]
        wh.append(box_convert(b, "xyxy", "xywh")[:, 2:])
        img.append(np.broadcast_to(np.array([r.width, r.height], np.float64), (len(b), 2)))
    wh_px = np.concatenate(wh) if wh else np.zeros((0, 2))
    image_wh_px = np.concatenate(img) if img else np.zeros((0, 2))
    return BoxShapes(wh_px, image_wh_px, f"{dataset.root} [{dataset.split}]", "image headers", len(dataset))


def dataset_box_shapes(dataset: DetectionDataset, letterbox: bool = True, keep_difficult: bool = False) -> np.ndarray:
    """(N, 2) float64 normalised (w, h) in (0, 1] of every box of ``dataset`` (a ``DetectionDataset``).

    ``letterbox``: sides / the image's longer side; else w / image width, h / image height.
    """
    return dataset_boxes(dataset, keep_difficult).normalised(letterbox)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise file_error(path, f"not valid JSON ({e})") from None


def load_image_sizes(path: str | Path) -> dict[str, tuple[float, float]]:
    """A sizes file: JSON ``{"<image id or file_name>": [width, height], ...}`` -> {key: (w, h)} pixels."""
    p = require_file(path, "image sizes file")
    data = _read_json(p)
    if not isinstance(data, dict):
        raise file_error(p, 'expected a JSON object {"<image id or file_name>": [width, height], ...}')
    out = {}
    for key, v in data.items():
        if (not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, (int, float)) for x in v)
                or not all(x > 0 for x in v)):
            raise file_error(p, f"image {key!r}: size must be [width, height] with positive numbers, got {v!r}")
        out[str(key)] = (float(v[0]), float(v[1]))
    return out


def boxes_from_coco_json(path: str | Path, sizes: Mapping[str | int, tuple[float, float]] | None = None,
                         keep_crowd: bool = True) -> BoxShapes:
    """The boxes of a COCO instances JSON (``bbox`` = [x, y, w, h] pixels) with their image sizes.

    Image sizes come from the JSON's ``images[].width/height``; where it has none, from ``sizes`` (keyed by
    image ``id`` or ``file_name``, str or int), else from the boxes' own extents: the largest x + w and
    y + h over that image's annotations (a lower bound of the true size, so shapes come out somewhat too
    large; ``sizes_note`` says which was used). Crowd annotations are kept unless ``not keep_crowd``.
    """
    p = require_file(path, "COCO JSON")
    data = _read_json(p)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise file_error(p, "not a COCO instances JSON (no 'annotations' list)")
    images = data.get("images") if isinstance(data.get("images"), list) else []
    given = {str(k): v for k, v in (sizes or {}).items()}
    info: dict[object, dict] = {}
    for im in images:
        if not isinstance(im, dict) or "id" not in im:
            raise file_error(p, f"an 'images' entry without an 'id': {str(im)[:80]}")
        info[im["id"]] = im
    rows: list[tuple[object, float, float, float, float]] = []
    for i, a in enumerate(data["annotations"]):
        bbox = a.get("bbox") if isinstance(a, dict) else None
        if (not isinstance(bbox, list) or len(bbox) != 4 or not all(isinstance(x, (int, float)) for x in bbox)
                or "image_id" not in a):
            raise file_error(p, f"annotation {i}: needs 'image_id' and 'bbox' [x, y, w, h], got {str(a)[:80]}")
        if a.get("iscrowd", 0) and not keep_crowd:
            continue
        x, y, w, h = (float(v) for v in bbox)
        if w <= 0 or h <= 0:
            raise file_error(p, f"annotation {i} (id {a.get('id')}): box with no area {bbox}")
        rows.append((a["image_id"], x, y, w, h))
    ids = list(dict.fromkeys(r[0] for r in rows))
    from_json = sum(1 for k in ids if {"width", "height"} <= set(info.get(k, {})))
    from_given = 0
    extent: dict[object, list[float]] = {}
    corners = box_convert(np.array([r[1:] for r in rows], np.float64).reshape(-1, 4), "xywh", "xyxy")
    for k, (_, _, x2, y2) in zip((r[0] for r in rows), corners.tolist()):
        e = extent.setdefault(k, [0.0, 0.0])
        e[0], e[1] = max(e[0], x2), max(e[1], y2)
    size_of: dict[object, tuple[float, float]] = {}
    for k in ids:
        im = info.get(k, {})
        if "width" in im and "height" in im:
            size_of[k] = (float(im["width"]), float(im["height"]))
        elif str(k) in given or str(im.get("file_name")) in given:
            size_of[k] = tuple(given[str(k)] if str(k) in given else given[str(im.get("file_name"))])
            from_given += 1
        elif sizes is not None:
            raise file_error(p, f"image {k} ({im.get('file_name', 'no file_name')}): not in the given sizes")
        else:
            size_of[k] = (extent[k][0], extent[k][1])
    from_extent = len(ids) - from_json - from_given
    parts = [f"{n} from {what}" for n, what in ((from_json, "the JSON"), (from_given, "the given sizes"),
             (from_extent, "the boxes' extents (largest x2, y2 per image: a lower bound, shapes too large)"))
             if n]
    note = "image sizes: " + ("; ".join(parts) if parts else "none needed (no boxes)")
    wh = np.array([[w, h] for _, _, _, w, h in rows], np.float64).reshape(-1, 2)
    img = np.array([size_of[r[0]] for r in rows], np.float64).reshape(-1, 2)
    return BoxShapes(wh, img, str(p), note, len(info) or len(ids))


# ------------------------------------------------------------------------------------------ k-means
@dataclass(frozen=True)
class AnchorFit:
    """The result of a k-means run.

    Attributes:
        anchors_norm: (k, 2) float64 anchor (w, h) as fractions of the input side, sorted by area (ascending).
        mean_iou: mean over the boxes of the IoU with the closest anchor (always by IoU, whatever the
            clustering distance was).
        assignments: (N,) int64 index into ``anchors_norm`` of each box's cluster (the closest anchor by the
            clustering's distance).
    """

    anchors_norm: np.ndarray
    mean_iou: float
    assignments: np.ndarray


def _check_inputs(shapes_norm: np.ndarray, k: int, source: str) -> np.ndarray:
    """Validate (N, 2) positive finite shapes and 1 <= k <= distinct shapes; return them as float64."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise Yolo9000Error(f"{source}: k must be an integer >= 1, got {k!r}")
    s = np.asarray(shapes_norm, np.float64)
    if s.ndim != 2 or s.shape[1] != 2:
        raise Yolo9000Error(f"{source}: box shapes must be an (N, 2) array of (w, h), got shape {s.shape}")
    if len(s) == 0:
        raise Yolo9000Error(f"{source}: no boxes to cluster")
    if not np.isfinite(s).all() or (s <= 0).any():
        raise Yolo9000Error(f"{source}: box shapes must be finite and positive")
    return s


def _check_distinct(s: np.ndarray, k: int, source: str) -> None:
    distinct = len(np.unique(s, axis=0))
    if k > distinct:
        raise Yolo9000Error(f"{source}: k={k} anchors asked for, but the {len(s)} boxes have only "
                            f"{count(distinct, 'distinct shape')}")


def _kmeanspp(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, cost_fn: CostFn,
              power: float) -> np.ndarray:
    """k-means++ centres (k, 2) from weighted points (M, 2): each next centre drawn with probability
    proportional to weight * cost**power (cost from ``cost_fn``: 1 - IoU with power 2, or the squared
    Euclidean distance with power 1)."""
    centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
    cost = cost_fn(points, np.array(centres))[1]
    for _ in range(1, k):
        p = weights * cost ** power
        total = p.sum()
        if total <= 0:  # every point sits on a centre: cannot happen when k <= distinct points
            raise Yolo9000Error("k-means++: fewer distinct shapes than anchors")
        centres.append(points[rng.choice(len(points), p=p / total)])
        cost = np.minimum(cost, cost_fn(points, np.array(centres[-1:]))[1])
    return np.array(centres)


def _lloyd(points: np.ndarray, weights: np.ndarray, centroids: np.ndarray, iters: int, cost_fn: CostFn,
           patience: int = _PATIENCE) -> tuple[np.ndarray, float]:
    """Weighted Lloyd iterations from ``centroids`` (k, 2): mean update, empty clusters re-seeded with the
    worst-fitting points. Stops when no assignment changes, after ``iters`` updates, or when the weighted
    mean cost has not improved for ``patience`` iterations. Returns the best iterate's centroids (k, 2)
    and its weighted mean cost."""
    c = centroids.copy()
    wsum = weights.sum()
    best_c, best_cost, since_best = c, math.inf, 0
    prev = None
    for _ in range(iters + 1):
        assign, cost = cost_fn(points, c)
        mean_cost = float(np.dot(weights, cost) / wsum)
        if mean_cost < best_cost:
            best_c, best_cost, since_best = c, mean_cost, 0
        else:
            since_best += 1
        if since_best > patience or (prev is not None and np.array_equal(assign, prev)):
            break
        c, reseeded = _update(points, weights, assign, cost, c)
        prev = None if reseeded else assign  # re-seeded centroids must be assigned before judging convergence
    return best_c, best_cost


def _update(points: np.ndarray, weights: np.ndarray, assign: np.ndarray, cost: np.ndarray,
            centroids: np.ndarray) -> tuple[np.ndarray, bool]:
    """One k-means update: each centroid (k, 2) becomes the weighted mean of its points (M, 2); an empty
    cluster takes the worst-fitting point (highest ``cost``, ties: lowest index; several empty clusters:
    the worst, the next worst, ...). Returns the new centroids and whether any cluster was re-seeded."""
    k = len(centroids)
    count = np.bincount(assign, weights, minlength=k)
    sums = np.stack([np.bincount(assign, weights * points[:, 0], minlength=k),
                     np.bincount(assign, weights * points[:, 1], minlength=k)], axis=1)
    filled = count > 0
    c = centroids.copy()
    c[filled] = sums[filled] / count[filled, None]
    empty = np.flatnonzero(~filled)
    if len(empty):
        c[empty] = points[np.argsort(-cost, kind="stable")[:len(empty)]]
    return c, bool(len(empty))


def _compress(shapes: np.ndarray, bins: int = _BINS) -> tuple[np.ndarray, np.ndarray]:
    """A bins x bins log-space histogram of shapes (N, 2): per occupied bin the mean shape and the count,
    (M, 2) float64 and (M,) float64."""
    logs = np.log(shapes)
    lo, hi = logs.min(axis=0), logs.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    idx = np.minimum(((logs - lo) / span * bins).astype(np.int64), bins - 1)
    key = idx[:, 0] * bins + idx[:, 1]
    count = np.bincount(key, minlength=bins * bins)
    sw = np.bincount(key, shapes[:, 0], minlength=bins * bins)
    sh = np.bincount(key, shapes[:, 1], minlength=bins * bins)
    occupied = count > 0
    c = count[occupied].astype(np.float64)
    return np.stack([sw[occupied] / c, sh[occupied] / c], axis=1), c


def _restart_rng(seed: int, restart: int) -> np.random.Generator:
    """The generator of restart ``restart`` under ``seed``: ``numpy.random.default_rng([seed, restart])``."""
    return np.random.default_rng([seed, restart])


def _fit(shapes_norm: np.ndarray, k: int, restarts: int, seed: int, iters: int, cost_fn: CostFn, power: float,
         source: str, compress_above: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Best-of-``restarts`` weighted k-means; returns (centroids (k, 2) unsorted, assignments (N,))."""
    s = _check_inputs(shapes_norm, k, source)
    if restarts < 1 or iters < 1:
        raise Yolo9000Error(f"{source}: restarts and iters must be >= 1, got {restarts} and {iters}")
    if seed < 0:
        raise Yolo9000Error(f"{source}: seed must be >= 0, got {seed}")
    points, weights = s, np.ones(len(s))
    compressed = compress_above is not None and len(s) > compress_above
    if compressed:
        points, weights = _compress(s)
        compressed = len(points) >= k
        if not compressed:
            points, weights = s, np.ones(len(s))
    if not compressed:
        _check_distinct(s, k, source)
    best_c, best_cost = None, math.inf
    for r in range(restarts):
        init = _kmeanspp(points, weights, k, _restart_rng(seed, r), cost_fn, power)
        c, cost = _lloyd(points, weights, init, iters, cost_fn)
        if cost < best_cost:
            best_c, best_cost = c, cost
    return best_c, cost_fn(s, best_c)[0]


def _sorted_fit(shapes: np.ndarray, centroids: np.ndarray, assign: np.ndarray) -> AnchorFit:
    order = np.argsort(centroids[:, 0] * centroids[:, 1], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    anchors = centroids[order]
    anchors.setflags(write=False)
    assignments = rank[assign]
    assignments.setflags(write=False)
    return AnchorFit(anchors, mean_best_iou(shapes, anchors), assignments)


def kmeans_anchors(shapes_norm: np.ndarray, k: int, restarts: int = 10, seed: int = 0, iters: int = 300, *,
                   source: str = "box shapes", compress_above: int | None = 16384) -> AnchorFit:
    """YOLOv2's dimension clusters: k-means on shapes (N, 2) (``_norm``, positive) with d = 1 - IoU.

    k-means++ init by the 1 - IoU distance, mean update, ``restarts`` runs (restart r seeded with
    ``[seed, r]``), the highest mean IoU kept; see the module docstring for the details, and for
    ``compress_above`` (None: always exact). ``source`` prefixes error messages (e.g. the dataset file).

    Raises:
        Yolo9000Error: no boxes, k < 1, k larger than the number of distinct shapes, bad shapes.
    """
    c, assign = _fit(shapes_norm, k, restarts, seed, iters, _iou_cost, 2.0, source, compress_above)
    return _sorted_fit(np.asarray(shapes_norm, np.float64), c, assign)


def kmeans_euclidean(shapes_norm: np.ndarray, k: int, restarts: int = 10, seed: int = 0, iters: int = 300, *,
                     source: str = "box shapes", compress_above: int | None = 16384) -> AnchorFit:
    """Plain k-means on shapes (N, 2) with the Euclidean distance on (w, h) (the paper's "Cluster SSE"
    row): k-means++ init, mean update, lowest sum of squared errors kept. ``mean_iou`` is still the mean
    IoU of each box with its closest anchor by IoU."""
    c, assign = _fit(shapes_norm, k, restarts, seed, iters, _sq_euclid_cost, 1.0, source, compress_above)
    return _sorted_fit(np.asarray(shapes_norm, np.float64), c, assign)


def anchors_for_dataset(data: str | Path | DetectionDataset, k: int, imgsz: int, letterbox: bool = True,
                        restarts: int = 10, seed: int = 0, split: str = "train", skip_bad: bool = False,
                        stride: int = STRIDE) -> tuple[float, ...]:
    """k-means anchors of a dataset split, in grid cells (of ``stride`` pixels) at ``imgsz``, flat
    ``(w0, h0, w1, h1, ...)`` sorted by area: the convention of
    :attr:`yolo9000.models.darknet.RegionSpec.anchors` (pass them straight to ``RegionSpec(anchors=...)``
    or ``yolo9000.models.zoo.yolov2(..., anchors=...)``). ``data``: a dataset YAML (``split`` is loaded,
    ``skip_bad`` as :func:`~yolo9000.datasets.load_dataset`), or a split loaded already, as training
    passes the one it checked."""
    if isinstance(data, (str, Path)):
        ds, source = load_dataset(data, split, skip_bad=skip_bad), f"{data} [{split}]"
    else:
        ds, source = data, f"{data.root} [{data.split}]"
    shapes = dataset_box_shapes(ds, letterbox)
    fit = kmeans_anchors(shapes, k, restarts, seed, source=source)
    return tuple(float(v) for v in to_grid(fit.anchors_norm, imgsz, stride).ravel())
