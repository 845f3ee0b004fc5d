"""Our own checkpoints (``.pt``, ``.pth``, ``.ckpt``), not darknet's files: the network as darknet cfg text, its
class names, the darknet header and the state dict, plus what a training run adds to resume exactly.

One function builds the dict (:func:`checkpoint_dict`), one writes it atomically (:func:`save_checkpoint`) and one
reads and checks it (:func:`load_checkpoint`, with ``torch.load(weights_only=True)``: every value is a plain
container of tensors, numbers and strings, so no checkpoint runs code when it loads). :func:`load_state` and
:func:`load_state_prefix` put a checkpoint's weights into a network.
"""
from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from yolo9000.darknet.weights import WeightsHeader
from yolo9000.errors import Yolo9000Error, file_error, require_file
from yolo9000.fileio import save_torch

CHECKPOINT_FORMAT = "yolo9000-checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_EXTS = (".pt", ".pth", ".ckpt")


def cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state dict, detached and on the CPU, as a checkpoint stores it."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def checkpoint_dict(model: nn.Module, cfg_text: str, names: tuple[str, ...] | list[str],
                    header: WeightsHeader = WeightsHeader(), **extra: Any) -> dict[str, Any]:
    """The one layout of a checkpoint: the ``format`` and ``version`` markers, the network's ``cfg`` text, its
    ``names``, the darknet ``header`` (major, minor, revision, seen) and ``model``, its state dict on the CPU,
    then the ``extra`` entries (a training run's optimizer, scheduler, scaler, rng, epoch, seen, trainer,
    train_config, train_model / ema_updates and best scores).

    ``extra`` values must be plain containers of tensors, numbers and strings (``weights_only`` loads), and
    may not replace an entry of the layout.
    """
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "cfg": cfg_text, "names": list(names),
            "header": [header.major, header.minor, header.revision, header.seen], "model": cpu_state(model)}
    clash = sorted(set(extra) & set(ckpt))
    if clash:
        raise ValueError(f"checkpoint entries {clash} are the layout's own, not extras")
    return {**ckpt, **extra}


def save_checkpoint(path: str | Path, ckpt: dict[str, Any]) -> None:
    """Write a checkpoint :func:`checkpoint_dict` built, atomically (:func:`~yolo9000.fileio.save_torch`:
    serialised in memory, then a temporary file renamed into place), so a kill or a full disk leaves the
    file that was there whole."""
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("save_checkpoint writes the dicts checkpoint_dict builds")
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
    """The darknet header a checkpoint carries, to write its network back as ``.weights``."""
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
