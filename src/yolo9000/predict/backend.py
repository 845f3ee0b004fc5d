"""What runs the network for a :class:`~yolo9000.predict.predictor.Predictor`: a small protocol and its torch
implementation (the ONNX one is :class:`yolo9000.predict.onnx_backend.OnnxBackend`).

A backend takes a (B, 3, H, W) float32 batch in [0, 1] and returns the raw head as float32 (B, A*(5+C),
H/32, W/32) for a detector, (B, C) logits for a classifier; the predictor letterboxes before it and
decodes, walks the WordTree and runs NMS after it, the same for every backend.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from yolo9000.devices import resolve_device
from yolo9000.models.darknet import Darknet, DarknetConfig, native_imgsz
from yolo9000.models.inference import build_inference_model, check_inference_options, weights_version


class Backend(Protocol):
    """The network behind a predictor.

    ``config``: its cfg, class names included. ``module``: the torch network, ``None`` where a backend runs
    a file of its own (an ONNX session), which has no network to train, save or export. ``imgsz``: the
    square input size it was trained and validated at, or the one size an ONNX graph was traced at.
    ``fuse``, ``precision``, ``compile``: how :meth:`runner` was built (an ONNX session: off, ``"fp32"``,
    off); with ``fuse`` the runner takes channels-last inputs.
    """

    config: DarknetConfig
    module: Darknet | None
    device: torch.device
    stride: int
    imgsz: int
    fuse: bool
    precision: str
    compile: bool

    def runner(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """What a batch is fed to."""
        ...


class TorchBackend:
    """A torch :class:`~yolo9000.models.darknet.Darknet` on ``device``. ``runner()`` is the network itself, or
    (``fuse``) a copy with batch norm folded into the convolutions, in ``precision`` (``"fp32"``, ``"bf16"``,
    ``"fp16"`` on CUDA), under ``torch.compile`` if asked, rebuilt whenever the network's weights change
    (so a network being trained can be validated through it)."""

    def __init__(self, module: Darknet, device: str | torch.device = "auto", fuse: bool = True,
                 precision: str = "fp32", compile: bool = False) -> None:
        self.device = resolve_device(device)
        check_inference_options(fuse, precision, compile, self.device)
        self.module = module.to(self.device)
        self.fuse, self.precision, self.compile = fuse, precision, compile
        self._fused: tuple[tuple[int, ...], torch.nn.Module] | None = None

    @property
    def config(self) -> DarknetConfig:
        return self.module.config

    @property
    def stride(self) -> int:
        return self.module.stride

    @property
    def imgsz(self) -> int:
        return native_imgsz(self.module.config)

    def runner(self) -> torch.nn.Module:
        if not self.fuse:
            return self.module.eval()
        version = weights_version(self.module)
        if self._fused is None or self._fused[0] != version:
            self._fused = (version, build_inference_model(self.module, self.precision, self.compile))
        return self._fused[1]


__all__ = ["Backend", "TorchBackend"]
