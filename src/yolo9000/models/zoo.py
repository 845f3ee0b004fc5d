"""The model zoo, declared in Python: each factory returns the :class:`DarknetConfig` of one network.

Layer order is darknet's cfg order, so these configs and darknet's ``.cfg`` files build identical
modules and read the same ``.weights``. Anchors are in grid-cell units.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from yolo9000.errors import UnknownNameError
from yolo9000.models.darknet import (
    AvgPoolSpec,
    ConvSpec,
    DarknetConfig,
    LayerSpec,
    MaxPoolSpec,
    NetSpec,
    RegionSpec,
    ReorgSpec,
    RouteSpec,
    SoftmaxSpec,
)
from yolo9000.names import bundled, default_names

VOC_ANCHORS = (1.3221, 1.73145, 3.19275, 4.00944, 5.05587, 8.09892, 9.47112, 4.84053, 11.2364, 10.0071)
COCO_ANCHORS = (0.57273, 0.677385, 1.87446, 2.06253, 3.33843, 5.47434, 7.88282, 3.52778, 9.77052, 9.16828)
PAPER_VOC_ANCHORS = (1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52)
# yolov2-nano16's priors: k-means (1 - IoU) of the demo's 2,000 generated training images (yolo9000 shapes,
# seed 0, 160 px), in cells of 16 px at 160 (yolo9000 anchors --data runs/shapes-data/shapes.yaml --imgsz 160
# gives them in 32 px cells, half these values)
NANO16_ANCHORS = (1.1345, 1.126, 1.6425, 1.6364, 2.254, 2.2529, 2.9718, 2.9599, 3.7647, 3.7622)
YOLO9000_ANCHORS = (0.77871, 1.14074, 3.00525, 4.31277, 9.22725, 9.61974)


def conv(filters: int, size: int = 3, stride: int = 1, width: float = 1.0) -> ConvSpec:
    """Conv + BN + leaky 0.1 with 'same' padding, the building block of every network here; ``width``
    scales the filters (at least 1)."""
    return ConvSpec(max(1, round(filters * width)), size, stride, size // 2, batch_normalize=True,
                    activation="leaky")


def head_conv(filters: int) -> ConvSpec:
    """The final 1x1 linear convolution with bias (no BN)."""
    return ConvSpec(filters, 1, 1, 0, batch_normalize=False, activation="linear")


def pool(stride: int = 2) -> MaxPoolSpec:
    return MaxPoolSpec(size=2, stride=stride, padding=1)


def darknet19_backbone(width: float = 1.0) -> tuple[LayerSpec, ...]:
    """Darknet-19's 23 feature layers (18 convolutions, 5 max pools): 416 -> 13x13x1024 (x ``width``)."""
    def c(filters: int, size: int = 3) -> ConvSpec:
        return conv(filters, size, width=width)

    return (
        c(32), pool(),
        c(64), pool(),
        c(128), c(64, 1), c(128), pool(),
        c(256), c(128, 1), c(256), pool(),
        c(512), c(256, 1), c(512), c(256, 1), c(512), pool(),  # layer 16: 26x26x512
        c(1024), c(512, 1), c(1024), c(512, 1), c(1024),
    )


def region(anchors: tuple[float, ...], classes: int, jitter: float = 0.3, random: bool = True,
           tree: str | None = None, map_file: str | None = None, rescore: bool = True) -> RegionSpec:
    return RegionSpec(anchors=anchors, classes=classes, num=len(anchors) // 2, coords=4, softmax=True,
                      tree=tree, map=map_file, jitter=jitter, rescore=rescore, object_scale=5.0,
                      noobject_scale=1.0, class_scale=1.0, coord_scale=1.0, thresh=0.6, absolute=True,
                      random=random, bias_match=True)


def detector_net(size: int = 416, max_batches: int = 80200, steps: tuple[int, ...] = (40000, 60000),
                 saturation: float = 1.5, exposure: float = 1.5) -> NetSpec:
    """[net] of darknet's YOLOv2 training cfgs: batch 64 / 8 subdivisions, burn-in 1000, steps x0.1."""
    return NetSpec(width=size, height=size, channels=3, batch=64, subdivisions=8, momentum=0.9,
                   decay=0.0005, learning_rate=0.001, burn_in=1000, max_batches=max_batches,
                   policy="steps", steps=steps, scales=(0.1,) * len(steps), angle=0.0,
                   saturation=saturation, exposure=exposure, hue=0.1)


