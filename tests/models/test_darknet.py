"""The zoo, the layer semantics (reorg, tiny max pool) and the model's forward contract."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from yolo9000.models import ZOO, Darknet, darknet_float_count, zoo_config
from yolo9000.models.darknet import (
    ConvSpec, DarknetConfig, MaxPoolDarknet, MaxPoolSpec, NetSpec, check_config, imgsz_problem, layer_channels, reorg,
)

FLOATS = {"yolov2-voc": 50_676_061, "yolov2-coco": 50_983_561, "yolov2-tiny-voc": 15_867_885,
          "yolov2-tiny-coco": 11_237_145, "yolo9000": 48_807_501, "darknet19": 20_856_776,
          "darknet19-448": 20_856_776, "yolov2-paper-voc": 67_158_109,
          "yolov2-nano": 2_789_557,  # nano: 248+1216+4736+18688+74240+295936+1181696+1180672+32125, by hand
          "yolov2-nano16": 706_613,  # 248+1216+4736+18688+74240+295936+295424+16125, by hand
          # yolov2-voc at 1/8 width: 124+320+1216+160+1216+4736+576+4736+18688+2176+18688+2176+18688+74240+8448
          # +74240+8448+74240+147968+147968 (passthrough: 544, reorg to 32 + 128 = 160 channels) +184832+16125
          "yolov2-micro": 810_553}


@pytest.mark.parametrize("name", sorted(FLOATS))
def test_darknet_float_counts(name: str) -> None:
    assert darknet_float_count(Darknet(zoo_config(name))) == FLOATS[name]


def test_zoo_has_every_network() -> None:
    assert set(FLOATS) == set(ZOO)


def test_paper_architecture_concatenates_3072_channels() -> None:
    m = Darknet(zoo_config("yolov2-paper-voc"))
    assert m.layers[28].conv.in_channels == 3072
    released = Darknet(zoo_config("yolov2-voc"))
    assert released.layers[29].conv.in_channels == 1280
    r = zoo_config("yolov2-paper-voc").region
    assert r.anchors == (1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52)


def test_yolo9000_head() -> None:
    c = zoo_config("yolo9000")
    assert c.region.num == 3 and c.region.classes == 9418 and c.layers[-2].filters == 3 * 9423
    assert c.tree is not None and len(c.names) == 9418


@pytest.mark.parametrize("name,size,out", [("yolov2-voc", (320, 320), (125, 10, 10)),
                                           ("yolov2-tiny-voc", (608, 416), (125, 19, 13)),
                                           ("yolov2-paper-voc", (352, 352), (125, 11, 11))])
def test_any_multiple_of_32(name: str, size: tuple[int, int], out: tuple[int, int, int]) -> None:
    m = Darknet(zoo_config(name)).eval()
    with torch.inference_mode():
        y = m(torch.rand(2, 3, *size))
    assert y.shape == (2, *out)


def test_classifier_returns_logits() -> None:
    m = Darknet(zoo_config("darknet19")).eval()
    with torch.inference_mode():
        assert m(torch.rand(1, 3, 224, 224)).shape == (1, 1000)
        assert m(torch.rand(1, 3, 448, 448)).shape == (1, 1000)


def test_reorg_is_not_pixel_unshuffle() -> None:
    x = torch.arange(2 * 8 * 4 * 4, dtype=torch.float32).view(2, 8, 4, 4)
    y = reorg(x, 2)
    assert y.shape == (2, 32, 2, 2)
    assert not torch.equal(y, F.pixel_unshuffle(x, 2))
    assert torch.equal(torch.sort(y.flatten()).values, torch.sort(x.flatten()).values)
    # darknet's reorg_cpu(forward=0 path as called): out[b, c2, h2, w2] from in index
    b, c, h, w, s = 2, 8, 4, 4, 2
    out_c = c // (s * s)
    ref = torch.empty(b * c * h * w)
    flat_in = x.flatten()
    for bb in range(b):
        for k in range(c):
            for j in range(h):
                for i in range(w):
                    in_index = i + w * (j + h * (k + c * bb))
                    c2 = k % out_c
                    offset = k // out_c
                    w2 = i * s + offset % s
                    h2 = j * s + offset // s
                    out_index = w2 + w * s * (h2 + h * s * (c2 + out_c * bb))
                    ref[in_index] = flat_in[out_index]
    assert torch.equal(y.flatten(), ref)


def test_reorg_against_darknet_layer(reference_dir, weights_dir) -> None:
    d = reference_dir / "cases" / "yolov2-voc_416_dog"
    x = torch.from_numpy(np.load(d / "layer_26_conv.npy"))
    assert torch.equal(reorg(x, 2), torch.from_numpy(np.load(d / "layer_27_reorg.npy")))


def test_maxpool_size2_stride1_pads_bottom_right() -> None:
    pool = MaxPoolDarknet(MaxPoolSpec(size=2, stride=1, padding=1))
    x = torch.tensor([[[[1.0, 5.0], [3.0, -2.0]]]])
    assert torch.equal(pool(x), torch.tensor([[[[5.0, 5.0], [3.0, -2.0]]]]))
    x = -torch.rand(1, 4, 13, 13) - 1  # all negative: padding must be -inf, not 0
    y = pool(x)
    assert y.shape == x.shape and (y < 0).all()


def test_maxpool_against_darknet_layer(reference_dir) -> None:
    d = reference_dir / "cases" / "yolov2-tiny-voc_416_dog"
    x = torch.from_numpy(np.load(d / "layer_10_conv.npy"))
    y = MaxPoolDarknet(MaxPoolSpec(2, 1, 1))(x)
    assert torch.equal(y, torch.from_numpy(np.load(d / "layer_11_maxpool.npy")))


def test_fresh_init_is_seeded_and_darknet_scaled() -> None:
    torch.manual_seed(0)
    a = Darknet(zoo_config("yolov2-tiny-voc"))
    torch.manual_seed(0)
    b = Darknet(zoo_config("yolov2-tiny-voc"))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    w = a.layers[12].conv.weight.detach()
    assert abs(float(w.std()) - (2 / w[0].numel()) ** 0.5) < 0.01 * (2 / w[0].numel()) ** 0.5 + 1e-4


# ----------------------------------------------------------------------------- sizes no network runs (issue 22)
def test_imgsz_problem_bounds_the_input() -> None:
    assert imgsz_problem(416, 32) is None and imgsz_problem(8192, 32) is None and imgsz_problem(32, 32) is None
    need = ("must be a positive multiple of 32 up to 8192 (a larger input needs tens of GB for the network's "
            "activations)")
    for bad in (0, -32, 16, 100, 8224, 1 << 20, 2**70):
        assert imgsz_problem(bad, 32) == need, bad
    assert imgsz_problem(48, 16) is None and imgsz_problem(8192 + 16, 16) is not None


def test_layer_channels_follow_routes_and_reorgs() -> None:
    # conv 1024, route to layer 16 (512), conv 64, reorg (x4), route 27 + 24, conv 1024, conv 125, region
    assert layer_channels(zoo_config("yolov2-voc"))[-8:] == [1024, 512, 64, 256, 1280, 1024, 125, 125]
    assert layer_channels(zoo_config("yolov2-voc"))[0] == 32


@pytest.mark.parametrize("layers, message", [
    ((ConvSpec(8, 3, 1, -1),), "layer 0 (convolutional): padding=-1 must be >= 0"),
    ((ConvSpec(8), MaxPoolSpec(2, 2, -2)), "layer 1 (maxpool): padding=-2 must be >= 0"),
    ((ConvSpec(8, 1, 64), MaxPoolSpec(2, 256, 1)),
     "layer 1 (maxpool): stride=256 brings the network's total stride to 16,384, above the largest input size 8192"),
    ((ConvSpec(1024), ConvSpec(1 << 20, 3)),
     "layer 1 (convolutional): filters=1048576 would hold 9,663,676,416 weights (1048576 filters x 1024 channels x "
     "3x3), more than 2,147,483,648"),
])
def test_check_config_refuses_what_no_network_runs(layers: tuple, message: str) -> None:
    with pytest.raises(ValueError) as e:
        check_config(DarknetConfig("x", NetSpec(), layers))
    assert str(e.value) == message
