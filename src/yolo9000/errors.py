"""One exception type for every problem caused by the user's input.

The CLI prints these as a single line (``yolo9000: error: <message>``); the message always names the
file (and, where it helps, the line) and the problem.
"""
from __future__ import annotations

from pathlib import Path


class Yolo9000Error(Exception):
    """A bad input: a missing or malformed file, a mismatched size, an unsupported option."""


# The subclasses below are also the built-in exception each site raised before it was a Yolo9000Error, so that
# Python callers' ``except ValueError`` / ``except KeyError`` keep working; the CLI prints them as any other.
class ConfigError(Yolo9000Error, ValueError):
    """A network that cannot be built or cannot take a change asked of it (a layer's bad size, a route to a
    later layer, a class count for a WordTree head); darknet cfg files report these with their file:line."""


class UsageError(Yolo9000Error, ValueError):
    """An argument of the Python API that cannot apply (``top()`` of detections, an unknown image extension)."""


class UnknownNameError(Yolo9000Error, KeyError):
    """A name that is not among those known (a zoo model, a dataset split); the message lists the known ones."""

    def __str__(self) -> str:  # the message as given: KeyError's own str() would quote it
        return Exception.__str__(self)


def file_error(path: str | Path, problem: str) -> Yolo9000Error:
    """Build the error ``'<path>: <problem>'``."""
    return Yolo9000Error(f"{path}: {problem}")


def require_file(path: str | Path, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise a one-line error if it is not an existing file."""
    p = Path(path)
    if not p.exists():
        raise file_error(p, f"no such {what}")
    if not p.is_file():
        raise file_error(p, f"not a {what} (it is a directory or a special file)")
    return p


def read_text_file(path: str | Path, what: str = "file") -> tuple[Path, str]:
    """``(path, its text)`` for an existing UTF-8 text file, or a one-line error naming it."""
    p = require_file(path, what)
    try:
        return p, p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise file_error(p, f"not a UTF-8 text file ({e.reason} at byte {e.start})") from None
