"""A training run's options: checked before anything is read or written, and restored on resume.

The three trainers (detection, classification, joint) share most option names; each check applies to a
config dataclass that has the field, so one function serves all three. A bad value is a one-line error
naming the flag, before the run folder exists; so is a run name that is not one folder name inside
``--project``. :func:`resume_config` gives a resumed run the options it was started with, with those the
resume changed on top, and refuses (naming ``last.pt``) a change no resume can honour: another network,
other data or starting weights, another optimizer, EMA switched on or off, fewer epochs than were trained,
or a checkpoint of another trainer.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from yolo9000.checkpoints.format import load_checkpoint
from yolo9000.datasets import dataset_paths
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.fields import check_fields, flag_name
from yolo9000.fileio import check_output_dir, check_outputs, remove_stale_temps


def _fail(name: str, value: Any, need: str) -> Yolo9000Error:
    return Yolo9000Error(f"{flag_name(name)} {value}: {need}")


NAME_MAX_BYTES = 240  # --name: a folder name (255 bytes on common file systems), with room for a suffix (name2)


def check_run_name(name: str) -> None:
    """Raise a one-line error unless ``name`` (``--name``) is one visible folder name: not empty, not ``.``
    or ``..`` or any name starting with a dot, without a path separator or a control character (NUL, a
    newline, ...), and short enough for a folder with its ``2``, ``3``, ... suffix. Its run folder is then
    ``<project>/<name>`` and nothing else."""
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    control = [c for c in name if ord(c) < 32 or ord(c) == 127]
    problem = None
    if not name:
        problem = "is empty"
    elif control:
        problem = f"holds the control character {control[0]!r}"
    elif any(sep in name for sep in seps):
        problem = "holds a path separator"
    elif name.startswith("."):
        problem = "starts with '.' (., .. and hidden folders)"
    elif len(os.fsencode(name)) > NAME_MAX_BYTES:
        problem = f"is longer than {NAME_MAX_BYTES} bytes"
    if problem:
        raise Yolo9000Error(f"--name {name!r}: {problem}; a run name is one folder name inside --project "
                            f"(choose where runs go with --project)")


def check_run_options(cfg: Any) -> None:
    """Raise a one-line error for the first option of ``cfg`` (a trainer's config dataclass) that no run can
    use: first what its fields' metadata allows (:func:`yolo9000.fields.check_fields`: the choices, a count
    below 1, a non-finite or out-of-range rate, an augmentation outside its range, a size that is no multiple
    of 32), then the options that must agree: steps and scales that do not pair up, a batch that does not
    split, ``--min-size`` above ``--max-size``, a ``--name`` that is not one folder name or a ``--project``
    that is a file."""
    check_fields(cfg)
    values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
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
        raise Yolo9000Error(f"--rescale {' '.join(map(str, scale))}: must be two numbers LOW HIGH with 0 < LOW <= HIGH")
    if "name" in values:
        check_run_name(values["name"])
    if "project" in values:
        if "\0" in str(values["project"]):
            raise Yolo9000Error(f"--project {values['project']!r}: holds a NUL character")
        check_output_dir(values["project"], "--project")


def check_run_folder(run: Path, cfg: Any) -> None:
    """Refuse a run folder inside the data the run reads (``--project D/images``): its plots would be read as
    images by the next run. ``cfg.data`` / ``cfg.cls_data``: a dataset YAML (its image and annotation folders)
    or an ImageFolder tree (its ``train`` and ``val`` folders, else all of it); data that cannot be read is left
    to the task, which says why."""
    folders: list[Path] = []
    for key in ("data", "cls_data"):
        value = getattr(cfg, key, None)
        if not value or not Path(value).exists():
            continue
        p = Path(value)
        if p.is_dir():
            folders += [q for q in (p / "train", p / "val") if q.is_dir()] or [p]
        else:
            try:
                folders += dataset_paths(p).folders
            except Yolo9000Error:
                continue
    check_outputs(folders={"the run folder": run}, data_folders=folders)


# options a resume cannot honour (the saved network, data and optimizer state are the run's) -> what they change;
# a resume that gives one must give the run's own value (a command retyped with --resume added)
RESUME_FIXED: dict[str, str] = {
    "model": "the network",
    "weights": "the weights it started from",
    "tree": "the network's WordTree",
    "preset": "the recipe the run was started with",
    "anchors": "the network's anchors",
    "batchnorm": "the network's layers",
    "passthrough": "the network's layers",
    "location": "the network's box form",
    "class_scale": "the class scale written into the network",
    "data": "the data it trains on",
    "cls_data": "the classification images it trains on",
    "det_map": "the tree nodes of its detection classes",
    "optimizer": "the optimizer whose state last.pt holds",
}


def _given(name: str, value: Any) -> str:
    """An option as the command line gives it: ``--flag value``, ``--flag`` / ``--no-flag`` for a switch,
    ``no --flag`` for an option left out."""
    if value is None:
        return f"no {flag_name(name)}"
    if isinstance(value, bool):
        return flag_name(name) if value else "--no-" + name.replace("_", "-")
    return f"{flag_name(name)} {' '.join(map(str, value)) if isinstance(value, tuple) else value}"


def _same(given: Any, saved: Any) -> bool:
    """Whether a resume's option names what the run already has: equal, or paths of the same file."""
    if given == saved:
        return True
    if isinstance(given, str) and isinstance(saved, str) and given and saved:
        try:
            return Path(given).expanduser().resolve() == Path(saved).expanduser().resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL, a symlink loop, an unknown ~user: not the same
            return False
    return False


