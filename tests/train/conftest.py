"""Fixtures the training tests share: a 12-image shapes set and the tiny detector cfg (``SMALL_CFG``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from yolo9000.datasets.shapes import make_shapes

from tests.train.test_detect import SMALL_CFG


@pytest.fixture(scope="module")
def shapes_yaml(tmp_path_factory) -> Path:
    return make_shapes(tmp_path_factory.mktemp("shapes"), n_train=12, n_val=4, size=64, seed=1)


@pytest.fixture(scope="module")
def small_cfg(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "small.cfg"
    p.write_text(SMALL_CFG)
    return p
