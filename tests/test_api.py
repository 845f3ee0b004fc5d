"""The Python API: ``YOLO(...)``, ``.predict`` on every kind of source, Results, saving and reloading."""
from __future__ import annotations

import csv
import filecmp
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from yolo9000 import YOLO, Results, Yolo9000Error
from yolo9000.names import bundled
from yolo9000.predict.sources import load_image

TINY = "yolov2-tiny-voc"
CONF = 0.25
IMGSZ = 224  # small input keeps these tests fast; the darknet comparison runs at 416
RECORD_KEYS = {"image", "class_id", "class_name", "score", "xyxy"}


@pytest.fixture(scope="module")
def tiny(tiny_voc_weights) -> YOLO:
    return YOLO(TINY, weights=tiny_voc_weights)


@pytest.fixture(scope="module")
def dog(reference_dir) -> Path:
    return reference_dir / "images" / "dog.jpg"


@pytest.fixture(scope="module")
def dog_result(tiny, dog) -> Results:
    (r,) = tiny.predict(dog, conf=CONF, imgsz=IMGSZ)
    return r


def keys(r: Results) -> list[tuple[int, int]]:
    return list(zip(r.det_index.tolist(), r.class_ids.tolist()))


def assert_same(a: Results, b: Results) -> None:
    assert keys(a) == keys(b)
    assert torch.equal(a.xyxy, b.xyxy)
    assert torch.equal(a.scores, b.scores)
    assert torch.equal(a.class_ids, b.class_ids)


def one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


# ---------------------------------------------------------------- sources give the same answer


def test_dog_has_detections(dog_result):
    # the deterministic reference weights find ~20 (box, class) pairs above 0.25 on dog.jpg
    assert len(dog_result) >= 5
    assert len(set(dog_result.class_ids.tolist())) >= 2


