"""ONNX export: raw head, dynamic axes, decoded boxes and scores, classifier logits, metadata, and
``YOLO("model.onnx")`` giving the torch path's detections through onnxruntime."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from yolo9000 import YOLO, Yolo9000Error
from yolo9000.api import load_model
from yolo9000.cli.export import add_export_parser, cmd_export
from yolo9000.models import Darknet, zoo_config
from yolo9000.ops.boxes import box_convert
from yolo9000.ops.letterbox import letterbox
from yolo9000.ops.region import decode_region
from yolo9000.predict.export import ExportOptions, export_onnx
from yolo9000.predict.onnx_backend import OnnxBackend, read_onnx_metadata
from yolo9000.predict.sources import load_image

TINY = "yolov2-tiny-voc"
TOL = 1e-4


def run_onnx(path: Path, x: torch.Tensor) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": x.numpy()})


def one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


@pytest.fixture(scope="module")
def tiny(tiny_voc_weights):
    model, _header, names = load_model(TINY, tiny_voc_weights)
    return model, names


@pytest.fixture(scope="module")
def dog_u8(reference_dir) -> np.ndarray:
    return load_image(reference_dir / "images" / "dog.jpg")


@pytest.fixture(scope="module")
def tiny_static(tiny, tmp_path_factory):
    model, names = tiny
    out = tmp_path_factory.mktemp("onnx") / "tiny416.onnx"
    return out, export_onnx(model, out, names, ExportOptions(imgsz=416))


@pytest.fixture(scope="module")
def tiny_dynamic(tiny, tmp_path_factory):
    model, names = tiny
    out = tmp_path_factory.mktemp("onnx") / "tiny_dynamic.onnx"
    return out, export_onnx(model, out, names, ExportOptions(imgsz=416, dynamic=True))


# ---------------------------------------------------------------- raw head


def test_raw_head_static_416_matches_torch(tiny, tiny_static, dog_u8):
    model, names = tiny
    path, report = tiny_static
    assert path.is_file() and report.checks and report.checks[0].max_abs_diff[0] <= TOL
    x = letterbox(dog_u8, 416)[None]
    (out,) = run_onnx(path, x)
    with torch.inference_mode():
        ref = model(x).numpy()
    assert out.shape == ref.shape == (1, 125, 13, 13)
    assert np.abs(out - ref).max() <= TOL


def test_metadata_round_trip(tiny, tiny_static):
    model, names = tiny
    meta = read_onnx_metadata(tiny_static[0])
    assert meta.model_name == TINY and meta.names == names and names[14] == "person"
    assert meta.anchors_grid == model.config.region.anchors_grid
    assert (meta.num_classes, meta.stride, meta.imgsz, meta.batch) == (20, 32, 416, 1)
    assert not meta.with_decode and not meta.dynamic and meta.is_detector


def test_dynamic_batch_and_size(tiny, tiny_dynamic):
    model, _ = tiny
    path, report = tiny_dynamic
    assert len(report.checks) == 2 and all(max(c.max_abs_diff) <= TOL for c in report.checks)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, "height", "width"]
    gen = torch.Generator().manual_seed(3)
    for shape in [(2, 3, 320, 416), (1, 3, 416, 416), (3, 3, 224, 160)]:
        x = torch.rand(*shape, generator=gen)
        (out,) = session.run(None, {"images": x.numpy()})
        with torch.inference_mode():
            ref = model(x).numpy()
        assert out.shape == ref.shape == (shape[0], 125, shape[2] // 32, shape[3] // 32)
        assert np.abs(out - ref).max() <= TOL


# ---------------------------------------------------------------- decoded outputs and classifier


def test_with_decode_gives_nms_ready_boxes_and_scores(tiny, dog_u8, tmp_path):
    model, names = tiny
    out = tmp_path / "tiny_decode.onnx"
    report = export_onnx(model, out, names, ExportOptions(imgsz=320, with_decode=True))
    assert report.checks[0].worst <= TOL and read_onnx_metadata(out).with_decode
    x = letterbox(dog_u8, 320)[None]
    boxes, scores = run_onnx(out, x)
    # independent reference: the API's decode, corners scaled to network-input pixels
    with torch.inference_mode():
        anchors = torch.tensor(model.config.region.anchors_grid)
        pred = decode_region(model(x), anchors)
    ref_boxes = (box_convert(pred.boxes_cxcywh_norm[0], "cxcywh", "xyxy") * 320).numpy()
    ref_scores = (pred.objectness[0, :, None] * pred.class_probs[0]).numpy()
    assert boxes.shape == (1, 5 * 10 * 10, 4) and scores.shape == (1, 500, 20)
    assert np.abs(scores[0] - ref_scores).max() <= TOL
    # boxes: within 1e-4 of the input size, or relatively for the (untrained) boxes far larger than it
    assert (np.abs(boxes[0] - ref_boxes) <= TOL * np.maximum(320.0, np.abs(ref_boxes))).all()
    # the best-scored box sits on the dog image in a sensible place: finite, x1 < x2, y1 < y2
    k = scores[0].max(axis=1).argmax()
    assert np.isfinite(boxes[0, k]).all() and boxes[0, k, 0] < boxes[0, k, 2] and boxes[0, k, 1] < boxes[0, k, 3]


def test_darknet19_classifier_logits_via_cli(darknet19_weights, tmp_path, capsys):
    out = tmp_path / "d19.onnx"
    ap = argparse.ArgumentParser()
    add_export_parser(ap.add_subparsers(dest="command"))
    a = ap.parse_args(["export", "--model", "darknet19", "--weights", str(darknet19_weights), "--imgsz", "224",
                       "--format", "onnx", "-o", str(out)])
    assert cmd_export(a) == 0
    err = capsys.readouterr().err
    assert f"wrote {out}" in err and "max abs diff" in err
    model, _, _ = load_model("darknet19", darknet19_weights)
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    (logits,) = run_onnx(out, x)
    with torch.inference_mode():
        ref = model(x).numpy()
    assert logits.shape == ref.shape == (1, 1000)
    assert np.abs(logits - ref).max() <= TOL
    meta = read_onnx_metadata(out)
    assert meta.names[:2] == ("kit fox", "English setter") and len(meta.names) == 1000 and not meta.is_detector


# ---------------------------------------------------------------- YOLO("model.onnx")


def match(a, b) -> tuple[list[int], list[int]]:
    """Row indices of the same (prediction index, class) pairs in two Results; asserts equal sets."""
    ka = {k: i for i, k in enumerate(zip(a.det_index.tolist(), a.class_ids.tolist()))}
    kb = {k: i for i, k in enumerate(zip(b.det_index.tolist(), b.class_ids.tolist()))}
    assert set(ka) == set(kb)
    common = sorted(ka)
    return [ka[k] for k in common], [kb[k] for k in common]


def assert_same_detections(a, b, net: int) -> None:
    """Same (box, class) set and labels; scores to 1e-4; corners to what a 1e-4 head difference allows:
    1e-4 of (one grid cell + the box's own size), in original-image pixels."""
    ia, ib = match(a, b)
    assert len(ia) >= 5
    assert [a.class_names[i] for i in ia] == [b.class_names[i] for i in ib]
    assert torch.allclose(a.scores[ia], b.scores[ib], atol=TOL, rtol=0)
    xa, xb = a.xyxy[ia].double(), b.xyxy[ib].double()
    scale = max(a.orig_shape) / net
    extent = (xb[:, 2:] - xb[:, :2]).abs().max(dim=1, keepdim=True).values
    assert ((xa - xb).abs() <= TOL * (32 * scale + extent)).all()


def test_yolo_onnx_predicts_like_torch(tiny_voc_weights, tiny_static, tiny_dynamic, reference_dir):
    dog = reference_dir / "images" / "dog.jpg"
    torch_yolo = YOLO(TINY, tiny_voc_weights)
    onnx_yolo = YOLO(tiny_static[0])
    assert onnx_yolo.names == torch_yolo.names and onnx_yolo.is_detector
    (a,) = torch_yolo.predict(dog)
    (b,) = onnx_yolo.predict(dog)
    assert_same_detections(a, b, 416)
    # the dynamic export at another size and batch 2
    dyn = YOLO(tiny_dynamic[0])
    both_t = torch_yolo.predict([dog, dog], imgsz=320, batch=2)
    both_o = dyn.predict([dog, dog], imgsz=320, batch=2)
    for a, b in zip(both_t, both_o):
        assert_same_detections(a, b, 320)


def test_an_onnx_yolo_holds_a_session_backend_and_no_torch_network(tiny_static):
    """YOLO("x.onnx") holds a predictor whose backend is the ONNX session (its own runner, no torch module):
    asking for the torch network is a one-line error naming the file, and so are save and export."""
    path = tiny_static[0]
    yolo = YOLO(path, device="cpu")
    backend = yolo.predictor.backend
    assert isinstance(backend, OnnxBackend) and backend.module is None and yolo.inference_model() is backend
    assert (yolo.imgsz, yolo.stride, yolo.fuse, yolo.precision, yolo.device.type) == (416, 32, False, "fp32", "cpu")
    with pytest.raises(Yolo9000Error, match="holds no torch network") as e:
        yolo.model
    assert str(path) in one_line(e)
    with pytest.raises(Yolo9000Error, match="already runs an ONNX file"):
        yolo.export(file=path.with_name("again.onnx"))
    assert not path.with_name("again.onnx").exists()


def test_yolo_onnx_static_batch1_loops_over_a_batch(tiny_static, reference_dir):
    dog = reference_dir / "images" / "dog.jpg"
    yolo = YOLO(tiny_static[0])
    one = yolo.predict(dog)[0]
    two = yolo.predict([dog, dog], batch=2)
    assert all(torch.equal(r.xyxy, one.xyxy) for r in two)


def test_yolo_onnx_errors(tiny_static, tmp_path, tiny_voc_weights):
    path = tiny_static[0]
    with pytest.raises(Yolo9000Error) as e:
        YOLO(path).predict(np.zeros((64, 64, 3), np.uint8), imgsz=320)
    assert str(path) in one_line(e) and "416" in str(e.value)
    with pytest.raises(Yolo9000Error) as e:
        YOLO(path, weights=tiny_voc_weights)
    assert str(path) in one_line(e)
    with pytest.raises(Yolo9000Error) as e:
        YOLO(path, precision="bf16")
    assert str(path) in one_line(e)
    with pytest.raises(Yolo9000Error) as e:
        YOLO(path).save(tmp_path / "x.pt")
    one_line(e)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf at all \x00\xff")
    with pytest.raises(Yolo9000Error) as e:
        YOLO(garbage)
    assert str(garbage) in one_line(e)
    with pytest.raises(Yolo9000Error) as e:
        YOLO(tmp_path / "missing.onnx")
    assert "missing.onnx" in one_line(e)


def test_yolo_rejects_with_decode_and_foreign_onnx(tiny, tmp_path):
    model, names = tiny
    dec = tmp_path / "dec.onnx"
    export_onnx(model, dec, names, ExportOptions(imgsz=128, with_decode=True, check=False))
    with pytest.raises(Yolo9000Error) as e:
        YOLO(dec)
    assert "with-decode" in one_line(e) and str(dec) in str(e.value)
    # a valid ONNX model without our metadata
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["images"], ["output"])], "g",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 32, 32])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(foreign))
    with pytest.raises(Yolo9000Error) as e:
        YOLO(foreign)
    assert "not exported by yolo9000" in one_line(e)


