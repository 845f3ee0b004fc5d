"""Darknet-style networks: layer specs (frozen dataclasses), blocks, and the model that walks them.

Every network in the zoo and every parsed darknet ``.cfg`` becomes a :class:`DarknetConfig`: the
``[net]`` options and a tuple of layer specs in cfg order. :class:`Darknet` builds one module per spec,
in the same order (``model.layers[i]`` is darknet's layer ``i``), so weight I/O is a plain walk over
the convolutions.

``Darknet.forward`` is pure tensor in, tensor out: (B, 3, H, W) -> the raw head. For detectors that is
(B, A*(5+C), H/32, W/32) in darknet's channel order (``a*(5+C) + k``; k = tx, ty, tw, th, to, classes),
before any activation. For classifiers it is the (B, C) logits. Activations live in
:mod:`yolo9000.ops.region`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral
from typing import Any, Union

import torch
import torch.nn.functional as F
from torch import nn

from yolo9000.errors import ConfigError, Yolo9000Error
from yolo9000.ops.boxes import LOCATIONS

ACTIVATIONS = ("leaky", "linear", "relu", "logistic")


# ----------------------------------------------------------------------------- config dataclasses
@dataclass(frozen=True)
class NetSpec:
    """The ``[net]`` section: input size and the training hyper-parameters darknet reads from it."""

    width: int = 416
    height: int = 416
    channels: int = 3
    batch: int = 1
    subdivisions: int = 1
    momentum: float = 0.9
    decay: float = 0.0005
    learning_rate: float = 0.001
    burn_in: int = 0
    max_batches: int = 0
    policy: str = "constant"
    steps: tuple[int, ...] = ()
    scales: tuple[float, ...] = ()
    power: float = 4.0
    angle: float = 0.0
    saturation: float = 1.0
    exposure: float = 1.0
    hue: float = 0.0
    aspect: float = 1.0
    min_crop: int = 0
    max_crop: int = 0


@dataclass(frozen=True)
class ConvSpec:
    """``[convolutional]``: conv (no bias when batch-normalised) -> [BN] -> activation."""

    filters: int
    size: int = 1
    stride: int = 1
    padding: int = 0
    batch_normalize: bool = False
    activation: str = "linear"


@dataclass(frozen=True)
class MaxPoolSpec:
    """``[maxpool]``; darknet pads ``padding`` (default size-1) cells, ``padding // 2`` of them top/left."""

    size: int = 2
    stride: int = 2
    padding: int = 1


@dataclass(frozen=True)
class AvgPoolSpec:
    """``[avgpool]``: global average over the whole map."""


@dataclass(frozen=True)
class RouteSpec:
    """``[route]``: channel concatenation of earlier layers (indices as written: negative = relative)."""

    layers: tuple[int, ...]


@dataclass(frozen=True)
class ReorgSpec:
    """``[reorg]``: darknet's space-to-depth (not ``pixel_unshuffle``'s channel order)."""

    stride: int = 2


@dataclass(frozen=True)
class SoftmaxSpec:
    """``[softmax]`` (classifier head); ``tree`` turns it into a per-group WordTree softmax."""

    groups: int = 1
    temperature: float = 1.0
    tree: str | None = None


@dataclass(frozen=True)
class CostSpec:
    """``[cost]``: a training-only layer; identity at inference."""

    type: str = "sse"
    scale: float = 1.0


@dataclass(frozen=True)
class RegionSpec:
    """``[region]``: YOLOv2's detection head and loss options. Anchors are (w, h) pairs in grid cells."""

    anchors: tuple[float, ...]
    classes: int = 20
    num: int = 5
    coords: int = 4
    softmax: bool = True
    tree: str | None = None
    map: str | None = None
    jitter: float = 0.2
    rescore: bool = False
    object_scale: float = 1.0
    noobject_scale: float = 1.0
    class_scale: float = 1.0
    coord_scale: float = 1.0
    thresh: float = 0.5
    absolute: bool = False
    random: bool = False
    bias_match: bool = False
    location: str = "direct"  # ops.boxes.LOCATIONS; not a darknet option (the cfg writer refuses "offset")

    @property
    def anchors_grid(self) -> tuple[tuple[float, float], ...]:
        """Anchors as ``num`` (w, h) pairs, in grid-cell units."""
        a = self.anchors
        return tuple((a[2 * i], a[2 * i + 1]) for i in range(self.num))


