"""An inference copy of a network: batch norm folded into the convolutions, channels-last memory and,
on CPU, oneDNN weights packed once with the activation fused into the convolution; optionally in
bfloat16 (``precision="bf16"``; ``"fp16"`` on CUDA) and compiled with ``torch.compile``.

Folding uses torch's own ``fuse_conv_bn_eval``. Packing uses the oneDNN ops torch's Inductor compiler
emits for frozen CPU graphs (``mkldnn._convolution_pointwise``): without it, every batch-1 call
re-lays-out all 200 MB of YOLOv2's weights, which costs about a third of the time. Results differ from
the unfolded float32 forward by float rounding only (about 1e-5 on the head), well inside darknet
parity; where the ops are unavailable the copy keeps plain folded convolutions.

Reduced precision folds in float32 first, then casts the folded weights (packed again for oneDNN on
CPU, which runs bfloat16 on AVX512-BF16 or AMX); the raw head is handed back in float32, so the decode
and NMS stay float32. ``compile=True`` compiles the folded (unpacked) copy with Inductor, freezing the
weights on CPU so that Inductor packs them itself.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from yolo9000.errors import Yolo9000Error
from yolo9000.models.darknet import ConvBlock, Darknet, conv_blocks

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# darknet activation -> (oneDNN post-op, its scalars)
_POST_OPS = {"leaky": ("leaky_relu", [0.1]), "relu": ("relu", []), "logistic": ("sigmoid", []), "linear": ("none", [])}


class PackedConv(nn.Module):
    """A folded conv + activation with its weight pre-packed for oneDNN (CPU, float32 or bfloat16 as the
    conv's weight is; inference only). Input and output: (B, C, H, W) channels-last, the conv's dtype."""

    def __init__(self, conv: nn.Conv2d, activation: str, input_hw: tuple[int, int] = (416, 416)) -> None:
        super().__init__()
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.dilation, self.groups = list(conv.dilation), conv.groups
        weight = conv.weight.detach().to_mkldnn()
        self.weight = torch._C._nn.mkldnn_reorder_conv2d_weight(
            weight, self.padding, self.stride, self.dilation, self.groups, [1, conv.in_channels, *input_hw])
        self.bias = conv.bias.detach()
        self.post_op, self.scalars = _POST_OPS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._convolution_pointwise(x, self.weight, self.bias, self.padding, self.stride,
                                                       self.dilation, self.groups, self.post_op, self.scalars, "")


def _pack(fused: Darknet) -> bool:
    """Replace every folded ConvBlock's forward with a packed conv; False (unchanged) if unsupported."""
    blocks = conv_blocks(fused)
    try:
        packed = [PackedConv(b.conv, b.activation) for b in blocks]
        dtype = blocks[0].conv.weight.dtype
        tol = 1e-4 if dtype == torch.float32 else 3e-2
        probe = torch.rand(1, blocks[0].conv.in_channels, 8, 8, dtype=dtype).contiguous(
            memory_format=torch.channels_last)
        with torch.inference_mode():
            ok = torch.allclose(packed[0](probe).float(), blocks[0](probe.clone()).float(), atol=tol, rtol=tol)
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    if not ok:
        return False
    for block, p in zip(blocks, packed):
        block.packed = p  # registered as a submodule; ConvBlock.forward is replaced below
        block.forward = p.forward  # type: ignore[method-assign]
    return True


def _can_pack(device: torch.device, dtype: torch.dtype) -> bool:
    """oneDNN packing applies on the CPU in float32, and in bfloat16 where the CPU supports it."""
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    if dtype == torch.float32:
        return True
    return dtype == torch.bfloat16 and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def fuse_for_inference(model: Darknet, channels_last: bool = True, pack: bool | None = None,
                       dtype: torch.dtype = torch.float32) -> Darknet:
    """A deep copy of ``model`` in eval mode with every conv+BN folded into one biased conv.

    The folding is done in float32; the folded copy is then cast to ``dtype`` (its forward then takes and
    returns ``dtype`` tensors). ``pack`` (default: on the CPU, in float32 or supported bfloat16)
    pre-packs weights for oneDNN.
    """
    fused = copy.deepcopy(model).eval()
    for block in conv_blocks(fused):
        if block.bn is not None:
            block.conv = fuse_conv_bn_eval(block.conv, block.bn)
            block.bn = None
    fused = fused.to(dtype)
    if channels_last:
        fused = fused.to(memory_format=torch.channels_last)
    for p in fused.parameters():
        p.requires_grad_(False)
    first = next(fused.parameters())
    if pack is None:
        pack = _can_pack(first.device, first.dtype)
    if pack:
        _pack(fused)
    return fused


class CastIO(nn.Module):
    """Runs ``net`` (whose weights are ``dtype``) on a float32 input and returns float32.

    (B, 3, H, W) float32 -> ``net``'s output (the raw head, (B, A*(5+C), H/32, W/32), or logits) in float32.
    """

    def __init__(self, net: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.net, self.dtype = net, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.dtype)).float()