def test_all_source_kinds_agree(tiny, dog, dog_result, tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    shutil.copy(dog, folder / "a.jpg")
    shutil.copy(dog, folder / "b.jpg")
    by_folder = tiny.predict(folder, conf=CONF, imgsz=IMGSZ)
    by_list = tiny([str(dog), load_image(dog)], conf=CONF, imgsz=IMGSZ)  # __call__, a str path and an array
    with Image.open(dog) as im:
        (by_pil,) = tiny.predict(im, conf=CONF, imgsz=IMGSZ)

    assert [Path(r.path).name for r in by_folder] == ["a.jpg", "b.jpg"]
    assert [r.path for r in by_list] == [str(dog), "image1"]
    assert by_pil.path == str(dog)
    for r in [*by_folder, *by_list, by_pil]:
        assert r.orig_shape == (576, 768)
        assert_same(r, dog_result)


def test_bgr_view_array_is_accepted(tiny, dog, dog_result):
    bgr = np.ascontiguousarray(load_image(dog)[:, :, ::-1])
    (r,) = tiny.predict(bgr[:, :, ::-1], conf=CONF, imgsz=IMGSZ)  # a negative-stride RGB view
    assert_same(r, dog_result)


def test_batch_sizes_agree(tiny, reference_dir, dog_result):
    images = [reference_dir / "images" / n for n in ("dog.jpg", "person.jpg")]
    base = [dog_result, *tiny.predict(images[1], conf=CONF, imgsz=IMGSZ)]
    assert [r.orig_shape for r in base] == [(576, 768), (424, 640)]
    assert len(base[1]) > 0
    for batch in (2, 5):  # one full batch; one batch larger than the input
        results = tiny.predict(images, conf=CONF, imgsz=IMGSZ, batch=batch)
        assert [r.path for r in results] == [str(p) for p in images]
        for r, b in zip(results, base):
            # batched convolutions may pick other kernels and round differently (the box sizes go through
            # exp, so a few ulps become hundredths of a pixel); the detections themselves are the same
            assert keys(r) == keys(b)
            torch.testing.assert_close(r.xyxy, b.xyxy, rtol=1e-4, atol=0.1)
            torch.testing.assert_close(r.scores, b.scores, rtol=1e-4, atol=1e-5)


def test_stream_and_keep_images(tiny, dog, dog_result):
    gen = tiny.predict([dog], conf=CONF, imgsz=IMGSZ, stream=True, keep_images=False)
    assert not isinstance(gen, list)
    results = list(gen)
    assert len(results) == 1
    assert all(r.orig_img is None for r in results)
    assert_same(results[0], dog_result)
    with pytest.raises(ValueError):
        results[0].draw()
    assert results[0].draw(image=load_image(dog)).size == (768, 576)


# ---------------------------------------------------------------- Results


def test_results_fields(tiny, dog_result):
    r = dog_result
    n = len(r)
    assert r.xyxy.shape == (n, 4) and r.xyxy.dtype == torch.float32
    assert r.scores.shape == (n,) and r.scores.dtype == torch.float32
    assert r.class_ids.shape == (n,) and r.class_ids.dtype == torch.int64
    assert r.det_index.shape == (n,)
    assert (r.xyxy[:, 2] > r.xyxy[:, 0]).all() and (r.xyxy[:, 3] > r.xyxy[:, 1]).all()
    assert r.names == tiny.names and len(r.names) == 20 and r.names[11] == "dog"
    assert r.class_names == [r.names[i] for i in r.class_ids.tolist()]
    assert all(isinstance(c, str) for c in r.class_names)
    assert r.probs is None and r.frame is None
    # sorted by score, as NMS returns them
    assert (r.scores[:-1] >= r.scores[1:]).all()
    clipped = r.xyxy_clipped
    assert (clipped[:, 0::2] >= 0).all() and (clipped[:, 0::2] <= 768).all()
    assert (clipped[:, 1::2] >= 0).all() and (clipped[:, 1::2] <= 576).all()
    torch.testing.assert_close(r.cxcywh[:, :2], (r.xyxy[:, :2] + r.xyxy[:, 2:]) / 2)


def test_boxes_in_original_pixels_match_darknet(tiny, reference_dir):
    """On darknet's own decode of dog.jpg the detections are darknet's, in original-image pixels."""
    case = reference_dir / "cases" / "yolov2-tiny-voc_416_dog"
    (r,) = tiny.predict(np.load(case / "image_u8.npy"), conf=CONF, imgsz=416)
    with open(case / "dets.csv") as f:
        ref = {(int(row["det_index"]), int(row["class"])): row for row in csv.DictReader(f)
               if float(row["prob"]) > CONF}
    assert sorted(keys(r)) == sorted(ref)
    for k, box, score in zip(keys(r), r.xyxy.tolist(), r.scores.tolist()):
        row = ref[k]
        np.testing.assert_allclose(box, [float(row[c]) for c in ("x1", "y1", "x2", "y2")], rtol=1e-5, atol=0.05)
        assert score == pytest.approx(float(row["prob"]), abs=1e-5)


def test_to_records(dog_result):
    recs = dog_result.to_records()
    assert len(recs) == len(dog_result)
    json.loads(json.dumps(recs))  # plain JSON types
    for rec, box, score, cid in zip(recs, dog_result.xyxy.tolist(), dog_result.scores.tolist(),
                                    dog_result.class_ids.tolist()):
        assert set(rec) == RECORD_KEYS
        assert rec["image"] == dog_result.path
        assert rec["class_id"] == cid and isinstance(rec["class_id"], int)
        assert rec["class_name"] == dog_result.names[cid]
        assert rec["score"] == score and rec["score"] > CONF
        assert rec["xyxy"] == box and len(rec["xyxy"]) == 4


def test_to_coco(dog_result):
    coco = dog_result.to_coco(42)
    assert len(coco) == len(dog_result)
    for rec, box, score, cid in zip(coco, dog_result.xyxy.tolist(), dog_result.scores.tolist(),
                                    dog_result.class_ids.tolist()):
        assert set(rec) == {"image_id", "category_id", "bbox", "score"}
        assert rec["image_id"] == 42 and rec["category_id"] == cid and rec["score"] == score
        x, y, w, h = rec["bbox"]
        x1, y1, x2, y2 = box
        assert x == pytest.approx(x1) and y == pytest.approx(y1)
        assert x + w == pytest.approx(x2, abs=1e-3) and y + h == pytest.approx(y2, abs=1e-3)
        assert w > 0 and h > 0
    mapped = dog_result.to_coco("dog", category_ids=list(range(100, 120)))
    assert [m["category_id"] for m in mapped] == [c + 100 for c in dog_result.class_ids.tolist()]


def test_draw(dog_result, dog):
    orig = load_image(dog)
    drawn = dog_result.draw()
    assert isinstance(drawn, Image.Image)
    assert drawn.size == (768, 576) and drawn.mode == "RGB"
    diff = np.asarray(drawn) != orig
    assert diff.any()  # boxes were drawn
    assert diff.mean() < 0.5  # ... and the picture is still there
    np.testing.assert_array_equal(dog_result.orig_img, orig)  # drawing did not touch the kept image


def test_draw_without_detections(tiny, dog):
    (r,) = tiny.predict(dog, conf=0.99, imgsz=IMGSZ)
    assert len(r) == 0 and r.xyxy.shape == (0, 4)
    assert r.to_records() == [] and r.to_coco(1) == []
    np.testing.assert_array_equal(np.asarray(r.draw()), load_image(dog))


def test_save(dog_result, tmp_path):
    out = dog_result.save(tmp_path / "sub" / "dog.jpg")
    assert out == tmp_path / "sub" / "dog.jpg"
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (768, 576)
        im.load()
    png = dog_result.save(tmp_path / "dog.png")
    with Image.open(png) as im:
        assert im.format == "PNG"
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), np.asarray(dog_result.draw()))
    with pytest.raises(ValueError):
        dog_result.save(tmp_path / "dog.unknownext")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["dog.jpg", "dog.png"]  # no temp files


