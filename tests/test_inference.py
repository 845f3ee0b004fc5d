"""The inference copy: folded BN, channels-last, packed oneDNN convs; same outputs as the plain model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo9000 import YOLO
from yolo9000.inference import fuse_for_inference, is_packed
from yolo9000.models import Darknet, zoo_config
from yolo9000.weights import load_darknet_weights


@pytest.mark.parametrize("pack", [True, False])
def test_fused_copy_matches_plain_forward(tiny_voc_weights, pack: bool) -> None:
    model = Darknet(zoo_config("yolov2-tiny-voc")).eval()
    load_darknet_weights(model, tiny_voc_weights)
    fused = fuse_for_inference(model, pack=pack)
    assert is_packed(fused) == pack
    bns = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert bns == 8 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())  # original untouched
    x = torch.rand(2, 3, 320, 416)
    with torch.inference_mode():
        ref = model(x)
        out = fused(x.contiguous(memory_format=torch.channels_last))
    assert out.shape == ref.shape == (2, 125, 10, 13)
    assert (out - ref).abs().max() <= 1e-4


def test_packing_is_used_on_cpu(tiny_voc_weights) -> None:
    yolo = YOLO("yolov2-tiny-voc", tiny_voc_weights)
    assert is_packed(yolo.inference_model()) == torch.backends.mkldnn.is_available()


def test_inference_copy_follows_weight_changes(tiny_voc_weights) -> None:
    yolo = YOLO("yolov2-tiny-voc", tiny_voc_weights)
    img = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    first = yolo.inference_model()
    before = yolo.predict(img, imgsz=224, conf=0.01)[0]
    assert yolo.inference_model() is first
    with torch.no_grad():
        yolo.model.layers[-3].conv.weight.mul_(0.0)  # kills the class/box head's input
    assert yolo.inference_model() is not first
    after = yolo.predict(img, imgsz=224, conf=0.01)[0]
    plain = YOLO("yolov2-tiny-voc", tiny_voc_weights, fuse=False)
    with torch.no_grad():
        plain.model.layers[-3].conv.weight.mul_(0.0)
    expect = plain.predict(img, imgsz=224, conf=0.01)[0]
    assert len(after) == len(expect) and torch.allclose(after.scores, expect.scores, atol=1e-5)
    assert len(before) != len(after) or not torch.allclose(before.scores, after.scores)
