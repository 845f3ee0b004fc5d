"""Fixtures shared by the predict tests (test_results.py's CLI tests and test_predictor.py)."""
from __future__ import annotations

import pytest
import torch

from yolo9000 import YOLO


@pytest.fixture(scope="module")
def nano() -> YOLO:
    torch.manual_seed(0)
    return YOLO("yolov2-nano", device="cpu")
