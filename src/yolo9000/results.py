"""Prediction results: one :class:`Results` per image, with conversions and drawing."""
from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from PIL import Image


def class_color(class_id: int) -> tuple[int, int, int]:
    """A stable, well-spread RGB colour for a class id."""
    h = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.75, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


@dataclass
class Results:
    """Detections (or class probabilities) for one image.

    Attributes:
        xyxy: (N, 4) float32 boxes x1, y1, x2, y2 in pixels of the original image (not clipped).
        scores: (N,) float32 objectness x P(class) (YOLO9000: objectness of the chosen tree node).
        class_ids: (N,) int64 indices into ``names``.
        names: every class name of the model.
        path: the image file (or a label for in-memory images); ``frame`` the video frame index.
        orig_shape: (height, width) of the original image.
        probs: (C,) class probabilities for a classifier, else None.
        det_index: (N,) darknet prediction index ``a*H*W + row*W + col`` of each box.
        orig_img: the (H, W, 3) uint8 RGB image, kept for drawing (None when streaming without images).
        error: why the input could not be read (``predict(..., skip_bad=True)``); such a result has no
            detections, no image and ``orig_shape`` (0, 0). None for every image that was read.
    """

    xyxy: torch.Tensor
    scores: torch.Tensor
    class_ids: torch.Tensor
    names: tuple[str, ...]
    path: str
    orig_shape: tuple[int, int]
    frame: int | None = None
    probs: torch.Tensor | None = None
    det_index: torch.Tensor | None = None
    orig_img: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None

    @classmethod
    def unreadable(cls, path: str, error: str, names: tuple[str, ...]) -> "Results":
        """The result of an input that could not be decoded: no detections, the error kept."""
        return cls(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), names, path, (0, 0),
                   error=error)

    def __len__(self) -> int:
        return int(self.scores.numel())

    @property
    def class_names(self) -> list[str]:
        """Name of each detection's class, (N) strings."""
        return [self.names[i] for i in self.class_ids.tolist()]

    @property
    def xywh(self) -> torch.Tensor:
        """(N, 4) x1, y1, width, height in pixels (COCO's box format)."""
        return torchvision.ops.box_convert(self.xyxy, "xyxy", "xywh")

    @property
    def cxcywh(self) -> torch.Tensor:
        """(N, 4) centre x, centre y, width, height in pixels."""
        return torchvision.ops.box_convert(self.xyxy, "xyxy", "cxcywh")

    @property
    def xyxy_clipped(self) -> torch.Tensor:
        """(N, 4) boxes clipped to the image."""
        h, w = self.orig_shape
        return torchvision.ops.clip_boxes_to_image(self.xyxy, (h, w))

    def top(self, k: int = 5) -> list[tuple[int, str, float]]:
        """Classifier: the ``k`` most probable (class id, name, probability)."""
        if self.probs is None:
            raise ValueError("top() is for classifier results; this image has detections")
        p, i = self.probs.topk(min(k, self.probs.numel()))
        return [(int(c), self.names[int(c)], float(v)) for v, c in zip(p, i)]

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per detection: image, class_id, class_name, score, xyxy (and frame for videos)."""
        out = []
        for box, score, cid in zip(self.xyxy.tolist(), self.scores.tolist(), self.class_ids.tolist()):
            rec: dict[str, Any] = {"image": self.path, "class_id": cid, "class_name": self.names[cid],
                                   "score": score, "xyxy": box}
            if self.frame is not None:
                rec["frame"] = self.frame
            out.append(rec)
        return out

    def to_coco(self, image_id: int | str, category_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """COCO results records: image_id, category_id (``category_ids[class_id]`` if given), bbox
        [x, y, w, h] in pixels, score."""
        cats = self.class_ids.tolist() if category_ids is None else [category_ids[c] for c in self.class_ids.tolist()]
        return [{"image_id": image_id, "category_id": c, "bbox": b, "score": s}
                for c, b, s in zip(cats, self.xywh.tolist(), self.scores.tolist())]

    def draw(self, image: np.ndarray | None = None, line_width: int | None = None) -> Image.Image:
        """The image with boxes and ``name score`` labels drawn (classifier: top-5 as text)."""
        img = self.orig_img if image is None else image
        if img is None:
            raise ValueError("no image to draw on: pass image= (results were made without keeping images)")
        t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1)
        if self.probs is not None:
            from PIL import ImageDraw

            pil = Image.fromarray(img)
            draw = ImageDraw.Draw(pil)
            for k, (_, name, p) in enumerate(self.top(5)):
                draw.text((5, 5 + 12 * k), f"{name} {p:.3f}", fill=(255, 255, 0))
            return pil
        if len(self) == 0:
            return Image.fromarray(img)
        labels = [f"{n} {s:.2f}" for n, s in zip(self.class_names, self.scores.tolist())]
        colors = [class_color(c) for c in self.class_ids.tolist()]
        width = line_width or max(1, round(max(self.orig_shape) / 300))
        drawn = torchvision.utils.draw_bounding_boxes(t, self.xyxy_clipped, labels=labels, colors=colors, width=width,
                                                     fill_labels=True, label_colors=(0, 0, 0))
        return Image.fromarray(drawn.permute(1, 2, 0).numpy())

    def save(self, path: str | Path) -> Path:
        """Draw and write the annotated image (format from the extension), atomically."""
        from .fileio import atomic_write

        p = Path(path)
        fmt = Image.registered_extensions().get(p.suffix.lower())
        if fmt is None:
            raise ValueError(f"{p}: unknown image extension")
        with atomic_write(p) as f:
            self.draw().save(f, format=fmt)
        return p