def precision_dtype(precision: str, device: str | torch.device = "cpu") -> torch.dtype:
    """``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA only) -> the torch dtype; one-line error otherwise."""
    if precision not in _DTYPES:
        raise Yolo9000Error(f"precision={precision!r}: must be one of {', '.join(PRECISIONS)}")
    dev = torch.device(device)
    if precision == "fp16" and dev.type != "cuda":
        raise Yolo9000Error(f"precision='fp16': float16 inference needs a CUDA device (got {dev}); use bf16 on CPU")
    return _DTYPES[precision]


def check_inference_options(fuse: bool, precision: str, compile: bool, device: str | torch.device = "cpu") -> None:
    """Raise a one-line error for an unknown precision, or for bf16/compile without the fused copy."""
    precision_dtype(precision, device)
    if not fuse and (precision != "fp32" or compile):
        raise Yolo9000Error(f"precision={precision!r}, compile={compile}: reduced precision and torch.compile "
                            f"run on the fused inference copy; use fuse=True")


def build_inference_model(model: Darknet, precision: str = "fp32", compile: bool = False) -> nn.Module:
    """The module ``YOLO.predict`` runs: (B, 3, H, W) float32 (channels-last) -> raw head in float32.

    fp32 without compile is :func:`fuse_for_inference` exactly (packed on CPU). bf16/fp16: folded in
    float32, cast, packed on CPU where supported, wrapped in :class:`CastIO`. ``compile``: the folded,
    unpacked copy under ``torch.compile`` (Inductor; weights frozen on CPU, :class:`FrozenCompiled`).
    """
    device = next(model.parameters()).device
    dtype = precision_dtype(precision, device)
    fused = fuse_for_inference(model, pack=False if compile else None, dtype=dtype)
    net: nn.Module = fused if dtype == torch.float32 else CastIO(fused, dtype)
    if compile:
        net = FrozenCompiled(net) if device.type == "cpu" else torch.compile(net, fullgraph=True)
    return net


class FrozenCompiled(nn.Module):
    """``torch.compile`` of ``net`` with Inductor's weight freezing, for CPU inference: the weights
    become constants that Inductor pre-packs for oneDNN (without freezing it re-lays them out on every
    call, about twice as slow). Freezing is switched on around each call only, since it must be on
    when Inductor compiles (the first call, and any new input shape); the process-wide setting is left
    alone (passing ``options={"freezing": True}`` to ``torch.compile`` did not enable it in torch 2.14).

    Same input and output as ``net``.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        import torch._inductor.config as inductor_config

        self._inductor_config = inductor_config
        self.compiled = torch.compile(net, fullgraph=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self._inductor_config.patch(freezing=True):
            return self.compiled(x)


def is_packed(model: nn.Module) -> bool:
    return any(isinstance(m, PackedConv) for m in model.modules())


def weights_version(model: torch.nn.Module) -> tuple[int, ...]:
    """Changes whenever any parameter or buffer of ``model`` is modified in place or replaced."""
    return tuple(id(t) ^ t._version for t in model.state_dict(keep_vars=True).values())


__all__ = ["PRECISIONS", "CastIO", "ConvBlock", "FrozenCompiled", "PackedConv", "build_inference_model",
           "check_inference_options", "fuse_for_inference", "is_packed", "precision_dtype", "weights_version"]