LayerSpec = Union[ConvSpec, MaxPoolSpec, AvgPoolSpec, RouteSpec, ReorgSpec, SoftmaxSpec, CostSpec, RegionSpec]


@dataclass(frozen=True)
class DarknetConfig:
    """A whole network: ``[net]`` plus layers in cfg order, and optionally its class names."""

    name: str = field(compare=False)
    net: NetSpec
    layers: tuple[LayerSpec, ...]
    names: tuple[str, ...] = field(default=(), compare=False)

    @property
    def region(self) -> RegionSpec | None:
        """The detection head, if this is a detector (it must be the last layer)."""
        last = self.layers[-1] if self.layers else None
        return last if isinstance(last, RegionSpec) else None

    @property
    def num_classes(self) -> int:
        """Classes predicted: the region's ``classes``, or the last conv's filters for a classifier."""
        if self.region is not None:
            return self.region.classes
        convs = [s for s in self.layers if isinstance(s, ConvSpec)]
        return convs[-1].filters if convs else 0

    @property
    def tree(self) -> str | None:
        """Path of the WordTree file used by the head, if any."""
        last = self.layers[-1] if self.layers else None
        return getattr(last, "tree", None)


# ----------------------------------------------------------------------------- blocks
class ConvBlock(nn.Module):
    """Darknet convolution: ``conv -> BatchNorm2d(eps=1e-5) -> activation``; bias only without BN."""

    def __init__(self, in_channels: int, spec: ConvSpec) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, spec.filters, spec.size, spec.stride, spec.padding,
                              bias=not spec.batch_normalize)
        # darknet's rolling statistics: rolling = 0.99 * rolling + 0.01 * batch
        self.bn = nn.BatchNorm2d(spec.filters, eps=1e-5, momentum=0.01) if spec.batch_normalize else None
        self.activation = spec.activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.activation == "leaky":
            return F.leaky_relu(x, 0.1, inplace=True)
        if self.activation == "relu":
            return F.relu(x, inplace=True)
        if self.activation == "logistic":
            return torch.sigmoid(x)
        return x


class MaxPoolDarknet(nn.Module):
    """Darknet max pool: output ``(n + padding - size) // stride + 1``, ``padding // 2`` pad on top/left.

    With size 2, stride 1 (tiny YOLO) this pads one row and column on the bottom right.
    """

    def __init__(self, spec: MaxPoolSpec) -> None:
        super().__init__()
        self.size, self.stride, self.padding = spec.size, spec.stride, spec.padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        lead = self.padding // 2
        out_h = (h + self.padding - self.size) // self.stride + 1
        out_w = (w + self.padding - self.size) // self.stride + 1
        pad_b = max(0, (out_h - 1) * self.stride + self.size - h - lead)
        pad_r = max(0, (out_w - 1) * self.stride + self.size - w - lead)
        if lead or pad_b or pad_r:
            x = F.pad(x, (lead, pad_r, lead, pad_b), value=float("-inf"))
        return F.max_pool2d(x, self.size, self.stride)


class GlobalAvgPool(nn.Module):
    """Darknet ``[avgpool]``: (B, C, H, W) -> (B, C, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3), keepdim=True)


class Route(nn.Module):
    """Concatenates earlier layers' outputs along channels; ``sources`` are absolute layer indices."""

    def __init__(self, sources: tuple[int, ...]) -> None:
        super().__init__()
        self.sources = sources

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return xs[0] if len(xs) == 1 else torch.cat(xs, dim=1)


