"""The one path from a config dataclass to argparse and back: each field a flag (``burn_in`` -> ``--burn-in``),
with its default, its help line and choices (:func:`yolo9000.fields.option`); the trainers' configs and
predict's and val's options all go through it."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_SCALARS = {"int": int, "float": float, "str": str}
_GIVEN = "_given_flags"  # the namespace attribute that lists the fields the command line set


def _note_given(namespace: argparse.Namespace, dest: str) -> None:
    setattr(namespace, _GIVEN, getattr(namespace, _GIVEN, frozenset()) | {dest})


class _Store(argparse.Action):
    """``store``, noting that the flag was typed (a resume tells a typed default from an option left out)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        setattr(namespace, self.dest, values)
        _note_given(namespace, self.dest)


class _Switch(argparse.BooleanOptionalAction):
    """``--x/--no-x``, noting that it was typed."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, self.dest)


def _scalar(annotation: str) -> tuple[type, bool]:
    """(element type, is a tuple) of a field annotation such as ``int | None`` or ``tuple[float, ...]``."""
    t = annotation.replace(" | None", "")
    if t.startswith("tuple["):
        return _SCALARS[t[len("tuple["):].split(",")[0].strip()], True
    return _SCALARS[t], False


def add_dataclass_args(p: argparse.ArgumentParser, cls: type) -> None:
    """One flag per field of a frozen config dataclass, with the field's help line and its default in
    ``--help``: a bool is ``--x/--no-x``, a tuple takes one or more values, ``choices`` are enforced."""
    for f in sorted(dataclasses.fields(cls), key=lambda f: f.kw_only):  # the shared options after its own
        flag = "--" + f.name.replace("_", "-")
        text = f.metadata.get("help", "")
        extra: dict[str, Any] = {"choices": f.metadata["choices"]} if "choices" in f.metadata else {}
        if f.type == "bool":
            shown = "on" if f.default else "off"
            p.add_argument(flag, action=_Switch, default=f.default,
                           help=f"{text} (default: {shown})".replace("%", "%%"))
            continue
        kind, many = _scalar(f.type)
        if many:
            extra["nargs"] = "+"
        if f.default is dataclasses.MISSING:
            p.add_argument(flag, action=_Store, type=kind, required=True, help=text + " (required)", **extra)
            continue
        shown = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else (
            "none" if f.default is None else f.default)
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        p.add_argument(flag, action=_Store, type=kind, default=default,
                       help=f"{text} (default: {shown})".replace("%", "%%"), **extra)


def dataclass_from_args(cls: type, a: argparse.Namespace):
    """The ``cls`` of parsed flags (lists back to tuples)."""
    values = {f.name: getattr(a, f.name) for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def given_flags(a: argparse.Namespace) -> frozenset[str]:
    """The fields whose flags the command line typed (also those typed at their default value)."""
    return getattr(a, _GIVEN, frozenset())
