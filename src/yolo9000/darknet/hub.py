"""Darknet's published weight files, by name, with a download cache.

``--weights yolov2-voc.weights`` (CLI) or ``YOLO("yolov2-voc", weights="yolov2-voc.weights")`` (Python):
when the value is not an existing local path but one of the file names in :data:`WEIGHTS`, the file is
downloaded once into the cache and read from there afterwards, without network::

    $YOLO9000_HOME/weights/<name>        (YOLO9000_HOME defaults to ~/.cache/yolo9000)
    <base>/<name>                        (base: $YOLO9000_WEIGHTS_URL, else https://pjreddie.com/media/files)

A download is checked before it is kept: its size in bytes (against the table) and its darknet header
(a readable major.minor.revision with each part in [0, 1000)); it is written to a hidden temporary file and
renamed into place only when complete, so a failed or killed download leaves nothing under the final name.
A cached file of the wrong size is refused (one line naming it and ``yolo9000 download NAME --force``),
never silently replaced or used. Every failure is one :class:`~yolo9000.errors.Yolo9000Error` line with
the URL and the exact path where the file can be put by hand.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import struct
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.fileio import atomic_write
from yolo9000.paths import HOME_ENV as ENV_HOME
from yolo9000.paths import yolo9000_home

BASE_URL = "https://pjreddie.com/media/files"
ENV_URL = "YOLO9000_WEIGHTS_URL"
DEFAULT_HOME = "~/.cache/yolo9000"
TIMEOUT_S = 30.0          # seconds a connect or a single read may take before the download fails
CHUNK_BYTES = 1 << 20     # bytes read from the network per step


@dataclass(frozen=True)
class WeightsFile:
    """One of darknet's published ``.weights`` files.

    Attributes:
        name: the file name on darknet's site (and in the cache).
        size: the file's exact size in bytes: ``header_bytes + 4 * floats``.
        header_bytes: 16 (version < 0.2: int32 ``seen``) or 20 (>= 0.2: int64 ``seen``).
        model: the zoo network the file fits.
        convs: how many leading convolutions the file holds (darknet's ``partial`` files), None for all.
        confirmed: whether ``size`` matches a figure quoted for the real file; when not, a file whose
            header says the other header length (and whose size follows from it) is accepted too.
    """

    name: str
    size: int
    header_bytes: int
    model: str
    convs: int | None = None
    confirmed: bool = True

    @property
    def floats(self) -> int:
        """float32 values after the header."""
        return (self.size - self.header_bytes) // 4

    @property
    def sizes(self) -> tuple[int, ...]:
        """File sizes in bytes accepted for this entry (both header lengths when not confirmed)."""
        return (self.size,) if self.confirmed else (16 + 4 * self.floats, 20 + 4 * self.floats)

    def url(self, base: str | None = None) -> str:
        """``<base>/<name>``; ``base`` defaults to :func:`base_url`."""
        return f"{(base or base_url()).rstrip('/')}/{self.name}"

    @property
    def fits(self) -> str:
        """The model column of ``yolo9000 download --list``."""
        return self.model if self.convs is None else f"{self.model} (first {self.convs} convs)"


# Darknet's YOLOv2-era files (https://pjreddie.com/darknet/yolov2/ and /darknet/imagenet/). Every size is
# header + 4 * floats, the floats being darknet_float_count of the fitting zoo network (pinned in
# tests/models/test_darknet.py; tests/test_hub.py re-derives each size); the header length is that of the
# published file, which depends on the darknet version that saved it:
#
#   yolov2-voc.weights       50,676,061 floats; 20-byte header. Confirmed: darkflow issue #834 (2018), with the
#                            yolov2-voc.cfg / .weights of the YOLOv2 page, "expect 202704260 bytes, found
#                            202704264" (darkflow assumed 16). The older yolo-voc.weights of the same network
#                            was 202,704,260 (16-byte header).
#   yolov2.weights           50,983,561 floats (yolov2-coco); 16-byte header. Confirmed: "yolov2.weights -
#                            203 934 260 bytes" (AlexeyAB/darknet #1910) and darkflow #900 "found 203934260".
#   yolov2-tiny-voc.weights  15,867,885 floats; 16-byte header. Confirmed: darkflow loading yolov2-tiny-voc.weights
#                            "Successfully identified 63471556 bytes" (2018 tutorial) and pjreddie/darknet #103
#                            (official file 63471556 bytes, a retrained one 63471560).
#   yolov2-tiny.weights      11,237,145 floats (yolov2-tiny-coco); 20-byte header. Confirmed: darkflow #802
#                            "expect 44948596 bytes, found 44948600".
#   darknet19_448.conv.23    the first 18 convolutions (23 layers) of Darknet-19, 19,831,776 floats (the full
#                            20,856,776 less the 1000-way head's 1,025,000); 16-byte header. Confirmed: a
#                            project asserting os.path.getsize(...) == 79327120 before training.
#   yolo9000.weights         48,807,501 floats; 16-byte header ASSUMED, not confirmed by an exact figure (only
#                            "186 MB" is quoted, true of 195,230,020 and 195,230,024 alike). Released with
#                            yolov2.weights and darknet19_448.conv.23 (Dec 2016), both 16-byte.
#   darknet19.weights        20,856,776 floats; 16-byte header ASSUMED, not confirmed ("80 MB" quoted).
#   darknet19_448.weights    20,856,776 floats (the same network at 448); 16-byte header ASSUMED, not confirmed
#                            ("80 MB" quoted); darknet19_448.conv.23 was cut from it with a 16-byte header.
#
# The three unconfirmed entries also accept a file with the 20-byte header (4 bytes longer) when its header
# says so. Not listed: the pre-2018 names (yolo.weights, yolo-voc.weights, tiny-yolo*.weights), whose links
# darknet's site no longer serves, and the paper's yolo-voc.2.0 network (yolov2-paper-voc), never published.
WEIGHTS: tuple[WeightsFile, ...] = (
    WeightsFile("yolov2-voc.weights", 202_704_264, 20, "yolov2-voc"),
    WeightsFile("yolov2.weights", 203_934_260, 16, "yolov2-coco"),
    WeightsFile("yolov2-tiny-voc.weights", 63_471_556, 16, "yolov2-tiny-voc"),
    WeightsFile("yolov2-tiny.weights", 44_948_600, 20, "yolov2-tiny-coco"),
    WeightsFile("yolo9000.weights", 195_230_020, 16, "yolo9000", confirmed=False),
    WeightsFile("darknet19.weights", 83_427_120, 16, "darknet19", confirmed=False),
    WeightsFile("darknet19_448.weights", 83_427_120, 16, "darknet19-448", confirmed=False),
    WeightsFile("darknet19_448.conv.23", 79_327_120, 16, "darknet19-448", convs=18),
)


def home() -> Path:
    """``$YOLO9000_HOME``, else ``~/.cache/yolo9000`` (:func:`yolo9000.paths.yolo9000_home`)."""
    return yolo9000_home()


def cache_dir() -> Path:
    """Where downloaded weights live: ``<home>/weights``."""
    return home() / "weights"


def base_url() -> str:
    """``$YOLO9000_WEIGHTS_URL`` (a mirror serving ``<base>/<file name>``), else darknet's site."""
    return (os.environ.get(ENV_URL) or BASE_URL).rstrip("/")


def find(name: str | Path, table: Sequence[WeightsFile] | None = None) -> WeightsFile | None:
    """The entry whose file name is exactly ``name`` (no folder part), or None."""
    s = str(name)
    return next((e for e in (WEIGHTS if table is None else table) if e.name == s), None)


def for_model(model: str, table: Sequence[WeightsFile] | None = None) -> WeightsFile | None:
    """The whole-network file that fits zoo network ``model``, or None."""
    return next((e for e in (WEIGHTS if table is None else table) if e.model == model and e.convs is None), None)


def _looks_like_weights(p: Path) -> bool:
    parts = p.name.lower().split(".")
    return p.suffix.lower() == ".weights" or (len(parts) >= 3 and parts[-2] == "conv" and parts[-1].isdigit())


def resolve_weights(name_or_path: str | Path, table: Sequence[WeightsFile] | None = None,
                    progress: bool | None = None, floats: int | None = None) -> Path:
    """The local file for a ``weights`` argument.

    An existing path is returned as it is. A bare file name from ``table`` (default :data:`WEIGHTS`) is
    the cached copy, downloaded first if missing (see :func:`download`). A missing path that looks like
    a darknet file (``*.weights``, ``*.conv.N``) is a one-line error listing the names that download;
    any other missing path is returned unchanged for the caller's own error.

    ``floats``: the darknet float count the caller's network reads; a table file holding another count
    is refused before anything is downloaded.
    """
    p = Path(name_or_path)
    if p.exists():
        return p
    entry = find(name_or_path, table)
    if entry is not None:
        if floats is not None and entry.floats != floats:
            raise Yolo9000Error(f"{entry.name}: darknet's {entry.fits} file holds {entry.floats:,} floats, this "
                                f"network reads {floats:,}; use it with the {entry.model} model (nothing was "
                                f"downloaded)")
        return download(entry, progress=progress)
    if _looks_like_weights(p):
        names = ", ".join(e.name for e in (WEIGHTS if table is None else table))
        raise file_error(p, f"no such weights file (darknet's files download by name alone: {names}; "
                            f"see 'yolo9000 download --list')")
    return p


def _header_problem(head: bytes) -> str | None:
    """Why the first bytes of a file are not a darknet header, or None."""
    if len(head) < 12:
        return f"only {len(head)} bytes, not a darknet .weights file"
    version = struct.unpack("<3i", head[:12])
    if not all(0 <= v < 1000 for v in version):
        return ("not a darknet .weights file (its header reads as version {}.{}.{}; an HTML page or another "
                "format?)".format(*version))
    return None


def _content_problem(size: int, head: bytes, entry: WeightsFile) -> str | None:
    """Why ``size`` bytes starting with ``head`` are not ``entry``'s file, or None."""
    if (problem := _header_problem(head)) is not None:
        return problem
    major, minor, _revision = struct.unpack("<3i", head[:12])
    header_bytes = 20 if major * 10 + minor >= 2 else 16
    if size not in entry.sizes or size != header_bytes + 4 * entry.floats:
        return f"{size:,} bytes, darknet's {entry.name} has {entry.size:,}"
    return None


def check_cached(path: Path, entry: WeightsFile) -> str | None:
    """Why the file at ``path`` is not ``entry``'s (size in bytes, then header), or None."""
    with open(path, "rb") as f:
        head = f.read(20)
    return _content_problem(path.stat().st_size, head, entry)


def _hand(entry: WeightsFile, dest: Path) -> str:
    return (f"download it by hand to {dest} ({entry.size:,} bytes) or set {ENV_URL} to a mirror serving "
            f"<base>/{entry.name}")


def _download_error(url: str, dest: Path, entry: WeightsFile, why: str) -> Yolo9000Error:
    return Yolo9000Error(f"could not download {url}: {why}; nothing was saved; {_hand(entry, dest)}")


def _reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason) or type(e).__name__
    return str(e).splitlines()[0] if str(e) else type(e).__name__