def reorg(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Darknet's reorg: (B, C, H, W) -> (B, C*s*s, H/s, W/s), darknet's channel order.

    Darknet calls its reorg kernel with swapped shape arguments, so the memory is regrouped as
    (C/s^2, H, s, W, s); this is not ``pixel_unshuffle``.
    """
    b, c, h, w = x.shape
    s = stride
    return x.reshape(b, c // (s * s), h, s, w, s).permute(0, 3, 5, 1, 2, 4).reshape(b, c * s * s, h // s, w // s)


class Reorg(nn.Module):
    """Module form of :func:`reorg`."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reorg(x, self.stride)


class Flatten(nn.Module):
    """Classifier head: (B, C, 1, 1) -> (B, C) logits; the softmax is applied after the forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class Identity(nn.Module):
    """Region and cost layers at inference: the raw head passes through untouched."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


# ----------------------------------------------------------------------------- model
class Darknet(nn.Module):
    """A darknet network built from a :class:`DarknetConfig`, one module per cfg layer."""

    def __init__(self, config: DarknetConfig) -> None:
        super().__init__()
        self.config = config
        check_config(config)
        layers: list[nn.Module] = []
        channels: list[int] = []
        c = config.net.channels
        for i, spec in enumerate(config.layers):
            if isinstance(spec, ConvSpec):
                layers.append(ConvBlock(c, spec))
                c = spec.filters
            elif isinstance(spec, MaxPoolSpec):
                layers.append(MaxPoolDarknet(spec))
            elif isinstance(spec, AvgPoolSpec):
                layers.append(GlobalAvgPool())
            elif isinstance(spec, RouteSpec):
                sources = route_sources(spec, i)
                layers.append(Route(sources))
                c = sum(channels[j] for j in sources)
            elif isinstance(spec, ReorgSpec):
                layers.append(Reorg(spec.stride))
                c = c * spec.stride ** 2
            elif isinstance(spec, SoftmaxSpec):
                layers.append(Flatten())
            else:  # RegionSpec, CostSpec
                layers.append(Identity())
            channels.append(c)
        self.layers = nn.ModuleList(layers)
        self.out_channels = c
        self._keep = frozenset(j for m in layers if isinstance(m, Route) for j in m.sources)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Darknet's initialisation: conv weights ~ N(0, 2/fan_in), BN scale 1 and shift 0, biases 0."""
        for block in conv_blocks(self):
            fan_in = block.conv.weight[0].numel()
            nn.init.normal_(block.conv.weight, 0.0, (2.0 / fan_in) ** 0.5)
            if block.conv.bias is not None:
                nn.init.zeros_(block.conv.bias)
            if block.bn is not None:
                block.bn.reset_parameters()
                block.bn.reset_running_stats()

    @property
    def region(self) -> RegionSpec | None:
        return self.config.region

    @property
    def stride(self) -> int:
        """Total down-sampling factor: input sizes must be multiples of it."""
        return config_stride(self.config)

    def param_groups(self, decay: float) -> list[dict[str, Any]]:
        """The optimizer's two groups, as darknet decays: ``decay`` on the convolution weights, none on biases
        and batch norm."""
        conv_w = [m.conv.weight for m in self.modules() if isinstance(m, ConvBlock)]
        ids = {id(p) for p in conv_w}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": conv_w, "weight_decay": decay}, {"params": rest, "weight_decay": 0.0}]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float in [0, 1] -> raw head (B, A*(5+C), H/32, W/32), or (B, C) logits."""
        saved: dict[int, torch.Tensor] = {}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Route):
                x = layer([saved[j] for j in layer.sources])
            else:
                x = layer(x)
            if i in self._keep:
                saved[i] = x
        return x


# ----------------------------------------------------------------------------- checks and counts
def route_sources(spec: RouteSpec, index: int) -> tuple[int, ...]:
    """Absolute layer indices of a route at position ``index`` (darknet: negative = relative)."""
    return tuple(index + j if j < 0 else j for j in spec.layers)


def spatial_scales(config: DarknetConfig) -> list[Fraction]:
    """Each layer's output size as a fraction of the input size (1/32 at a YOLOv2 head)."""
    scale = Fraction(1)
    scales: list[Fraction] = []
    for i, spec in enumerate(config.layers):
        if isinstance(spec, (ConvSpec, MaxPoolSpec, ReorgSpec)):
            scale /= spec.stride
        elif isinstance(spec, RouteSpec):
            scale = scales[route_sources(spec, i)[0]]
        scales.append(scale)
    return scales


