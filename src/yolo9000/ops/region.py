"""YOLOv2's region head: activations, box decoding, and darknet's detection rules.

The raw head is (B, A*(5+C), H, W) with channel ``a*(5+C) + k``: k = 0..3 tx, ty, tw, th; k = 4 the
objectness logit; k >= 5 the class logits. A prediction's index is ``d = a*H*W + row*W + col``, as in
darknet's ``dets``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torchvision

from yolo9000.errors import Yolo9000Error
from yolo9000.ops.boxes import RegionBoxCoder, box_convert
from yolo9000.ops.letterbox import unletterbox_cxcywh
from yolo9000.wordtree.tree import (
    WordTree,
    absolute_probs,
    group_softmax,
    map_to_labels,
    predict_at_depth,
    top_down_darknet,
)


def region_activate(raw: torch.Tensor, num_anchors: int, tree: WordTree | None = None,
                    location: str = "direct") -> torch.Tensor:
    """Darknet's region-layer output: the location codes of tx, ty (sigmoid for ``direct``, as darknet;
    unchanged for ``offset``: :class:`~yolo9000.ops.boxes.RegionBoxCoder`); sigmoid on to; tw, th raw;
    softmax over the classes (per sibling group with a WordTree, conditional probabilities).

    Args:
        raw: (B, A*(5+C), H, W) raw head.
    Returns:
        Same shape and channel order, activated.
    """
    b, ch, h, w = raw.shape
    x = raw.view(b, num_anchors, ch // num_anchors, h, w)
    xy = RegionBoxCoder(location).activate_xy(x[:, :, 0:2])
    obj = torch.sigmoid(x[:, :, 4:5])
    cls = group_softmax(x[:, :, 5:], tree, dim=2) if tree is not None else torch.softmax(x[:, :, 5:], dim=2)
    return torch.cat([xy, x[:, :, 2:4], obj, cls], dim=2).view(b, ch, h, w)


@dataclass(frozen=True)
class RegionPredictions:
    """Decoded predictions of one batch; N = A*H*W per image, in darknet's index order."""

    boxes_cxcywh_norm: torch.Tensor  # (B, N, 4) centre and size as fractions of the network input
    objectness: torch.Tensor         # (B, N)
    class_probs: torch.Tensor        # (B, N, C) P(class | object); conditional per group with a tree


def decode_region(raw: torch.Tensor, anchors_grid: torch.Tensor, tree: WordTree | None = None,
                  location: str = "direct") -> RegionPredictions:
    """Decode the raw head: centre ``(cell + sigmoid(t)) / G`` (``direct``; ``offset``: ``(cell + .5 +
    t * anchor) / G``), size ``anchor * exp(t) / G``.

    Args:
        raw: (B, A*(5+C), H, W) raw head.
        anchors_grid: (A, 2) anchor (w, h) in grid cells.
    """
    return decode_activated(region_activate(raw, anchors_grid.shape[0], tree, location), anchors_grid, location)


def decode_activated(act: torch.Tensor, anchors_grid: torch.Tensor, location: str = "direct") -> RegionPredictions:
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
    cx, cy, bw, bh = RegionBoxCoder(location).decode(x[..., 0], x[..., 1], x[..., 2], x[..., 3], cols, rows,
                                                     anchors[:, 0], anchors[:, 1])
    return RegionPredictions(torch.stack([cx / w, cy / h, bw / w, bh / h], dim=-1), x[..., 4], x[..., 5:])


@dataclass(frozen=True)
class Detections:
    """Detections of one image: one row per (box, class) pair, as darknet reports them."""

    boxes_xyxy: torch.Tensor  # (K, 4) pixels of the original image, not clipped
    scores: torch.Tensor      # (K,) objectness x P(class)  (YOLO9000: objectness)
    class_ids: torch.Tensor   # (K,) int64
    det_index: torch.Tensor   # (K,) int64 prediction index a*H*W + row*W + col