# ---------------------------------------------------------------- refused options and failed checks


def test_refused_options(tiny, tmp_path):
    model, names = tiny
    cases = [
        (model, ExportOptions(imgsz=100), "x.onnx", "multiple of 32"),
        (model, ExportOptions(opset=13), "x.onnx", "opset"),
        (model, ExportOptions(batch=0), "x.onnx", "batch"),
        (model, ExportOptions(), "x.txt", ".onnx"),
        (Darknet(zoo_config("darknet19")), ExportOptions(imgsz=224, with_decode=True), "x.onnx", "classifier"),
    ]
    for m, opts, name, words in cases:
        with pytest.raises(Yolo9000Error) as e:
            export_onnx(m, tmp_path / name, None, opts)
        assert words in one_line(e)
    assert not any(tmp_path.iterdir())


def test_yolo9000_with_decode_is_refused(tmp_path):
    # YOLO9000's labels come from a top-down WordTree walk: with-decode is refused, raw head is the way
    model = Darknet(zoo_config("yolo9000"))
    with pytest.raises(Yolo9000Error) as e:
        export_onnx(model, tmp_path / "y9k.onnx", None, ExportOptions(with_decode=True))
    assert "WordTree" in one_line(e)
    assert not (tmp_path / "y9k.onnx").exists()