@contextlib.contextmanager
def _cache_locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache folder (POSIX ``flock``; none elsewhere), so that processes
    started together (a distributed run's ranks) download a file once instead of racing for it."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def download(entry: WeightsFile, force: bool = False, progress: bool | None = None) -> Path:
    """``entry``'s file in the cache, downloaded from ``entry.url()`` unless already there.

    Args:
        force: download again even if a good copy is cached (it is replaced only by a good download).
        progress: show a byte progress bar on stderr; None shows it when stderr is a terminal.
    Returns:
        The cached file's path.
    Raises:
        Yolo9000Error: a cached file that is not ``entry``'s (without ``force``), no network, an HTTP
            error, a timeout, or a download of the wrong size or without a darknet header; the message
            names the URL and the path where the file can be put by hand.
    """
    folder = cache_dir()
    dest = folder / entry.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise file_error(folder, f"cannot create the weights cache ({e.strerror or e}); set {ENV_HOME} to a "
                                 f"writable folder") from None
    url = entry.url()
    with _cache_locked(folder):
        if dest.is_file() and not force:
            problem = check_cached(dest, entry)
            if problem is None:
                return dest
            raise file_error(dest, f"the cached {entry.name} is not darknet's file ({problem}): run "
                                   f"'yolo9000 download {entry.name} --force' to fetch it again from {url}, "
                                   f"or put the right file there by hand")
        try:
            response = urllib.request.urlopen(
                urllib.request.Request(url, headers={"User-Agent": "yolo9000"}), timeout=TIMEOUT_S)
        except (OSError, http.client.HTTPException, ValueError) as e:  # URLError/HTTPError are OSErrors
            raise _download_error(url, dest, entry, _reason(e)) from None
        show = sys.stderr.isatty() if progress is None else progress
        try:
            with response, atomic_write(dest) as f:
                _copy(response, f, url, dest, entry, show)
        except OSError as e:  # writing or renaming in the cache (reading errors are Yolo9000Errors already)
            raise file_error(dest, f"cannot write the download ({e.strerror or e}); {_hand(entry, dest)}") from None
    return dest


def _copy(response, f, url: str, dest: Path, entry: WeightsFile, show: bool) -> None:  # noqa: ANN001
    """Stream ``response`` into ``f``, checking the size in bytes and the header; raises on any problem
    (``f`` is an :func:`~yolo9000.fileio.atomic_write` file, so nothing is kept then)."""
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) not in entry.sizes:
        raise _download_error(url, dest, entry, f"the server offers {int(length):,} bytes, darknet's "
                                                f"{entry.name} has {entry.size:,}")
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=entry.size, unit="B", unit_scale=True, unit_divisor=1024, desc=entry.name,
                   file=sys.stderr, dynamic_ncols=True, leave=False)
    got, head, limit = 0, b"", max(entry.sizes)
    try:
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as e:  # reset, timeout, cut short
                raise _download_error(url, dest, entry, f"{_reason(e)} after {got:,} bytes") from None
            if not chunk:
                break
            got += len(chunk)
            if got > limit:
                raise _download_error(url, dest, entry, f"more than the {entry.size:,} bytes of darknet's "
                                                        f"{entry.name}")
            if len(head) < 20:
                head += chunk[:20 - len(head)]
                if len(head) >= 12 and (problem := _header_problem(head)) is not None:
                    raise _download_error(url, dest, entry, problem)
            f.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    if (problem := _content_problem(got, head, entry)) is not None:
        raise _download_error(url, dest, entry, f"got {problem}")
