"""Where images come from: files, folders, globs, lists, PIL images, arrays, video files, image URLs,
video streams and cameras.

Every source becomes a stream of :class:`Frame` (an RGB uint8 array and where it came from). Images
decode with Pillow; videos, streams and cameras with OpenCV (its FFmpeg backend for URLs).

How :func:`expand` reads a source:

- an existing file or folder, or a glob pattern: the file, the folder's images and videos (sorted), the
  matches. An existing file always wins over the readings below (a file named ``0`` is a file).
- a non-negative integer, or a string of digits: the camera of that index, ``cv2.VideoCapture(N)``.
  Its results are named ``camera<N>``.
- an ``rtsp://``, ``rtsps://`` or ``rtmp://`` URL: a live video stream.
- an ``http(s)://`` URL whose path ends in a video extension (:data:`VIDEO_EXTS`, or an HLS/DASH
  playlist ``.m3u8``/``.mpd``): a video stream.
- an ``http(s)://`` URL whose path ends in an image extension (:data:`IMAGE_EXTS`): an image,
  downloaded with urllib (:data:`URL_TIMEOUT` seconds to connect and per read, at most
  :data:`URL_MAX_BYTES` bytes) and decoded in memory.
- any other ``http(s)://`` URL is fetched once and decided by its Content-Type: ``video/*``,
  ``multipart/*`` (MJPEG cameras) or an HLS/DASH playlist type make it a video stream (the response is
  closed and OpenCV opens the URL); any other type is read as an image (same limits), and a body
  Pillow cannot decode is an error ``not an image (Content-Type ...)``.

Results of a URL carry the URL as their path. Every failure (connection refused, HTTP 404, a timeout,
not an image, a camera that cannot be opened) is one :class:`~yolo9000.errors.Yolo9000Error` line
naming the URL or camera; with ``skip_bad`` it becomes an :class:`Unreadable`, as a bad file does.

EXIF orientation: with ``exif=True`` (what ``YOLO.predict`` asks for by default) images from files,
URLs and PIL images are turned upright by their EXIF orientation tag (``PIL.ImageOps.exif_transpose``),
as phone photos need. ``exif=False``, the default of the functions here (and so of the dataset loaders
and training), decodes as darknet does: no rotation. Arrays and video frames are never rotated.

Buffering (:func:`prefetch_frames`): still images decode on a small thread pool at most ``ahead``
images ahead of the consumer. A video, stream or camera is read on its own thread into a bounded
:class:`FrameBuffer`: a video file (or a stream of known length) waits for the consumer when
``ahead`` frames are queued, losing nothing; a live source (a camera, an rtsp/rtmp stream, any stream
whose frame count is unknown) never waits: at most ``live_buffer`` frames are kept and the oldest is
dropped when the consumer is slower than the source, so predictions stay current and memory bounded.
A frame's ``frame`` index counts every frame read from the source, so dropped frames leave gaps.
A stream that stops sending for :data:`URL_TIMEOUT` seconds, or a camera that stops giving frames, ends
that source as the end of a file does (no reconnecting); one that never gave a frame is an error.
"""
from __future__ import annotations

import glob
import http.client
import math
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Union

import numpy as np
from PIL import Image

from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.images import IMAGE_EXTS, as_rgb_array, decode_image_bytes, load_image
from yolo9000.version import __version__

VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
PLAYLIST_EXTS = frozenset({".m3u8", ".mpd"})  # HLS / DASH: read by FFmpeg as streams
LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp"})
HTTP_SCHEMES = frozenset({"http", "https"})

URL_TIMEOUT = 30.0  # seconds: to connect, and for each read of a download or network stream
URL_MAX_BYTES = 64 << 20  # the largest image download, in bytes
LIVE_BUFFER = 2  # frames a live source keeps for a slower consumer (the oldest is dropped beyond)
JOIN_TIMEOUT = 5.0  # seconds the consumer waits for a reader thread to finish after it stops reading

# Content-Types that make an extension-less http(s) URL a video stream (besides video/* and multipart/*)
_STREAM_TYPES = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl", "application/dash+xml"})

