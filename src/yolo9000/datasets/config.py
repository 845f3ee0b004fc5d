"""The dataset YAML: where a dataset lies, its format, splits and class names.

Example (paths relative to ``path``, which is relative to the YAML's folder)::

    path: ../../shared/datasets/raccoon
    format: voc            # voc | coco | yolo (darknet is an alias of yolo); may be left out
    train: train.txt       # a list file, a folder, a COCO JSON, or a list of those
    val: test.txt
    names: [raccoon]       # or {0: raccoon}, or a names file (one per line)
    # nc: 1                # optional; must equal the number of names
    # images: images       # optional folder names (see load_dataset)
    # annotations: annotations

Ultralytics and Roboflow YAMLs load unchanged:

- ``path``: absolute; else relative to the YAML's folder; else, when that does not exist, relative to the
  datasets folder (``$YOLO9000_DATASETS``, default ``<YOLO9000_HOME>/datasets``, see
  :mod:`yolo9000.paths`), so ``path: coco8`` finds ``~/.cache/yolo9000/datasets/coco8``. Without
  ``path`` the YAML's folder is the dataset root.
- A split entry ``../x`` that does not exist below the root is retried as ``x`` (Roboflow writes
  ``train: ../train/images`` in a data.yaml that lies next to ``train/``, ``valid/`` and ``test/``), as
  Ultralytics does.
- Without ``format`` the format is inferred from what the split entries point to: a ``.json`` file is
  ``coco``; images with YOLO label files (``images/`` -> ``labels/*.txt``, or a ``.txt`` beside the image)
  are ``yolo``; VOC XML annotations (``annotations/*.xml``, an XML beside the image, or a VOCdevkit
  ``ImageSets/Main`` list) are ``voc``. The first 20 images of each entry are looked at. When no entry, or
  entries of two formats, are found, loading fails with a one-line error asking for ``format:``.
- Unknown keys (``roboflow:``, ``kpt_shape:``, ...) are ignored with a one-line warning; ``download:`` too
  (yolo9000 never downloads a dataset; when the data is missing the error names the URL to get it from).
  Malformed values of the known keys are errors. A key given twice in a mapping is a one-line warning naming
  it and its line (the last value applies, as in every YAML loader).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from yolo9000.datasets import coco, voc, yolo
from yolo9000.datasets.darknet_data import DATA_SUFFIX, load_darknet_data
from yolo9000.datasets.records import DatasetConfig
from yolo9000.errors import file_error, require_file
from yolo9000.names import bundled, read_names
from yolo9000.paths import DATASETS_ENV, datasets_dir

FORMATS = ("voc", "coco", "yolo")
_ALIASES = {"darknet": "yolo", "pascal": "voc", "pascal_voc": "voc"}
SPLITS = ("train", "val", "test")
_KEYS = frozenset({"path", "format", "names", "nc", "images", "annotations", "imgsz", *SPLITS})
_IGNORED = frozenset({"download"})  # known, read by other tools, never acted on here


class _DuplicateKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that notes every mapping key given twice (YAML keeps the last value, silently):
    ``duplicates`` holds ``(key, line of the repeat, line of the first)``, 1-based."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base': keys written here may override its keys
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: construct_mapping's own error follows
                continue
            if repeated:
                self.duplicates.append((key, line, seen[key]))
            else:
                seen[key] = line
        return super().construct_mapping(node, deep)


def _load_yaml(text: str, p: Path) -> Any:
    """The YAML document in ``text`` (read from ``p``), with one warning per key repeated in a mapping
    (``p:LINE: duplicate key 'val': ...``); the last value applies, as every YAML loader does."""
    loader = _DuplicateKeyLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    for key, line, first in loader.duplicates:
        _warn_once(f"{p}:{line}: duplicate key {key!r}: this value replaces the one of line {first}")
    return data


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    """``warnings.warn(message)`` the first time only, whatever the warnings filter: val and the trainers read
    the YAML several times, and one mistake is one line."""
    warnings.warn(message, stacklevel=4)


def _names(value: Any, yaml_path: Path, root: Path) -> tuple[tuple[str, ...], Path | None]:
    """(the class names, the names file they were read from or None) of the YAML's ``names`` value."""
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
                return read_names(c), c
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
    return tuple(names), None


def _folder_name(data: dict, key: str, yaml_path: Path) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        raise file_error(yaml_path, f"'{key}' must be a folder name")
    return v.strip()


def _ignore_keys(data: dict, p: Path) -> None:
    """One warning line for the unknown keys, one for ``download`` (neither stops loading). Issued from one
    place in this module, so Python's default filter shows each once per process, however often the YAML
    is read (training reads it three times)."""
    unknown = sorted(str(k) for k in data if k not in _KEYS and k not in _IGNORED)
    if unknown:
        warnings.warn(f"{p}: ignoring unknown key(s) {', '.join(map(repr, unknown))} (yolo9000 reads "
                      f"{', '.join(sorted(_KEYS))})", stacklevel=2)
    if data.get("download") is not None:
        warnings.warn(f"{p}: ignoring 'download' (yolo9000 never downloads datasets; it reads the files "
                      f"that are on disk)", stacklevel=2)


def _download_hint(data: dict) -> str:
    url = data.get("download")
    if not isinstance(url, str) or not url.strip():
        return ""
    url = url.strip()
    if url.startswith(("http://", "https://")) and "\n" not in url:
        return f"; get it from {url} (the YAML's 'download') and unpack it into {datasets_dir()}"
    return "; the YAML's 'download' is a script, which yolo9000 does not run: get the data yourself"