def bad_anchor(anchors: tuple[float, ...]) -> int | None:
    """Index of the first anchor value that is not a finite positive number, or None if all are."""
    return next((k for k, v in enumerate(anchors) if not (math.isfinite(v) and v > 0)), None)


MAX_CONV_WEIGHTS = 2**31  # 8 GiB of float32 in one layer: a typo in a cfg, not a network (yolov2's largest: 11.8M)
#: the largest network input side, in pixels: YOLOv2's first layer alone holds 8.6 GB of float32 activations
#: for one 8192x8192 image (darknet's own sizes are 288 to 608)
MAX_IMGSZ = 8192


def imgsz_problem(imgsz: int, stride: int) -> str | None:
    """What is wrong with the square input size ``imgsz`` for a network of total ``stride``, or None.

    Returns a phrase to follow ``<flag> <value>:`` (``"must be a positive multiple of 32 ..."``).
    """
    if isinstance(imgsz, bool) or not isinstance(imgsz, Integral):
        return ("must be one whole number, the side of the square network input (a rectangular (h, w) input is "
                "not supported)")
    if imgsz < stride or imgsz % stride or imgsz > MAX_IMGSZ:
        return (f"must be a positive multiple of {stride} up to {MAX_IMGSZ} (a larger input needs tens of GB for "
                f"the network's activations)")
    return None


def layer_channels(config: DarknetConfig) -> list[int]:
    """The output channels of every layer of ``config``, in cfg order (routes sum their sources'; a
    route naming a layer not yet built counts 0, which :func:`check_config` reports)."""
    c = config.net.channels
    out: list[int] = []
    for i, spec in enumerate(config.layers):
        if isinstance(spec, ConvSpec):
            c = spec.filters
        elif isinstance(spec, RouteSpec):
            c = sum(out[j] for j in route_sources(spec, i) if 0 <= j < i)
        elif isinstance(spec, ReorgSpec):
            c = c * spec.stride ** 2
        out.append(c)
    return out


def require_rgb(config: DarknetConfig, source: str) -> None:
    """Raise a one-line error (naming ``source``) unless the network takes 3-channel input: predict and
    training feed it RGB images."""
    if config.net.channels != 3:
        raise Yolo9000Error(f"{source}: the network takes {config.net.channels}-channel input ([net] channels="
                            f"{config.net.channels}); yolo9000 feeds it RGB images (3 channels)")


def config_stride(config: DarknetConfig) -> int:
    """Total down-sampling factor of a network (32 for YOLOv2 and Darknet-19)."""
    spatial = [s for s, spec in zip(spatial_scales(config), config.layers)
               if not isinstance(spec, (AvgPoolSpec, SoftmaxSpec, CostSpec, RegionSpec))]
    return int(1 / spatial[-1]) if spatial else 1


def native_imgsz(config: DarknetConfig) -> int:
    """The square input size a network was trained and validated at, which predict, val, export and
    benchmark use unless told otherwise: its cfg's ``[net] width``/``height`` (darknet's ``detector valid``
    and ``test`` size; our checkpoints write their validation size there), the larger side when the two
    differ, rounded to the nearest multiple of the stride (at least one stride)."""
    stride = config_stride(config)
    side = max(config.net.width, config.net.height)
    return max(stride, int(round(side / stride)) * stride)


