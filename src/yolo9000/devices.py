"""Device names as users type them -> ``torch.device``: ``cpu``, ``cuda``, ``cuda:1``, ``auto``, and the GPU
indices of darknet's ``-gpus`` and Ultralytics' ``device=``: ``0`` is ``cuda:0``; ``0,1`` lists the GPUs a
training run spreads over (one process each, under ``torchrun``)."""
from __future__ import annotations

import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.words import count


def cuda_indices(device: str | int | torch.device) -> tuple[int, ...] | None:
    """The GPU indices of a device given as numbers: ``0`` or ``"0"`` -> (0,), ``"0,1"`` -> (0, 1); None for
    a device name (``cpu``, ``cuda:1``, ``auto``)."""
    if isinstance(device, bool) or isinstance(device, torch.device):
        return None
    if isinstance(device, int):
        return (device,) if device >= 0 else None
    parts = [p.strip() for p in str(device).split(",")]
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def resolve_device(device: str | int | torch.device) -> torch.device:
    """``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a GPU index (``0``,
    ``"1"``) -> a usable device.

    A name torch does not know, several GPUs (``"0,1"``: training runs over them, one process each),
    ``mps``, or a CUDA device this machine does not have, is a one-line error.
    """
    indices = cuda_indices(device)
    if indices is not None and len(indices) > 1:
        raise Yolo9000Error(f"device={device!s}: several GPUs are for training (`yolo9000 train --device {device}` "
                            f"runs one process per GPU under torchrun); this runs on one device, e.g. {indices[0]}")
    if isinstance(device, torch.device):
        dev = device
    elif indices is not None:
        dev = torch.device("cuda", indices[0])
    elif str(device).strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(str(device).strip())
        except (RuntimeError, ValueError):
            raise Yolo9000Error(f"device={device!r}: not a device name (use cpu, cuda, cuda:N, a GPU index such as "
                                f"0, or auto)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise Yolo9000Error(f"device={device!s}: CUDA is not available on this machine (use --device cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            n = torch.cuda.device_count()
            raise Yolo9000Error(f"device={device!s}: this machine has {count(n, 'CUDA device')}")
    elif dev.type == "mps":
        raise Yolo9000Error(f"device={device!s}: Apple's MPS is not supported yet (use --device cpu)")
    elif dev.type != "cpu":
        raise Yolo9000Error(f"device={device!s}: yolo9000 runs on cpu or cuda")
    return dev
