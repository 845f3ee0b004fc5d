"""Open-vocabulary scoring: classes seen with boxes vs seen only in classification data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.metrics.structures import DetectionSet, GroundTruth
from yolo9000.metrics.voc import evaluate_voc
from yolo9000.eval.open_vocab import (OpenVocabResult, evaluate_mapped, evaluate_open_vocab, predict_mapped,
                                 seen_with_boxes)

TREE = ["polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1"]


def _gt(n_classes: int) -> GroundTruth:
    """One image, one 10x10 box per class at x = 20k."""
    boxes = np.array([[20.0 * k, 0.0, 10.0, 10.0] for k in range(n_classes)])
    return GroundTruth((0,), ("a.png",), tuple(range(n_classes)), tuple(f"c{k}" for k in range(n_classes)),
                       np.zeros(n_classes, np.int64), np.arange(n_classes), boxes, boxes[:, 2] * boxes[:, 3],
                       np.zeros(n_classes, bool), np.zeros(n_classes, bool))


def test_seen_with_boxes() -> None:
    assert seen_with_boxes((2, 3, 4, 5), [3, 5, 9]) == (False, True, False, True)


def test_group_means_known_answer() -> None:
    gt = _gt(3)
    # class 0 and 2 found exactly, class 1 missed (its detection lands on nothing)
    dets = DetectionSet(np.zeros(3, np.int64), np.array([0, 1, 2]),
                        np.array([[0.0, 0, 10, 10], [200.0, 200, 10, 10], [40.0, 0, 10, 10]]), np.array([0.9, 0.8, 0.7]))
    voc = evaluate_voc(gt, dets)
    r = OpenVocabResult(voc, (2, 3, 4), seen_with_boxes((2, 3, 4), [2, 3]))
    np.testing.assert_allclose(voc.ap, [1.0, 0.0, 1.0])
    assert r.mAP == pytest.approx(2 / 3) and r.mAP_seen == pytest.approx(0.5) and r.mAP_unseen == pytest.approx(1.0)
    text = r.table()
    assert "seen with boxes 0.5000 (2)" in text and "classification only 1.0000 (1)" in text
    none_unseen = OpenVocabResult(voc, (2, 3, 4), (True, True, True))
    assert np.isnan(none_unseen.mAP_unseen)


@pytest.fixture(scope="module")
def fixed_model(tmp_path_factory):
    """A tiny WordTree detector whose head ignores the image: objectness sigmoid(3), P(polygon) = .8,
    P(square | polygon) = .75, at every prediction."""
    from yolo9000 import YOLO
    from yolo9000.darknet.cfg import parse_cfg
    from yolo9000.datasets.shapes import make_shapes
    from yolo9000.train.joint import demo_cfg_text
    from yolo9000.models.darknet import Darknet

    root = tmp_path_factory.mktemp("ov")
    tree = root / "s.tree"
    tree.write_text("\n".join(TREE) + "\n")
    cfg = root / "s.cfg"
    cfg.write_text(demo_cfg_text(str(tree), 7, 64))
    model = Darknet(parse_cfg(cfg))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    last = convs[-1]
    with torch.no_grad():
        last.weight.zero_()
        b = torch.zeros(3, 12)
        b[:, 4] = 3.0
        b[:, 5:7] = torch.tensor([np.log(0.8), np.log(0.2)])
        b[:, 7:10] = torch.tensor([np.log(0.125), np.log(0.75), np.log(0.125)])
        last.bias.copy_(b.view(-1))
    yolo = YOLO.from_module(model.eval(), ("polygon", "round", "triangle", "square", "pentagon", "circle", "ellipse"))
    data = make_shapes(root / "data", n_train=1, n_val=2, size=64, seed=0, classes=("square", "circle"))
    return yolo, data


def test_predict_mapped_scores_are_objectness_times_absolute_prob(fixed_model) -> None:
    yolo, data = fixed_model
    from yolo9000.datasets import load_dataset

    images = [r.image for r in load_dataset(data, "val").records]
    dets = predict_mapped(yolo, images, (3, 5), imgsz=64, conf=0.005, nms=1.0)
    obj = 1 / (1 + np.exp(-3.0))
    assert set(np.unique(dets.image_index).tolist()) == {0, 1}
    np.testing.assert_allclose(dets.scores[dets.label == 0], obj * 0.8 * 0.75, rtol=1e-5)
    np.testing.assert_allclose(dets.scores[dets.label == 1], obj * 0.2 * 0.5, rtol=1e-5)
    assert (dets.label == 0).sum() == 2 * 3 * 2 * 2          # every box kept at NMS 1.0: 2 images x 3 anchors x 2x2
    with pytest.raises(Yolo9000Error, match="node indices"):
        predict_mapped(yolo, images, (3, 7), imgsz=64)


def test_evaluate_open_vocab_runs_and_checks_lengths(fixed_model) -> None:
    yolo, data = fixed_model
    r = evaluate_open_vocab(yolo, data, (3, 5), seen_nodes=[3], imgsz=64)
    assert r.seen == (True, False) and r.voc.names == ("square", "circle")
    assert 0.0 <= r.mAP <= 1.0
    with pytest.raises(Yolo9000Error, match="2 classes, 3 tree nodes"):
        evaluate_mapped(yolo, data, (3, 5, 6), imgsz=64)


def test_needs_a_tree(fixed_model) -> None:
    from yolo9000 import YOLO

    yolo = YOLO("yolov2-nano")
    with pytest.raises(Yolo9000Error, match="WordTree"):
        predict_mapped(yolo, [Path("x.png")], (0,), imgsz=64)
