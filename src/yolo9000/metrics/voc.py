"""PASCAL VOC detection metrics, with the rules of py-faster-rcnn's ``lib/datasets/voc_eval.py``.

What is computed, per class (an independent NumPy re-implementation, vectorised over detections):

* Detections of the class are sorted by score, highest first, with a **stable** sort, so tied scores
  keep the order of the :class:`~yolo9000.metrics.structures.DetectionSet`.
* Each detection takes the ground-truth box of its class in its image with the highest IoU (the
  first such box on ties), among *all* of them, difficult ones included.
* It is a true positive iff that IoU is **strictly** above the threshold, the box is not difficult
  and no earlier detection took it. A detection whose best box is difficult is neither true nor
  false positive (it stays in the curve with tp = fp = 0); a later detection of a taken box is a
  false positive (there is no fallback to its second-best box); a detection with IoU <= threshold,
  or without any box of its class in its image, is a false positive.
* COCO crowd boxes (``iscrowd``) count as difficult. ``npos`` is the number of boxes that are
  neither difficult nor crowd.
* ``recall = cumTP / npos`` and ``precision = cumTP / max(cumTP + cumFP, eps)``.
* AP is either the VOC2007 11-point AP (thresholds exactly ``numpy.arange(0., 1.1, 0.1)``, so the
  fourth is 0.30000000000000004) or the VOC2010+ area under the monotone precision envelope.
* Widths follow the "+1 pixel" convention (``w = x2 - x1 + 1``) unless ``plus1=False``.

Classes behave as the reference does: a class with no detections has AP 0 (the reference raises
there; 0 is what every guarded port returns); a class with detections but no ground truth has
recall 0/0 = NaN, hence AP 0 with the 11-point metric and NaN with the area metric.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo9000.errors import Yolo9000Error
from yolo9000.metrics.structures import DetectionSet, GroundTruth

#: The 11 recall thresholds of the VOC2007 metric, exactly as the reference builds them.
VOC07_RECALL_THRESHOLDS = np.arange(0.0, 1.1, 0.1)

_EPS = np.finfo(np.float64).eps
_MAX_PAIRS = 1 << 22  # detection/box pairs scored at once (bounds memory on crowded images)


def _iou_broadcast(a: np.ndarray, b: np.ndarray, plus1: bool) -> np.ndarray:
    """IoU of boxes ``a`` and ``b`` (``[..., 4]`` xyxy, broadcast against each other).

    The arithmetic is the reference's, operation for operation, so that IoUs compare with the
    threshold exactly as there: ``inter = max(min(x2) - max(x1) + p, 0) * max(... y ...)``,
    ``union = (w_a * h_a + w_b * h_b) - inter``, ``p = 1`` with +1 widths, else 0.
    """
    p = 1.0 if plus1 else 0.0
    # boxes near float64's range (1e300) overflow to inf and give NaN IoUs (never above a threshold), quietly
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        iw = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + p, 0.0)
        ih = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + p, 0.0)
        inter = iw * ih
        area_a = (a[..., 2] - a[..., 0] + p) * (a[..., 3] - a[..., 1] + p)
        area_b = (b[..., 2] - b[..., 0] + p) * (b[..., 3] - b[..., 1] + p)
        return inter / (area_a + area_b - inter)


def box_iou_voc(a_xyxy: np.ndarray, b_xyxy: np.ndarray, plus1: bool = True) -> np.ndarray:
    """Pairwise VOC IoU.

    Args:
        a_xyxy: (N, 4) float boxes x1, y1, x2, y2 in pixels.
        b_xyxy: (M, 4) float boxes x1, y1, x2, y2 in pixels.
        plus1: "+1 pixel" widths and heights (``x2 - x1 + 1``, VOC's inclusive pixel corners) for
            the intersection and both areas; ``False`` uses ``x2 - x1``.

    Returns:
        (N, M) float64 IoU. Degenerate pairs with zero union (only possible with ``plus1=False``)
        give NaN, as in the reference.
    """
    a = np.asarray(a_xyxy, np.float64).reshape(-1, 4)
    b = np.asarray(b_xyxy, np.float64).reshape(-1, 4)
    return _iou_broadcast(a[:, None, :], b[None, :, :], plus1)


def voc_ap(recall: np.ndarray, precision: np.ndarray, use_07_metric: bool = True) -> float:
    """Average precision of one class's precision-recall curve.

    Args:
        recall: (n,) float64 recall after each detection (in score order; NaN where npos = 0).
        precision: (n,) float64 precision after each detection.
        use_07_metric: ``True``: VOC2007 11-point AP, the mean over ``t`` in
            :data:`VOC07_RECALL_THRESHOLDS` (``numpy.arange(0., 1.1, 0.1)``) of
            ``max(precision[recall >= t])``, or 0 where no recall reaches ``t``. ``False``: VOC2010+
            area AP, ``sum(Δrecall * envelope)`` where the envelope is the running maximum of
            precision from the right, with sentinels recall ``[0, ..., 1]`` and precision
            ``[0, ..., 0]``.

    Returns:
        AP as a Python float (NaN where the area metric meets a NaN recall).
    """
    rec = np.asarray(recall, np.float64).ravel()
    prec = np.asarray(precision, np.float64).ravel()
    if rec.shape != prec.shape:
        raise ValueError(f"recall {rec.shape} and precision {prec.shape} differ in shape")
    if use_07_metric:
        ap = 0.0
        for t in VOC07_RECALL_THRESHOLDS:  # 11 thresholds, each one vectorised over the curve
            reached = rec >= t
            p = np.max(prec[reached]) if reached.any() else 0.0
            ap = ap + p / 11.0  # the reference's summation order, bit for bit
        return float(ap)
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # right-to-left running max (NaN propagates)
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def match_detections(gt: GroundTruth, dets: DetectionSet, plus1: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best ground-truth box of each detection: same image, same class, highest IoU.

    All boxes of the class in the image compete, difficult and crowd ones included; on equal IoU the
    first box in ``gt`` order wins (``numpy.argmax``).

    Returns:
        ``(iou, index)``: (D,) float64 best IoU (``-inf`` where the image has no box of the class;
        NaN where any candidate IoU is NaN, as ``numpy.max`` gives) and (D,) int64 index into
        ``gt``'s boxes (-1 where there is no candidate or the IoU is NaN).
    """
    k = max(gt.num_classes, 1)
    gt_key = gt.image_index.astype(np.int64) * k + gt.label.astype(np.int64)
    det_key = dets.image_index.astype(np.int64) * k + dets.label.astype(np.int64)
    gt_order = np.argsort(gt_key, kind="stable")  # within an (image, class) group: gt order
    gt_key_sorted = gt_key[gt_order]
    gt_xyxy = gt.xyxy[gt_order]
    det_xyxy = dets.xyxy
    start = np.searchsorted(gt_key_sorted, det_key, side="left")
    count = np.searchsorted(gt_key_sorted, det_key, side="right") - start

    n = len(dets)
    best_iou = np.full(n, -np.inf)
    best_pos = np.full(n, -1, np.int64)
    ends = np.cumsum(count)
    # chunks of detections holding at most _MAX_PAIRS pairs each (one chunk in ordinary cases)
    cuts = np.searchsorted(ends, np.arange(_MAX_PAIRS, int(ends[-1]) if n else 0, _MAX_PAIRS), side="left")
    bounds = np.unique(np.concatenate(([0], cuts, [n])))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        cnt = count[lo:hi]
        has = np.flatnonzero(cnt > 0)
        if has.size == 0:
            continue
        cnt = cnt[has]
        det_rows = has + lo
        seg = np.cumsum(cnt) - cnt  # first pair of each detection
        total = int(cnt.sum())
        det_of_pair = np.repeat(np.arange(has.size), cnt)
        gt_pos = np.repeat(start[det_rows] - seg, cnt) + np.arange(total)
        iou = _iou_broadcast(det_xyxy[det_rows][det_of_pair], gt_xyxy[gt_pos], plus1)
        mx = np.maximum.reduceat(iou, seg)  # NaN if any candidate is NaN, as np.max
        at_max = np.flatnonzero(iou == mx[det_of_pair])
        owner = det_of_pair[at_max]
        first = np.ones(at_max.size, bool)
        first[1:] = owner[1:] != owner[:-1]
        best_iou[det_rows] = mx
        best_pos[det_rows[owner[first]]] = gt_pos[at_max[first]]
    index = np.where(best_pos >= 0, gt_order[np.maximum(best_pos, 0)] if gt_order.size else -1, -1)
    return best_iou, index.astype(np.int64)


@dataclass(frozen=True, eq=False)
class VOCResult:
    """VOC AP per class.

    Attributes:
        metric: ``"voc07"`` (11-point AP) or ``"voc"`` (VOC2010+ area AP).
        iou: IoU threshold (a match needs IoU strictly above it).
        plus1: whether "+1 pixel" widths were used.
        names: (K,) class names, in ground-truth category order.
        ap: (K,) float64 AP per class (NaN: area metric on a class with detections but no ground truth).
        npos: (K,) int64 ground-truth boxes per class that are neither difficult nor crowd.
        precision, recall: K 1-D float64 arrays, the curve after each detection of the class in
            score order (empty for a class without detections; recall NaN where npos = 0).
        scores: K 1-D float64 arrays, the detection scores along those curves (descending).
        tp, fp, ignored: (K,) int64 true positives, false positives and detections ignored
            (best box difficult or crowd) per class.
        outcome: (D,) int8 per detection in :class:`DetectionSet` order: 1 true positive, 0 false
            positive, -1 ignored.
    """

    metric: str
    iou: float
    plus1: bool
    names: tuple[str, ...]
    ap: np.ndarray
    npos: np.ndarray
    precision: tuple[np.ndarray, ...]
    recall: tuple[np.ndarray, ...]
    scores: tuple[np.ndarray, ...]
    tp: np.ndarray
    fp: np.ndarray
    ignored: np.ndarray
    outcome: np.ndarray

    @property
    def mAP(self) -> float:
        """Mean AP over the classes with ground truth (npos > 0): the number we report (NaN if none)."""
        has = self.npos > 0
        return float(np.mean(self.ap[has])) if has.any() else float("nan")

    @property
    def mAP_all(self) -> float | None:
        """py-faster-rcnn's mean over every class; ``None`` where an AP is NaN (or there are no classes)."""
        if self.ap.size == 0 or np.isnan(self.ap).any():
            return None
        return float(np.mean(self.ap))

    def per_class(self) -> dict[str, float]:
        """``{class name: AP}`` in category order."""
        return {n: float(a) for n, a in zip(self.names, self.ap)}


def evaluate_voc(gt: GroundTruth, dets: DetectionSet, iou: float = 0.5, use_07_metric: bool = True,
                 plus1: bool = True) -> VOCResult:
    """Score ``dets`` against ``gt`` with py-faster-rcnn's ``voc_eval`` rules (see the module docstring).

    Args:
        gt: ground truth; boxes as ``[x, y, w, h]``, corners ``x2 = x + w`` (``GroundTruth.xyxy``).
        dets: detections indexed into ``gt``'s images and categories; the same box format.
        iou: threshold; a detection matches only with IoU strictly above it.
        use_07_metric: VOC2007 11-point AP (``True``) or VOC2010+ area AP (``False``).
        plus1: "+1 pixel" widths (``x2 - x1 + 1``) for IoU; ``False`` for ``x2 - x1``.

    Returns:
        :class:`VOCResult` with one AP per ground-truth category.
    """
    k = gt.num_classes
    d = len(dets)
    if d and (dets.label.min() < 0 or dets.label.max() >= k):
        raise Yolo9000Error(f"detections: category index outside 0..{k - 1}")
    if d and (dets.image_index.min() < 0 or dets.image_index.max() >= gt.num_images):
        raise Yolo9000Error(f"detections: image index outside 0..{gt.num_images - 1}")

    hard = np.asarray(gt.difficult, bool) | np.asarray(gt.iscrowd, bool)
    npos = np.bincount(gt.label[~hard], minlength=k).astype(np.int64)

    best_iou, best_gt = match_detections(gt, dets, plus1)
    hit = best_iou > iou  # NaN and -inf: False
    ignored = hit & hard[np.maximum(best_gt, 0)] if hard.size else np.zeros(d, bool)
    candidate = hit & ~ignored

    # one stable sort: by class, then score descending, ties in DetectionSet order
    order = np.lexsort((-np.asarray(dets.scores, np.float64), dets.label))
    cand_sorted = candidate[order]
    pos = np.flatnonzero(cand_sorted)
    _, first = np.unique(best_gt[order][pos], return_index=True)  # first detection to take each box
    tp_sorted = np.zeros(d, bool)
    tp_sorted[pos[first]] = True
    ign_sorted = ignored[order]
    fp_sorted = ~tp_sorted & ~ign_sorted

    outcome = np.zeros(d, np.int8)
    outcome[order[tp_sorted]] = 1
    outcome[order[ign_sorted]] = -1

    counts = np.bincount(dets.label, minlength=k) if d else np.zeros(k, np.int64)
    bounds = np.concatenate(([0], np.cumsum(counts)))
    scores_sorted = np.asarray(dets.scores, np.float64)[order]
    ap = np.zeros(k)
    precs, recs, scs = [], [], []
    for c in range(k):  # per class: cumulative sums and AP of its (contiguous) sorted detections
        a, b = bounds[c], bounds[c + 1]
        tpc = np.cumsum(tp_sorted[a:b], dtype=np.float64)
        fpc = np.cumsum(fp_sorted[a:b], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            rec = tpc / float(npos[c])
        prec = tpc / np.maximum(tpc + fpc, _EPS)
        ap[c] = voc_ap(rec, prec, use_07_metric) if b > a else 0.0
        precs.append(prec)
        recs.append(rec)
        scs.append(scores_sorted[a:b])
    lab = np.asarray(dets.label, np.int64)
    return VOCResult(
        metric="voc07" if use_07_metric else "voc", iou=float(iou), plus1=bool(plus1), names=tuple(gt.names),
        ap=ap, npos=npos, precision=tuple(precs), recall=tuple(recs), scores=tuple(scs),
        tp=np.bincount(lab[outcome == 1], minlength=k).astype(np.int64),
        fp=np.bincount(lab[outcome == 0], minlength=k).astype(np.int64),
        ignored=np.bincount(lab[outcome == -1], minlength=k).astype(np.int64),
        outcome=outcome)