def tree_labels(objectness: torch.Tensor, cond_probs: torch.Tensor, tree: WordTree, conf: float,
                hier_thresh: float = 0.5, tree_depth: int | None = None,
                label_map: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (box, label, score) candidates of WordTree predictions, before NMS.

    Args:
        objectness: (M,) objectness of the boxes (those above ``conf``, as darknet keeps them).
        cond_probs: (M, N) conditional probabilities P(node | parent) (:func:`region_activate`'s classes).
        tree: the WordTree of the head.
        conf: the score threshold.
        hier_thresh: darknet's threshold of the top-down walk (default mode).
        tree_depth: predict at this depth (0: the top level): each box gets the most probable node among
            those at ``tree_depth`` and the leaves above it (:func:`~yolo9000.wordtree.tree.predict_at_depth`),
            scored ``objectness * P(node)`` (absolute probability); kept when the score exceeds ``conf``.
        label_map: a flat label set, class ``c`` = tree node ``label_map[c]`` (``inet9k.map``'s 200, ``coco9k.map``'s
            80): every (box, class) with ``objectness * P(node)`` above ``conf`` is a candidate, as darknet's
            ``get_region_detections`` with a map; labels are indices into ``label_map``.
        Neither: darknet's top-down walk (:func:`~yolo9000.wordtree.tree.top_down_darknet`), one node per box
        scored by its objectness.
    Returns:
        (box index into the M rows (K,), label (K,) int64, score (K,)).
    """
    if tree_depth is not None and label_map is not None:
        raise Yolo9000Error("tree_depth and label_map: choose one")
    if label_map is not None:
        scored = objectness[:, None] * map_to_labels(absolute_probs(cond_probs, tree), label_map)
        box_i, cls = (scored > conf).nonzero(as_tuple=True)
        return box_i, cls, scored[box_i, cls]
    if tree_depth is not None:
        if not 0 <= tree_depth <= tree.max_depth:
            raise Yolo9000Error(f"tree_depth={tree_depth}: the tree's depths are 0..{tree.max_depth}")
        absolute = absolute_probs(cond_probs, tree)
        nodes = predict_at_depth(absolute, tree, tree_depth)
        scores = objectness * absolute.gather(1, nodes[:, None]).squeeze(1)
        box_i = (scores > conf).nonzero().squeeze(1)
        return box_i, nodes[box_i], scores[box_i]
    nodes = top_down_darknet(absolute_probs(cond_probs, tree), tree, hier_thresh)
    return torch.arange(len(nodes), device=nodes.device), nodes, objectness


def region_detections(pred: RegionPredictions, index: int, image_w: int, image_h: int, net_w: int,
                      net_h: int, conf: float = 0.25, nms_iou: float = 0.45, tree: WordTree | None = None,
                      hier_thresh: float = 0.5, tree_depth: int | None = None,
                      label_map: Sequence[int] | None = None) -> Detections:
    """Darknet's ``get_region_detections`` + ``do_nms_sort`` for image ``index`` of a batch.

    Flat classes: keep boxes with objectness > ``conf``; each (box, class) with objectness x P(class)
    > ``conf`` is a candidate. WordTree: each kept box gets the one node that darknet's top-down walk
    (threshold ``hier_thresh``) returns, scored by its objectness; or, with ``tree_depth`` / ``label_map``,
    the labels :func:`tree_labels` gives. Then per-class greedy NMS: a box whose IoU with a higher-scored
    box of the same class exceeds ``nms_iou`` is dropped.
    """
    obj = pred.objectness[index]
    keep = (obj > conf).nonzero().squeeze(1)
    probs = pred.class_probs[index, keep]
    if tree is not None:
        box_i, cls, scores = tree_labels(obj[keep], probs, tree, conf, hier_thresh, tree_depth, label_map)
        det = keep[box_i]
    else:
        if tree_depth is not None or label_map is not None:
            raise Yolo9000Error("tree_depth / label_map need a WordTree head")
        scored = obj[keep, None] * probs
        box_i, cls = (scored > conf).nonzero(as_tuple=True)
        det, scores = keep[box_i], scored[box_i, cls]
    boxes_cxcywh_px = unletterbox_cxcywh(pred.boxes_cxcywh_norm[index, det], image_w, image_h, net_w, net_h)
    boxes = box_convert(boxes_cxcywh_px, "cxcywh", "xyxy")
    # float64: batched_nms offsets boxes by class id, which at 9418 classes would cost float32 precision
    order = torchvision.ops.batched_nms(boxes.double(), scores.double(), cls, nms_iou)
    return Detections(boxes[order], scores[order], cls[order], det[order])
