"""Annotated videos on disk: H.264 in MP4 through PyAV where it is installed (``pip install
'yolo9000[video]'``), which browsers and phones play; else OpenCV's MPEG-4 Part 2 (``mp4v``), which
every OpenCV build writes but most browsers do not play.

Both codecs want even sides (H.264 in its common profile, ``yuv420p``; OpenCV's mp4v cuts the odd row and
column off): a frame of odd width or height gets one more column or row, a copy of its last, so nothing of
the picture is lost.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from yolo9000.optional import available, require


class VideoOut(Protocol):
    """A video being written: ``write`` an (H, W, 3) uint8 RGB frame, ``release`` to finish the file."""

    codec: str

    def write(self, rgb: np.ndarray) -> None: ...

    def release(self) -> None: ...


def _even(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (H, W, 3), with its last row and column repeated where H or W is odd."""
    h, w = rgb.shape[:2]
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else rgb


class _H264:
    """H.264 (libx264, yuv420p) in MP4, through PyAV."""

    codec = "h264"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        av = require("av", "writing H.264 video")
        w, h = size
        self.container = av.open(str(path), mode="w")
        self.stream = self.container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        self.stream.width, self.stream.height = w + w % 2, h + h % 2
        self.stream.pix_fmt = "yuv420p"
        self._frame = av.VideoFrame

    def write(self, rgb: np.ndarray) -> None:
        for packet in self.stream.encode(self._frame.from_ndarray(np.ascontiguousarray(_even(rgb)), format="rgb24")):
            self.container.mux(packet)

    def release(self) -> None:
        for packet in self.stream.encode():  # flush the encoder's delayed frames
            self.container.mux(packet)
        self.container.close()


class _Mp4v:
    """MPEG-4 Part 2 (``mp4v``) in MP4, through OpenCV."""

    codec = "mp4v"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import cv2  # OpenCV only when a video is written

        w, h = size
        self.writer: Any = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w + w % 2, h + h % 2))

    def write(self, rgb: np.ndarray) -> None:
        self.writer.write(np.ascontiguousarray(_even(rgb)[:, :, ::-1]))  # OpenCV takes BGR

    def release(self) -> None:
        self.writer.release()


def open_video(path: str | Path, fps: float, size: tuple[int, int], h264: bool | None = None) -> VideoOut:
    """A video writer for ``path`` at ``fps`` frames per second of ``size`` (width, height): H.264 when
    PyAV is installed (``h264`` None) or asked for (True: a one-line error without PyAV), else ``mp4v``."""
    use_h264 = available("av") if h264 is None else h264
    return _H264(Path(path), fps, size) if use_h264 else _Mp4v(Path(path), fps, size)
