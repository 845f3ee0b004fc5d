"""The inference copy: folded BN, channels-last, packed oneDNN convs; same outputs as the plain model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo9000 import YOLO, Yolo9000Error
from yolo9000.models.inference import fuse_for_inference, is_packed
from yolo9000.models import Darknet, zoo_config
from yolo9000.darknet.weights import load_darknet_weights


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


# ---------------------------------------------------------------- precision and torch.compile


def dog_results(yolo: YOLO, reference_dir, imgsz: int = 416):
    (r,) = yolo.predict(reference_dir / "images" / "dog.jpg", imgsz=imgsz)
    return r


def test_bf16_detections_overlap_fp32(tiny_voc_weights, reference_dir) -> None:
    from torchvision.ops import box_iou

    from yolo9000.models.inference import CastIO

    fp32 = YOLO("yolov2-tiny-voc", tiny_voc_weights)
    bf16 = YOLO("yolov2-tiny-voc", tiny_voc_weights, precision="bf16")
    net = bf16.inference_model()
    assert isinstance(net, CastIO) and net.dtype == torch.bfloat16
    assert is_packed(net) == (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert all(p.dtype == torch.bfloat16 for p in net.parameters())
    # raw head: float32 out, within bf16's ~3 significant digits of the float32 head
    x = torch.rand(1, 3, 416, 416, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ref, out = fp32.inference_model()(x), net(x)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert (out - ref).abs().max() <= 0.03 * ref.abs().max()
    # the top float32 detections each have a bf16 detection of the same class overlapping at IoU > 0.9
    a, b = dog_results(fp32, reference_dir), dog_results(bf16, reference_dir)
    top = a.scores.argsort(descending=True)[:5]
    assert len(top) == 5 and len(b) >= 5
    iou = box_iou(a.xyxy[top], b.xyxy) * (a.class_ids[top, None] == b.class_ids[None])
    assert (iou.max(dim=1).values > 0.9).all(), iou.max(dim=1).values


def test_bf16_follows_weight_changes(tiny_voc_weights) -> None:
    yolo = YOLO("yolov2-tiny-voc", tiny_voc_weights, precision="bf16")
    first = yolo.inference_model()
    with torch.no_grad():
        yolo.model.layers[-3].conv.weight.mul_(0.5)
    assert yolo.inference_model() is not first


def test_precision_options_are_checked(tiny_voc_weights) -> None:
    for kwargs, words in [({"precision": "int8"}, "precision='int8'"), ({"precision": "fp16"}, "CUDA"),
                          ({"precision": "bf16", "fuse": False}, "fuse=True"),
                          ({"compile": True, "fuse": False}, "fuse=True")]:
        with pytest.raises(Yolo9000Error) as e:
            YOLO("yolov2-tiny-voc", tiny_voc_weights, **kwargs)
        assert words in str(e.value) and "\n" not in str(e.value)


def test_fp32_default_is_the_packed_copy(tiny_voc_weights) -> None:
    yolo = YOLO("yolov2-tiny-voc", tiny_voc_weights)
    assert (yolo.precision, yolo.compile) == ("fp32", False)
    assert isinstance(yolo.inference_model(), Darknet)


@pytest.mark.slow  # Inductor's C++ compile takes ~20 s on 2 cores with a cold cache
def test_compiled_copy_matches_eager(tiny_voc_weights, reference_dir) -> None:
    eager = YOLO("yolov2-tiny-voc", tiny_voc_weights)
    compiled = YOLO("yolov2-tiny-voc", tiny_voc_weights, compile=True)
    x = torch.rand(2, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ref, out = eager.inference_model()(x), compiled.inference_model()(x)
        with torch.profiler.profile() as prof:
            compiled.inference_model()(x)
    assert (out - ref).abs().max() <= 1e-4
    # weights frozen and pre-packed by Inductor: oneDNN's pointwise conv, not a per-call weight re-layout
    ops = {e.key for e in prof.key_averages()}
    if torch.backends.mkldnn.is_available():
        assert "mkldnn::_convolution_pointwise" in ops and "aten::mkldnn_convolution" not in ops
    a, b = dog_results(eager, reference_dir, 128), dog_results(compiled, reference_dir, 128)
    assert torch.equal(a.class_ids, b.class_ids) and torch.allclose(a.xyxy, b.xyxy, atol=1e-2, rtol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_half_precision_close_to_fp32(tiny_voc_weights, precision: str) -> None:
    fp32 = YOLO("yolov2-tiny-voc", tiny_voc_weights, device="cuda")
    half = YOLO("yolov2-tiny-voc", tiny_voc_weights, device="cuda", precision=precision)
    x = torch.rand(1, 3, 416, 416, device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ref, out = fp32.inference_model()(x), half.inference_model()(x)
    assert out.dtype == torch.float32 and (out - ref).abs().max() <= 0.03 * ref.abs().max()