def test_failed_parity_check_writes_nothing(tiny, tmp_path):
    model, names = tiny
    out = tmp_path / "t.onnx"
    out.write_bytes(b"previous")
    with pytest.raises(Yolo9000Error) as e:
        export_onnx(model, out, names, ExportOptions(imgsz=128, tolerance=1e-12))
    assert "nothing written" in one_line(e) and str(out) in str(e.value)
    assert out.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["t.onnx"]


def test_export_leaves_the_model_alone(tiny, tmp_path):
    model, names = tiny
    model.train()
    try:
        export_onnx(model, tmp_path / "t.onnx", names, ExportOptions(imgsz=96, check=False))
        assert model.training
    finally:
        model.eval()


def test_benchmark_runs_an_onnx_export(tiny_static):
    from yolo9000.predict.benchmark import BenchmarkConfig, run_benchmark

    r = run_benchmark(BenchmarkConfig(str(tiny_static[0]), imgsz=416, iters=1, warmup=0, peak_seconds=0.02))
    assert r.images_per_s > 0 and r.forward_images_per_s > 0 and r.gflop_per_image == pytest.approx(6.971, abs=1e-3)


def test_yolo_export_method(tmp_path, monkeypatch):
    """``YOLO(...).export(format="onnx")``: the file written predicts as the torch path; the default name lies
    beside the checkpoint it was loaded from (else ``<model>.onnx`` in the working folder)."""
    torch.manual_seed(0)
    ckpt = YOLO("yolov2-nano", device="cpu").save(tmp_path / "run" / "best.pt")
    yolo = YOLO(ckpt, device="cpu")
    out = yolo.export(imgsz=64)
    assert out == tmp_path / "run" / "best.onnx" and out.is_file()
    meta = read_onnx_metadata(out)
    assert meta.imgsz == 64 and meta.names == yolo.names and meta.model_name == yolo.config.name
    img = (np.random.default_rng(1).random((50, 70, 3)) * 255).astype(np.uint8)
    (t,) = yolo.predict(img, imgsz=64, conf=0.01)
    (o,) = YOLO(out, device="cpu").predict(img, imgsz=64, conf=0.01)
    assert len(t) > 0 and torch.equal(o.class_ids, t.class_ids)
    assert torch.allclose(o.xyxy, t.xyxy, atol=1e-3) and torch.allclose(o.scores, t.scores, atol=1e-5)
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning):
        plain = YOLO("yolov2-nano", device="cpu")
        assert plain.export(imgsz=64, check=False) == Path("yolov2-nano.onnx")
    assert (tmp_path / "yolov2-nano.onnx").is_file()
    with pytest.raises(Yolo9000Error, match=r"^format='tflite': choose one of onnx$"):
        yolo.export(format="tflite")
    with pytest.raises(Yolo9000Error, match="already runs an ONNX file"):
        YOLO(out, device="cpu").export(file=tmp_path / "again.onnx")
