"""Darknet's letterbox and its inverse for boxes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo9000.ops.letterbox import letterbox, letterbox_size, unletterbox_cxcywh


def test_letterbox_size_integer_division() -> None:
    assert letterbox_size(768, 576, 416, 416) == (416, 312)
    assert letterbox_size(576, 768, 416, 416) == (312, 416)
    assert letterbox_size(773, 512, 416, 416) == (416, 275)  # 512*416/773 = 275.5 -> 275
    assert letterbox_size(100, 100, 320, 320) == (320, 320)


def test_letterbox_canvas_and_placement() -> None:
    img = np.full((100, 200, 3), 255, np.uint8)
    x = letterbox(img, 64)
    assert x.shape == (3, 64, 64)
    # new size (64, 32) pasted at y = 16
    assert torch.all(x[:, :16] == 0.5) and torch.all(x[:, 48:] == 0.5)
    assert torch.allclose(x[:, 16:48], torch.ones(3, 32, 64))


def test_letterbox_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        letterbox(np.zeros((10, 10), np.uint8), 32)


def test_unletterbox_inverts_the_mapping() -> None:
    w, h, s = 768, 576, 416
    new_w, new_h = letterbox_size(w, h, s, s)
    px = torch.tensor([[100.0, 200.0, 50.0, 80.0], [0.0, 0.0, 768.0, 576.0]])  # cx, cy, w, h in image pixels
    norm = torch.stack([(px[:, 0] * new_w / w + (s - new_w) / 2) / s, (px[:, 1] * new_h / h + (s - new_h) / 2) / s,
                        px[:, 2] * new_w / w / s, px[:, 3] * new_h / h / s], 1)
    assert torch.allclose(unletterbox_cxcywh(norm, w, h, s, s), px, atol=1e-3)


# ----------------------------------------------------------------------------- images a side of which rounds to 0 px
@pytest.mark.parametrize("w, h, net, expect", [
    (3000, 1, 64, (64, 1)),      # darknet: 1 * 64 // 3000 = 0
    (1, 1000, 64, (1, 64)),
    (2, 3000, 64, (1, 64)),      # 2 * 64 // 3000 = 0
    (2, 3000, 2048, (1, 2048)),  # 2 * 2048 // 3000 = 1: darknet's own size, unchanged
    (3000, 1, 416, (416, 1)),
])
def test_letterbox_size_keeps_at_least_one_pixel(w: int, h: int, net: int, expect: tuple[int, int]) -> None:
    assert letterbox_size(w, h, net, net) == expect


def test_a_thin_image_is_one_line_of_the_canvas() -> None:
    img = np.full((1, 3000, 3), 255, np.uint8)  # 3000x1 white
    x = letterbox(img, 64)
    assert x.shape == (3, 64, 64)
    # the one row at dy = (64 - 1) // 2 = 31 is the image, everything else the grey border
    assert torch.equal(x[:, 31], torch.ones(3, 64))
    assert torch.all(x[:, :31] == 0.5) and torch.all(x[:, 32:] == 0.5)
    tall = letterbox(np.full((1000, 1, 3), 0, np.uint8), 64)  # 1x1000 black: column 31
    assert torch.equal(tall[:, :, 31], torch.zeros(3, 64)) and torch.all(tall[:, :, :31] == 0.5)


@pytest.mark.parametrize("w, h", [(3000, 1), (1, 1000), (2, 3000)])
def test_thin_images_map_boxes_back_finite_and_exact(w: int, h: int) -> None:
    """The inverse takes the forward's size: the box over the letterboxed strip is the whole image. (Centred
    as darknet's ``correct_region_boxes`` centres it, at (net - new) / 2, where the paste is at the integer
    (net - new) // 2: darknet's half-pixel, kept for every image.)"""
    s = 64
    new_w, new_h = letterbox_size(w, h, s, s)
    strip = torch.tensor([[0.5, 0.5, new_w / s, new_h / s]])
    back = unletterbox_cxcywh(strip, w, h, s, s)
    assert torch.isfinite(back).all()
    assert torch.allclose(back, torch.tensor([[w / 2, h / 2, float(w), float(h)]]), rtol=1e-5)