def yolov2(name: str, classes: int, anchors: tuple[float, ...], size: int = 416,
           width: float = 1.0) -> DarknetConfig:
    """Darknet's released YOLOv2: passthrough 26x26x512 -> 1x1 conv 64 -> reorg -> 13x13x256 (channel
    counts x ``width``)."""
    def c(filters: int, size: int = 3) -> ConvSpec:
        return conv(filters, size, width=width)

    layers = darknet19_backbone(width) + (
        c(1024), c(1024),                         # 23, 24
        RouteSpec((-9,)),                         # 25 -> layer 16 (26x26x512)
        c(64, 1),                                 # 26
        ReorgSpec(2),                             # 27: 13x13x256
        RouteSpec((-1, -4)),                      # 28: reorg + layer 24 -> 1280 channels
        c(1024),                                  # 29
        head_conv(len(anchors) // 2 * (5 + classes)),
        region(anchors, classes),
    )
    steps = (40000, 60000) if classes == 20 else (400000, 450000)
    net = detector_net(size, 80200 if classes == 20 else 500200, steps)
    return DarknetConfig(name, net, layers, default_names(classes))


def yolov2_paper(name: str, classes: int, anchors: tuple[float, ...]) -> DarknetConfig:
    """The paper's YOLOv2: reorg of the 26x26x512 map straight to 13x13x2048, 3072-channel concat."""
    layers = darknet19_backbone() + (
        conv(1024), conv(1024),                   # 23, 24
        RouteSpec((-9,)),                         # 25 -> layer 16
        ReorgSpec(2),                             # 26: 13x13x2048
        RouteSpec((-1, -3)),                      # 27: 2048 + 1024 = 3072 channels
        conv(1024),                               # 28
        head_conv(len(anchors) // 2 * (5 + classes)),
        region(anchors, classes, jitter=0.2, random=False),
    )
    net = detector_net(416, 45000, (100, 25000, 35000))
    net = replace(net, learning_rate=0.0001, burn_in=0, scales=(10.0, 0.1, 0.1))
    return DarknetConfig(name, net, layers, default_names(classes))


def yolov2_tiny(name: str, classes: int, anchors: tuple[float, ...], penultimate: int) -> DarknetConfig:
    """Tiny YOLOv2: six conv/pool stages (the last pool 2/1), two 3x3 convs, the head."""
    layers = (
        conv(16), pool(), conv(32), pool(), conv(64), pool(), conv(128), pool(), conv(256), pool(),
        conv(512), pool(stride=1),
        conv(1024), conv(penultimate),
        head_conv(len(anchors) // 2 * (5 + classes)),
        region(anchors, classes, jitter=0.2, random=True, rescore=classes == 20),
    )
    net = detector_net(416, 40200 if classes == 20 else 500200)
    return DarknetConfig(name, net, layers, default_names(classes))


def yolov2_nano(name: str = "yolov2-nano", classes: int = 20) -> DarknetConfig:
    """Not a darknet release: tiny YOLOv2's layout at half width (8 ... 256, then 512 and 256), about an
    eighth of its arithmetic. Sized for the generated-shapes demo and quick experiments on a CPU."""
    layers = (
        conv(8), pool(), conv(16), pool(), conv(32), pool(), conv(64), pool(), conv(128), pool(),
        conv(256), pool(stride=1),
        conv(512), conv(256),
        head_conv(len(PAPER_VOC_ANCHORS) // 2 * (5 + classes)),
        region(PAPER_VOC_ANCHORS, classes, jitter=0.2, random=True, rescore=True),
    )
    return DarknetConfig(name, detector_net(416, 40200), layers, default_names(classes))


def yolov2_nano16(name: str = "yolov2-nano16", classes: int = 20) -> DarknetConfig:
    """Not a darknet release: yolov2-nano with its fifth stride-2 pool taken out, so the grid is one cell
    per 16 px (10x10 at 160), and its last two convolutions halved (256, 128) to keep its arithmetic. On
    small inputs a 32 px cell holds too little of an object for the class head: on the 160 px shapes
    demo nano's class accuracy at an object's cell stays near chance (0.44 after 1,000 batches) where this
    one reaches 0.81 after 800. The demo's network, with the demo set's k-means anchors."""
    layers = (
        conv(8), pool(), conv(16), pool(), conv(32), pool(), conv(64), pool(),
        conv(128), pool(stride=1),
        conv(256), conv(128),
        head_conv(len(NANO16_ANCHORS) // 2 * (5 + classes)),
        region(NANO16_ANCHORS, classes, jitter=0.2, random=True, rescore=True),
    )
    return DarknetConfig(name, detector_net(416, 40200), layers, default_names(classes))


def yolov2_micro(name: str = "yolov2-micro", classes: int = 20) -> DarknetConfig:
    """Not a darknet release: darknet's released YOLOv2 (Darknet-19 and the passthrough) at an eighth of its
    width (4 ... 128 channels, the passthrough's 1x1 conv 8), about 1/60 of its arithmetic. The smallest
    network with every mechanism of the paper's Table 2 that can be switched off (batch norm, passthrough),
    sized for ``benchmarks/ablation.py`` on two CPU cores."""
    return yolov2(name, classes, PAPER_VOC_ANCHORS, width=1 / 8)


def yolo9000_config() -> DarknetConfig:
    """YOLO9000: Darknet-19 features, 3 anchors, a 9418-way WordTree head, no passthrough."""
    classes = 9418
    layers = darknet19_backbone() + (
        head_conv(3 * (5 + classes)),
        region(YOLO9000_ANCHORS, classes, jitter=0.2, tree=str(bundled("9k.tree")),
               map_file=str(bundled("coco9k.map"))),
    )
    net = detector_net(544, 500200, (400000, 450000), saturation=0.75, exposure=0.75)
    net = replace(net, batch=1, subdivisions=1)
    return DarknetConfig("yolo9000", net, layers, default_names(classes))


def darknet19(size: int = 224, name: str = "darknet19") -> DarknetConfig:
    """Darknet-19 ImageNet classifier; 224 and 448 share the same weights."""
    layers = darknet19_backbone() + (head_conv(1000), AvgPoolSpec(), SoftmaxSpec())
    net = NetSpec(width=size, height=size, channels=3, batch=128, subdivisions=2, momentum=0.9, decay=0.0005,
                  learning_rate=0.1 if size < 448 else 0.001, burn_in=1000 if size < 448 else 0,
                  max_batches=800000 if size < 448 else 100000, policy="poly", power=4.0,
                  angle=7.0, hue=0.1, saturation=0.75, exposure=0.75, aspect=0.75)
    return DarknetConfig(name, net, layers, default_names(1000))


ZOO: dict[str, Callable[[], DarknetConfig]] = {
    "darknet19": lambda: darknet19(224),
    "darknet19-448": lambda: darknet19(448, "darknet19-448"),
    "yolov2-voc": lambda: yolov2("yolov2-voc", 20, VOC_ANCHORS),
    "yolov2-coco": lambda: yolov2("yolov2-coco", 80, COCO_ANCHORS),
    "yolov2-paper-voc": lambda: yolov2_paper("yolov2-paper-voc", 20, PAPER_VOC_ANCHORS),
    "yolov2-tiny-voc": lambda: yolov2_tiny("yolov2-tiny-voc", 20, PAPER_VOC_ANCHORS, 1024),
    "yolov2-tiny-coco": lambda: yolov2_tiny("yolov2-tiny-coco", 80, COCO_ANCHORS, 512),
    "yolo9000": yolo9000_config,
    "yolov2-nano": yolov2_nano,
    "yolov2-nano16": yolov2_nano16,
    "yolov2-micro": yolov2_micro,
}


def zoo_config(name: str) -> DarknetConfig:
    """Config of a zoo network by name; raises :class:`~yolo9000.errors.UnknownNameError` (a ``KeyError``)
    listing the names if unknown."""
    if name not in ZOO:
        raise UnknownNameError(f"{name}: not a zoo model; the zoo has: {', '.join(ZOO)}")
    return ZOO[name]()