def check_config(config: DarknetConfig) -> None:
    """Validate layer wiring; raises :class:`~yolo9000.errors.ConfigError` (a ``ValueError``) naming the layer
    index and the problem."""
    net = config.net
    if net.channels < 1 or net.width < 1 or net.height < 1:
        raise ConfigError(f"[net] width, height and channels must be positive (got {net.width}x{net.height}x"
                          f"{net.channels})")
    for i, spec in enumerate(config.layers):
        if isinstance(spec, ConvSpec):
            if spec.filters < 1 or spec.size < 1 or spec.stride < 1:
                raise ConfigError(f"layer {i} (convolutional): filters, size and stride must be positive")
            if spec.activation not in ACTIVATIONS:
                raise ConfigError(f"layer {i} (convolutional): unsupported activation {spec.activation!r}")
            if spec.padding < 0:
                raise ConfigError(f"layer {i} (convolutional): padding={spec.padding} must be >= 0")
        elif isinstance(spec, (MaxPoolSpec, ReorgSpec)):
            if spec.stride < 1 or getattr(spec, "size", 1) < 1:
                raise ConfigError(f"layer {i} ({type(spec).__name__[:-4].lower()}): size and stride must be positive")
            if isinstance(spec, MaxPoolSpec) and spec.padding < 0:
                raise ConfigError(f"layer {i} (maxpool): padding={spec.padding} must be >= 0")
        elif isinstance(spec, RouteSpec):
            sources = route_sources(spec, i)
            if not sources or any(j < 0 or j >= i for j in sources):
                raise ConfigError(f"layer {i} (route): layers {spec.layers} must name earlier layers")
        elif isinstance(spec, (SoftmaxSpec, RegionSpec)) and i != len(config.layers) - 1:
            if not isinstance(config.layers[-1], CostSpec):
                raise ConfigError(f"layer {i}: {type(spec).__name__[:-4].lower()} must be the last layer")
        if isinstance(spec, RegionSpec):
            if (k := bad_anchor(spec.anchors)) is not None:
                raise ConfigError(f"layer {i} (region): anchors must be finite positive numbers, value {k + 1} is "
                                  f"{spec.anchors[k]}")
            if spec.location not in LOCATIONS:
                raise ConfigError(f"layer {i} (region): location={spec.location}: choose {' or '.join(LOCATIONS)}")
            if len(spec.anchors) != 2 * spec.num:
                raise ConfigError(f"layer {i} (region): {len(spec.anchors)} anchor values for num={spec.num} "
                                  f"(need {2 * spec.num})")
            prev = next((s for s in reversed(config.layers[:i]) if isinstance(s, ConvSpec)), None)
            want = spec.num * (spec.coords + 1 + spec.classes)
            if prev is None or prev.filters != want:
                got = prev.filters if prev else 0
                raise ConfigError(f"layer {i} (region): the last convolution has {got} filters, "
                                  f"num*(coords+1+classes) = {want}")
    scales = spatial_scales(config)
    for i, spec in enumerate(config.layers):
        if isinstance(spec, RouteSpec) and len({scales[j] for j in route_sources(spec, i)}) != 1:
            raise ConfigError(f"layer {i} (route): layers {spec.layers} have different spatial sizes")
        if 1 / scales[i] > MAX_IMGSZ:
            raise ConfigError(f"layer {i} ({_kind(spec)}): stride={getattr(spec, 'stride', 1)} brings the network's "
                              f"total stride to {int(1 / scales[i]):,}, above the largest input size {MAX_IMGSZ}")
    channels = [config.net.channels, *layer_channels(config)]
    for i, spec in enumerate(config.layers):
        if isinstance(spec, ConvSpec) and (n := spec.filters * channels[i] * spec.size ** 2) > MAX_CONV_WEIGHTS:
            raise ConfigError(f"layer {i} (convolutional): filters={spec.filters} would hold {n:,} weights "
                              f"({spec.filters} filters x {channels[i]} channels x {spec.size}x{spec.size}), more "
                              f"than {MAX_CONV_WEIGHTS:,}")


def _kind(spec: LayerSpec) -> str:
    """The cfg section name of a layer spec (``convolutional``, ``maxpool``, ...)."""
    return {ConvSpec: "convolutional", MaxPoolSpec: "maxpool", AvgPoolSpec: "avgpool", RouteSpec: "route",
            ReorgSpec: "reorg", SoftmaxSpec: "softmax", CostSpec: "cost", RegionSpec: "region"}[type(spec)]


def conv_blocks(model: nn.Module) -> list[ConvBlock]:
    """Every :class:`ConvBlock` in cfg order: the order of darknet's ``.weights`` file."""
    return [m for m in model.modules() if isinstance(m, ConvBlock)]


def darknet_float_count(model: nn.Module) -> int:
    """Floats darknet stores for ``model``: conv weights, biases, and BN scales, means and variances."""
    total = 0
    for block in conv_blocks(model):
        total += block.conv.weight.numel()
        if block.bn is not None:
            total += 4 * block.bn.num_features
        else:
            total += block.conv.bias.numel()
    return total