# Pillow warns between 89M and 179M pixels and refuses above: we decode such images (or refuse them with one
# line, below) rather than print its warning; a module-level filter, as decoding runs on several threads
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Camera:
    """A camera by its OpenCV index (``cv2.VideoCapture(index)``)."""

    index: int

    @property
    def label(self) -> str:
        """The name its results carry: ``camera<index>``."""
        return f"camera{self.index}"


@dataclass(frozen=True)
class URLSource:
    """A URL: ``kind`` is ``"image"`` (downloaded), ``"video"`` (read by OpenCV) or ``"probe"`` (an
    http(s) URL without a known extension, decided by the Content-Type of its response)."""

    url: str
    kind: str


Item = Union[str, Path, Image.Image, np.ndarray, Camera, URLSource]
Source = Union[str, Path, int, Image.Image, np.ndarray, Sequence]


@dataclass(frozen=True)
class Frame:
    """One image to predict on: (H, W, 3) uint8 RGB, its file (or a label), its video frame index, and
    the frames per second its video or stream reports (None for still images, or when unknown)."""

    image: np.ndarray
    path: str
    frame: int | None = None
    fps: float | None = None


@dataclass(frozen=True)
class Unreadable:
    """An input that could not be decoded (with ``skip_bad``): its file and the one-line error."""

    path: str
    error: str


# ---------------------------------------------------------------- URLs


def parse_url(s: str) -> URLSource | None:
    """The :class:`URLSource` a string names, or None if it is not an rtsp/rtmp/http(s) URL."""
    parts = urllib.parse.urlsplit(s)
    scheme = parts.scheme.lower()
    if scheme not in LIVE_SCHEMES | HTTP_SCHEMES:
        return None
    if not parts.hostname:
        raise Yolo9000Error(f"{s}: not a valid URL (no host)")
    if scheme in LIVE_SCHEMES:
        return URLSource(s, "video")
    suffix = PurePosixPath(urllib.parse.unquote(parts.path)).suffix.lower()
    if suffix in IMAGE_EXTS:
        return URLSource(s, "image")
    if suffix in VIDEO_EXTS | PLAYLIST_EXTS:
        return URLSource(s, "video")
    return URLSource(s, "probe")


def is_url(label: str) -> bool:
    """Whether a result's path is a URL (rtsp/rtmp/http(s)) rather than a file."""
    return urllib.parse.urlsplit(label).scheme.lower() in LIVE_SCHEMES | HTTP_SCHEMES


def output_stem(label: str) -> str:
    """A file-name stem for the outputs of a result's path: a file's stem, a URL's last path segment
    without its extension (or its host), ``camera<N>`` as it is. Only ``[A-Za-z0-9._-]`` for URLs."""
    if not is_url(label):
        return Path(label).stem
    parts = urllib.parse.urlsplit(label)
    name = PurePosixPath(urllib.parse.unquote(parts.path)).name
    stem = PurePosixPath(name).stem if PurePosixPath(name).suffix.lower() in (
        IMAGE_EXTS | VIDEO_EXTS | PLAYLIST_EXTS) else name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem or parts.hostname or "").strip("._")
    return stem or "stream"


def _net_reason(e: BaseException) -> str:
    """A short reason for a network error: ``Connection refused``, ``timed out``, ..."""
    if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
        e = e.reason if isinstance(e.reason, BaseException) else Yolo9000Error(str(e.reason))
    if isinstance(e, TimeoutError):
        return f"timed out after {URL_TIMEOUT:g} s"
    text = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
    return " ".join(str(text).split())  # one line, whatever the server or the OS said


