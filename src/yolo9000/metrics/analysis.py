"""Breakdowns beyond AP: the confusion matrix and recall against the number of proposals."""
from __future__ import annotations

import numpy as np
import torch
import torchvision

from yolo9000.metrics.structures import DetectionSet, GroundTruth


def _iou(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) xyxy -> (N, M) IoU (no +1)."""
    return torchvision.ops.box_iou(torch.from_numpy(a_xyxy), torch.from_numpy(b_xyxy)).numpy()


def confusion_matrix(gt: GroundTruth, dets: DetectionSet, conf: float = 0.25, iou: float = 0.5) -> np.ndarray:
    """(K+1, K+1) counts, rows = predicted class, columns = true class; index K is background.

    Per image, detections with score >= ``conf`` are matched to ground truth (any class) greedily by
    IoU, highest first, one to one, at IoU >= ``iou``. Unmatched detections count as (class,
    background), unmatched ground truth as (background, class). Difficult and crowd boxes are left out.
    """
    k = gt.num_classes
    m = np.zeros((k + 1, k + 1), np.int64)
    keep_gt = ~(gt.difficult | gt.iscrowd)
    gt_img, gt_lab, gt_box = gt.image_index[keep_gt], gt.label[keep_gt], gt.xyxy[keep_gt]
    keep_d = dets.scores >= conf
    d_img, d_lab, d_box = dets.image_index[keep_d], dets.label[keep_d], dets.xyxy[keep_d]
    for i in np.union1d(np.unique(gt_img), np.unique(d_img)):
        gi, di = np.flatnonzero(gt_img == i), np.flatnonzero(d_img == i)
        matched_g, matched_d = np.zeros(len(gi), bool), np.zeros(len(di), bool)
        if len(gi) and len(di):
            ious = _iou(d_box[di], gt_box[gi])
            pairs = np.argwhere(ious >= iou)
            order = np.argsort(-ious[pairs[:, 0], pairs[:, 1]], kind="stable")
            for d, g in pairs[order]:
                if not matched_d[d] and not matched_g[g]:
                    matched_d[d] = matched_g[g] = True
                    m[d_lab[di[d]], gt_lab[gi[g]]] += 1
        np.add.at(m, (d_lab[di[~matched_d]], k), 1)
        np.add.at(m, (k, gt_lab[gi[~matched_g]]), 1)
    return m


def recall_at_proposals(gt: GroundTruth, dets: DetectionSet, counts: np.ndarray | None = None,
                        iou: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Class-agnostic recall of the (non-difficult, non-crowd) ground truth using only each image's
    ``n`` highest-scored detections, for each ``n`` in ``counts`` (default 1..100).

    Returns:
        (counts (P,), recall (P,)).
    """
    counts = np.arange(1, 101) if counts is None else np.asarray(counts)
    keep_gt = ~(gt.difficult | gt.iscrowd)
    gt_img, gt_box = gt.image_index[keep_gt], gt.xyxy[keep_gt]
    total = len(gt_img)
    if total == 0:
        return counts, np.zeros(len(counts))
    # for each gt: the best rank (within its image) of a detection covering it at IoU >= iou
    first_rank = np.full(total, np.iinfo(np.int64).max)
    boxes = dets.xyxy
    for i in np.unique(gt_img):
        gi = np.flatnonzero(gt_img == i)
        di = np.flatnonzero(dets.image_index == i)
        if not len(di):
            continue
        di = di[np.argsort(-dets.scores[di], kind="stable")]
        hit = _iou(boxes[di], gt_box[gi]) >= iou            # (D_i, G_i), rows in rank order
        has = hit.any(axis=0)
        first_rank[gi[has]] = hit.argmax(axis=0)[has]
    return counts, np.array([(first_rank < n).sum() / total for n in counts])


def best_iou_per_truth(gt: GroundTruth, dets: DetectionSet, conf: float = 0.0, same_class: bool = True) -> np.ndarray:
    """(G,) float64: for each ground-truth box, the highest IoU (no +1) with a detection of its image scored
    >= ``conf`` (of its own class when ``same_class``); 0 where there is none. Recall at IoU t is
    ``(best > t).mean()`` over the boxes of interest: read by class and by box size it says whether a
    detector misses objects (best IoU near 0), finds them but places them badly (between 0.3 and 0.5:
    localisation), or calls them the wrong class (``same_class=False`` higher than ``True``)."""
    best = np.zeros(len(gt.label))
    keep = dets.scores >= conf
    d_img, d_lab, d_box = dets.image_index[keep], dets.label[keep], dets.xyxy[keep]
    gt_box = gt.xyxy
    for i in np.intersect1d(np.unique(gt.image_index), np.unique(d_img)):
        gi, di = np.flatnonzero(gt.image_index == i), np.flatnonzero(d_img == i)
        ious = _iou(gt_box[gi], d_box[di])                                  # (G_i, D_i)
        if same_class:
            ious = np.where(gt.label[gi][:, None] == d_lab[di][None, :], ious, 0.0)
        best[gi] = ious.max(axis=1)
    return best


#: box-size bins of :func:`recall_breakdown`: sqrt(area) as a fraction of the image's longer side
SIZE_BINS = (0.0, 1 / 16, 1 / 8, 1 / 4, 1.0)


def recall_breakdown(gt: GroundTruth, dets: DetectionSet, image_sides: np.ndarray, conf: float = 0.0,
                     ious: tuple[float, ...] = (0.3, 0.5)) -> dict[str, dict[str, dict[str, float]]]:
    """Recall of the (non-difficult, non-crowd) ground truth by class and by box size, at each IoU in ``ious``
    (strictly above), from :func:`best_iou_per_truth` (same class; ``conf``: the detections counted).

    ``image_sides``: (I,) the longer side of each image in pixels; a box's size is ``sqrt(w * h)`` over it,
    binned by :data:`SIZE_BINS` (at a 256 px input: under 16 px, 16-32, 32-64 and over 64 px).

    Returns ``{"class": {name: row}, "size": {"<1/16": row, ...}}``, each row ``{"boxes": n,
    "recall@0.3": r, "recall@0.5": r, "median_iou": m}`` (NaN recall where a group has no box).
    """
    keep = ~(gt.difficult | gt.iscrowd)
    best = best_iou_per_truth(gt, dets, conf)[keep]
    wh = gt.boxes_xywh[keep, 2:]
    frac = np.sqrt(np.clip(wh[:, 0] * wh[:, 1], 0, None)) / np.asarray(image_sides, np.float64)[gt.image_index[keep]]
    size = np.clip(np.searchsorted(SIZE_BINS, frac, side="right") - 1, 0, len(SIZE_BINS) - 2)
    names = [f"<1/{round(1 / SIZE_BINS[1])}"] + [f"1/{round(1 / lo)}-1/{round(1 / hi)}" if hi < 1 else f">1/{round(1 / lo)}"
                                                  for lo, hi in zip(SIZE_BINS[1:-1], SIZE_BINS[2:])]

    def row(m: np.ndarray) -> dict[str, float]:
        n = int(m.sum())
        out: dict[str, float] = {"boxes": n}
        for t in ious:
            out[f"recall@{t:g}"] = float((best[m] > t).mean()) if n else float("nan")
        out["median_iou"] = float(np.median(best[m])) if n else float("nan")
        return out

    label = gt.label[keep]
    return {"class": {n: row(label == k) for k, n in enumerate(gt.names)},
            "size": {n: row(size == b) for b, n in enumerate(names)}}
