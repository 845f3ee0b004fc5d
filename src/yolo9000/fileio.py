"""Writing output files safely: atomically, with the user's permissions, never NaN or Infinity, and never
over what the command reads.

Every file yolo9000 writes goes through :func:`atomic_write`: the bytes go to a hidden temporary file
beside the target (``.<name>.<random>.tmp``, the name shortened where it would pass the file system's limit)
and are renamed into place only when complete, so a killed or failed run never leaves a partial file under
the final name. A temporary file left behind by a killed run is removed by the next write of the same file.
A target that is a symlink is written through the link (the link stays); a FIFO or a character device
(``/dev/stdout``) receives the finished bytes in one go (no rename can land on such a node; it is never
replaced). :func:`write_json` refuses non-finite numbers (which JSON cannot hold) and :func:`staged_folder`
gives a whole set of outputs the same all-or-nothing rule, and never overwrites a file it did not write.

:func:`check_outputs` is the one check every command runs on its output paths before any work: an output
that is one of the command's inputs, a node that cannot be written, a folder inside a dataset's image or
annotation folders, or a name too long for the file system is one line, and nothing is written.
A write that fails for the disk's sake (full, read-only, no permission) is one line naming the file.
"""
from __future__ import annotations

import errno
import filecmp
import hashlib
import io
import json
import math
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

from yolo9000.errors import Yolo9000Error, file_error

_ACTIVE: set[str] = set()  # temporary files and staging folders this process is writing right now
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


# errno values of a write the disk refused: one line naming the file, not a traceback
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG, errno.EIO})
_NAME_MAX = 255  # bytes in one path component on every file system we meet (ext4, xfs, btrfs, tmpfs, APFS)


def disk_error(path: str | Path, e: OSError) -> Yolo9000Error:
    """The one line for a write the disk refused: ``<file>: cannot write (No space left on device)``, naming
    the output (not the temporary file that was being written)."""
    return file_error(path, f"cannot write ({e.strerror or e})")


def _temp_prefix(name: str) -> str:
    """``.<name>.``, or for a name too long to carry a suffix, its first bytes and a hash of the rest: the
    temporary file of any name that fits the file system fits too."""
    prefix = f".{name}."
    if len(os.fsencode(prefix)) + 16 <= _NAME_MAX:
        return prefix
    head = os.fsencode(name)[:160].decode("utf-8", "ignore")
    return f".{head}~{hashlib.sha1(os.fsencode(name)).hexdigest()[:12]}."


def _node_kind(path: Path) -> str | None:
    """``fifo``, ``character device``, ``block device`` or ``socket`` for an existing special file (through
    symlinks); None for a regular file, a folder or nothing."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    for test, kind in ((stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return None


@contextmanager
def _write_through(path: Path, mode: str) -> Iterator[IO[Any]]:
    """A FIFO or character device: the bytes are collected and written in one go at the end (a failed run
    writes nothing); a FIFO nobody reads is an error, not a hang."""
    with tempfile.TemporaryFile(mode if "+" in mode else f"{mode}+") as buf:
        yield buf
        buf.seek(0)
        flags = os.O_WRONLY | (os.O_NONBLOCK if _node_kind(path) == "fifo" else 0)
        try:
            fd = os.open(path, flags)
        except OSError as e:
            if e.errno == errno.ENXIO:
                raise file_error(path, "is a FIFO that no process is reading; start the reader first") from None
            raise disk_error(path, e) from None
        os.set_blocking(fd, True)
        try:
            with os.fdopen(fd, mode.replace("r", "").replace("+", "") or "wb") as out:
                shutil.copyfileobj(buf, out)
        except OSError as e:  # /dev/full, a reader that went away
            raise disk_error(path, e) from None


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write to a hidden temporary file beside ``path`` and rename it into place only on success.

    The file gets the permissions of any file the user creates (``0o666`` less the umask), not
    ``mkstemp``'s ``0o600``. Stale temporary files of ``path`` from a killed run are removed first. A
    symlink is written through (its target is replaced, the link kept); a FIFO or character device gets the
    finished bytes written into it. A write the disk refuses is one line naming the file.
    """
    p = Path(path)
    check_output_file(p, "the file to write")
    if _node_kind(p) is not None:  # through its links as given: /dev/stdout -> /proc/self/fd/1 -> pipe:[...]
        with _write_through(p, mode) as f:
            yield f
        return
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(p)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(p.name), suffix=".tmp", dir=p.parent)
    except OSError as e:
        if e.errno in DISK_ERRNOS:
            raise disk_error(p, e) from None
        raise
    with _ACTIVE_LOCK:
        _ACTIVE.add(tmp)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.errno in DISK_ERRNOS:
            raise disk_error(p, e) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(tmp)