def _http_get(url: str) -> http.client.HTTPResponse:
    """Open ``url`` (redirects followed); a one-line error for a refused connection, an HTTP error
    status, a timeout or a bad address. The caller closes the response."""
    req = urllib.request.Request(url, headers={"User-Agent": f"yolo9000/{__version__}"})
    try:
        return urllib.request.urlopen(req, timeout=URL_TIMEOUT)  # noqa: S310 - http(s) only (parse_url)
    except urllib.error.HTTPError as e:
        e.close()
        raise Yolo9000Error(f"{url}: HTTP error {e.code} ({' '.join(str(e.reason).split())})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        raise Yolo9000Error(f"{url}: cannot connect ({_net_reason(e)})") from None


def _content_type(resp: http.client.HTTPResponse) -> str:
    return (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _read_capped(resp: http.client.HTTPResponse, url: str) -> bytes:
    """The body of a response, at most :data:`URL_MAX_BYTES` (a longer one is an error)."""
    limit = f"the {URL_MAX_BYTES / 2**20:g} MiB limit of an image download"
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > URL_MAX_BYTES:
        raise Yolo9000Error(f"{url}: {int(length):,} bytes, larger than {limit}")
    try:
        data = resp.read(URL_MAX_BYTES + 1)
    except (http.client.HTTPException, OSError) as e:
        raise Yolo9000Error(f"{url}: download failed ({_net_reason(e)})") from None
    if len(data) > URL_MAX_BYTES:
        raise Yolo9000Error(f"{url}: larger than {limit}")
    return data


def fetch_image(url: str, exif: bool = False) -> np.ndarray:
    """Download an image URL and decode it in memory: (H, W, 3) uint8 RGB; a one-line error naming the
    URL for a failed download or a body that is not an image."""
    with _http_get(url) as resp:
        ctype = _content_type(resp)
        data = _read_capped(resp, url)
    return decode_image_bytes(data, url, exif, content_type=ctype or "none")


def _is_stream_type(ctype: str) -> bool:
    return ctype.startswith(("video/", "multipart/")) or ctype in _STREAM_TYPES


# ---------------------------------------------------------------- videos, streams, cameras


_CV2_LOG_LOCK = threading.Lock()


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV's own warnings off (it prints several lines when a capture fails to open; we raise one)."""
    import cv2

    logging = cv2.utils.logging
    with _CV2_LOG_LOCK:
        old = logging.getLogLevel()
        logging.setLogLevel(min(old, logging.LOG_LEVEL_ERROR))
        try:
            yield
        finally:
            logging.setLogLevel(old)


def open_capture(target: int | str) -> Any:
    """A ``cv2.VideoCapture`` for a camera index, a stream URL (FFmpeg backend, :data:`URL_TIMEOUT` to
    open and per read) or a video file. The one place captures are made (tests replace it)."""
    import cv2

    with _quiet_opencv():
        if isinstance(target, int):
            return cv2.VideoCapture(target)
        if is_url(target):
            ms = int(URL_TIMEOUT * 1000)
            return cv2.VideoCapture(target, cv2.CAP_FFMPEG,
                                    [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        return cv2.VideoCapture(target)


def _capture_info(cap: Any) -> tuple[int, float | None]:
    """(frame count, 0 if unknown; frames per second, None if unknown) a capture reports."""
    import cv2

    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = int(count) if math.isfinite(count) and count > 0 else 0
    return count, (float(fps) if math.isfinite(fps) and 0 < fps < 1000 else None)


def _read_capture(cap: Any, label: str, fps: float | None, empty: str) -> Iterator[Frame]:
    """The frames of an opened capture as RGB Frames (index from 0), then release it; ``empty`` is the
    error when it gives no frame at all."""
    try:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            if bgr.ndim == 2:
                bgr = np.repeat(bgr[:, :, None], 3, axis=2)
            yield Frame(np.ascontiguousarray(bgr[:, :, 2::-1]), label, i, fps)
            i += 1
        if i == 0:
            raise file_error(label, empty)
    finally:
        cap.release()


def video_frame_count(path: str | Path) -> int:
    """The frame count a video file's container reports (0 if none)."""
    cap = open_capture(str(path))
    try:
        return _capture_info(cap)[0]
    finally:
        cap.release()


def _open_video_file(path: str | Path) -> tuple[Iterator[Frame], bool]:
    p = Path(path)
    if not p.is_file():
        raise file_error(p, "no such video file")
    cap = open_capture(str(p))
    if not cap.isOpened():
        cap.release()
        raise file_error(p, "cannot open video (unknown format or corrupt)")
    _, fps = _capture_info(cap)
    return _read_capture(cap, str(p), fps, "video has no readable frames"), False


def _open_camera(cam: Camera) -> tuple[Iterator[Frame], bool]:
    cap = open_capture(cam.index)
    if not cap.isOpened():
        cap.release()
        raise Yolo9000Error(f"{cam.label}: cannot open camera {cam.index} (no camera at that index, or it is "
                            f"in use)")
    _, fps = _capture_info(cap)
    return _read_capture(cap, cam.label, fps, f"camera {cam.index} opened but gave no frames"), True


def _open_stream(url: str, content_type: str | None = None) -> tuple[Iterator[Frame], bool]:
    """A video stream URL opened by OpenCV: (frames, live). Live: rtsp/rtmp, or an unknown frame count."""
    cap = open_capture(url)
    if not cap.isOpened():
        cap.release()
        raise Yolo9000Error(f"{url}: {_stream_failure(url, content_type)}")
    count, fps = _capture_info(cap)
    live = urllib.parse.urlsplit(url).scheme.lower() in LIVE_SCHEMES or count <= 0
    return _read_capture(cap, url, fps, "stream opened but gave no frames"), live


def _stream_failure(url: str, content_type: str | None) -> str:
    """Why OpenCV could not open a stream URL: for http(s), the server's own answer when it has one."""
    if urllib.parse.urlsplit(url).scheme.lower() in HTTP_SCHEMES:
        if content_type is not None:  # an extension-less URL, probed already
            return f"neither an image nor a video stream OpenCV can read (Content-Type {content_type})"
        try:
            with _http_get(url) as resp:
                content_type = _content_type(resp) or "none"
        except Yolo9000Error as e:
            return str(e).removeprefix(f"{url}: ")
        return f"not a video stream OpenCV can read (Content-Type {content_type})"
    return "cannot open the stream (unreachable, refused, or not a video OpenCV's FFmpeg can read)"


def _open_probe(url: str, exif: bool) -> tuple[Iterator[Frame], bool]:
    """An http(s) URL without a known extension: a stream or an image, by its Content-Type."""
    with _http_get(url) as resp:
        ctype = _content_type(resp)
        if not _is_stream_type(ctype):
            data = _read_capped(resp, url)
            return _just(Frame(decode_image_bytes(data, url, exif, content_type=ctype or "none"), url)), False
    return _open_stream(url, ctype)


def _just(frame: Frame) -> Iterator[Frame]:
    yield frame


def is_live(item: Item) -> bool:
    """Whether an item of :func:`expand` is a camera or an rtsp/rtmp stream, which run until stopped (an http
    stream of unknown length is found live only once opened)."""
    return isinstance(item, Camera) or (
        isinstance(item, URLSource) and urllib.parse.urlsplit(item.url).scheme.lower() in LIVE_SCHEMES)


def _sequential(item: Item) -> bool:
    """Whether an item is read frame after frame on its own (a video, stream or camera) rather than
    decoded as one still image."""
    if isinstance(item, (str, Path)):
        return is_video(item)
    return isinstance(item, Camera) or (isinstance(item, URLSource) and item.kind != "image")


def _open_sequential(item: Item, exif: bool) -> tuple[Iterator[Frame], bool]:
    """Open a video file, stream or camera: (its frames, whether it is live)."""
    if isinstance(item, Camera):
        return _open_camera(item)
    if isinstance(item, URLSource):
        return _open_probe(item.url, exif) if item.kind == "probe" else _open_stream(item.url)
    return _open_video_file(item)  # type: ignore[arg-type]


# ---------------------------------------------------------------- expanding sources


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTS


def expand(source: Source) -> list[Item]:
    """Flatten a source into single items: folders list their images and videos (sorted), globs expand,
    lists are expanded element by element; cameras and URLs become :class:`Camera` / :class:`URLSource`
    (see the module docstring). No network or camera is touched here. Raises a one-line error for a path
    that does not exist."""
    if isinstance(source, (Image.Image, np.ndarray, Camera, URLSource)):  # (items of an earlier expand, too)
        return [source]
    if isinstance(source, int) and not isinstance(source, bool):
        if source < 0:
            raise Yolo9000Error(f"{source}: a camera index must be a non-negative integer")
        return [Camera(source)]
    if isinstance(source, (str, Path)):
        s = str(source)
        if isinstance(source, str) and (url := parse_url(s)) is not None:
            return [url]
        p = Path(s)
        if p.is_dir():
            items = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS)
            if not items:
                raise file_error(p, "folder holds no images or videos")
            return list(items)
        if p.exists():
            return [p]
        if isinstance(source, str) and re.fullmatch(r"[0-9]+", s.strip()):
            return [Camera(int(s))]
        if any(ch in s for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(s, recursive=True) if Path(m).is_file())
            if not matches:
                raise Yolo9000Error(f"{s}: the pattern matches no files")
            return list(matches)
        raise file_error(p, "no such file or folder")
    if isinstance(source, Sequence):
        out: list[Item] = []
        for item in source:
            out += expand(item)
        return out
    raise Yolo9000Error(f"unsupported source type {type(source).__name__}")


def count_frames(items: Sequence[Item]) -> int | None:
    """How many frames :func:`iter_frames` will yield (video lengths as their containers report them);
    None when a camera, stream or extension-less URL makes the total unknown."""
    total = 0
    for i in items:
        if isinstance(i, Camera) or (isinstance(i, URLSource) and i.kind != "image"):
            return None
        total += video_frame_count(i) if isinstance(i, (str, Path)) and is_video(i) else 1
    return total


def iter_frames(items: Sequence[Item], skip_bad: bool = False, exif: bool = False) -> Iterator[Frame | Unreadable]:
    """Decode the items of :func:`expand` one after another on the caller's thread (a live source is
    read as fast as the caller asks, nothing dropped); ``skip_bad``: an item that fails to decode is
    yielded as :class:`Unreadable` and the next one follows. ``exif``: see the module docstring."""
    for k, item in enumerate(items):
        try:
            if _sequential(item):
                yield from _open_sequential(item, exif)[0]
            else:
                yield _decode_one(k, item, exif)
        except Yolo9000Error as e:
            if not skip_bad:
                raise
            yield Unreadable(_label(item, k), str(e))


# ---------------------------------------------------------------- reading ahead


class FrameBuffer:
    """The frames between a reader thread and the consumer, at most ``capacity`` of them (or
    ``live_capacity`` once ``live`` is set).

    Lossless (video files): :meth:`put` waits while ``capacity`` frames are queued. Live (``live=True``):
    :meth:`put` never waits; when ``live_capacity`` frames are queued the oldest is dropped (counted in
    ``dropped``). The end, or the reader's error, is kept apart and never dropped.
    """

    def __init__(self, capacity: int, live_capacity: int = LIVE_BUFFER) -> None:
        self.capacity, self.live_capacity = max(1, capacity), max(1, live_capacity)
        self.live = False
        self.dropped = 0
        self._frames: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._ended = False
        self._error: BaseException | None = None
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    def put(self, frame: Frame) -> bool:
        """Queue a frame; False once the consumer has gone (:meth:`close`): the reader should stop."""
        with self._cond:
            if self.live:
                while len(self._frames) >= self.live_capacity:
                    self._frames.popleft()
                    self.dropped += 1
            else:
                while len(self._frames) >= self.capacity and not self._closed:
                    self._cond.wait()
            if self._closed:
                return False
            self._frames.append(frame)
            self._cond.notify_all()
            return True

    def finish(self, error: BaseException | None = None) -> None:
        """The reader is done (``error``: why it stopped early); the consumer gets the queued frames first."""
        with self._cond:
            self._ended, self._error = True, error
            self._cond.notify_all()

    def get(self) -> Frame | None:
        """The next frame (waiting for it), None at the end; raises the reader's error after its frames."""
        with self._cond:
            while not self._frames and not self._ended:
                self._cond.wait()
            if self._frames:
                frame = self._frames.popleft()
                self._cond.notify_all()
                return frame
            if self._error is not None:
                raise self._error
            return None

    def close(self) -> None:
        """The consumer stops reading: a waiting or later :meth:`put` returns False."""
        with self._cond:
            self._closed = True
            self._frames.clear()
            self._cond.notify_all()


def _sequential_reader(item: Item, exif: bool, buf: FrameBuffer) -> None:
    """Thread body: open a video, stream or camera and read it into ``buf``; an exception is handed on."""
    try:
        frames, live = _open_sequential(item, exif)
        buf.live = live
        for f in frames:
            if not buf.put(f):
                frames.close()  # type: ignore[attr-defined]  # a generator: its finally releases the capture
                return
        buf.finish()
    except Exception as e:  # noqa: BLE001 - handed to the consumer, which raises it (or skips the item)
        buf.finish(e)


def prefetch_frames(items: Sequence[Item], workers: int = 2, ahead: int = 8, skip_bad: bool = False,
                    exif: bool = False, live_buffer: int = LIVE_BUFFER) -> Iterator[Frame | Unreadable]:
    """:func:`iter_frames` with decoding off the caller's thread, in order.

    Still images (and image URLs) decode on a pool of ``workers`` threads (Pillow and OpenCV release the
    GIL while decoding), at most ``ahead`` images ahead of the consumer; a video, stream or camera is read
    on its own thread into a :class:`FrameBuffer`: ``ahead`` frames, lossless, for video files; at most
    ``live_buffer`` frames, dropping the oldest, for live sources. Memory stays bounded whatever the
    number of items. ``workers=0`` decodes inline (:func:`iter_frames`). Decoding errors surface, in
    order, as the consumer reaches the failing item; with ``skip_bad`` they are yielded as
    :class:`Unreadable` in its place instead, and decoding goes on with the next item.
    """
    if workers <= 0:
        yield from iter_frames(items, skip_bad, exif)
        return
    from concurrent.futures import ThreadPoolExecutor

    ahead = max(1, ahead)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yolo9000-decode")
    pending: deque = deque()  # (label, future) in item order
    k = 0
    try:
        while k < len(items) or pending:
            while k < len(items) and len(pending) < ahead and not _sequential(items[k]):
                pending.append((_label(items[k], k), pool.submit(_decode_one, k, items[k], exif)))
                k += 1
            if pending:
                label, fut = pending.popleft()
                try:
                    frame = fut.result()
                except Yolo9000Error as e:
                    if not skip_bad:
                        raise
                    frame = Unreadable(label, str(e))
                yield frame
                continue
            # the next item is a video, stream or camera: everything before it has been yielded
            buf = FrameBuffer(ahead, live_buffer)
            reader = threading.Thread(target=_sequential_reader, args=(items[k], exif, buf), daemon=True,
                                      name="yolo9000-video")
            reader.start()
            try:
                while True:
                    try:
                        f = buf.get()
                    except Yolo9000Error as e:
                        if not skip_bad:
                            raise
                        yield Unreadable(_label(items[k], k), str(e))
                        break
                    if f is None:
                        break
                    yield f
            finally:
                buf.close()
                reader.join(JOIN_TIMEOUT)  # a live read blocked in the driver ends on its own (daemon)
            k += 1
    finally:
        for _, fut in pending:
            fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def _label(item: Item, k: int) -> str:
    """The name an item goes by in results: its path or URL, ``camera<N>``, a PIL image's file name, or
    ``image<k>``."""
    if isinstance(item, (Image.Image, np.ndarray)):
        return getattr(item, "filename", "") or f"image{k}"
    if isinstance(item, Camera):
        return item.label
    if isinstance(item, URLSource):
        return item.url
    return str(item)


def _decode_one(k: int, item: Item, exif: bool = False) -> Frame:
    if isinstance(item, (Image.Image, np.ndarray)):
        return Frame(as_rgb_array(item, _label(item, k), exif), _label(item, k))
    if isinstance(item, URLSource):
        return Frame(fetch_image(item.url, exif), item.url)
    return Frame(load_image(item, exif=exif), str(item))
