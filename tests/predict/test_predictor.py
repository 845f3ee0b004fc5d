"""The predictor (``yolo9000.predict.predictor``): wrapping an in-memory network, the letterboxed input it
feeds the network, batches, the conf / nms thresholds, predict's classes and max_det filters and its option
errors; on yolov2-nano with seeded random weights (``nano``, tests/predict/conftest.py)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torchvision

from yolo9000 import YOLO, Results, Yolo9000Error
from yolo9000.ops.letterbox import letterbox
from yolo9000.predict.backend import TorchBackend
from yolo9000.predict.predictor import Predictor, RandomWeightsWarning

from .test_results import CONF, IMGSZ, noise_image


def keys(r: Results) -> list[tuple[int, int]]:
    """(darknet prediction index, class) of each detection: what identifies it across runs."""
    return list(zip(r.det_index.tolist(), r.class_ids.tolist()))


# ---------------------------------------------------------------- predict(classes=, max_det=)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [noise_image(72, 96, seed=s) for s in (1, 2)]


@pytest.fixture(scope="module")
def unfiltered(nano, images) -> list[Results]:
    return nano.predict(images, imgsz=IMGSZ, conf=CONF)


def by_hand(r: Results, classes: list[int] | None, max_det: int | None) -> list[int]:
    idx = [i for i, c in enumerate(r.class_ids.tolist()) if classes is None or c in classes]
    return idx if max_det is None else idx[:max_det]


def test_unfiltered_has_detections_sorted_by_score(unfiltered):
    for r in unfiltered:
        assert len(r) > 20 and len(set(r.class_ids.tolist())) >= 3
        assert torch.all(r.scores[:-1] >= r.scores[1:])


@pytest.mark.parametrize("classes,max_det", [([0, 2], None), (None, 5), ([1, 3, 5], 4), (7, 2), (None, 10_000)])
def test_classes_and_max_det_equal_filtering_by_hand(nano, images, unfiltered, classes, max_det):
    got = nano.predict(images, imgsz=IMGSZ, conf=CONF, classes=classes, max_det=max_det)
    wanted = None if classes is None else ([classes] if isinstance(classes, int) else classes)
    for r, full in zip(got, unfiltered):
        keep = by_hand(full, wanted, max_det)
        assert r.class_ids.tolist() == full.class_ids[keep].tolist()
        assert torch.equal(r.xyxy, full.xyxy[keep]) and torch.equal(r.scores, full.scores[keep])
        assert torch.equal(r.det_index, full.det_index[keep])
        if max_det is not None:
            assert len(r) == min(max_det, len(by_hand(full, wanted, None)))
    assert any(len(r) for r in got)


@pytest.mark.parametrize("kwargs,words", [
    ({"classes": [20]}, "20 out of range"), ({"classes": [0, -1]}, "-1 out of range"),
    ({"classes": []}, "one or more"), ({"classes": [1.5]}, "whole class ids"), ({"classes": "0"}, "whole"),
    ({"classes": 2.0}, "whole"), ({"max_det": 0}, "at least 1"), ({"max_det": -3}, "at least 1"),
    ({"max_det": 2.5}, "whole number"), ({"max_det": True}, "whole number"),
])
def test_bad_classes_and_max_det_are_one_line_errors(nano, images, kwargs, words):
    with pytest.raises(Yolo9000Error, match=words) as e:
        nano.predict(images, imgsz=IMGSZ, **kwargs)
    assert "\n" not in str(e.value)


def test_classes_accept_numpy_ints(nano, images, unfiltered):
    (r,) = nano.predict(images[:1], imgsz=IMGSZ, conf=CONF, classes=np.array([2, 4]))
    assert r.class_ids.tolist() == [c for c in unfiltered[0].class_ids.tolist() if c in (2, 4)]


def test_classifier_refuses_classes_and_max_det(tmp_path):
    from tests.train.test_classify import SMALL_CLASSIFIER

    cfg = tmp_path / "cls.cfg"
    cfg.write_text(SMALL_CLASSIFIER)
    yolo = YOLO(str(cfg), device="cpu")
    for kwargs in ({"classes": [0]}, {"max_det": 3}):
        with pytest.raises(Yolo9000Error, match="classifier"):
            yolo.predict(noise_image(32, 32), imgsz=32, **kwargs)


def test_wordtree_classes_filter_the_returned_nodes(tmp_path):
    from yolo9000.train.joint import demo_cfg_text

    tree_lines = ["polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1"]
    tree = tmp_path / "t.tree"
    tree.write_text("\n".join(tree_lines) + "\n")
    cfg = tmp_path / "tree.cfg"
    cfg.write_text(demo_cfg_text(str(tree), len(tree_lines), 64, anchors=(0.5, 0.5, 1.0, 1.0, 1.6, 1.6)))
    torch.manual_seed(1)
    yolo = YOLO(str(cfg), device="cpu")
    img = noise_image(64, 64, seed=3)
    (full,) = yolo.predict(img, imgsz=64, conf=0.001, hier=0.2)
    assert len(full) and yolo.tree is not None
    present = sorted(set(full.class_ids.tolist()))
    pick = present[:1] + [6]
    (r,) = yolo.predict(img, imgsz=64, conf=0.001, hier=0.2, classes=pick, max_det=3)
    keep = by_hand(full, pick, 3)
    assert r.class_ids.tolist() == full.class_ids[keep].tolist() and torch.equal(r.xyxy, full.xyxy[keep])
    with pytest.raises(Yolo9000Error, match="7 out of range"):
        yolo.predict(img, imgsz=64, classes=[7])


# ---------------------------------------------------------------- the Predictor itself


def test_from_module_predicts_as_the_loaded_network(nano, images, unfiltered):
    """from_module wraps an in-memory network (no file read, no random-weights warning) and predicts exactly
    what the loaded network does with the same weights."""
    wrapped = Predictor.from_module(nano.model, list(nano.names), device="cpu")
    assert wrapped.names == nano.names and wrapped.imgsz == nano.imgsz == 416 and wrapped.is_detector
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = wrapped.predict(images, imgsz=IMGSZ, conf=CONF)
    assert [keys(r) for r in got] == [keys(r) for r in unfiltered]
    for r, full in zip(got, unfiltered):
        assert torch.equal(r.xyxy, full.xyxy) and torch.equal(r.scores, full.scores)


def test_yolo_holds_a_predictor_over_a_torch_backend(nano, images, unfiltered):
    """The facade holds one predictor, which holds the network's backend; YOLO's attributes are the
    predictor's, and YOLO(predictor) holds the one given (it has its weights and names already)."""
    p = nano.predictor
    assert isinstance(p, Predictor) and isinstance(p.backend, TorchBackend)
    assert nano.model is p.backend.module is p.model and nano.config is p.config
    assert (nano.names, nano.imgsz, nano.stride, nano.device) == (p.names, p.imgsz, 32, torch.device("cpu"))
    assert nano.inference_model() is p.inference_model()  # the fused copy, built once
    held = YOLO(Predictor.from_module(nano.model, nano.names, device="cpu"))
    assert [keys(r) for r in held.predict(images, imgsz=IMGSZ, conf=CONF)] == [keys(r) for r in unfiltered]
    with pytest.raises(Yolo9000Error, match="has its weights and names already"):
        YOLO(p, weights="yolov2-nano.weights")


