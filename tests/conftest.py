"""Shared fixtures: the darknet reference folder and its rebuilt (cached, never committed) weights."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# as `yolo9000` sets it before OpenCV loads: FFmpeg prints nothing of its own; set here, before any test module
# imports cv2, so in-process CLI tests see the installed command's stderr whatever the test order
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("YOLO9000_SHARED", ROOT.parent / "shared"))
REFERENCE = SHARED / "reference" / "darknet"
CACHE = Path(os.environ.get("YOLO9000_CACHE", ROOT / ".cache")) / "reference-weights"
WEIGHT_FILES = ["yolov2-voc", "yolov2", "yolov2-tiny-voc", "yolo9000", "darknet19"]


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"darknet reference folder not found at {REFERENCE} (set YOLO9000_SHARED)")
    return REFERENCE


@pytest.fixture(scope="session")
def weights_dir(reference_dir: Path) -> Path:
    """The reference .weights files, rebuilt once with darknet's recipe (SHA-256 checked by it)."""
    recipe = reference_dir / "weights-recipe" / "make_weights.py"
    missing = [n for n in WEIGHT_FILES if not (CACHE / f"{n}.weights").is_file()]
    if missing:
        subprocess.run([sys.executable, str(recipe), *missing, "--out", str(CACHE)], check=True,
                       stdout=subprocess.DEVNULL)
    if not (CACHE / "yolov2-tiny-voc.oldheader.weights").is_file():
        subprocess.run([sys.executable, str(recipe), "yolov2-tiny-voc", "--old-header", "--out", str(CACHE)],
                       check=True, stdout=subprocess.DEVNULL)
    return CACHE


@pytest.fixture(scope="session")
def tiny_voc_weights(weights_dir: Path) -> Path:
    return weights_dir / "yolov2-tiny-voc.weights"


@pytest.fixture(scope="session")
def darknet19_weights(weights_dir: Path) -> Path:
    return weights_dir / "darknet19.weights"
