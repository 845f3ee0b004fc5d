"""Training options are checked before a run reads or writes anything."""
from __future__ import annotations

from pathlib import Path

import pytest

from yolo9000.errors import Yolo9000Error
from yolo9000.train.joint import JointConfig
from yolo9000.train.checks import check_run_options
from yolo9000.train.detect import TrainConfig
from yolo9000.train.classify import ClassifyConfig


@pytest.mark.parametrize("changes, message", [
    ({"lr": float("nan")}, "--lr nan: must be a finite number"),
    ({"lr": float("inf")}, "--lr inf: must be a finite number"),
    ({"lr": -0.001}, "--lr -0.001: must be a finite number >= 0"),
    ({"epochs": 0}, "--epochs 0: must be at least 1"),
    ({"batch": 0}, "--batch 0: must be at least 1"),
    ({"batch": 8, "subdivisions": 3}, "--batch 8 must split evenly over --subdivisions 3"),
    ({"momentum": 1.0}, "--momentum 1.0: must lie in [0, 1)"),
    ({"jitter": 1.5}, "--jitter 1.5: must lie in [0, 1)"),
    ({"ema": 1.0}, "--ema 1.0"),
    ({"steps": (0.9, 0.8)}, "--steps 0.9 0.8: must be ascending"),
    ({"steps": (0.8, 0.9), "scales": (0.1,)}, "need one factor >= 0 per step (2 steps)"),
    ({"scale": (2.0, 1.0)}, "--rescale 2.0 1.0: must be two numbers LOW HIGH"),
    ({"min_size": 320, "max_size": 288}, "--min-size 320 is above --max-size 288"),
    ({"imgsz": 100}, "--imgsz 100: must be a positive multiple of 32"),
])
def test_detection_options(changes: dict, message: str) -> None:
    with pytest.raises(Yolo9000Error) as e:
        check_run_options(TrainConfig(**changes))
    assert message in str(e.value)


def test_defaults_and_the_other_trainers_pass(tmp_path: Path) -> None:
    check_run_options(TrainConfig())
    check_run_options(ClassifyConfig(data="d"))
    check_run_options(JointConfig(data="d", cls_data="c"))
    with pytest.raises(Yolo9000Error, match="--min-scale 1.5: must lie in"):
        check_run_options(ClassifyConfig(data="d", min_scale=1.5))
    with pytest.raises(Yolo9000Error, match="--det-ratio 1.0: must lie in"):
        check_run_options(JointConfig(data="d", cls_data="c", det_ratio=1.0))
    (tmp_path / "file").write_text("x")
    with pytest.raises(Yolo9000Error, match="is a file; --project must be a folder"):
        check_run_options(TrainConfig(project=str(tmp_path / "file")))