# ---------------------------------------------------------------- thresholds and options


def test_conf_threshold_monotonic(tiny, dog):
    previous = None
    for conf in (0.1, 0.2, 0.3, 0.45):
        (r,) = tiny.predict(dog, conf=conf, imgsz=IMGSZ)
        assert len(r) > 0 and (r.scores > conf).all()
        current = set(keys(r))
        if previous is not None:
            assert current <= previous
            assert len(current) < len(previous)  # these thresholds do cut detections
        previous = current


def test_nms_threshold(tiny, dog):
    (loose,) = tiny.predict(dog, conf=0.1, imgsz=IMGSZ, nms=1.0)
    (tight,) = tiny.predict(dog, conf=0.1, imgsz=IMGSZ, nms=0.3)
    assert set(keys(tight)) < set(keys(loose))
    assert len(loose) == len(set(keys(loose)))
    # after NMS no two boxes of a class overlap by more than the threshold
    for c in tight.class_ids.unique():
        boxes = tight.xyxy[tight.class_ids == c].double()
        iou = torchvision.ops.box_iou(boxes, boxes) - torch.eye(len(boxes), dtype=torch.float64)
        assert (iou <= 0.3 + 1e-6).all()


def test_imgsz_not_a_multiple_of_32(tiny, dog):
    for bad in (400, 300, 0, 16, -32):
        with pytest.raises(Yolo9000Error) as e:
            tiny.predict(dog, imgsz=bad)
        assert f"imgsz={bad}" in one_line(e)


@pytest.mark.parametrize("kwargs", [{"conf": 1.0}, {"conf": -0.1}, {"nms": 0.0}, {"nms": 1.5}, {"batch": 0}])
def test_bad_options(tiny, dog, kwargs):
    with pytest.raises(Yolo9000Error):
        tiny.predict(dog, **kwargs)


