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
