"""Where images come from: files, folders, globs, lists, PIL images, arrays and video files.

Every source becomes a stream of :class:`Frame` (an RGB uint8 array and where it came from). Images
decode with Pillow (no EXIF rotation, as darknet); videos with OpenCV.
"""
from __future__ import annotations

import glob
import queue
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image

from .errors import Yolo9000Error, file_error

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"})
VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})

# Pillow warns between 89M and 179M pixels and refuses above: we decode such images (or refuse them with one
# line, below) rather than print its warning; a module-level filter, as decoding runs on several threads
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

Source = Union[str, Path, Image.Image, np.ndarray, Sequence]


@dataclass(frozen=True)
class Frame:
    """One image to predict on: (H, W, 3) uint8 RGB, its file (or a label), and its video frame index."""

    image: np.ndarray
    path: str
    frame: int | None = None


@dataclass(frozen=True)
class Unreadable:
    """An input that could not be decoded (with ``skip_bad``): its file and the one-line error."""

    path: str
    error: str


def load_image(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (greyscale, palette, CMYK and alpha converted).

    Raises a one-line error naming the file if it is missing, not an image, or corrupt.
    """
    p = Path(path)
    if not p.is_file():
        raise file_error(p, "no such image file" if not p.exists() else "not a file")
    try:
        with Image.open(p) as im:
            im.load()
            if im.mode.startswith("I;16"):  # 16-bit greyscale: Pillow's convert would saturate it to white;
                grey = (np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8)  # keep the high byte, as stb_image
                return np.repeat(grey[:, :, None], 3, axis=2)
            rgb = im.convert("RGB")
    except Image.DecompressionBombError as e:
        raise file_error(p, f"image too large to decode safely ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        reason = "not an image file" if isinstance(e, Image.UnidentifiedImageError) else f"corrupt image ({e})"
        raise file_error(p, reason) from None
    return np.array(rgb, dtype=np.uint8)


def as_rgb_array(image: Image.Image | np.ndarray, label: str = "<array>") -> np.ndarray:
    """A PIL image, or an (H, W, 3) / (H, W) uint8 array taken as RGB, -> (H, W, 3) uint8."""
    if isinstance(image, Image.Image):
        return np.array(image.convert("RGB"), dtype=np.uint8)
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or min(a.shape[:2]) < 1:
        raise Yolo9000Error(f"{label}: expected an (H, W, 3) uint8 RGB array, got {a.dtype} {a.shape}")
    return np.ascontiguousarray(a)  # views such as bgr[:, :, ::-1] have negative strides torch cannot take


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTS


def expand(source: Source) -> list[str | Path | Image.Image | np.ndarray]:
    """Flatten a source into single items: folders list their images and videos (sorted), globs expand,
    lists are expanded element by element. Raises a one-line error for a path that does not exist."""
    if isinstance(source, (Image.Image, np.ndarray)):
        return [source]
    if isinstance(source, (str, Path)):
        s = str(source)
        p = Path(s)
        if p.is_dir():
            items = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS)
            if not items:
                raise file_error(p, "folder holds no images or videos")
            return list(items)
        if p.exists():
            return [p]
        if any(ch in s for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(s, recursive=True) if Path(m).is_file())
            if not matches:
                raise Yolo9000Error(f"{s}: the pattern matches no files")
            return list(matches)
        raise file_error(p, "no such file or folder")
    if isinstance(source, Sequence):
        out: list[str | Path | Image.Image | np.ndarray] = []
        for item in source:
            out += expand(item)
        return out
    raise Yolo9000Error(f"unsupported source type {type(source).__name__}")


def video_frame_count(path: str | Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        cap.release()


def iter_video(path: str | Path) -> Iterator[Frame]:
    """Frames of a video file as RGB, with their index."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise file_error(p, "no such video file")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise file_error(p, "cannot open video (unknown format or corrupt)")
    try:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield Frame(np.ascontiguousarray(bgr[:, :, ::-1]), str(p), i)
            i += 1
        if i == 0:
            raise file_error(p, "video has no readable frames")
    finally:
        cap.release()


def iter_frames(items: Sequence[str | Path | Image.Image | np.ndarray],
                skip_bad: bool = False) -> Iterator[Frame | Unreadable]:
    """Decode the items of :func:`expand` one after another; ``skip_bad``: an item that fails to decode
    is yielded as :class:`Unreadable` and the next one follows."""
    for k, item in enumerate(items):
        try:
            if isinstance(item, (str, Path)) and is_video(item):
                yield from iter_video(item)
            else:
                yield _decode_one(k, item)
        except Yolo9000Error as e:
            if not skip_bad:
                raise
            yield Unreadable(_label(item, k), str(e))


def count_frames(items: Sequence[str | Path | Image.Image | np.ndarray]) -> int:
    """How many frames :func:`iter_frames` will yield (video lengths as their containers report them)."""
    return sum(video_frame_count(i) if isinstance(i, (str, Path)) and is_video(i) else 1 for i in items)


_DONE = object()


def _video_reader(path: str | Path, out: "queue.Queue[object]", stop: threading.Event) -> None:
    """Decode a video into ``out`` (bounded), then ``_DONE``; an exception is passed on as the item."""
    try:
        for f in iter_video(path):
            while not stop.is_set():
                try:
                    out.put(f, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        out.put(_DONE)
    except Exception as e:  # handed to the consumer, which raises it
        out.put(e)


def prefetch_frames(items: Sequence[str | Path | Image.Image | np.ndarray], workers: int = 2,
                    ahead: int = 8, skip_bad: bool = False) -> Iterator[Frame | Unreadable]:
    """:func:`iter_frames` with decoding off the caller's thread, in order.

    Still images decode on a pool of ``workers`` threads (Pillow and OpenCV release the GIL while
    decoding), at most ``ahead`` images ahead of the consumer; a video decodes on its own thread into a
    queue of ``ahead`` frames. Memory stays bounded by ``ahead`` decoded frames whatever the number of
    items. ``workers=0`` decodes inline (:func:`iter_frames`). Decoding errors surface, in order, as the
    consumer reaches the failing item; with ``skip_bad`` they are yielded as :class:`Unreadable` in its
    place instead, and decoding goes on with the next item.
    """
    if workers <= 0:
        yield from iter_frames(items, skip_bad)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    ahead = max(1, ahead)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yolo9000-decode") as pool:
        pending: deque = deque()  # (label, future) in item order
        k = 0
        try:
            while k < len(items) or pending:
                while k < len(items) and len(pending) < ahead and not (
                        isinstance(items[k], (str, Path)) and is_video(items[k])):
                    pending.append((_label(items[k], k), pool.submit(_decode_one, k, items[k])))
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
                # the next item is a video: everything before it has been yielded
                q: queue.Queue[object] = queue.Queue(maxsize=ahead)
                stop = threading.Event()
                reader = threading.Thread(target=_video_reader, args=(items[k], q, stop), daemon=True)
                reader.start()
                try:
                    while (f := q.get()) is not _DONE:
                        if isinstance(f, Yolo9000Error) and skip_bad:
                            yield Unreadable(str(items[k]), str(f))
                            break
                        if isinstance(f, Exception):
                            raise f
                        yield f  # type: ignore[misc]
                finally:
                    stop.set()
                    reader.join()
                k += 1
        finally:
            for _, fut in pending:
                fut.cancel()


def _label(item: str | Path | Image.Image | np.ndarray, k: int) -> str:
    """The name an item goes by in results: its path, a PIL image's file name, or ``image<k>``."""
    if isinstance(item, (Image.Image, np.ndarray)):
        return getattr(item, "filename", "") or f"image{k}"
    return str(item)


def _decode_one(k: int, item: str | Path | Image.Image | np.ndarray) -> Frame:
    if isinstance(item, (Image.Image, np.ndarray)):
        return Frame(as_rgb_array(item, _label(item, k)), _label(item, k))
    return Frame(load_image(item), str(item))
