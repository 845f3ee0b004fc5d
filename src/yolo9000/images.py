"""Still images: the file extensions read as images, and the one decode every path shares (prediction,
datasets, training): Pillow to (H, W, 3) uint8 RGB, optionally upright by EXIF, errors in one line."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from yolo9000.errors import Yolo9000Error, file_error

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"})
# what a class folder holds (classification and joint training), as torchvision's ImageFolder would take
CLASS_FOLDER_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _upright(im: Image.Image) -> Image.Image:
    """``im`` turned as its EXIF orientation tag (0x0112) says; ``im`` itself when there is nothing to do."""
    if im.getexif().get(0x0112, 1) in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(im)
    return im


def grey_to_u8(a: np.ndarray, label: str) -> np.ndarray:
    """A greyscale image of 32-bit integers or floats ((H, W): Pillow's modes I and F) -> (H, W) uint8, by
    the range its values are in, as a viewer shows them (Pillow's own ``convert`` clips them to 0..255, so a
    0..1 float image turns black):

    * integers above 255 and up to 65535 (16-bit samples): the high byte, as 16-bit images (mode I;16) are;
    * floats within [0, 1]: x 255;
    * values within [0, 255]: as they are;
    * anything else (negative values, floats above 255, integers above 65535): the image's own minimum..maximum
      stretched over 0..255.

    Floats are rounded to the nearest integer. NaN or infinite values are a one-line error naming ``label``.
    """
    x = np.asarray(a)
    if x.size == 0:
        return np.zeros(x.shape, np.uint8)
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise file_error(label, "a floating-point image holding NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if np.issubdtype(x.dtype, np.integer) and lo >= 0 and 255 < hi <= 65535:
        return (x.astype(np.uint16) >> 8).astype(np.uint8)
    if np.issubdtype(x.dtype, np.floating) and lo >= 0 and hi <= 1:
        scaled = x.astype(np.float64) * 255
    elif lo >= 0 and hi <= 255:
        scaled = x.astype(np.float64)
    else:
        scaled = (x.astype(np.float64) - lo) * (255 / (hi - lo)) if hi > lo else np.zeros(x.shape)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _to_rgb(im: Image.Image, label: str) -> np.ndarray:
    """A decoded Pillow image -> (H, W, 3) uint8 RGB: 16-bit greyscale (modes I;16*) by its high byte, as
    stb_image (darknet) decodes it (Pillow's ``convert`` would saturate it to white); 32-bit integer and float
    greyscale (modes I, F) by :func:`grey_to_u8`; every other mode by Pillow's ``convert("RGB")``."""
    if im.mode.startswith("I;16"):
        grey = (np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8)
    elif im.mode in ("I", "F"):
        grey = grey_to_u8(np.asarray(im), label)
    else:
        return np.array(im.convert("RGB"), dtype=np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _decode(fp: Path | io.BytesIO, label: str, exif: bool, content_type: str | None = None) -> np.ndarray:
    """Pillow decode of a file or buffer to (H, W, 3) uint8 RGB; errors are one line naming ``label``."""
    try:
        with Image.open(fp) as opened:
            opened.load()
            return _to_rgb(_upright(opened) if exif else opened, label)
    except Image.DecompressionBombError as e:
        raise file_error(label, f"image too large to decode safely ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        if isinstance(e, Image.UnidentifiedImageError):
            reason = "not an image file" if content_type is None else f"not an image (Content-Type {content_type})"
        else:
            reason = f"corrupt image ({e})"
        raise file_error(label, reason) from None


def load_image(path: str | Path, exif: bool = False) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (greyscale, palette, CMYK and alpha converted; 16-bit,
    32-bit and float greyscale scaled by :func:`grey_to_u8`).

    ``exif``: turn it upright by its EXIF orientation (default False: darknet's decode, no rotation).
    Raises a one-line error naming the file if it is missing, not an image, or corrupt.
    """
    p = Path(path)
    if not p.is_file():
        raise file_error(p, "no such image file" if not p.exists() else "not a file")
    return _decode(p, str(p), exif)


def decode_image_bytes(data: bytes, label: str, exif: bool = False, content_type: str | None = None) -> np.ndarray:
    """Decode an encoded image held in memory (e.g. a download) as :func:`load_image` decodes a file;
    errors name ``label`` (and the server's ``content_type`` when the bytes are not an image)."""
    return _decode(io.BytesIO(data), label, exif, content_type)


def as_rgb_array(image: Image.Image | np.ndarray, label: str = "<array>", exif: bool = False) -> np.ndarray:
    """A PIL image, or an (H, W, 3) / (H, W) uint8 array taken as RGB, -> (H, W, 3) uint8.

    ``exif``: a PIL image is turned upright by its EXIF orientation first (arrays carry none)."""
    if isinstance(image, Image.Image):
        return _to_rgb(_upright(image) if exif else image, label)
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or min(a.shape[:2]) < 1:
        raise Yolo9000Error(f"{label}: expected an (H, W, 3) uint8 RGB array, got {a.dtype} {a.shape}")
    return np.ascontiguousarray(a)  # views such as bgr[:, :, ::-1] have negative strides torch cannot take


def scan_image(path: str | Path, skip_bad: bool) -> np.ndarray | None:
    """A training image checked before the first batch: decoded, or, when unreadable, None with ``skip_bad``
    (the caller leaves it out) and a one-line error naming it without."""
    try:
        return load_image(path)
    except Yolo9000Error as e:
        if not skip_bad:
            raise Yolo9000Error(f"{e} (--skip-bad leaves such images out)") from None
        return None
