"""Where yolo9000 keeps its files on this machine: the home folder and the datasets folder; and where
commands put what they write by default (``runs/``, below the working directory, as Ultralytics does).

- ``yolo9000_home()``: ``$YOLO9000_HOME``, else ``~/.cache/yolo9000``.
- ``datasets_dir()``: ``$YOLO9000_DATASETS``, else ``<yolo9000_home()>/datasets``. A dataset YAML's
  relative ``path:`` that is not found next to the YAML is looked up here (as Ultralytics does with its
  ``datasets_dir`` setting), so ``path: coco8`` finds ``<datasets_dir()>/coco8``.

Both are read from the environment on every call (nothing is cached, nothing is created): a test or a
user may change the variables at any time.
"""
from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "YOLO9000_HOME"
DATASETS_ENV = "YOLO9000_DATASETS"
#: the folder of the run folders (training: runs/train, ...; val's plots: runs/val, ...), below the working one
DEFAULT_PROJECT = "runs"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def yolo9000_home() -> Path:
    """The yolo9000 home folder: ``$YOLO9000_HOME`` (``~`` expanded), else ``~/.cache/yolo9000``."""
    return _env_path(HOME_ENV) or Path("~/.cache/yolo9000").expanduser()


def datasets_dir() -> Path:
    """The datasets folder: ``$YOLO9000_DATASETS`` (``~`` expanded), else ``<yolo9000_home()>/datasets``."""
    return _env_path(DATASETS_ENV) or yolo9000_home() / "datasets"
