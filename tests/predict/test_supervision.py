"""supervision (Roboflow's annotators, trackers and metrics) reads our results as it reads Ultralytics':
``sv.Detections.from_ultralytics(r)`` gives ``r.boxes``' boxes, scores, class ids and track ids."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo9000 import Results

sv = pytest.importorskip("supervision")  # in the test extra; skipped only where it was left out by hand

NAMES = ("cat", "dog", "box")


def result(track: bool = False) -> Results:
    image = np.full((60, 80, 3), 200, np.uint8)
    boxes = torch.tensor([[5.0, 5.0, 30.0, 40.0], [40.0, 10.0, 75.0, 55.0], [-3.0, 20.0, 20.0, 70.0]])
    return Results(boxes, torch.tensor([0.9, 0.6, 0.3]), torch.tensor([1, 0, 2]), NAMES, "x.jpg", (60, 80),
                   orig_img=image, track_ids=torch.tensor([4, 7, 9]) if track else None)


def test_detections_from_our_results_are_our_boxes():
    r = result()
    d = sv.Detections.from_ultralytics(r)
    assert np.array_equal(d.xyxy, r.boxes.xyxy.numpy()) and np.array_equal(d.confidence, r.boxes.conf.numpy())
    assert d.class_id.tolist() == [1, 0, 2] and d.tracker_id is None and d.mask is None
    assert d.data["class_name"].tolist() == ["dog", "cat", "box"]
    tracked = sv.Detections.from_ultralytics(result(track=True))
    assert tracked.tracker_id.tolist() == [4, 7, 9]
    assert len(sv.Detections.from_ultralytics(r[r.scores > 0.95])) == 0


def test_supervision_annotators_draw_our_boxes():
    r = result()
    d = sv.Detections.from_ultralytics(r)
    drawn = sv.BoxAnnotator(thickness=1).annotate(r.orig_img.copy(), d)
    changed = np.argwhere((drawn != r.orig_img).any(axis=2))
    assert len(changed) and (changed[:, 0] >= 5).all()  # nothing drawn above the highest box
    labelled = sv.LabelAnnotator().annotate(drawn.copy(), d, labels=[f"{n} {c:.2f}" for n, c in
                                                                    zip(d.data["class_name"], d.confidence)])
    assert (labelled != drawn).any()
