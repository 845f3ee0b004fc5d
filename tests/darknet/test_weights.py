"""Darknet .weights I/O (both headers, byte-exact round trips, size checks)."""
from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
import torch

from yolo9000.darknet.cfg import parse_cfg
from yolo9000.darknet.weights import WeightsHeader, load_darknet_weights, save_darknet_weights
from yolo9000.errors import Yolo9000Error
from yolo9000.models import Darknet, zoo_config

ROUND_TRIP = [("yolov2-voc", "yolov2-voc"), ("yolov2-coco", "yolov2"), ("yolov2-tiny-voc", "yolov2-tiny-voc"),
              ("yolo9000", "yolo9000"), ("darknet19", "darknet19"), ("yolov2-tiny-voc", "yolov2-tiny-voc.oldheader")]


@pytest.mark.parametrize("model_name,file", ROUND_TRIP)
def test_load_save_is_byte_exact(model_name: str, file: str, weights_dir: Path, tmp_path: Path) -> None:
    model = Darknet(zoo_config(model_name))
    src = weights_dir / f"{file}.weights"
    header = load_darknet_weights(model, src)
    out = tmp_path / "out.weights"
    save_darknet_weights(model, out, header)
    assert filecmp.cmp(src, out, shallow=False)


def test_headers(weights_dir: Path) -> None:
    model = Darknet(zoo_config("yolov2-tiny-voc"))
    new = load_darknet_weights(model, weights_dir / "yolov2-tiny-voc.weights")
    old = load_darknet_weights(model, weights_dir / "yolov2-tiny-voc.oldheader.weights")
    assert (new.major, new.minor, new.seen, new.nbytes) == (0, 2, 0, 20)
    assert (old.major, old.minor, old.seen, old.nbytes) == (0, 1, 12345, 16)
    assert len(WeightsHeader(0, 2, 0, 2**40).to_bytes()) == 20
    assert len(WeightsHeader(0, 1, 0, 7).to_bytes()) == 16


def test_both_headers_load_the_same_tensors(weights_dir: Path) -> None:
    a, b = Darknet(zoo_config("yolov2-tiny-voc")), Darknet(zoo_config("yolov2-tiny-voc"))
    load_darknet_weights(a, weights_dir / "yolov2-tiny-voc.weights")
    load_darknet_weights(b, weights_dir / "yolov2-tiny-voc.oldheader.weights")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), k


def test_values_land_in_the_right_tensors(tmp_path: Path) -> None:
    """Hand-built file: biases, scales, means, variances, weights in darknet's order."""
    import numpy as np

    from yolo9000.models.darknet import ConvSpec, DarknetConfig, NetSpec

    config = DarknetConfig("t", NetSpec(width=32, height=32), (
        ConvSpec(2, 3, 1, 1, batch_normalize=True, activation="leaky"), ConvSpec(3, 1, 1, 0, False, "linear")))
    model = Darknet(config)
    floats = np.arange(2 + 2 + 2 + 2 + 2 * 3 * 9 + 3 + 3 * 2, dtype="<f4")
    path = tmp_path / "t.weights"
    path.write_bytes(WeightsHeader().to_bytes() + floats.tobytes())
    load_darknet_weights(model, path)
    c0, c1 = model.layers[0], model.layers[1]
    assert c0.bn.bias.tolist() == [0, 1] and c0.bn.weight.tolist() == [2, 3]
    assert c0.bn.running_mean.tolist() == [4, 5] and c0.bn.running_var.tolist() == [6, 7]
    assert c0.conv.weight.flatten().tolist() == list(range(8, 62))
    assert c1.conv.bias.tolist() == [62, 63, 64] and c1.conv.weight.flatten().tolist() == list(range(65, 71))


def test_wrong_sizes_are_refused(weights_dir: Path, tmp_path: Path) -> None:
    model = Darknet(zoo_config("yolov2-tiny-voc"))
    data = (weights_dir / "yolov2-tiny-voc.weights").read_bytes()
    short, long = tmp_path / "short.weights", tmp_path / "long.weights"
    short.write_bytes(data[:-4])
    long.write_bytes(data + b"\0\0\0\0")
    with pytest.raises(Yolo9000Error, match=r"short\.weights: too short.*expected 63,471,560 bytes.*got 63,471,556"):
        load_darknet_weights(model, short)
    with pytest.raises(Yolo9000Error, match=r"long\.weights: too long.*got 63,471,564"):
        load_darknet_weights(model, long)
    stub = tmp_path / "stub.weights"
    stub.write_bytes(data[:7])
    with pytest.raises(Yolo9000Error, match="truncated .weights header"):
        load_darknet_weights(model, stub)
    with pytest.raises(Yolo9000Error, match="no such weights file"):
        load_darknet_weights(model, tmp_path / "missing.weights")
    with pytest.raises(Yolo9000Error, match="expected 202,704,264 bytes"):
        load_darknet_weights(Darknet(zoo_config("yolov2-voc")), weights_dir / "yolov2-tiny-voc.weights")


def test_partial_file_with_cutoff(weights_dir: Path, tmp_path: Path) -> None:
    """darknet19's first 18 convolutions (its 23 feature layers) seed a detector, like darknet19_448.conv.23."""
    full = Darknet(zoo_config("darknet19"))
    load_darknet_weights(full, weights_dir / "darknet19.weights")
    import numpy as np

    from yolo9000.models.darknet import conv_blocks
    part = tmp_path / "darknet19.conv.23"
    with open(part, "wb") as f:
        f.write(WeightsHeader().to_bytes())
        for b in conv_blocks(full)[:18]:
            for t in (b.bn.bias, b.bn.weight, b.bn.running_mean, b.bn.running_var, b.conv.weight):
                f.write(t.detach().numpy().astype("<f4").tobytes())
    det = Darknet(zoo_config("yolov2-voc"))
    load_darknet_weights(det, part, cutoff=18)
    assert torch.equal(det.layers[22].conv.weight, full.layers[22].conv.weight)
    with pytest.raises(Yolo9000Error, match="too long"):
        load_darknet_weights(det, part, cutoff=17)
    assert np.isfinite(det.layers[23].conv.weight.detach().numpy()).all()


def test_cfg_model_reads_same_file_as_zoo(weights_dir: Path, reference_dir: Path) -> None:
    a = Darknet(parse_cfg(reference_dir / "cfg" / "yolov2-tiny-voc.cfg"))
    b = Darknet(zoo_config("yolov2-tiny-voc"))
    load_darknet_weights(a, weights_dir / "yolov2-tiny-voc.weights")
    load_darknet_weights(b, weights_dir / "yolov2-tiny-voc.weights")
    assert list(a.state_dict()) == list(b.state_dict())
