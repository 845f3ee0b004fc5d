"""Config dataclass fields that are also command-line flags: a default, the ``--help`` line and, where the
value is one of a few words, its choices. ``yolo9000 <command> --help`` prints each field's help with its
default; :func:`yolo9000.cli.args.add_dataclass_args` builds the flags from the field metadata, for the
trainers' configs and for predict's and val's options alike."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

_REQUIRED = object()


def option(default: Any = _REQUIRED, help: str = "", choices: Sequence[str] | None = None) -> Any:  # noqa: A002
    """A dataclass field with ``default`` (none: a required flag), the help line of its flag and, optionally,
    the words it may take."""
    metadata = {"help": help, **({"choices": tuple(choices)} if choices else {})}
    if default is _REQUIRED:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
