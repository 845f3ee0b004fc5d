"""WordTree decoding options of the region head: darknet's top-down walk, a chosen depth, a flat label map."""
from __future__ import annotations

import pytest
import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.ops.region import RegionPredictions, region_detections, tree_labels
from yolo9000.wordtree.tree import absolute_probs, parse_tree_lines, top_down_darknet

# top level {polygon, round}; polygon -> {triangle, square, pentagon}; round -> {circle, ellipse}
TREE = parse_tree_lines(["polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1"], "t")

# conditional probabilities of three boxes
COND = torch.tensor([
    [0.9, 0.1, 0.2, 0.7, 0.1, 0.5, 0.5],   # polygon .9 -> square .63
    [0.3, 0.7, 0.3, 0.3, 0.4, 0.6, 0.4],   # round .7 -> circle .42, ellipse .28
    [0.6, 0.4, 0.1, 0.1, 0.8, 0.5, 0.5],   # polygon .6 -> pentagon .48
], dtype=torch.float64)
OBJ = torch.tensor([0.9, 0.8, 0.5], dtype=torch.float64)


def test_default_is_darknet_top_down() -> None:
    box_i, labels, scores = tree_labels(OBJ, COND, TREE, conf=0.25, hier_thresh=0.5)
    expected = top_down_darknet(absolute_probs(COND, TREE), TREE, 0.5)
    assert box_i.tolist() == [0, 1, 2] and torch.equal(labels, expected) and torch.equal(scores, OBJ)
    assert labels.tolist() == [3, 1, 0]       # square; round (circle .42 < .5); polygon (pentagon .48 < .5)


def test_depth_cut() -> None:
    box_i, labels, scores = tree_labels(OBJ, COND, TREE, conf=0.25, tree_depth=0)
    assert labels.tolist() == [0, 1, 0]
    torch.testing.assert_close(scores, OBJ * torch.tensor([0.9, 0.7, 0.6], dtype=torch.float64))
    box_i, labels, scores = tree_labels(OBJ, COND, TREE, conf=0.25, tree_depth=1)
    assert box_i.tolist() == [0, 1] and labels.tolist() == [3, 5]   # box 2: .5 * .48 = .24 < conf
    torch.testing.assert_close(scores, torch.tensor([0.9 * 0.63, 0.8 * 0.42], dtype=torch.float64))
    with pytest.raises(Yolo9000Error, match="depths are 0..1"):
        tree_labels(OBJ, COND, TREE, conf=0.25, tree_depth=2)


def test_label_map_is_the_flat_rule_on_mapped_probabilities() -> None:
    label_map = (5, 3, 4)   # circle, square, pentagon
    box_i, labels, scores = tree_labels(OBJ, COND, TREE, conf=0.2, label_map=label_map)
    absolute = absolute_probs(COND, TREE)[:, list(label_map)] * OBJ[:, None]
    keep = absolute > 0.2
    assert sorted(zip(box_i.tolist(), labels.tolist())) == sorted(map(tuple, keep.nonzero().tolist()))
    torch.testing.assert_close(scores, absolute[box_i, labels])
    with pytest.raises(Yolo9000Error, match="choose one"):
        tree_labels(OBJ, COND, TREE, conf=0.2, label_map=label_map, tree_depth=0)


def test_region_detections_options() -> None:
    """Three well separated boxes; default / depth / map modes, and the options need a tree."""
    boxes = torch.tensor([[[0.2, 0.2, 0.1, 0.1], [0.5, 0.5, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]]], dtype=torch.float64)
    pred = RegionPredictions(boxes, OBJ[None], COND[None])
    d = region_detections(pred, 0, 100, 100, 100, 100, conf=0.25, tree=TREE)
    assert sorted(zip(d.det_index.tolist(), d.class_ids.tolist())) == [(0, 3), (1, 1), (2, 0)]
    d = region_detections(pred, 0, 100, 100, 100, 100, conf=0.25, tree=TREE, tree_depth=1)
    assert sorted(zip(d.det_index.tolist(), d.class_ids.tolist())) == [(0, 3), (1, 5)]
    d = region_detections(pred, 0, 100, 100, 100, 100, conf=0.2, tree=TREE, label_map=(5, 3, 4))
    assert sorted(zip(d.det_index.tolist(), d.class_ids.tolist())) == [(0, 1), (1, 0), (2, 2)]
    with pytest.raises(Yolo9000Error, match="need a WordTree"):
        region_detections(pred, 0, 100, 100, 100, 100, tree_depth=1)
