"""An inference copy of a network: batch norm folded into the convolutions, channels-last memory.

Folding uses torch's own ``fuse_conv_bn_eval``; the result differs from the unfolded float32 forward
by float rounding only (about 1e-5 on the head), well inside darknet parity.
"""
from __future__ import annotations

import copy

import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .models.darknet import Darknet, conv_blocks


def fuse_for_inference(model: Darknet, channels_last: bool = True) -> Darknet:
    """A deep copy of ``model`` in eval mode with every conv+BN folded into one biased conv."""
    fused = copy.deepcopy(model).eval()
    for block in conv_blocks(fused):
        if block.bn is not None:
            block.conv = fuse_conv_bn_eval(block.conv, block.bn)
            block.bn = None
    if channels_last:
        fused = fused.to(memory_format=torch.channels_last)
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused


def weights_version(model: torch.nn.Module) -> tuple[int, ...]:
    """Changes whenever any parameter or buffer of ``model`` is modified in place or replaced."""
    return tuple(id(t) ^ t._version for t in model.state_dict(keep_vars=True).values())
