"""Darknet's dataset file, ``obj.data``, read as it is::

    classes = 2
    train  = data/train.txt      # a list of image paths, one a line
    valid  = data/test.txt
    names  = data/obj.names      # one class name a line
    backup = backup/             # where darknet writes its weights: not read here

The images' labels are darknet's (YOLO) ``.txt`` files: ``images/`` or ``JPEGImages/`` replaced by
``labels/`` in the image's path, or the ``.txt`` beside the image (:mod:`yolo9000.datasets.yolo`).

Relative paths are resolved as darknet does, from the working directory, and where nothing is there,
from the ``.data`` file's folder (a set moved whole keeps working). Image paths in the lists resolve
against the folder the list itself was found from. ``valid`` is the ``val`` split; without it there is
only ``train``. ``classes`` must equal the number of names. darknet's other keys (``backup``, ``eval``,
``results``, ``map``, ``top``, ``labels``) are read by its tools, not by training or validation here; an
unknown key is a one-line warning, a line without ``=`` an error naming its line.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from yolo9000.datasets.records import DatasetConfig
from yolo9000.errors import file_error
from yolo9000.names import read_names

DATA_SUFFIX = ".data"
_SPLITS = {"train": "train", "valid": "val"}
_DARKNET_ONLY = frozenset({"backup", "eval", "results", "map", "top", "labels", "difficult"})


def read_data_file(path: Path) -> dict[str, tuple[str, int]]:
    """``{key: (value, line)}`` of a darknet ``.data`` file (``key = value`` lines; blank lines and ``#``
    comments skipped; the last of a repeated key applies, as darknet's option list finds it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise file_error(path, f"not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    out: dict[str, tuple[str, int]] = {}
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        if not eq or not key.strip():
            raise file_error(f"{path}:{i}", f"expected 'key = value', got {raw.strip()!r}")
        out[key.strip()] = (value.strip(), i)
    return out


def _located(value: str, data_file: Path) -> tuple[Path, Path]:
    """(the file ``value`` names, the folder it was found from): the working directory first, as darknet
    reads it, then the ``.data`` file's folder; a missing file resolves against the working directory."""
    p = Path(value).expanduser()
    if p.is_absolute():
        return p, p.parent
    for base in (Path.cwd(), data_file.parent.resolve()):
        if (base / p).exists():
            return (base / p).resolve(), base
    return Path.cwd() / p, Path.cwd()


def load_darknet_data(path: Path) -> DatasetConfig:
    """The :class:`DatasetConfig` (format ``yolo``) of a darknet ``.data`` file; one-line errors naming it."""
    entries = read_data_file(path)
    for key, (_, line) in entries.items():
        if key not in (*_SPLITS, "names", "classes", *_DARKNET_ONLY):
            warnings.warn(f"{path}:{line}: unknown key {key!r} ignored (darknet's .data keys: classes, train, "
                          f"valid, names, backup)", stacklevel=3)
    if "names" not in entries:
        raise file_error(path, "missing 'names = <file>' (one class name a line)")
    if "train" not in entries and "valid" not in entries:
        raise file_error(path, "missing 'train = <list file>' or 'valid = <list file>'")
    names_file, _ = _located(entries["names"][0], path)
    if not names_file.is_file():
        raise file_error(f"{path}:{entries['names'][1]}", f"names file {entries['names'][0]!r} not found (looked "
                                                          f"in {Path.cwd()} and {path.parent.resolve()})")
    names = read_names(names_file)
    if "classes" in entries:
        value, line = entries["classes"]
        if not value.isdigit() or int(value) != len(names):
            raise file_error(f"{path}:{line}", f"classes = {value}, but {names_file} lists {len(names)} names")
    splits: dict[str, tuple[str, ...]] = {}
    root = None
    for key, split in _SPLITS.items():
        if key in entries:
            where, base = _located(entries[key][0], path)
            root = root or base
            splits[split] = (str(where),)
    return DatasetConfig(path, root or Path.cwd(), "yolo", splits, names, names_file=names_file)
