"""Fields of the trainers' config dataclasses: a default and the ``--help`` line of its flag.

``yolo9000 train --help`` (and ``train-classifier``, ``train-joint``) prints each field's help with its
default; :func:`yolo9000.cli.add_dataclass_args` reads them from the field metadata.
"""
from __future__ import annotations

import dataclasses
from typing import Any

_REQUIRED = object()


def option(default: Any = _REQUIRED, help: str = "") -> Any:  # noqa: A002 - argparse's own word
    """A dataclass field with ``default`` (none: a required flag) and the help line of its flag."""
    if default is _REQUIRED:
        return dataclasses.field(metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})