def save_torch(obj: Any, path: str | Path) -> None:
    """``torch.save`` ``obj`` atomically: serialised in memory first, so a full disk is an ``OSError`` of the
    write (one line naming the file), never a failure inside torch's zip writer."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_write(path) as f:
        f.write(buf.getbuffer())


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


def _check_name(path: Path) -> None:
    """Refuse a path with a component longer than the file system allows (found before the work, not after)."""
    for part in path.parts:
        if len(os.fsencode(part)) > _NAME_MAX:
            raise file_error(path, f"a name in this path is {len(os.fsencode(part))} bytes long; file systems "
                                   f"allow {_NAME_MAX}: choose a shorter name")


def check_output_file(path: str | Path | None, what: str = "output file") -> None:
    """Refuse, before any work, an output file path that is an existing folder, a block device or socket,
    lies below a file, or has a name too long for the file system."""
    if path is None:
        return
    p = Path(path)
    _check_name(p)
    if p.is_dir():
        raise file_error(path, f"is a directory; {what} must be a file name")
    if (kind := _node_kind(p)) in ("block device", "socket"):
        raise file_error(path, f"is a {kind}; {what} must be a file, a FIFO or a character device")
    _check_parents(p)


def check_output_dir(path: str | Path | None, what: str = "output folder") -> None:
    """Refuse, before any work, an output folder path that is an existing file or lies below a file."""
    if path is None:
        return
    _check_name(Path(path))
    if Path(path).exists() and not Path(path).is_dir():
        raise file_error(path, f"is a file; {what} must be a folder")
    _check_parents(Path(path))


def _real(path: str | Path) -> Path:
    """``path`` with symlinks and ``..`` resolved as far as it exists (the file a write would reach)."""
    return Path(os.path.realpath(path))


def _file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing regular file, or None: two names of one file share it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


class _Inputs:
    """The paths a command reads, found again under any name: the real path (symlinks and ``..`` resolved)
    and, for a regular file, its (device, inode), so a hard link is the same input."""

    def __init__(self, paths: Iterable[str | Path | None]) -> None:
        self.real: dict[Path, Path] = {}  # real path -> the path as given
        self._ids: dict[tuple[int, int], Path] = {}
        for p in paths:
            if p is not None and os.path.lexists(p):
                real = _real(p)
                self.real[real] = Path(p)
                if (fid := _file_id(real)) is not None:
                    self._ids[fid] = Path(p)

    def match(self, path: str | Path) -> Path | None:
        """The input ``path`` is (as given), or None."""
        real, fid = _real(path), _file_id(_real(path))
        return self.real.get(real) or (self._ids.get(fid) if fid is not None else None)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_outputs(files: Mapping[str, str | Path | None] | None = None,
                  folders: Mapping[str, str | Path | None] | None = None,
                  reads: Iterable[str | Path | None] = (), data_folders: Iterable[str | Path] = ()) -> None:
    """The one check of a command's output paths, before any work; a refusal is one line naming the output.

    Args:
        files: option (``--save-json``) -> output file; folders: option (``--save-dir``) -> output folder.
        reads: the files and folders the command reads (names that are not paths, e.g. zoo names, are
            ignored).
        data_folders: folders holding a dataset's images or annotations: nothing may be written there
            (a plot written among the images is one more image in the next run).

    Refused: an output file that is (through symlinks, hard links or ``..``) one of ``reads``, or the same file as
    another output; an output file or folder inside a data folder; an output folder that is a folder read,
    or that directly holds a file read; and what :func:`check_output_file` and :func:`check_output_dir`
    refuse.
    """
    files = {k: v for k, v in (files or {}).items() if v is not None}
    folders = {k: v for k, v in (folders or {}).items() if v is not None}
    read = _Inputs(reads)
    data = [_real(d) for d in data_folders]
    filled = {_real(p): flag for flag, p in folders.items()}
    seen: dict[Path, str] = {}
    for flag, path in files.items():
        check_output_file(path, flag)
        real = _real(path)
        if (same := read.match(real)) is not None:
            raise file_error(path, f"{flag} would overwrite {same}, an input of this command: "
                                   f"choose another file")
        if folder := next((f for f in filled if _inside(real.parent, f)), None):
            raise file_error(path, f"{flag} is inside {filled[folder]} {folder}, which this command fills: "
                                   f"write it outside that folder")
        if real in seen:
            raise file_error(path, f"{flag} and {seen[real]} name the same file: choose two files")
        seen[real] = flag
        if inside := next((d for d in data if _inside(real.parent, d)), None):
            raise file_error(path, f"{flag} is inside the dataset folder {inside}: choose a path outside the "
                                   f"dataset's image and annotation folders")
    for flag, path in folders.items():
        check_output_dir(path, flag)
        real = _real(path)
        if inside := next((d for d in data if _inside(real, d)), None):
            raise file_error(path, f"{flag} is inside the dataset folder {inside}; what is written there would "
                                   f"mix with the data: choose a folder outside it")
        if real in read.real:
            raise file_error(path, f"{flag} is {read.real[real]}, an input of this command: choose another folder")
        if held := next((r for rr, r in read.real.items() if rr.parent == real and not rr.is_dir()), None):
            raise file_error(path, f"holds {held}, an input of this command; {flag} outputs would overwrite or "
                                   f"mix with the inputs: choose another folder")


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
def removed_on_error(folder: str | Path, unless: str | Path | None = None) -> Iterator[Path]:
    """A folder that this block may create (with missing parents): if the block fails, whatever of that
    path did not exist before goes with it, unless the file ``unless`` exists by then (a training run that
    stops before its first ``last.pt`` leaves nothing behind; one with a checkpoint stays, to be resumed)."""
    p = Path(folder)
    new = p if not p.exists() else None
    while new is not None and not new.parent.exists():
        new = new.parent
    try:
        yield p
    except BaseException:
        if new is not None and not (unless is not None and Path(unless).exists()):
            shutil.rmtree(new, ignore_errors=True)
        raise


def _move_into(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; a folder onto an existing folder is merged, file by file, recursively."""
    if src.is_dir() and not src.is_symlink() and dst.is_dir() and not dst.is_symlink():
        for f in sorted(src.iterdir()):
            _move_into(f, dst / f.name)
    else:
        os.replace(src, dst)


