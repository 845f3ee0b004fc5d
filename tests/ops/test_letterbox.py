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
