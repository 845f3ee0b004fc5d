"""An inference copy of a network: batch norm folded into the convolutions, channels-last memory and,
on CPU, oneDNN weights packed once with the activation fused into the convolution.

Folding uses torch's own ``fuse_conv_bn_eval``. Packing uses the oneDNN ops torch's Inductor compiler
emits for frozen CPU graphs (``mkldnn._convolution_pointwise``): without it, every batch-1 call
re-lays-out all 200 MB of YOLOv2's weights, which costs about a third of the time. Results differ from
the unfolded float32 forward by float rounding only (about 1e-5 on the head), well inside darknet
parity; where the ops are unavailable the copy keeps plain folded convolutions.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .models.darknet import ConvBlock, Darknet, conv_blocks

# darknet activation -> (oneDNN post-op, its scalars)
_POST_OPS = {"leaky": ("leaky_relu", [0.1]), "relu": ("relu", []), "logistic": ("sigmoid", []), "linear": ("none", [])}


class PackedConv(nn.Module):
    """A folded conv + activation with its weight pre-packed for oneDNN (CPU, float32, inference only)."""

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
        probe = torch.rand(1, blocks[0].conv.in_channels, 8, 8).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            ok = torch.allclose(packed[0](probe), blocks[0](probe.clone()), atol=1e-4, rtol=1e-4)
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    if not ok:
        return False
    for block, p in zip(blocks, packed):
        block.packed = p  # registered as a submodule; ConvBlock.forward is replaced below
        block.forward = p.forward  # type: ignore[method-assign]
    return True


def fuse_for_inference(model: Darknet, channels_last: bool = True, pack: bool | None = None) -> Darknet:
    """A deep copy of ``model`` in eval mode with every conv+BN folded into one biased conv.

    ``pack`` (default: when the model is on the CPU in float32) pre-packs weights for oneDNN.
    """
    fused = copy.deepcopy(model).eval()
    for block in conv_blocks(fused):
        if block.bn is not None:
            block.conv = fuse_conv_bn_eval(block.conv, block.bn)
            block.bn = None
    if channels_last:
        fused = fused.to(memory_format=torch.channels_last)
    for p in fused.parameters():
        p.requires_grad_(False)
    first = next(fused.parameters())
    if pack is None:
        pack = first.device.type == "cpu" and first.dtype == torch.float32 and torch.backends.mkldnn.is_available()
    if pack:
        _pack(fused)
    return fused


def is_packed(model: nn.Module) -> bool:
    return any(isinstance(m, PackedConv) for m in model.modules())


def weights_version(model: torch.nn.Module) -> tuple[int, ...]:
    """Changes whenever any parameter or buffer of ``model`` is modified in place or replaced."""
    return tuple(id(t) ^ t._version for t in model.state_dict(keep_vars=True).values())


__all__ = ["ConvBlock", "PackedConv", "fuse_for_inference", "is_packed", "weights_version"]
