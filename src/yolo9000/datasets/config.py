"""The dataset YAML: where a dataset lies, its format, splits and class names.

Example (paths relative to ``path``, which is relative to the YAML's folder)::

    path: ../../shared/datasets/raccoon
    format: voc            # voc | coco | yolo (darknet is an alias of yolo)
    train: train.txt       # a list file, a folder, a COCO JSON, or a list of those
    val: test.txt
    names: [raccoon]       # or a names file (one per line)
    # images: images       # optional folder names (see load_dataset)
    # annotations: annotations
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import file_error, require_file
from ..names import bundled, read_names

FORMATS = ("voc", "coco", "yolo")
_ALIASES = {"darknet": "yolo", "pascal": "voc", "pascal_voc": "voc"}
SPLITS = ("train", "val", "test")
_KEYS = frozenset({"path", "format", "names", "nc", "images", "annotations", "download", "imgsz", *SPLITS})


@dataclass(frozen=True)
class DatasetConfig:
    """A parsed dataset YAML.

    Attributes:
        yaml: the YAML file; root: the dataset folder (``path`` resolved against the YAML's folder).
        format: ``voc``, ``coco`` or ``yolo``.
        splits: split name -> its entries (relative to ``root`` unless absolute), e.g.
            ``{"train": ("VOC2007/trainval", "VOC2012/trainval"), "val": ("VOC2007/test",)}``.
        names: the class names, in label order.
        images, annotations: the folder names the YAML set (None: the format's defaults).
        imgsz: the input size training uses by default (optional ``imgsz`` key; None: the trainer's 416).
    """

    yaml: Path
    root: Path
    format: str
    splits: dict[str, tuple[str, ...]]
    names: tuple[str, ...]
    images: str | None = None
    annotations: str | None = None
    imgsz: int | None = None

    def entries(self, split: str) -> tuple[str, ...]:
        """The entries of ``split``, or a one-line error naming the YAML if it has none."""
        if split not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise file_error(self.yaml, f"no {split!r} split (the YAML has: {have})")
        return self.splits[split]


def _names(value: Any, yaml_path: Path, root: Path) -> tuple[str, ...]:
    if isinstance(value, dict):  # {0: a, 1: b} as some YAMLs write it
        keys = sorted(value) if all(isinstance(k, int) for k in value) else None
        if keys != list(range(len(value))):
            raise file_error(yaml_path, "'names' as a mapping needs the keys 0, 1, ..., N-1")
        value = [value[k] for k in keys]
    if isinstance(value, str):
        candidates = [Path(value).expanduser()] if Path(value).expanduser().is_absolute() else [
            root / value, yaml_path.parent / value, bundled(value)]
        for c in candidates:
            if c.is_file():
                return read_names(c)
        raise file_error(yaml_path, f"'names': names file {value!r} not found (looked in {root}, "
                                    f"{yaml_path.parent} and the bundled lists)")
    if not isinstance(value, list) or not value:
        raise file_error(yaml_path, "'names' must be a non-empty list of class names or a names file")
    names = []
    for i, n in enumerate(value):
        if isinstance(n, bool) or not isinstance(n, (str, int, float)) or not str(n).strip():
            raise file_error(yaml_path, f"'names' entry {i} ({n!r}) is not a class name")
        names.append(str(n).strip())
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise file_error(yaml_path, f"'names' repeats {', '.join(map(repr, dup))}")
    return tuple(names)


def _folder_name(data: dict, key: str, yaml_path: Path) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        raise file_error(yaml_path, f"'{key}' must be a folder name")
    return v.strip()


def load_dataset_config(yaml_path: str | Path) -> DatasetConfig:
    """Read and check a dataset YAML; every problem is a one-line error naming the YAML file."""
    p = require_file(yaml_path, "dataset YAML")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise file_error(p, f"not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise file_error(p, f"not valid YAML ({problem}{at})") from None
    if not isinstance(data, dict):
        raise file_error(p, "expected a mapping with the keys path, format, train, val, names")
    unknown = sorted(str(k) for k in data if k not in _KEYS)
    if unknown:
        raise file_error(p, f"unknown key(s) {', '.join(map(repr, unknown))} (allowed: "
                            f"{', '.join(sorted(_KEYS))})")
    for key in ("format", "names"):
        if key not in data or data[key] is None:
            raise file_error(p, f"missing key {key!r}")
    fmt = data["format"]
    fmt = _ALIASES.get(fmt, fmt) if isinstance(fmt, str) else fmt
    if fmt not in FORMATS:
        raise file_error(p, f"unknown format {data['format']!r} (choose voc, coco or yolo)")

    base = data.get("path", ".")
    if base is None:
        base = "."
    if not isinstance(base, str):
        raise file_error(p, f"'path' must be a folder, got {base!r}")
    root = Path(base).expanduser()
    root = (root if root.is_absolute() else p.parent / root).resolve()
    if not root.is_dir():
        raise file_error(p, f"dataset folder {root} (from 'path: {base}') does not exist"
                         if not root.exists() else f"'path: {base}' ({root}) is not a folder")

    splits: dict[str, tuple[str, ...]] = {}
    for s in SPLITS:
        if data.get(s) is None:
            continue
        v = data[s]
        items = v if isinstance(v, list) else [v]
        if not items or not all(isinstance(x, str) and x.strip() for x in items):
            raise file_error(p, f"'{s}' must be a path or a list of paths, got {v!r}")
        splits[s] = tuple(x.strip() for x in items)
    if not splits:
        raise file_error(p, "missing key 'train' or 'val' (no split is given)")

    names = _names(data["names"], p, root)
    nc = data.get("nc")
    if nc is not None and nc != len(names):
        raise file_error(p, f"'nc: {nc}' but 'names' has {len(names)} classes")
    imgsz = data.get("imgsz")
    if imgsz is not None and (not isinstance(imgsz, int) or isinstance(imgsz, bool) or imgsz < 32 or imgsz % 32):
        raise file_error(p, f"'imgsz: {imgsz}' must be a positive multiple of 32")
    return DatasetConfig(p, root, fmt, splits, names, _folder_name(data, "images", p),
                         _folder_name(data, "annotations", p), imgsz)
