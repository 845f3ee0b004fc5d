"""Writing output files safely: atomically, with the user's permissions, and never NaN or Infinity.

Every file yolo9000 writes goes through :func:`atomic_write`: the bytes go to a hidden temporary file
beside the target (``.<name>.<random>.tmp``) and are renamed into place only when complete, so a
killed or failed run never leaves a partial file under the final name. A temporary file left behind by
a killed run is removed by the next write of the same file. :func:`write_json` refuses non-finite
numbers (which JSON cannot hold) and :func:`staged_folder` gives a whole set of outputs the same
all-or-nothing rule.
"""
from __future__ import annotations

import filecmp
import json
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from yolo9000.errors import file_error

_ACTIVE: set[str] = set()  # temporary files this process is writing right now
_ACTIVE_LOCK = threading.Lock()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Delete the ``.<name>.*.tmp`` files an interrupted write of ``path`` left beside it; returns them."""
    p = Path(path)
    if not p.parent.is_dir():
        return []
    removed = []
    for tmp in p.parent.glob(f".{p.name}.*.tmp"):
        with _ACTIVE_LOCK:
            if str(tmp) in _ACTIVE:
                continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write to a hidden temporary file beside ``path`` and rename it into place only on success.

    The file gets the permissions of any file the user creates (``0o666`` less the umask), not
    ``mkstemp``'s ``0o600``. Stale temporary files of ``path`` from a killed run are removed first.
    """
    p = Path(path)
    check_output_file(p, "the file to write")
    p.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(p)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    with _ACTIVE_LOCK:
        _ACTIVE.add(tmp)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(tmp)


def first_non_finite(obj: Any, where: str = "$") -> str | None:
    """Where the first NaN or infinite float sits in a JSON-like value (``$[3].score``), or None."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else where
    if isinstance(obj, dict):
        for k, v in obj.items():
            if (found := first_non_finite(v, f"{where}.{k}")) is not None:
                return found
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            if (found := first_non_finite(v, f"{where}[{i}]")) is not None:
                return found
    return None


def write_json(obj: Any, path: str | Path, indent: int | None = 1) -> Path:
    """Write ``obj`` as strict JSON, atomically; a NaN or infinite number is an error naming the file and
    where the value sits (JSON has no such numbers; Python's ``json`` would write bare ``NaN``)."""
    if (where := first_non_finite(obj)) is not None:
        raise file_error(path, f"refusing to write a non-finite number (NaN or Infinity) at {where}")
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=indent, allow_nan=False)
    return Path(path)


def _check_parents(path: Path) -> None:
    """Refuse a path below an existing file (its folder could never be created)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise file_error(path, f"cannot be created: {parent} is a file, not a folder")
            return


def check_output_file(path: str | Path | None, what: str = "output file") -> None:
    """Refuse, before any work, an output file path that is an existing folder or lies below a file."""
    if path is None:
        return
    if Path(path).is_dir():
        raise file_error(path, f"is a directory; {what} must be a file name")
    _check_parents(Path(path))


def check_output_dir(path: str | Path | None, what: str = "output folder") -> None:
    """Refuse, before any work, an output folder path that is an existing file or lies below a file."""
    if path is None:
        return
    if Path(path).exists() and not Path(path).is_dir():
        raise file_error(path, f"is a file; {what} must be a folder")
    _check_parents(Path(path))


def run_folder(project: str | Path, name: str, exist_ok: bool = False) -> Path:
    """The folder of a new run: ``project/name`` if nothing is there yet, else the first free of
    ``name2``, ``name3``, ... (Ultralytics' convention), so a run never writes into another's folder;
    ``exist_ok`` takes ``project/name`` as it is (a resume, or a reuse on purpose)."""
    base = Path(project) / name
    if exist_ok or not base.exists():
        return base
    k = 2
    while (base.parent / f"{name}{k}").exists():
        k += 1
    return base.parent / f"{name}{k}"


@contextmanager
def removed_on_error(folder: str | Path) -> Iterator[Path]:
    """A folder that this block may create (with missing parents): if the block fails, whatever of that
    path did not exist before goes with it (a run that could not start leaves nothing behind)."""
    p = Path(folder)
    new = p if not p.exists() else None
    while new is not None and not new.parent.exists():
        new = new.parent
    try:
        yield p
    except BaseException:
        if new is not None:
            shutil.rmtree(new, ignore_errors=True)
        raise


def _move_into(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; a folder onto an existing folder is merged, file by file, recursively."""
    if src.is_dir() and not src.is_symlink() and dst.is_dir() and not dst.is_symlink():
        for f in sorted(src.iterdir()):
            _move_into(f, dst / f.name)
    else:
        os.replace(src, dst)


@contextmanager
def staged_folder(folder: str | Path) -> Iterator[Path]:
    """Write a set of files all or nothing: yields a hidden staging folder inside ``folder``; on success
    its files are moved into ``folder`` (replacing files of the same name; a staged subfolder is merged
    into an existing one of the same name, so ``labels/`` of an earlier run keeps its other files), on
    failure it is deleted, and so is ``folder`` itself if this call created it and it is empty."""
    final = Path(folder)
    check_output_dir(final)
    created = not final.exists()
    final.mkdir(parents=True, exist_ok=True)
    for old in final.glob(".yolo9000-partial-*"):  # left by a killed run
        shutil.rmtree(old, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=".yolo9000-partial-", dir=final))
    try:
        yield stage
        for f in sorted(stage.iterdir()):
            _move_into(f, final / f.name)
    except BaseException:
        if created and not any(p for p in final.iterdir() if p != stage):
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def copy_into(src: str | Path, folder: str | Path) -> Path:
    """Copy the file ``src`` into ``folder`` (created) under its own name, unless it is that file already;
    returns the copy's path (a run keeps the files its checkpoints name, e.g. a WordTree, beside them)."""
    src, dest = Path(src), Path(folder) / Path(src).name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.resolve() != dest.resolve() and not (dest.is_file() and filecmp.cmp(src, dest, shallow=False)):
        shutil.copyfile(src, dest)
    return dest
