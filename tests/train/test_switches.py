"""Table 2's switches: each trains (one short epoch) and builds the network it names, and the cfg, the
checkpoint, validation and export carry it; the location forms encode and decode as documented."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from yolo9000 import YOLO
from yolo9000.anchors.kmeans import hand_picked_anchors
from yolo9000.darknet.cfg import config_to_cfg_text, parse_cfg, parse_cfg_text
from yolo9000.errors import Yolo9000Error
from yolo9000.train.loss import region_loss
from yolo9000.models import Darknet, zoo_config
from yolo9000.models.darknet import ConvSpec, RegionSpec, ReorgSpec, RouteSpec
from yolo9000.models.edit import with_location, without_passthrough
from yolo9000.ops.letterbox import letterbox
from yolo9000.ops.boxes import RegionBoxCoder
from yolo9000.ops.region import decode_region
from yolo9000.train.checks import check_run_options
from yolo9000.train.detect import TrainConfig, train

EXE = Path(sys.executable).with_name("yolo9000")  # the installed console script


@pytest.fixture(scope="module")
def shapes_yaml(tmp_path_factory) -> Path:
    from yolo9000.datasets.shapes import make_shapes

    return make_shapes(tmp_path_factory.mktemp("shapes"), n_train=8, n_val=4, size=64, seed=3)


def _one_step(shapes_yaml: Path, tmp_path: Path, **switches) -> tuple[Path, TrainConfig]:
    cfg = TrainConfig(data=str(shapes_yaml), model="yolov2-micro", epochs=1, imgsz=64, batch=8, burn_in=1,
                      min_size=64, max_size=96, workers=0, val_every=0, train_eval=0, tensorboard=False,
                      project=str(tmp_path), name="run", **switches)
    return train(cfg), cfg


def _saved(run: Path):
    return parse_cfg_text(torch.load(run / "weights" / "last.pt", weights_only=True)["cfg"])


# ----------------------------------------------------------------------------- the two location forms
@pytest.mark.parametrize("location", ["direct", "offset"])
def test_box_coder_encode_and_decode_are_inverse(location: str) -> None:
    g = torch.Generator().manual_seed(0)
    cx, cy = torch.rand(100, generator=g) * 13, torch.rand(100, generator=g) * 13
    w, h = 0.2 + 8 * torch.rand(100, generator=g), 0.2 + 8 * torch.rand(100, generator=g)
    col, row = cx.floor(), cy.floor()
    aw, ah = 0.5 + 5 * torch.rand(100, generator=g), 0.5 + 5 * torch.rand(100, generator=g)
    coder = RegionBoxCoder(location)
    tx, ty, tw, th = coder.encode(cx, cy, w, h, col, row, aw, ah)
    for got, want in zip(coder.decode(tx, ty, tw, th, col, row, aw, ah), (cx, cy, w, h)):
        assert torch.allclose(got, want, atol=1e-5)
    assert torch.allclose(tw, torch.log(w / aw)) and torch.allclose(th, torch.log(h / ah))  # sizes: both forms
    if location == "direct":  # darknet: the code is the sigmoid, the offset within the cell
        assert torch.allclose(tx, cx - col) and bool(((tx >= 0) & (tx < 1)).all())
        assert coder.cell_centre_code == 0.5
    else:  # RPN: x = x_a + t * w_a about the anchor centred in the cell
        assert torch.allclose(col + 0.5 + tx * aw, cx, atol=1e-5) and coder.cell_centre_code == 0.0
    with pytest.raises(Yolo9000Error, match="choose direct or offset"):
        RegionBoxCoder("sideways")


def test_offset_decode_is_unbounded_and_direct_is_not() -> None:
    raw = torch.zeros(1, 1 * (5 + 1), 1, 1)
    raw[0, 0] = 3.0  # tx = 3: three anchor widths to the right of the cell centre
    anchors = torch.tensor([[2.0, 1.0]])
    direct = decode_region(raw, anchors).boxes_cxcywh_norm[0, 0, 0]
    offset = decode_region(raw, anchors, location="offset").boxes_cxcywh_norm[0, 0, 0]
    assert float(direct) == pytest.approx(float(torch.sigmoid(torch.tensor(3.0))))  # within the one cell
    assert float(offset) == pytest.approx(0.5 + 3.0 * 2.0)                           # 6.5 cells of a 1-cell grid


def test_offset_coord_loss_regresses_raw_t_toward_the_rpn_target() -> None:
    region = RegionSpec(anchors=(1.0, 1.0, 3.0, 2.0), classes=2, num=2, softmax=True, coord_scale=1.0,
                        bias_match=True, location="offset")
    h = w = 4
    truth = torch.tensor([[[0.40, 0.60, 0.70, 0.45, 1.0]]])  # centre (1.6, 2.4) cells, size (2.8, 1.8) cells
    raw = torch.zeros(1, 2 * 7, h, w, requires_grad=True)
    terms = region_loss(raw, truth, region, seen=10**6)  # past the prior's window
    coord = float(terms["coord"].detach())
    # responsible: anchor 1 (3 x 2 matches 2.8 x 1.8 best) in cell (row 2, col 1)
    tx, ty = (1.6 - 1 - 0.5) / 3.0, (2.4 - 2 - 0.5) / 2.0
    tw, th = torch.log(torch.tensor(2.8 / 3.0)), torch.log(torch.tensor(1.8 / 2.0))
    weight = 2 - 0.70 * 0.45
    expected = 0.5 * weight * (tx ** 2 + ty ** 2 + float(tw) ** 2 + float(th) ** 2)
    assert coord == pytest.approx(expected, rel=1e-5)
    terms["coord"].backward()
    g = raw.grad.view(2, 7, h, w)
    # the gradient w.r.t. raw tx is linear (no sigmoid): weight * (0 - tx*)
    assert float(g[1, 0, 2, 1]) == pytest.approx(weight * (0 - tx), rel=1e-5)
    assert float(g[1, 1, 2, 1]) == pytest.approx(weight * (0 - ty), rel=1e-5)


# ----------------------------------------------------------------------------- each switch, one short run
def test_no_batchnorm_builds_biased_convolutions(shapes_yaml: Path, tmp_path: Path) -> None:
    run, _ = _one_step(shapes_yaml, tmp_path, batchnorm=False)
    config = _saved(run)
    convs = [s for s in config.layers if isinstance(s, ConvSpec)]
    assert convs and not any(s.batch_normalize for s in convs)
    state = torch.load(run / "weights" / "last.pt", weights_only=True)["model"]
    assert not any(".bn." in k for k in state)
    assert sum(k.endswith("conv.bias") for k in state) == len(convs)
    yolo = YOLO(run / "weights" / "last.pt")
    darknet = yolo.save(tmp_path / "net.cfg")  # darknet has the same switch: batch_normalize=0
    assert "batch_normalize=1" not in darknet.read_text() and parse_cfg(darknet) == config


def test_no_passthrough_removes_the_branch(shapes_yaml: Path, tmp_path: Path) -> None:
    run, _ = _one_step(shapes_yaml, tmp_path, passthrough=False)
    config = _saved(run)
    full = zoo_config("yolov2-micro")
    assert len(config.layers) == len(full.layers) - 4
    assert not any(isinstance(s, (ReorgSpec, RouteSpec)) for s in config.layers)
    model = Darknet(config)
    head = model.layers[len(config.layers) - 2].conv  # the last conv reads the 128 coarse channels only
    assert head.in_channels == 128 and model.layers[len(config.layers) - 3].conv.in_channels == 128
    assert YOLO(run / "weights" / "last.pt").save(tmp_path / "net.cfg").read_text().count("[route]") == 0
    # with it on (the default) the branch is there, concatenating 32 + 128 channels
    assert Darknet(full).layers[29].conv.in_channels == 160


def test_no_passthrough_on_a_network_without_one_is_refused(shapes_yaml: Path, tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="no passthrough to turn off"):
        without_passthrough(zoo_config("yolov2-nano"))
    with pytest.raises(Yolo9000Error, match="no passthrough"):
        train(TrainConfig(data=str(shapes_yaml), model="yolov2-nano", epochs=1, imgsz=64, passthrough=False,
                          workers=0, project=str(tmp_path), name="x"))
    assert not (tmp_path / "x").exists()


def test_hand_picked_anchors_are_faster_rcnns_nine(shapes_yaml: Path, tmp_path: Path) -> None:
    run, _ = _one_step(shapes_yaml, tmp_path, anchors="hand")
    region = _saved(run).region
    assert region.num == 9 and region.anchors == hand_picked_anchors(64)
    wh = torch.tensor(region.anchors).view(9, 2) / 2  # grid cells -> fractions of the input (2 x 2 grid)
    sides = (wh[:, 0] * wh[:, 1]).sqrt().view(3, 3)
    ratios = (wh[:, 1] / wh[:, 0]).view(3, 3)
    assert torch.allclose(sides, torch.tensor([128 / 600, 256 / 600, 512 / 600]).view(3, 1).expand(3, 3), atol=1e-3)
    assert torch.allclose(ratios, torch.tensor([0.5, 1.0, 2.0]).expand(3, 3), atol=2e-3)
    head = Darknet(_saved(run)).layers[-2].conv
    assert head.out_channels == 9 * (5 + 3)
    assert parse_cfg(YOLO(run / "weights" / "last.pt").save(tmp_path / "net.cfg")).region.num == 9


def test_single_scale_and_evaluation_size_are_written(shapes_yaml: Path, tmp_path: Path, monkeypatch) -> None:
    import yolo9000.train.detect as validate_module  # the name detection training validates through

    sizes: list[int] = []
    real = validate_module.validate

    def spy(*args, **kwargs):
        sizes.append(kwargs["imgsz"])
        return real(*args, **kwargs)

    monkeypatch.setattr(validate_module, "validate", spy)
    run, _ = _one_step(shapes_yaml, tmp_path, multiscale=False, val_imgsz=96)
    config = _saved(run)
    assert config.region.random is False and (config.net.width, config.net.height) == (96, 96)
    assert sizes == [96]  # the run's validation ran at the evaluation size, not at imgsz 64
    multi, _ = _one_step(shapes_yaml, tmp_path / "m")
    assert _saved(multi).region.random is True and _saved(multi).net.width == 64


def test_offset_location_is_carried_and_refused_by_darknet_formats(shapes_yaml: Path, tmp_path: Path) -> None:
    run, cfg = _one_step(shapes_yaml, tmp_path, location="offset", anchors="hand")
    last = run / "weights" / "last.pt"
    assert _saved(run).region.location == "offset"
    yolo = YOLO(last)
    image = torch.randint(0, 256, (64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)).numpy()
    with torch.no_grad():
        raw = yolo.model(letterbox(image, 64)[None])
    anchors = torch.tensor(yolo.config.region.anchors_grid)
    # predict decodes the offset way: its boxes are decode_region(location="offset")'s, not the sigmoid's
    r = yolo.predict(image, imgsz=64, conf=0.0, nms=1.0)[0]
    assert len(r) > 0
    got = (r.xyxy[:, :2] + r.xyxy[:, 2:]) / 2
    for loc, same in (("offset", True), ("direct", False)):
        want = decode_region(raw, anchors, location=loc).boxes_cxcywh_norm[0, r.det_index, :2] * 64
        assert torch.allclose(got, want, atol=1e-3) is same
    for out in ("net.cfg", "net.weights"):
        with pytest.raises(Yolo9000Error, match="location=offset.*no equivalent"):
            yolo.save(tmp_path / out)
        assert not (tmp_path / out).exists()
    p = subprocess.run([str(EXE), "convert", "--model", str(last), "-o",
                        str(tmp_path / "c.weights")], capture_output=True, text=True)
    assert p.returncode == 2 and not (tmp_path / "c.weights").exists()
    assert p.stderr.startswith("yolo9000: error: ") and "location=offset" in p.stderr and "Traceback" not in p.stderr
    # our own formats keep it: a checkpoint saved again, and the cfg text they embed
    again = YOLO(yolo.save(tmp_path / "again.pt"))
    assert again.config.region.location == "offset"
    assert "location=offset" in config_to_cfg_text(again.config, extensions=True)
    # training on from it keeps its form unless --location says otherwise
    cfg = replace(cfg, model=str(last), weights=str(last), anchors=None, location=None, name="on")
    assert _saved(train(cfg)).region.location == "offset"


def test_offset_location_exports_to_onnx_with_its_decode(shapes_yaml: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    run, _ = _one_step(shapes_yaml, tmp_path, location="offset")
    yolo = YOLO(run / "weights" / "last.pt")
    onnx_file = yolo.export(file=tmp_path / "m.onnx", imgsz=64, with_decode=True)  # parity checked inside
    raw_file = yolo.export(file=tmp_path / "raw.onnx", imgsz=64)
    back = YOLO(raw_file)
    assert back.config.region.location == "offset"
    image = torch.randint(0, 255, (64, 64, 3), dtype=torch.uint8).numpy()
    a = yolo.predict(image, imgsz=64, conf=0.01)[0]
    b = back.predict(image, imgsz=64, conf=0.01)[0]
    assert len(a) == len(b) and torch.allclose(a.xyxy, b.xyxy, atol=1e-3)
    from yolo9000.predict.export import DecodedDetector

    dec = DecodedDetector(yolo.model).eval()
    assert dec.location == "offset" and onnx_file.stat().st_size > 0


def test_the_switches_are_cli_flags_and_bad_values_are_one_line(tmp_path: Path) -> None:
    p = subprocess.run([str(EXE), "train", "--help"], capture_output=True, text=True)
    for flag in ("--no-batchnorm", "--no-passthrough", "--location", "--anchors", "--no-multiscale", "--val-imgsz",
                 "--obj-loss"):
        assert flag in p.stdout
    for bad, need in ((["--val-imgsz", "100"], "--val-imgsz 100: must be a positive multiple of 32"),):
        q = subprocess.run([str(EXE), "train", *bad, "--project", str(tmp_path)],
                           capture_output=True, text=True)
        lines = q.stderr.strip().splitlines()
        assert q.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"yolo9000: error: {need}"), q.stderr
    for bad, need in ((["--anchors", "kmeans"], "argument --anchors: invalid choice: 'kmeans'"),
                      (["--location", "sideways"], "argument --location: invalid choice: 'sideways'"),
                      (["--obj-loss", "hinge"], "argument --obj-loss: invalid choice: 'hinge'")):
        q = subprocess.run([str(EXE), "train", *bad, "--project", str(tmp_path)], capture_output=True, text=True)
        assert q.returncode == 2 and q.stderr.strip().splitlines()[-1].startswith(f"yolo9000 train: error: {need}")
    for bad, need in (({"anchors": "kmeans"}, "--anchors kmeans: choose auto, hand or model"),
                      ({"location": "sideways"}, "--location sideways: choose direct or offset"),
                      ({"obj_loss": "hinge"}, "--obj-loss hinge: choose mse, bce or mixed")):
        with pytest.raises(Yolo9000Error, match=need):  # the Python API: the same check, one line
            check_run_options(TrainConfig(project=str(tmp_path), **bad))
    assert list(tmp_path.iterdir()) == []


def test_location_in_a_cfg_file_is_checked(tmp_path: Path) -> None:
    text = config_to_cfg_text(with_location(zoo_config("yolov2-tiny-voc"), "offset"), extensions=True)
    assert "location=offset" in text and parse_cfg_text(text).region.location == "offset"
    assert "location" not in config_to_cfg_text(zoo_config("yolov2-tiny-voc"))  # darknet's text unchanged
    bad = tmp_path / "bad.cfg"
    bad.write_text(text.replace("location=offset", "location=sideways"))
    with pytest.raises(Yolo9000Error, match="location=sideways: choose direct or offset"):
        parse_cfg(bad)
    cfg = replace(zoo_config("yolov2-tiny-voc"))
    assert config_to_cfg_text(cfg) == config_to_cfg_text(cfg, extensions=True)
