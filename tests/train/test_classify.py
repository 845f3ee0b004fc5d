"""Classifier training on an ImageFolder tree: learning, exact resume, fine-tuning at another size, errors."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from yolo9000.errors import Yolo9000Error
from yolo9000.models import zoo_config
from yolo9000.models.edit import classifier_with_classes
from yolo9000.train.classify import ClassifyConfig, train_classifier
from yolo9000.train.engine import poly_lambda

SMALL_CLASSIFIER = """[net]
width=32
height=32
channels=3
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
filters=2
size=1
stride=1
pad=1
activation=linear
[avgpool]
[softmax]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Red and blue noisy squares: 8 train and 3 val images per class."""
    root = tmp_path_factory.mktemp("imagefolder")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 3)):
        for name, channel in (("blue", 2), ("red", 0)):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 90, (40, 48, 3), dtype=np.uint8)
                img[..., channel] = rng.integers(150, 256, (40, 48), dtype=np.uint8)
                Image.fromarray(img).save(root / split / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def small_cfg(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "cls.cfg"
    p.write_text(SMALL_CLASSIFIER)
    return p


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_poly_schedule() -> None:
    f = poly_lambda(burn_in=10, max_batches=100, power=4)
    assert f(5) == pytest.approx(0.5 ** 4)
    assert f(50) == pytest.approx(0.5 ** 4)
    assert f(100) == 0.0


def test_head_follows_the_classes() -> None:
    c = classifier_with_classes(zoo_config("darknet19"), 7, tuple("abcdefg"))
    assert c.layers[-3].filters == 7 and c.names == tuple("abcdefg")
    with pytest.raises(Yolo9000Error, match="not a classifier"):
        classifier_with_classes(zoo_config("yolov2-voc"), 7, tuple("abcdefg"))


def test_learns_resumes_exactly_and_fine_tunes(folder: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000 import YOLO

    base = ClassifyConfig(data=str(folder), model=str(small_cfg), epochs=4, imgsz=32, batch=4, lr=0.1, power=0.0, workers=0,
                          project=str(tmp_path), name="full")
    full = _rows(train_classifier(base))
    assert float(full[-1]["top1"]) == 1.0 and float(full[-1]["loss"]) < float(full[0]["loss"])
    train_classifier(replace(base, name="part", epochs=2))
    part = _rows(train_classifier(replace(base, name="part", epochs=4, resume=True)))
    for a, b in zip(full, part):  # an interrupted run continues exactly where it stopped
        assert a["loss"] == b["loss"] and a["top1"] == b["top1"], a["epoch"]
    yolo = YOLO(tmp_path / "full" / "weights" / "best.pt")
    assert yolo.names == ("blue", "red")
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = 220
    assert yolo.predict(red, imgsz=32)[0].top(1)[0][1] == "red"
    fine = train_classifier(replace(base, name="fine", epochs=1, imgsz=64, lr=0.001,
                                    weights=str(tmp_path / "full" / "weights" / "last.pt")))
    assert float(_rows(fine)[0]["top1"]) == 1.0  # the 32-pixel weights classify at 64 from the start


def test_bad_folders(folder: Path, small_cfg: Path, tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="no such folder"):
        train_classifier(ClassifyConfig(data=str(tmp_path / "none"), model=str(small_cfg), project=str(tmp_path)))
    bad = tmp_path / "bad"
    for split in ("train", "val"):
        (bad / split / "a").mkdir(parents=True)
        (bad / split / "a" / "x.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(Yolo9000Error, match=r"train/a/x\.jpg: not an image file \(--skip-bad leaves such images out\)"):
        train_classifier(ClassifyConfig(data=str(bad), model=str(small_cfg), imgsz=32, batch=1, workers=0,
                                        project=str(tmp_path / "runs")))
    assert not (tmp_path / "runs").exists()  # found before the first batch: nothing written
    with pytest.raises(Yolo9000Error, match="a detector"):
        train_classifier(ClassifyConfig(data=str(folder), model="yolov2-nano", project=str(tmp_path)))
