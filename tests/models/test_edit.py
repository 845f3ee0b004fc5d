"""models/edit.py: every network edit keeps the head convolution and the last layer in agreement, changes only
what it names, leaves its argument as it was, and builds a network whose output has the new shape."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from yolo9000.errors import ConfigError, Yolo9000Error
from yolo9000.models.darknet import ConvSpec, Darknet, SoftmaxSpec
from yolo9000.models.edit import (
    classifier_with_classes, classifier_with_tree, with_anchors, with_classes, with_input_size, with_location,
    with_region, with_tree, without_batchnorm,
)
from yolo9000.models.zoo import darknet19, yolo9000_config, yolov2_nano


def _head_filters(config) -> int:  # noqa: ANN001
    return [s for s in config.layers if isinstance(s, ConvSpec)][-1].filters


def test_with_classes_resizes_the_head_and_builds() -> None:
    before = yolov2_nano()
    after = with_classes(before, 3, ("a", "b", "c"))
    assert (after.region.classes, _head_filters(after), after.names) == (3, 5 * (5 + 3), ("a", "b", "c"))
    assert before.region.classes == 20 and _head_filters(before) == 125  # the argument is unchanged
    assert with_classes(before, 2).names == ("class0", "class1")  # no names given: the default names
    out = Darknet(with_input_size(after, 64)).eval()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, 40, 2, 2)


def test_with_region_changes_only_what_it_names() -> None:
    before = yolov2_nano()
    after = with_region(before, random=False, class_scale=5.0)
    assert (after.region.random, after.region.class_scale) == (False, 5.0)
    assert after.region.anchors == before.region.anchors and _head_filters(after) == _head_filters(before)
    assert after.layers[:-1] == before.layers[:-1]


def test_with_anchors_follows_the_count() -> None:
    after = with_anchors(yolov2_nano(), (1.0, 1.0, 2.0, 3.0))
    assert (after.region.num, after.region.anchors, _head_filters(after)) == (2, (1.0, 1.0, 2.0, 3.0), 2 * 25)
    assert with_location(after, "offset").region.location == "offset"


def test_with_tree_sets_the_tree_head(tmp_path: Path) -> None:
    after = with_tree(yolov2_nano(), tmp_path / "t.tree", 7, tuple("abcdefg"))
    r = after.region
    assert (r.classes, r.tree, r.map, r.softmax) == (7, str((tmp_path / "t.tree").resolve()), None, True)
    assert _head_filters(after) == 5 * (5 + 7) and len(after.names) == 7


def test_classifier_heads() -> None:
    c = classifier_with_classes(darknet19(), 10, tuple("0123456789"))
    assert _head_filters(c) == 10 and isinstance(c.layers[-1], SoftmaxSpec) and c.layers[-1].tree is None
    t = classifier_with_tree(darknet19(), "x.tree", 12, tuple("abcdefghijkl"))
    assert _head_filters(t) == 12 and t.layers[-1].tree == str(Path("x.tree").resolve())
    assert without_batchnorm(c).layers[0].batch_normalize is False and c.layers[0].batch_normalize is True


@pytest.mark.parametrize("edit, error, message", [
    (lambda: with_classes(darknet19(), 3), ConfigError, "darknet19: not a detector"),
    (lambda: with_anchors(darknet19(), (1.0, 1.0)), ConfigError, "darknet19: not a detector"),
    (lambda: with_classes(yolo9000_config(), 3), ConfigError, "a WordTree head .* cannot change its class count"),
    (lambda: classifier_with_classes(yolov2_nano(), 3, ("a", "b", "c")), Yolo9000Error, "a detector, not a"),
    (lambda: classifier_with_tree(yolov2_nano(), "t", 3, ("a", "b", "c")), Yolo9000Error, "needs a \\[softmax\\]"),
])
def test_edits_refuse_networks_they_do_not_fit(edit, error: type, message: str) -> None:  # noqa: ANN001
    with pytest.raises(error, match=message):
        edit()