def check_staged(stage: Path, folder: Path, what: str = "the output folder", exist_ok: bool = False,
                 keep: Iterable[str | Path] = ()) -> None:
    """Refuse, naming the first, to move the staged files of ``stage`` into ``folder`` where that would replace
    a file this run did not write (``exist_ok``: allowed), one of ``keep`` (the command's inputs: always
    refused), or put a folder where a symlink or a file is (a ``labels`` link into a dataset)."""
    inputs = _Inputs(keep)
    clashes = []
    for f in sorted(stage.rglob("*")):
        dest = folder / f.relative_to(stage)
        if not os.path.lexists(dest):
            continue
        if f.is_dir():
            if dest.is_symlink() or not dest.is_dir():
                raise file_error(dest, f"is {'a symlink' if dest.is_symlink() else 'a file'} where this run writes "
                                       f"a folder of {what}; nothing was written: move it away or choose another "
                                       f"folder")
        elif inputs.match(dest) is not None:
            raise file_error(dest, f"is an input of this command and {what} would replace it; nothing was "
                                   f"written: choose another folder")
        elif dest.is_dir() and not dest.is_symlink():
            raise file_error(dest, f"is a folder where this run writes a file of {what}; nothing was written")
        elif not exist_ok:
            clashes.append(dest)
    if clashes:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise file_error(clashes[0], f"already exists in {what}{more} and was not written by this run; nothing "
                                     f"was written: choose a new folder, or remove the old files (--exist-ok: "
                                     f"replace them)")