def test_the_random_weights_warning_points_at_the_callers_line(tmp_path):
    """Through YOLO or straight to the predictor, the warning names this file (the user's call), so every
    network built without weights warns where it is used, not once per process at a line of the package."""
    for make in (lambda: YOLO("yolov2-nano", device="cpu"), lambda: Predictor.load("yolov2-nano", device="cpu")):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            make().predict(noise_image(32, 32, seed=0), imgsz=64)
        assert [(w.category, w.filename) for w in seen] == [(RandomWeightsWarning, __file__)]


@pytest.mark.parametrize("imgsz, batch", [(None, 1), (64, 2), (160, 1)])
def test_the_network_sees_each_image_letterboxed_to_imgsz(nano, images, imgsz, batch):
    """The input is darknet's letterbox of each (72 x 96) image into an imgsz square (None: the model's own
    size, its cfg's width), ``batch`` at a time; the results keep the original image's shape."""
    p = Predictor.from_module(nano.model, nano.names, device="cpu", fuse=False)  # runs nano.model itself
    seen: list[torch.Tensor] = []
    hook = p.model.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    try:
        results = p.predict(images, imgsz=imgsz, conf=CONF, batch=batch)
    finally:
        hook.remove()
    side = p.imgsz if imgsz is None else imgsz
    assert [tuple(x.shape) for x in seen] == [(batch, 3, side, side)] * (len(images) // batch)
    expect = torch.stack([letterbox(im, side) for im in images])
    assert torch.equal(torch.cat(seen), expect)
    assert [r.orig_shape for r in results] == [(72, 96)] * len(images)


def test_batches_give_the_results_of_single_images(nano):
    imgs = [noise_image(72, 96, seed=s) for s in (4, 5, 6)] + [noise_image(50, 120, seed=7)]
    single = [nano.predict(im, imgsz=IMGSZ, conf=0.05)[0] for im in imgs]
    assert all(len(r) for r in single)
    for batch in (2, 3, 8):  # full batches; a short last batch; one batch larger than the input
        got = nano.predict(imgs, imgsz=IMGSZ, conf=0.05, batch=batch)
        assert [r.orig_shape for r in got] == [(72, 96)] * 3 + [(50, 120)]
        for r, s in zip(got, single):
            # batched convolutions may round differently: the same detections, nearly the same numbers
            assert keys(r) == keys(s)
            torch.testing.assert_close(r.xyxy, s.xyxy, rtol=1e-4, atol=0.01)
            torch.testing.assert_close(r.scores, s.scores, rtol=1e-4, atol=1e-6)
    streamed = nano.predict(imgs, imgsz=IMGSZ, conf=0.05, batch=2, stream=True, keep_images=False)
    assert not isinstance(streamed, list)
    streamed = list(streamed)
    assert [keys(r) for r in streamed] == [keys(r) for r in single] and all(r.orig_img is None for r in streamed)


@pytest.mark.parametrize("conf", [0.02, 0.05, 0.1])
def test_conf_keeps_the_detections_scored_above_it(nano, images, unfiltered, conf):
    """A higher conf keeps exactly the detections of a lower one that score above it (NMS only lets a box be
    suppressed by a higher-scored one, which survives the higher threshold too)."""
    for r, full in zip(nano.predict(images, imgsz=IMGSZ, conf=conf), unfiltered):
        assert (r.scores > conf).all() and torch.all(r.scores[:-1] >= r.scores[1:])
        assert keys(r) == keys(full[full.scores > conf])
    assert (unfiltered[0].scores <= 0.05).any()  # the thresholds do cut


@pytest.mark.parametrize("nms", [0.2, 0.45, 0.7])
def test_nms_leaves_no_pair_of_one_class_overlapping_above_it(nano, images, nms):
    for r, loose in zip(nano.predict(images, imgsz=IMGSZ, conf=CONF, nms=nms),
                        nano.predict(images, imgsz=IMGSZ, conf=CONF, nms=1.0)):
        assert set(keys(r)) < set(keys(loose))
        for c in r.class_ids.unique():
            boxes = r.xyxy[r.class_ids == c].double()
            iou = torchvision.ops.box_iou(boxes, boxes) - torch.eye(len(boxes), dtype=torch.float64)
            assert (iou <= nms + 1e-6).all()


@pytest.mark.parametrize("kwargs, words", [
    ({"imgsz": 100}, "imgsz=100"), ({"imgsz": 0}, "imgsz=0"),
    ({"imgsz": (480, 640)}, r"imgsz=\(480, 640\): must be one whole number, the side of the square"),
    ({"conf": 1.0}, r"conf must be in \[0, 1\)"),
    ({"conf": -0.1}, "conf must be"), ({"nms": 0.0}, r"nms in \(0, 1\]"), ({"batch": 0}, "batch=0: must be at least 1"),
    ({"hier": 0.3}, "hier=0.3: .*WordTree heads"), ({"label_map": [0, 1]}, "label_map applies to WordTree heads"),
])
def test_bad_predict_options_are_one_line_errors(nano, images, kwargs, words):
    with pytest.raises(Yolo9000Error, match=words) as e:
        nano.predict(images, **kwargs)
    assert "\n" not in str(e.value)