def _root(data: dict, p: Path) -> Path:
    """The dataset folder: ``path`` absolute, or relative to the YAML's folder, else to the datasets folder."""
    base = data.get("path")
    if base is None or base == "":
        return p.parent.resolve()
    if not isinstance(base, str):
        raise file_error(p, f"'path' must be a folder, got {base!r}")
    given = Path(base).expanduser()
    cands = [given] if given.is_absolute() else [p.parent / given, datasets_dir() / given]
    for c in cands:
        if c.is_dir():
            return c.resolve()
    for c in cands:
        if c.exists():
            raise file_error(p, f"'path: {base}' ({c.resolve()}) is not a folder")
    where = (f"{cands[0].resolve()}" if len(cands) == 1 else f"{cands[0].resolve()} and {cands[1]} (in the "
                                                             f"datasets folder, set by ${DATASETS_ENV})")
    raise file_error(p, f"dataset folder {base!r} (from 'path') does not exist: looked for {where}"
                        f"{_download_hint(data)}")


def _entry(root: Path, entry: str) -> str:
    """``entry``, or, for a missing ``../x``, ``x`` where that exists below the root (Roboflow's layout)."""
    e = entry.strip()
    if e.startswith("../") and not (root / e).exists() and (root / e[3:]).exists():
        return e[3:]
    return e


def _infer_format(cfg: DatasetConfig) -> str:
    """The format the split entries point to (see the module docstring), or a one-line error."""
    found: dict[str, list[str]] = {}
    missing = []
    for split, entries in cfg.splits.items():
        for e in entries:
            hits = [fmt for fmt, sniff in (("coco", coco.sniff), ("yolo", yolo.sniff), ("voc", voc.sniff))
                    if sniff(cfg, e)]
            for fmt in hits:
                found.setdefault(fmt, []).append(f"{split}: {e}")
            q = Path(e).expanduser()
            if not hits and not (q if q.is_absolute() else cfg.root / q).exists():
                missing.append(f"{e!r} ({split})")
    if len(found) == 1:
        return next(iter(found))
    ask = "add 'format: yolo' (or voc, coco) to the YAML"
    if found:
        seen = "; ".join(f"{fmt} ({', '.join(v)})" for fmt, v in sorted(found.items()))
        raise file_error(cfg.yaml, f"cannot tell the dataset format: the split entries look like {seen}; {ask}")
    why = (f"the split entries {', '.join(missing)} do not exist below {cfg.root}" if missing else
           "no split entry points to YOLO label files, VOC XML annotations or a COCO JSON")
    raise file_error(cfg.yaml, f"cannot tell the dataset format ({why}); {ask}")


def load_dataset_config(yaml_path: str | Path) -> DatasetConfig:
    """Read and check a dataset YAML (or darknet's ``.data`` file, :mod:`yolo9000.datasets.darknet_data`);
    every problem is a one-line error naming the file.

    Unknown keys and ``download`` are ignored with a one-line :func:`warnings.warn` each; ``format`` is
    inferred when absent (see the module docstring).
    """
    if Path(yaml_path).suffix.lower() == DATA_SUFFIX:  # darknet's obj.data
        return load_darknet_data(require_file(yaml_path, "darknet .data file"))
    p = require_file(yaml_path, "dataset YAML")
    try:
        data = _load_yaml(p.read_text(encoding="utf-8"), p)
    except UnicodeDecodeError as e:
        raise file_error(p, f"not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise file_error(p, f"not valid YAML ({problem}{at})") from None
    if not isinstance(data, dict):
        raise file_error(p, "expected a mapping with the keys path, format, train, val, names")
    _ignore_keys(data, p)
    if data.get("names") is None:
        nc = data.get("nc")
        raise file_error(p, "missing key 'names'" + (f" ('nc: {nc}' alone is not enough: yolo9000 needs the "
                                                     f"class names)" if nc is not None else ""))
    fmt = data.get("format")
    if fmt is not None:
        fmt = _ALIASES.get(fmt, fmt) if isinstance(fmt, str) else fmt
        if fmt not in FORMATS:
            raise file_error(p, f"unknown format {data['format']!r} (choose voc, coco or yolo)")

    root = _root(data, p)
    splits: dict[str, tuple[str, ...]] = {}
    for s in SPLITS:
        if data.get(s) is None:
            continue
        v = data[s]
        items = v if isinstance(v, list) else [v]
        if not items or not all(isinstance(x, str) and x.strip() for x in items):
            raise file_error(p, f"'{s}' must be a path or a list of paths, got {v!r}")
        splits[s] = tuple(_entry(root, x) for x in items)
    if not splits:
        raise file_error(p, "missing key 'train' or 'val' (no split is given)")

    names, names_file = _names(data["names"], p, root)
    nc = data.get("nc")
    if nc is not None and (isinstance(nc, bool) or not isinstance(nc, int)):
        raise file_error(p, f"'nc: {nc!r}' must be the number of classes")
    if nc is not None and nc != len(names):
        raise file_error(p, f"'nc: {nc}' but 'names' has {len(names)} classes")
    imgsz = data.get("imgsz")
    if imgsz is not None and (not isinstance(imgsz, int) or isinstance(imgsz, bool) or imgsz < 32 or imgsz % 32):
        raise file_error(p, f"'imgsz: {imgsz}' must be a positive multiple of 32")
    cfg = DatasetConfig(p, root, fmt or "", splits, names, _folder_name(data, "images", p),
                        _folder_name(data, "annotations", p), imgsz, names_file)
    return cfg if fmt else replace(cfg, format=_infer_format(cfg))