def test_names_file(tiny_voc_weights, dog, dog_result, tmp_path):
    good = tmp_path / "mine.names"
    good.write_text("\n".join(f"thing{i}" for i in range(20)) + "\n\n")
    y = YOLO(TINY, weights=tiny_voc_weights, names=good)
    (r,) = y.predict(dog, conf=CONF, imgsz=IMGSZ)
    assert_same(r, dog_result)
    assert r.class_names == [f"thing{i}" for i in dog_result.class_ids.tolist()]

    bad = tmp_path / "short.names"
    bad.write_text("cat\ndog\nbird\n")
    with pytest.raises(Yolo9000Error) as e:
        YOLO(TINY, weights=tiny_voc_weights, names=bad)
    msg = one_line(e)
    assert str(bad) in msg and "3" in msg and "20" in msg


def test_bundled_voc_names(tiny):
    assert tiny.names == tuple(bundled("voc.names").read_text().split())


# ---------------------------------------------------------------- saving and reloading


def test_checkpoint_round_trip(tiny, dog, dog_result, tmp_path):
    pt = tiny.save(tmp_path / "tiny.pt")
    y = YOLO(pt)
    assert y.config.layers == tiny.config.layers
    assert y.names == tiny.names and y.header == tiny.header
    (r,) = y.predict(dog, conf=CONF, imgsz=IMGSZ)
    assert_same(r, dog_result)
    # the checkpoint also works as weights= of the zoo network
    (r2,) = YOLO(TINY, weights=pt).predict(dog, conf=CONF, imgsz=IMGSZ)
    assert_same(r2, dog_result)


def test_weights_round_trip(tiny, dog, dog_result, tmp_path, tiny_voc_weights):
    w = tiny.save(tmp_path / "tiny.weights")
    assert filecmp.cmp(w, tiny_voc_weights, shallow=False)
    (r,) = YOLO(TINY, weights=w).predict(dog, conf=CONF, imgsz=IMGSZ)
    assert_same(r, dog_result)


def test_old_header_weights_round_trip(weights_dir, dog, dog_result, tmp_path):
    old = weights_dir / "yolov2-tiny-voc.oldheader.weights"
    y = YOLO(TINY, weights=old)
    assert y.header.nbytes == 16
    (r,) = y.predict(dog, conf=CONF, imgsz=IMGSZ)
    assert_same(r, dog_result)
    assert filecmp.cmp(y.save(tmp_path / "old.weights"), old, shallow=False)
    # through a checkpoint the 16-byte header survives too
    y2 = YOLO(y.save(tmp_path / "old.pt"))
    assert filecmp.cmp(y2.save(tmp_path / "old2.weights"), old, shallow=False)


def test_save_unknown_extension(tiny, tmp_path):
    with pytest.raises(Yolo9000Error):
        tiny.save(tmp_path / "model.onnx")
    assert not any(tmp_path.iterdir())


def test_checkpoint_of_another_network(tmp_path):
    other = YOLO("yolov2-tiny-coco", weights="random").save(tmp_path / "tiny-coco.pt")
    with pytest.raises(Yolo9000Error) as e:
        YOLO(TINY, weights=other)
    assert str(other) in one_line(e)


def test_weights_of_another_network(tmp_path, darknet19_weights):
    with pytest.raises(Yolo9000Error) as e:
        YOLO(TINY, weights=darknet19_weights)
    msg = one_line(e)
    assert str(darknet19_weights) in msg and "expected" in msg


def test_weights_file_as_model(tiny_voc_weights):
    with pytest.raises(Yolo9000Error) as e:
        YOLO(tiny_voc_weights)
    assert str(tiny_voc_weights) in one_line(e)


def test_unknown_model_name():
    with pytest.raises(Yolo9000Error) as e:
        YOLO("yolov7")
    assert "yolov7" in one_line(e)


# ---------------------------------------------------------------- classifier and raw forward


