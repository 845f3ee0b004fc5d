"""The one path from a config dataclass to argparse and back: each field a flag (``burn_in`` -> ``--burn-in``),
with its default, its help line and choices (:func:`yolo9000.fields.option`), and the parsed flags checked
against the same metadata (:func:`yolo9000.fields.check_fields`); every subcommand's options go through it."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from yolo9000.fields import check_fields, flag_name

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
    ``--help``: a bool is ``--x/--no-x``, a tuple takes one or more values, ``choices`` are enforced. A field's
    ``option(flags=...)`` names its flags instead of ``--field-name`` (``("-o", "--output")``; a name without
    a dash: a positional argument, a tuple of them zero or more), ``flags=()`` makes it Python-only."""
    groups: dict[str, Any] = {}  # option(one_of=tag): a required mutually exclusive group per tag
    for f in sorted(_flagged(cls), key=lambda f: f.kw_only):  # the shared options after its own
        flags = tuple(f.metadata.get("flags") or (flag_name(f.name),))
        text = f.metadata.get("help", "")
        if tag := f.metadata.get("one_of"):  # one of the alternatives, no default of its own
            if tag not in groups:
                groups[tag] = p.add_mutually_exclusive_group(required=True)
            groups[tag].add_argument(*flags, dest=f.name, action=_Store, type=_scalar(f.type)[0], default=None,
                                     help=text.replace("%", "%%"))
            continue
        extra: dict[str, Any] = {k: f.metadata[k] for k in ("choices", "metavar") if k in f.metadata}
        if not flags[0].startswith("-"):  # positional: NAME, or NAME... for a tuple (none: its default)
            kind, many = _scalar(f.type)
            required = f.default is dataclasses.MISSING
            default = list(f.default) if isinstance(f.default, tuple) else None if required else f.default
            p.add_argument(f.name, action=_Store, type=kind, nargs=("+" if required else "*") if many else None,
                           default=default, help=text.replace("%", "%%"), **extra)
            continue
        extra["dest"] = f.name
        if f.type == "bool":
            shown = "on" if f.default else "off"
            p.add_argument(*flags, action=_Switch, default=f.default,
                           help=f"{text} (default: {shown})".replace("%", "%%"), **extra)
            continue
        kind, many = _scalar(f.type)
        if many:
            extra["nargs"] = "+"
        if f.default is dataclasses.MISSING:
            p.add_argument(*flags, action=_Store, type=kind, required=True, help=text + " (required)", **extra)
            continue
        shown = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else (
            "none" if f.default is None else f.default)
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        p.add_argument(*flags, action=_Store, type=kind, default=default,
                       help=f"{text} (default: {shown})".replace("%", "%%"), **extra)


def _flagged(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are command-line arguments (not ``option(flags=())``)."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("flags") != ()]


def dataclass_from_args(cls: type, a: argparse.Namespace):
    """The ``cls`` of parsed flags (lists back to tuples; a Python-only field at its default), checked against
    its fields' metadata: a one-line error for the first value they do not allow (``--batch 0: must be at
    least 1``)."""
    values = {f.name: getattr(a, f.name) for f in _flagged(cls)}
    obj = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    check_fields(obj)
    return obj


def given_flags(a: argparse.Namespace) -> frozenset[str]:
    """The fields whose flags the command line typed (also those typed at their default value)."""
    return getattr(a, _GIVEN, frozenset())