def _check_trainer(cls: type, state: dict[str, Any], last: Path, trainer: str | None) -> None:
    """A one-line error when ``last`` holds a run of another trainer (its recorded ``trainer``, or options
    that ``cls`` does not have: checkpoints from before the record)."""
    saved = state.get("trainer")
    foreign = sorted(set(state["train_config"]) - {f.name for f in dataclasses.fields(cls)})
    if saved is not None and saved != trainer:
        raise file_error(last, f"the checkpoint of a '{saved}' run, not a '{trainer}' one; resume it with "
                               f"'yolo9000 {saved} --resume'")
    if saved is None and foreign:
        options = ", ".join(map(flag_name, foreign[:3]))
        raise file_error(last, f"the checkpoint of another trainer's run (its options {options} are not "
                               f"'{trainer}' options); resume it with the command that started it")


def _check_resume_changes(changed: dict[str, Any], saved: dict[str, Any], merged: dict[str, Any], state: dict[str, Any],
                          last: Path) -> None:
    """A one-line error naming ``last`` for the first option of the resume (``changed``) that the run cannot
    honour (:data:`RESUME_FIXED`, EMA on or off, fewer epochs than it has trained)."""
    for name, what in RESUME_FIXED.items():
        if name in changed and name in saved and not _same(changed[name], saved[name]):
            raise file_error(last, f"{_given(name, changed[name])}: a resume cannot change {what} (this run: "
                                   f"{_given(name, saved[name])}); start a new run (--weights {last} starts it "
                                   f"from this run's weights)")
    if "ema" in changed and (merged["ema"] > 0) != ("train_model" in state):
        raise file_error(last, f"{_given('ema', changed['ema'])}: a resume cannot switch the weights' EMA "
                               f"{'on' if merged['ema'] > 0 else 'off'}; start a new run (--weights {last} starts "
                               f"it from this run's weights)")
    done = int(state["epoch"]) + 1
    if "epochs" in changed and isinstance(merged.get("epochs"), int) and merged["epochs"] < done:
        raise file_error(last, f"--epochs {merged['epochs']}: this run has trained {done} epochs already; give "
                               f"at least {done} to resume it")


def resume_config(cfg: Any, last: Path, forced: dict[str, Any] | None = None,
                  trainer: str | None = None, given: Collection[str] | None = None) -> tuple[dict[str, Any], Any]:
    """``(state, config)`` to resume the run whose checkpoint is ``last``: the config the run was started
    with, then the options of ``cfg`` (the resume's own config) that the resume set -- those named in
    ``given`` (the flags its command line typed, a default typed included), else those that differ from
    their default -- then ``forced``. A resume with only ``--resume --name N`` thus runs to the
    epoch count it was started with. ``last`` missing, not one of our checkpoints, without the training
    state or of another ``trainer`` (the command that runs ``cfg``), and an option the resume cannot honour,
    are one-line errors naming it. The half-written checkpoints a killed run left beside ``last``
    (``.last.pt.*.tmp``, ``.best.pt.*.tmp``) are removed first."""
    for done in (last, last.with_name("best.pt")):
        remove_stale_temps(done)
    if not last.is_file():
        raise file_error(last, "nothing to resume (no last.pt in this run)")
    state = load_checkpoint(last)
    if not all(k in state for k in ("train_config", "optimizer", "scheduler", "rng", "epoch")):
        raise file_error(last, "holds no training state to resume (weights only: start a new run with --weights)")
    cls = type(cfg)
    _check_trainer(cls, state, last, trainer)
    names = {f.name for f in dataclasses.fields(cls)}
    saved = {k: tuple(v) if isinstance(v, list) else v for k, v in state["train_config"].items() if k in names}
    changed = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)
               if f.default is dataclasses.MISSING or (f.name in given if given is not None
                                                       else getattr(cfg, f.name) != f.default)}
    merged = {**saved, **changed, **(forced or {}), "resume": True}
    _check_resume_changes(changed, saved, merged, state, last)
    # what a resume could not change and gave as the run has it keeps the run's spelling (a relative path)
    merged.update({k: v for k, v in saved.items() if k in RESUME_FIXED and k not in (forced or {})})
    return state, cls(**merged)
