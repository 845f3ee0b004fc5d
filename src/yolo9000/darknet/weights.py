"""Darknet ``.weights`` files and our own checkpoints.

A ``.weights`` file is a header, then for every convolution in cfg order: biases, [BN scales, rolling
means, rolling variances], weights (O, I, K, K), all little-endian float32. Two headers exist:
20 bytes (int32 major, minor, revision, uint64 seen) when ``major*10 + minor >= 2``, else 16 bytes
(int32 seen). Reading then writing reproduces a file byte for byte, header included.

Checkpoints (``.pt``) hold the network as darknet cfg text, its class names, the state dict and the
darknet header, and load with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import pickle
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from yolo9000.errors import Yolo9000Error, file_error, require_file
from yolo9000.fileio import atomic_write, save_torch
from yolo9000.models.darknet import conv_blocks

CHECKPOINT_FORMAT = "yolo9000-checkpoint"
CHECKPOINT_VERSION = 1


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


def save_checkpoint(path: str | Path, model: nn.Module, cfg_text: str, names: tuple[str, ...] | list[str],
                    header: WeightsHeader = WeightsHeader(), **extra: Any) -> None:
    """Save a checkpoint: cfg text, names, state dict (CPU), darknet header, plus ``extra`` entries.

    ``extra`` values must be plain containers of tensors, numbers and strings (``weights_only`` loads).
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "cfg": cfg_text, "names": list(names),
            "header": [header.major, header.minor, header.revision, header.seen], "model": state, **extra}
    save_torch(ckpt, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; raises a one-line error if it is not one of ours."""
    p = require_file(path, "checkpoint")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on foreign files
            warnings.simplefilter("ignore")
            ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a corrupt or foreign file
        raise file_error(p, _unreadable_checkpoint(p, e)) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise file_error(p, "not a yolo9000 checkpoint (no 'format' marker)")
    if not isinstance(ckpt.get("version", 0), int) or ckpt.get("version", 0) > CHECKPOINT_VERSION:
        raise file_error(p, f"checkpoint version {ckpt.get('version')!r} is not one this yolo9000 understands")
    if not isinstance(ckpt.get("cfg"), str) or not isinstance(ckpt.get("model"), dict):
        raise file_error(p, "damaged yolo9000 checkpoint: it lacks its network ('cfg' text) or weights ('model')")
    return ckpt


def _unreadable_checkpoint(path: Path, error: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` could not read ``path``, in the user's terms."""
    objects = ("not a yolo9000 checkpoint: it holds pickled Python objects, which could run code when loaded, "
               "so it is not loaded")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        return "empty file, not a checkpoint"
    if zipfile.is_zipfile(path):  # torch's format; the weights-only unpickler names a refused GLOBAL
        if isinstance(error, pickle.UnpicklingError) and "GLOBAL" in str(error):
            return objects
        return "a zip archive that is not a torch checkpoint (or a damaged one)"
    if head == b"PK\x03\x04":  # a zip's first entry without its central directory: cut short
        return "truncated or damaged checkpoint (an incomplete zip archive)"
    if head[:1] == b"\x80":  # a bare pickle (PROTO opcode first) that the weights-only unpickler refused
        return objects
    return "not a checkpoint (neither a torch zip archive nor a pickle)"


def checkpoint_header(ckpt: dict[str, Any]) -> WeightsHeader:
    return WeightsHeader(*(int(v) for v in ckpt.get("header", (0, 2, 0, 0))))


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Strictly load a state dict, turning missing/unexpected keys or shape mismatches into one line."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first {unexpected[0]})")
        if bad:
            parts.append(f"shape mismatch at {bad[0]}: {tuple(state[bad[0]].shape)} vs {tuple(own[bad[0]].shape)}")
        raise Yolo9000Error(f"{source}: weights do not fit this network: {'; '.join(parts)}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise file_error(source, f"{len(bad)} tensors hold NaN or Infinity (first {bad[0]}): corrupt, or saved "
                                 f"from a diverged training run")
    model.load_state_dict(state)


def load_state_prefix(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> int:
    """Load the longest run of leading layers of ``model`` (``layers.<i>.*``) that ``state`` holds with the
    same shapes: a classifier's backbone into a detector, or a detector into one with another class count.
    Returns how many layers were loaded; raises a one-line error if not even the first fits."""
    own = model.state_dict()
    layers: dict[int, list[str]] = {}
    for k in own:
        if k.startswith("layers."):
            layers.setdefault(int(k.split(".")[1]), []).append(k)
    take: dict[str, torch.Tensor] = {}
    n = 0
    for i in sorted(layers):
        keys = layers[i]
        if not all(k in state and state[k].shape == own[k].shape for k in keys):
            break
        take.update({k: state[k] for k in keys})
        n += 1
    if not take:
        raise file_error(source, "its first layer does not fit this network (different input or first conv)")
    model.load_state_dict(take, strict=False)
    return n