@contextmanager
def staged_folder(folder: str | Path, what: str = "the output folder", exist_ok: bool = False,
                  keep: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Write a set of files all or nothing: yields a hidden staging folder inside ``folder``; on success
    its files are moved into ``folder`` (a staged subfolder is merged into an existing one of the same name,
    so ``labels/`` of an earlier run keeps its other files), on failure it is deleted, and so is ``folder``
    itself if this call created it and it is empty. A staged file whose name is taken in ``folder`` by a file
    this run did not write is refused, with nothing moved (``exist_ok``: replaced, but never one of ``keep``,
    the command's inputs; see :func:`check_staged`)."""
    final = Path(folder)
    check_output_dir(final)
    created = not final.exists()
    try:
        final.mkdir(parents=True, exist_ok=True)
        for old in final.glob(".yolo9000-partial-*"):  # left by a killed run (not another stage of this one)
            with _ACTIVE_LOCK:
                if str(old) in _ACTIVE:
                    continue
            shutil.rmtree(old, ignore_errors=True)
        stage = Path(tempfile.mkdtemp(prefix=".yolo9000-partial-", dir=final))
    except OSError as e:
        if e.errno in DISK_ERRNOS:
            raise disk_error(final, e) from None
        raise
    with _ACTIVE_LOCK:
        _ACTIVE.add(str(stage))
    try:
        yield stage
        check_staged(stage, final, what, exist_ok, keep)
        for f in sorted(stage.iterdir()):
            _move_into(f, final / f.name)
    except BaseException as e:
        if created and not any(p for p in final.iterdir() if p != stage):
            shutil.rmtree(final, ignore_errors=True)
        if isinstance(e, Yolo9000Error) and str(stage) in str(e):  # name the file as the user will know it
            raise Yolo9000Error(str(e).replace(str(stage), str(final))) from None
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        with _ACTIVE_LOCK:
            _ACTIVE.discard(str(stage))


class HeldInterrupts:
    """Ctrl-C held back while a run commits its outputs, so a second Ctrl-C cannot keep half of them.

    A context manager that changes nothing until :meth:`hold`; from then until the block ends, SIGINT is
    only noted (``interrupted`` becomes True) and the previous handler is restored at the end. Outside the
    main thread (where Python allows no signal handler) it holds nothing."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def hold(self) -> None:
        if self._previous is None and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._note)

    def _note(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def __enter__(self) -> "HeldInterrupts":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def copy_into(src: str | Path, folder: str | Path) -> Path:
    """Copy the file ``src`` into ``folder`` (created) under its own name, unless it is that file already;
    returns the copy's path (a run keeps the files its checkpoints name, e.g. a WordTree, beside them)."""
    src, dest = Path(src), Path(folder) / Path(src).name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.resolve() != dest.resolve() and not (dest.is_file() and filecmp.cmp(src, dest, shallow=False)):
        shutil.copyfile(src, dest)
    return dest
