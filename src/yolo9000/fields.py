"""Config dataclass fields that are also command-line flags: a default, the ``--help`` line and what the
value may be: one of a few words (``choices``), a number in a range (``min``, ``range``) or whatever a
``check`` function accepts. ``yolo9000 <command> --help`` prints each field's help with its default and
choices; :func:`yolo9000.cli.args.add_dataclass_args` builds the flags from the field metadata, for every
subcommand's options dataclass, and :func:`check_fields` checks a config against the same metadata in one
pass, for the command line and the Python API alike."""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from yolo9000.errors import Yolo9000Error

_REQUIRED = object()
_INTERVAL = re.compile(r"([\[(])\s*([^,\s]+)\s*,\s*([^\])\s]+)\s*([\])])")


@dataclasses.dataclass(frozen=True)
class Bounds:
    """A field's numeric range: ``low`` and ``high`` (None: no bound), each end closed or open; ``text`` is
    the interval as written (``"[0, 1)"``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> "Bounds":
        """``"[0, 1)"``, ``"(0, 1]"``, ...: a closed end ``[ ]``, an open one ``( )``."""
        m = _INTERVAL.fullmatch(text.strip())
        if m is None:
            raise ValueError(f"range {text!r}: expected an interval such as '[0, 1)'")
        return cls(float(m[2]), float(m[3]), m[1] == "(", m[4] == ")", text.strip())

    def holds(self, v: float) -> bool:
        above = self.low is None or (v > self.low if self.low_open else v >= self.low)
        below = self.high is None or (v < self.high if self.high_open else v <= self.high)
        return above and below

    def need(self, whole: bool) -> str:
        """What a value outside the range is told: ``must be at least 1``, ``must lie in [0, 1)``, ..."""
        low = None if self.low is None else (int(self.low) if self.low == int(self.low) else self.low)
        if self.high is None:
            if not whole:
                return f"must be a finite number >= {low}"
            return f"must be at least {low}" if low is not None and low >= 1 else f"must be >= {low}"
        if whole and not (self.low_open or self.high_open):
            return f"must be a whole number from {low} to {int(self.high)}"
        return f"must lie in {self.text}"


def option(default: Any = _REQUIRED, help: str = "", choices: Sequence[str] | None = None,  # noqa: A002
           *, min: float | None = None, range: str | None = None,  # noqa: A002
           check: Callable[[Any], str | None] | None = None, note: str = "",
           flags: Sequence[str] | None = None, metavar: str | None = None, one_of: str | None = None,
           kw_only: bool | None = None) -> Any:
    """A dataclass field with ``default`` (none: a required flag), the help line of its flag and what its
    value may be (None, a model's or preset's default, always may):

    * ``choices``: the words it may take (``--help`` lists them, argparse enforces them);
    * ``min``: the least number it may be; ``range``: an interval, ``"[0, 1)"`` (``[ ]`` closed, ``( )``
      open); ``note``: the words in parentheses after the range in the error (``"0: off"``);
    * ``check``: a function of the value that says what is wrong with it (the phrase after ``--flag value:``)
      or returns None;

    a tuple's numbers are checked one by one. ``flags``: the field's flags when not ``--field-name``
    (``("-o", "--output")``; ``("names",)`` a positional argument, shown as ``metavar``; ``()`` none: a
    Python-only field). ``one_of``: the fields of a config with the same tag are alternatives, exactly one of
    them given (not None; on the command line a required mutually exclusive group). ``kw_only=True``
    redefines a shared keyword-only field in a subclass (a trainer's own default for it) without moving it
    among the positional fields."""
    if min is not None and range is not None:
        raise ValueError("give min= or range=, not both")
    bounds = Bounds(low=min) if min is not None else Bounds.parse(range) if range is not None else None
    metadata: dict[str, Any] = {"help": help, **({} if flags is None else {"flags": tuple(flags)})}
    metadata.update({k: v for k, v in (("choices", tuple(choices) if choices else None), ("bounds", bounds),
                                       ("check", check), ("note", note), ("metavar", metavar),
                                       ("one_of", one_of)) if v})
    extra = {} if kw_only is None else {"kw_only": kw_only}
    if default is _REQUIRED:
        return dataclasses.field(metadata=metadata, **extra)
    return dataclasses.field(default=default, metadata=metadata, **extra)


def flag_name(name: str) -> str:
    """The flag of a field: ``burn_in`` -> ``--burn-in``."""
    return "--" + name.replace("_", "-")


def field_flag(f: dataclasses.Field) -> str:
    """How errors name the field ``f``: its flag (``--burn-in``; of ``flags=("-o", "--output")`` the long
    one), or a positional argument's metavar."""
    flags = f.metadata.get("flags") or (flag_name(f.name),)
    if not flags[0].startswith("-"):
        return f.metadata.get("metavar") or flags[0]
    return next((s for s in flags if s.startswith("--")), flags[0])


def choose(choices: Sequence[str]) -> str:
    """``choose a, b or c``: what a word outside ``choices`` is told."""
    return f"choose {', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else f"choose {choices[0]}"


def field_problem(f: dataclasses.Field, value: Any) -> str | None:
    """What is wrong with ``value`` for the field ``f`` by its metadata (choices, finiteness, range, check),
    as the phrase after ``--flag value:``; None when nothing is (None is always allowed)."""
    if value is None or isinstance(value, bool):
        return None
    choices, bounds, check = f.metadata.get("choices"), f.metadata.get("bounds"), f.metadata.get("check")
    if choices and value not in choices:
        return choose(choices)
    numbers = value if isinstance(value, tuple) else (value,)
    if any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
        return "must be finite numbers" if isinstance(value, tuple) else "must be a finite number"
    whole = str(f.type).replace("tuple[", "").startswith("int")
    for v in numbers:
        if bounds is not None and isinstance(v, (int, float)) and not bounds.holds(v):
            note = f.metadata.get("note")
            return bounds.need(whole) + (f" ({note})" if note else "")
        if check is not None and (problem := check(v)) is not None:
            return problem
    return None


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def check_value(cls: type, name: str, value: Any) -> None:
    """Raise a one-line :class:`Yolo9000Error` (``--flag value: problem``) unless ``value`` suits the field
    ``name`` of the dataclass ``cls``."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if (problem := field_problem(f, value)) is not None:
        raise Yolo9000Error(f"{field_flag(f)} {_shown(value)}: {problem}")


def check_fields(obj: Any) -> None:
    """Raise a one-line :class:`Yolo9000Error` for the first field of the dataclass instance ``obj`` whose
    value its metadata does not allow (:func:`option`): ``--obj-loss x: choose mse, bce or mixed``; or none or
    several of alternatives (``one_of``) given."""
    groups: dict[str, list[dataclasses.Field]] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if (problem := field_problem(f, value)) is not None:
            raise Yolo9000Error(f"{field_flag(f)} {_shown(value)}: {problem}")
        if f.metadata.get("one_of"):
            groups.setdefault(f.metadata["one_of"], []).append(f)
    for alternatives in groups.values():
        given = [f for f in alternatives if getattr(obj, f.name) is not None]
        if len(given) != 1:
            raise Yolo9000Error(f"give one of {' or '.join(map(field_flag, alternatives))}"
                                + (f" (not {' and '.join(map(field_flag, given))})" if given else ""))
