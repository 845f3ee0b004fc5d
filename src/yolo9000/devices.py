"""Device names as users type them (``cpu``, ``cuda``, ``cuda:1``, ``auto``) -> ``torch.device``."""
from __future__ import annotations

import torch

from yolo9000.errors import Yolo9000Error


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> a usable device.

    A name torch does not know, or a CUDA device this machine does not have, is a one-line error.
    """
    if isinstance(device, torch.device):
        dev = device
    elif str(device).strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(str(device).strip())
        except (RuntimeError, ValueError):
            raise Yolo9000Error(f"device={device!r}: not a device name (use cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise Yolo9000Error(f"device={device!s}: CUDA is not available on this machine (use --device cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise Yolo9000Error(f"device={device!s}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise Yolo9000Error(f"device={device!s}: yolo9000 runs on cpu or cuda")
    return dev