def test_darknet19_classifier(darknet19_weights, reference_dir):
    y = YOLO("darknet19", weights=darknet19_weights)
    assert not y.is_detector
    case = reference_dir / "cases" / "darknet19_224_dog"
    (r,) = y.predict(np.load(case / "image_u8.npy"), imgsz=224)  # darknet's own decode of dog.jpg
    assert len(r) == 0 and r.xyxy.shape == (0, 4) and r.to_records() == []
    assert r.probs.shape == (1000,)
    assert float(r.probs.sum()) == pytest.approx(1.0, abs=1e-5)
    assert (r.probs >= 0).all()
    top = r.top(5)
    assert len(top) == 5
    probs = [p for _, _, p in top]
    assert probs == sorted(probs, reverse=True)
    assert top[0][2] == pytest.approx(float(r.probs.max()))
    assert all(name == r.names[c] for c, name, _ in top)
    # darknet's top-5
    with open(case / "top5.csv") as f:
        ref = [(int(row["class"]), float(row["prob"])) for row in csv.DictReader(f)]
    assert [c for c, _, _ in top] == [c for c, _ in ref]
    np.testing.assert_allclose(probs, [p for _, p in ref], rtol=1e-4)
    assert r.draw().size == (768, 576)


def test_top_on_detections_raises(dog_result):
    with pytest.raises(ValueError):
        dog_result.top(5)


@pytest.mark.parametrize("hw, grid", [((320, 320), (10, 10)), ((608, 416), (19, 13)), ((416, 416), (13, 13))])
def test_raw_forward_shape(tiny, hw, grid):
    x = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = tiny.model(x)
    assert tuple(out.shape) == (1, 125, *grid)
    assert torch.isfinite(out).all()


def test_yolo9000_labels_at_a_depth_or_through_a_map(weights_dir: Path, reference_dir: Path) -> None:
    from yolo9000.names import bundled
    from yolo9000.wordtree.tree import load_label_map

    yolo = YOLO("yolo9000", weights_dir / "yolo9000.weights")
    image = np.load(reference_dir / "cases" / "yolo9000_416_dog" / "image_u8.npy")
    top = yolo.predict(image, imgsz=416, conf=0.05)[0]
    depth1 = yolo.predict(image, imgsz=416, conf=0.05, tree_depth=1)[0]
    assert len(top) > 0 and len(depth1) > 0
    assert set(yolo.tree.depth[depth1.class_ids].tolist()) <= {0, 1}  # a leaf may stop shallower
    inet = load_label_map(bundled("inet9k.map"), yolo.tree.num_nodes)
    mapped = yolo.predict(image, imgsz=416, conf=1e-6, label_map=bundled("inet9k.map"))[0]  # random weights: small P(leaf)
    assert len(mapped) > 0 and int(mapped.class_ids.max()) < 200
    assert mapped.class_names[0] == yolo.names[inet[int(mapped.class_ids[0])]]
    with pytest.raises(Yolo9000Error, match="node indices"):
        yolo.predict(image, imgsz=416, label_map=[0, 10**6])


def test_device_defaults_to_auto_everywhere():
    """``--device`` / ``device=`` default to ``auto``: CUDA when present, else the CPU."""
    import dataclasses

    from yolo9000.predict.benchmark import BenchmarkConfig
    from yolo9000.cli.app import build_parser
    from yolo9000.train.joint import JointConfig
    from yolo9000.train.detect import TrainConfig
    from yolo9000.train.classify import ClassifyConfig

    expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.warns(UserWarning):  # random weights, at the first prediction
        y = YOLO("yolov2-nano")
        y.predict(np.zeros((40, 40, 3), np.uint8), imgsz=64)
    assert y.device.type == expected.type
    for cls in (TrainConfig, ClassifyConfig, JointConfig, BenchmarkConfig):
        assert {f.name: f.default for f in dataclasses.fields(cls)}["device"] == "auto", cls
    parser = build_parser()
    for argv in (["predict", "x.jpg", "--model", "m"], ["val", "--data", "d", "--model", "m"], ["train"],
                 ["train-classifier", "--data", "d"], ["benchmark", "--model", "m"]):
        assert parser.parse_args(argv).device == "auto", argv
