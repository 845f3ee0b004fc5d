"""Darknet ``.weights`` files.

A ``.weights`` file is a header, then for every convolution in cfg order: biases, [BN scales, rolling
means, rolling variances], weights (O, I, K, K), all little-endian float32. Two headers exist:
20 bytes (int32 major, minor, revision, uint64 seen) when ``major*10 + minor >= 2``, else 16 bytes
(int32 seen). Reading then writing reproduces a file byte for byte, header included. Our own ``.pt``
checkpoints, which carry the header, are :mod:`yolo9000.checkpoints.format`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from torch import nn

from yolo9000.errors import file_error, require_file
from yolo9000.fileio import atomic_write
from yolo9000.models.darknet import conv_blocks


@dataclass(frozen=True)
class WeightsHeader:
    """Darknet's ``.weights`` header: version triple and the number of images seen in training."""

    major: int = 0
    minor: int = 2
    revision: int = 0
    seen: int = 0

    @property
    def seen_bytes(self) -> int:
        """8 for the 20-byte header (darknet >= 0.2), 4 for the 16-byte one."""
        wide = (self.major * 10 + self.minor) >= 2 and self.major < 1000 and self.minor < 1000
        return 8 if wide else 4

    @property
    def nbytes(self) -> int:
        return 12 + self.seen_bytes

    def to_bytes(self) -> bytes:
        head = np.array([self.major, self.minor, self.revision], "<i4").tobytes()
        return head + np.array([self.seen], "<u8" if self.seen_bytes == 8 else "<i4").tobytes()


def _tensors_in_file_order(model: nn.Module, cutoff: int | None = None) -> list[torch.Tensor]:
    """The tensors a ``.weights`` file holds, in its order; ``cutoff``: only the first N convolutions."""
    out: list[torch.Tensor] = []
    for block in conv_blocks(model)[:cutoff]:
        if block.bn is not None:
            out += [block.bn.bias, block.bn.weight, block.bn.running_mean, block.bn.running_var]
        else:
            out.append(block.conv.bias)
        out.append(block.conv.weight)
    return out


def read_header(f: BinaryIO, path: str | Path) -> WeightsHeader:
    raw = f.read(12)
    if len(raw) < 12:
        raise file_error(path, f"truncated .weights header ({len(raw)} bytes)")
    major, minor, revision = (int(v) for v in np.frombuffer(raw, "<i4"))
    probe = WeightsHeader(major, minor, revision)
    raw = f.read(probe.seen_bytes)
    if len(raw) < probe.seen_bytes:
        raise file_error(path, "truncated .weights header")
    seen = int(np.frombuffer(raw, "<u8" if probe.seen_bytes == 8 else "<i4")[0])
    return WeightsHeader(major, minor, revision, seen)


def load_darknet_weights(model: nn.Module, path: str | Path, cutoff: int | None = None) -> WeightsHeader:
    """Load a darknet ``.weights`` file into ``model``; returns its header.

    ``cutoff`` loads only the first N convolutions from a file that holds exactly those (darknet's
    ``partial`` files such as ``darknet19_448.conv.23``). A file whose size differs from what the
    network needs is refused with both byte counts.
    """
    p = require_file(path, "weights file")
    tensors = _tensors_in_file_order(model, cutoff)
    floats = sum(t.numel() for t in tensors)
    size = p.stat().st_size
    with open(p, "rb") as f:
        header = read_header(f, p)
        expected = header.nbytes + 4 * floats
        if size != expected:
            what = "too short" if size < expected else "too long"
            raise file_error(p, f"{what} for this network: expected {expected:,} bytes "
                                f"({header.nbytes}-byte header + {floats:,} floats), got {size:,}")
        data = np.frombuffer(f.read(), "<f4")
    if not np.isfinite(data).all():
        raise file_error(p, f"holds {np.count_nonzero(~np.isfinite(data)):,} non-finite floats (NaN or Infinity): "
                            f"corrupt, or saved from a diverged training run")
    offset = 0
    with torch.no_grad():
        for t in tensors:
            n = t.numel()
            t.copy_(torch.from_numpy(data[offset:offset + n].copy()).view_as(t))
            offset += n
    return header


def darknet_prefix_cutoff(model: nn.Module, path: str | Path) -> int:
    """How many leading convolutions of ``model`` a ``.weights`` file holds exactly: all of them for a
    whole file, fewer for darknet's partial files (``darknet19_448.conv.23`` holds 18 for a detector).
    Raises a one-line error if no prefix fits the file size."""
    p = require_file(path, "weights file")
    with open(p, "rb") as f:
        header = read_header(f, p)
    size = p.stat().st_size
    floats = 0
    for n, block in enumerate(conv_blocks(model), 1):
        floats += sum(t.numel() for t in _tensors_in_file_order(block))
        if header.nbytes + 4 * floats == size:
            return n
    raise file_error(p, f"{size:,} bytes match no prefix of this network's convolutions "
                        f"(the whole network needs {header.nbytes + 4 * floats:,})")


def save_darknet_weights(model: nn.Module, path: str | Path, header: WeightsHeader = WeightsHeader()) -> None:
    """Write ``model`` as a darknet ``.weights`` file (atomically)."""
    with atomic_write(path) as f:
        f.write(header.to_bytes())
        for t in _tensors_in_file_order(model):
            f.write(t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4", copy=False).tobytes())
