"""Config dataclass fields that are also command-line flags: a default, the ``--help`` line and, where the
value is one of a few words, its choices. ``yolo9000 <command> --help`` prints each field's help with its
default; :func:`yolo9000.cli.args.add_dataclass_args` builds the flags from the field metadata, for the
trainers' configs and for predict's and val's options alike."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

_REQUIRED = object()


def option(default: Any = _REQUIRED, help: str = "", choices: Sequence[str] | None = None,  # noqa: A002
           kw_only: bool | None = None) -> Any:
    """A dataclass field with ``default`` (none: a required flag), the help line of its flag and, optionally,
    the words it may take; ``kw_only=True`` redefines a shared keyword-only field in a subclass (a trainer's
    own default for it) without moving it among the positional fields."""
    metadata = {"help": help, **({"choices": tuple(choices)} if choices else {})}
    extra = {} if kw_only is None else {"kw_only": kw_only}
    if default is _REQUIRED:
        return dataclasses.field(metadata=metadata, **extra)
    return dataclasses.field(default=default, metadata=metadata, **extra)
