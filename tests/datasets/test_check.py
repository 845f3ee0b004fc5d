"""``yolo9000.datasets.check``: check_dataset's report on the bundled raccoon set (clean, greyscale images
decoded as RGB)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from yolo9000.datasets import check_dataset, load_dataset_config
from yolo9000.predict.sources import load_image

from .helpers import RACCOON_YAML


@pytest.fixture(scope="module")
def raccoon_report():
    if not RACCOON_YAML.is_file() or not load_dataset_config(RACCOON_YAML).root.is_dir():
        pytest.skip("raccoon set not found")
    return check_dataset(RACCOON_YAML)  # every image fully decoded


def test_raccoon_check_clean_and_greyscale(raccoon_report):
    rep = raccoon_report
    assert rep.ok and not rep.issues
    tr, va = rep.split("train"), rep.split("val")
    assert (tr.images, va.images) == (160, 40)
    assert tr.boxes + va.boxes == 217 and tr.class_boxes[0] + va.class_boxes[0] == 217
    assert tr.class_images == (160,) and tr.negatives == 0
    root = load_dataset_config(RACCOON_YAML).root
    grey = [p for p in sorted((root / "images").glob("*.jpg")) if Image.open(p).mode == "L"]
    assert grey, "the README promises greyscale images"
    for p in grey:
        a = load_image(p)
        assert a.shape == (Image.open(p).size[1], Image.open(p).size[0], 3) and a.dtype == np.uint8
