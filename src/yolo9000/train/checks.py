"""A training run's options: checked before anything is read or written, and restored on resume.

The three trainers (detection, classification, joint) share most option names; each check applies to a
config dataclass that has the field, so one function serves all three. A bad value is a one-line error
naming the flag, before the run folder exists. :func:`resume_config` gives a resumed run the options it
was started with, with those the resume changed on top.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from yolo9000.darknet.weights import load_checkpoint
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.fileio import check_output_dir, remove_stale_temps
from yolo9000.ops.boxes import LOCATIONS
from yolo9000.train.options import AMP_CHOICES


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _fail(name: str, value: Any, need: str) -> Yolo9000Error:
    return Yolo9000Error(f"{_flag(name)} {value}: {need}")


# field -> (test, what it needs); a field a config lacks, or set to None (the model's default), is skipped
_RULES: dict[str, tuple[Any, str]] = {
    "epochs": (lambda v: v >= 1, "must be at least 1"),
    "batch": (lambda v: v >= 1, "must be at least 1"),
    "subdivisions": (lambda v: v >= 1, "must be at least 1"),
    "lr": (lambda v: v >= 0, "must be a finite number >= 0"),
    "momentum": (lambda v: 0 <= v < 1, "must lie in [0, 1)"),
    "decay": (lambda v: v >= 0, "must be >= 0"),
    "burn_in": (lambda v: v >= 0, "must be >= 0"),
    "class_scale": (lambda v: v >= 0, "must be >= 0"),
    "power": (lambda v: v >= 0, "must be >= 0"),
    "workers": (lambda v: v >= 0, "must be >= 0"),
    "scale_every": (lambda v: v >= 1, "must be at least 1"),
    "val_every": (lambda v: v >= 0, "must be >= 0 (0: validate only at the end)"),
    "patience": (lambda v: v >= 0, "must be >= 0 (0: off)"),
    "train_eval": (lambda v: v >= 0, "must be >= 0 (0: off)"),
    "ema": (lambda v: 0 <= v < 1, "must lie in [0, 1) (0: off)"),
    "jitter": (lambda v: 0 <= v < 1, "must lie in [0, 1): a fraction of the image size"),
    "hue": (lambda v: 0 <= v <= 0.5, "must lie in [0, 0.5] (a fraction of the hue circle either way)"),
    "saturation": (lambda v: v >= 0, "must be >= 0"),
    "exposure": (lambda v: v >= 0, "must be >= 0"),
    "min_scale": (lambda v: 0 < v <= 1, "must lie in (0, 1] (a fraction of the image area)"),
    "angle": (lambda v: 0 <= v <= 180, "must lie in [0, 180] degrees"),
    "det_ratio": (lambda v: 0 < v < 1, "must lie in (0, 1)"),
    "min_size": (lambda v: v >= 32 and v % 32 == 0, "must be a positive multiple of 32"),
    "max_size": (lambda v: v >= 32 and v % 32 == 0, "must be a positive multiple of 32"),
    "imgsz": (lambda v: v >= 32 and v % 32 == 0, "must be a positive multiple of 32"),
    "val_imgsz": (lambda v: v >= 32 and v % 32 == 0, "must be a positive multiple of 32"),
    "anchors": (lambda v: v in ("auto", "hand", "model"), "choose auto (k-means of the training boxes), hand "
                                                          "(Faster R-CNN's 3 scales x 3 ratios) or model (the model's "
                                                          "own)"),
    "location": (lambda v: v in LOCATIONS, f"choose {' or '.join(LOCATIONS)}"),
    "amp_dtype": (lambda v: v in AMP_CHOICES, f"choose {', '.join(AMP_CHOICES)}"),
}


def check_run_options(cfg: Any) -> None:
    """Raise a one-line error for the first option of ``cfg`` (a trainer's config dataclass) that no run can
    use: a count below 1, a non-finite or out-of-range rate, an augmentation outside its range, steps and
    scales that do not pair up, or a ``--project`` that is a file."""
    values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    for f in dataclasses.fields(cfg):  # the words a field may take, from its metadata (as the CLI enforces them)
        choices, value = f.metadata.get("choices"), values[f.name]
        if choices and value is not None and value not in choices:
            raise _fail(f.name, value, f"choose {', '.join(choices[:-1])} or {choices[-1]}")
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(name, value, "must be a finite number")
        if isinstance(value, tuple) and any(isinstance(v, float) and not math.isfinite(v) for v in value):
            raise _fail(name, " ".join(map(str, value)), "must be finite numbers")
        if name in _RULES and value is not None:
            test, need = _RULES[name]
            if not test(value):
                raise _fail(name, value, need)
    if values.get("batch") and values.get("subdivisions") and values["batch"] % values["subdivisions"]:
        raise Yolo9000Error(f"--batch {values['batch']} must split evenly over --subdivisions "
                            f"{values['subdivisions']}")
    if values.get("patience") and values.get("val_every") == 0:
        raise Yolo9000Error(f"--patience {values['patience']} needs validations to count: --val-every 0 "
                            f"validates only at the end")
    if values.get("min_size") and values.get("max_size") and values["min_size"] > values["max_size"]:
        raise Yolo9000Error(f"--min-size {values['min_size']} is above --max-size {values['max_size']}")
    steps, scales = values.get("steps"), values.get("scales")
    if steps is not None:
        if list(steps) != sorted(steps) or not all(s >= 0 for s in steps):
            raise _fail("steps", " ".join(map(str, steps)), "must be ascending fractions of the run, >= 0 "
                                                            "(above 1: never reached)")
        if scales is None or len(scales) != len(steps) or not all(s >= 0 for s in scales):
            raise Yolo9000Error(f"--scales {' '.join(map(str, scales or ()))}: need one factor >= 0 per step "
                                f"({len(steps)} steps)")
    scale = values.get("scale")
    if scale is not None and (len(scale) != 2 or not 0 < scale[0] <= scale[1]):
        raise _fail("scale", " ".join(map(str, scale)), "must be two numbers LOW HIGH with 0 < LOW <= HIGH")
    if "project" in values:
        check_output_dir(values["project"], "--project")


def resume_config(cfg: Any, last: Path, forced: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    """``(state, config)`` to resume the run whose checkpoint is ``last``: the config the run was started
    with, then every option of ``cfg`` (the resume's own config) that differs from its default -- what the
    resume command line set -- then ``forced``. A resume with only ``--resume --name N`` thus runs to the
    epoch count it was started with. ``last`` missing, not one of our checkpoints, or without the training
    state is a one-line error. The half-written checkpoints a killed run left beside ``last`` (``.last.pt.*.tmp``,
    ``.best.pt.*.tmp``) are removed first."""
    for done in (last, last.with_name("best.pt")):
        remove_stale_temps(done)
    if not last.is_file():
        raise file_error(last, "nothing to resume (no last.pt in this run)")
    state = load_checkpoint(last)
    if not all(k in state for k in ("train_config", "optimizer", "scheduler", "rng", "epoch")):
        raise file_error(last, "holds no training state to resume (weights only: start a new run with --weights)")
    cls = type(cfg)
    names = {f.name for f in dataclasses.fields(cls)}
    saved = {k: tuple(v) if isinstance(v, list) else v for k, v in state["train_config"].items() if k in names}
    changed = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)
               if f.default is dataclasses.MISSING or getattr(cfg, f.name) != f.default}
    return state, cls(**{**saved, **changed, **(forced or {}), "resume": True})
