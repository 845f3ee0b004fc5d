"""YOLOv2's region head: activations, box decoding, and darknet's detection rules.

The raw head is (B, A*(5+C), H, W) with channel ``a*(5+C) + k``: k = 0..3 tx, ty, tw, th; k = 4 the
objectness logit; k >= 5 the class logits. A prediction's index is ``d = a*H*W + row*W + col``, as in
darknet's ``dets``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torchvision

from ..wordtree import WordTree, absolute_probs, group_softmax, top_down_darknet
from .letterbox import unletterbox_cxcywh


def region_activate(raw: torch.Tensor, num_anchors: int, tree: WordTree | None = None) -> torch.Tensor:
    """Darknet's region-layer output: sigmoid on tx, ty, to; tw, th raw; softmax over the classes
    (per sibling group with a WordTree, conditional probabilities).

    Args:
        raw: (B, A*(5+C), H, W) raw head.
    Returns:
        Same shape and channel order, activated.
    """
    b, ch, h, w = raw.shape
    x = raw.view(b, num_anchors, ch // num_anchors, h, w)
    xy = torch.sigmoid(x[:, :, 0:2])
    obj = torch.sigmoid(x[:, :, 4:5])
    cls = group_softmax(x[:, :, 5:], tree, dim=2) if tree is not None else torch.softmax(x[:, :, 5:], dim=2)
    return torch.cat([xy, x[:, :, 2:4], obj, cls], dim=2).view(b, ch, h, w)


@dataclass(frozen=True)
class RegionPredictions:
    """Decoded predictions of one batch; N = A*H*W per image, in darknet's index order."""

    boxes_cxcywh_norm: torch.Tensor  # (B, N, 4) centre and size as fractions of the network input
    objectness: torch.Tensor         # (B, N)
    class_probs: torch.Tensor        # (B, N, C) P(class | object); conditional per group with a tree


def decode_region(raw: torch.Tensor, anchors_grid: torch.Tensor, tree: WordTree | None = None) -> RegionPredictions:
    """Decode the raw head: ``b = (c + sigmoid(t)) / G``, ``size = anchor * exp(t) / G``.

    Args:
        raw: (B, A*(5+C), H, W) raw head.
        anchors_grid: (A, 2) anchor (w, h) in grid cells.
    """
    return decode_activated(region_activate(raw, anchors_grid.shape[0], tree), anchors_grid)


def decode_activated(act: torch.Tensor, anchors_grid: torch.Tensor) -> RegionPredictions:
    """Decode an already activated head (:func:`region_activate`, or darknet's own region output).

    Args:
        act: (B, A*(5+C), H, W) activated head.
        anchors_grid: (A, 2) anchor (w, h) in grid cells.
    """
    b, ch, h, w = act.shape
    a = anchors_grid.shape[0]
    x = act.view(b, a, ch // a, h, w).permute(0, 1, 3, 4, 2).reshape(b, a * h * w, ch // a)
    rows = torch.arange(h, device=act.device, dtype=act.dtype).view(1, h, 1).expand(a, h, w).reshape(-1)
    cols = torch.arange(w, device=act.device, dtype=act.dtype).view(1, 1, w).expand(a, h, w).reshape(-1)
    anchors = anchors_grid.to(act).view(a, 1, 2).expand(a, h * w, 2).reshape(-1, 2)
    cx = (cols + x[..., 0]) / w
    cy = (rows + x[..., 1]) / h
    bw = torch.exp(x[..., 2]) * anchors[:, 0] / w
    bh = torch.exp(x[..., 3]) * anchors[:, 1] / h
    return RegionPredictions(torch.stack([cx, cy, bw, bh], dim=-1), x[..., 4], x[..., 5:])


@dataclass(frozen=True)
class Detections:
    """Detections of one image: one row per (box, class) pair, as darknet reports them."""

    boxes_xyxy: torch.Tensor  # (K, 4) pixels of the original image, not clipped
    scores: torch.Tensor      # (K,) objectness x P(class)  (YOLO9000: objectness)
    class_ids: torch.Tensor   # (K,) int64
    det_index: torch.Tensor   # (K,) int64 prediction index a*H*W + row*W + col


def cxcywh_to_xyxy(boxes_cxcywh: torch.Tensor) -> torch.Tensor:
    """(N, 4) cx, cy, w, h -> (N, 4) x1, y1, x2, y2."""
    return torchvision.ops.box_convert(boxes_cxcywh, "cxcywh", "xyxy")


def region_detections(pred: RegionPredictions, index: int, image_w: int, image_h: int, net_w: int,
                      net_h: int, conf: float = 0.25, nms_iou: float = 0.45, tree: WordTree | None = None,
                      hier_thresh: float = 0.5) -> Detections:
    """Darknet's ``get_region_detections`` + ``do_nms_sort`` for image ``index`` of a batch.

    Flat classes: keep boxes with objectness > ``conf``; each (box, class) with objectness x P(class)
    > ``conf`` is a candidate. WordTree: each kept box gets the one node that darknet's top-down walk
    (threshold ``hier_thresh``) returns, scored by its objectness. Then per-class greedy NMS: a box
    whose IoU with a higher-scored box of the same class exceeds ``nms_iou`` is dropped.
    """
    obj = pred.objectness[index]
    keep = (obj > conf).nonzero().squeeze(1)
    probs = pred.class_probs[index, keep]
    if tree is not None:
        nodes = top_down_darknet(absolute_probs(probs, tree), tree, hier_thresh)
        det, cls, scores = keep, nodes, obj[keep]
    else:
        scored = obj[keep, None] * probs
        box_i, cls = (scored > conf).nonzero(as_tuple=True)
        det, scores = keep[box_i], scored[box_i, cls]
    boxes = cxcywh_to_xyxy(unletterbox_cxcywh(pred.boxes_cxcywh_norm[index, det], image_w, image_h, net_w, net_h))
    # float64: batched_nms offsets boxes by class id, which at 9418 classes would cost float32 precision
    order = torchvision.ops.batched_nms(boxes.double(), scores.double(), cls, nms_iou)
    return Detections(boxes[order], scores[order], cls[order], det[order])
