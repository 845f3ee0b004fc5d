"""Training: darknet's schedule, decay groups, exact resume, and the CLI on the generated set."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.models import Darknet, zoo_config
from yolo9000.models.zoo import with_classes
from yolo9000.train import TrainConfig, darknet_lr_lambda, param_groups, train

SMALL_CFG = """[net]
width=64
height=64
channels=3
hue=.1
saturation=1.5
exposure=1.5
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[convolutional]
filters=16
size=1
stride=1
pad=1
activation=linear
[region]
anchors=1,1,2.5,2.5
classes=3
num=2
coords=4
softmax=1
jitter=.2
rescore=1
object_scale=5
noobject_scale=1
class_scale=1
coord_scale=1
thresh=.6
bias_match=1
"""


def test_darknet_lr_schedule() -> None:
    f = darknet_lr_lambda(burn_in=100, steps=[400, 600], scales=[0.1, 0.1])
    assert f(0) == 0.0 and f(50) == pytest.approx(0.5 ** 4) and f(99) == pytest.approx(0.99 ** 4)
    assert f(100) == 1.0 and f(399) == 1.0 and f(400) == pytest.approx(0.1) and f(600) == pytest.approx(0.01)


def test_decay_on_conv_weights_only() -> None:
    model = Darknet(zoo_config("yolov2-tiny-voc"))
    decayed, rest = param_groups(model, 5e-4)
    assert decayed["weight_decay"] == 5e-4 and rest["weight_decay"] == 0.0
    assert len(decayed["params"]) == 9 and all(p.dim() == 4 for p in decayed["params"])
    assert all(p.dim() == 1 for p in rest["params"])
    n = sum(p.numel() for g in (decayed, rest) for p in g["params"])
    assert n == sum(p.numel() for p in model.parameters())


def test_with_classes_changes_the_head() -> None:
    c = with_classes(zoo_config("yolov2-voc"), 3, ("a", "b", "c"))
    assert c.region.classes == 3 and c.layers[-2].filters == 5 * 8 and c.names == ("a", "b", "c")
    assert c.layers[:-2] == zoo_config("yolov2-voc").layers[:-2]


@pytest.fixture(scope="module")
def shapes_yaml(tmp_path_factory) -> Path:
    from yolo9000.datasets.shapes import make_shapes

    return make_shapes(tmp_path_factory.mktemp("shapes"), n_train=12, n_val=4, size=64, seed=1)


@pytest.fixture(scope="module")
def small_cfg(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "small.cfg"
    p.write_text(SMALL_CFG)
    return p


def _losses(run: Path) -> list[dict[str, str]]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_resume_reproduces_the_uninterrupted_run(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    base = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=3, imgsz=64, batch=4, subdivisions=2,
                       burn_in=2, steps=(5.0,), scales=(0.1,), min_size=64, max_size=96, scale_every=2,
                       workers=0, deterministic=True,
                       val_every=0, project=str(tmp_path), name="full")
    full = _losses(train(base))
    part = replace(base, name="part", epochs=2)
    train(part)
    resumed = _losses(train(replace(part, epochs=3, resume=True)))
    assert len(full) == len(resumed) == 3
    for a, b in zip(full, resumed):
        for k in ("total", "coord", "obj", "noobj", "cls", "lr"):
            assert a[k] == b[k], (a["epoch"], k)
    ckpt = torch.load(tmp_path / "part" / "weights" / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and ckpt["seen"] == 3 * 12


def test_train_writes_checkpoints_that_predict(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000 import YOLO

    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, burn_in=1,
                      min_size=64, max_size=64, workers=0, project=str(tmp_path), name="run")
    run = train(cfg)
    for f in ("weights/last.pt", "weights/best.pt", "results.csv", "results.png"):
        assert (run / f).stat().st_size > 0
    row = _losses(run)[0]
    assert 0.0 <= float(row["mAP50"]) <= 1.0
    yolo = YOLO(run / "weights" / "best.pt")
    assert yolo.names == ("circle", "square", "triangle")
    r = yolo.predict(torch.zeros(64, 64, 3, dtype=torch.uint8).numpy(), imgsz=64, conf=0.0)[0]
    assert r.xyxy.shape[1] == 4


def test_resume_without_a_run_fails(tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="nothing to resume"):
        train(TrainConfig(project=str(tmp_path), name="none", resume=True))
