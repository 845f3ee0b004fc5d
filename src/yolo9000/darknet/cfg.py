"""Darknet ``.cfg`` files: parse them into a :class:`DarknetConfig`, and write one back.

The grammar is darknet's: ``[section]`` headers, ``key=value`` lines, ``#`` or ``;`` comment lines,
whitespace ignored everywhere; a key repeated within a section keeps its first value, as darknet's
``option_find`` does (with a warning). Errors name the file and the line. Writing emits every option
explicitly, so ``parse_cfg_text(config_to_cfg_text(c)) == c``; our checkpoints store the network this
way, in darknet's own format.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

from yolo9000.errors import ConfigError, Yolo9000Error, file_error, read_text_file
from yolo9000.models.darknet import (
    AvgPoolSpec,
    ConvSpec,
    CostSpec,
    DarknetConfig,
    LayerSpec,
    MaxPoolSpec,
    NetSpec,
    RegionSpec,
    ReorgSpec,
    RouteSpec,
    SoftmaxSpec,
    bad_anchor,
    check_config,
    config_stride,
)
from yolo9000.names import bundled

_SECTION_ALIASES = {
    "net": "net", "network": "net", "convolutional": "convolutional", "conv": "convolutional",
    "maxpool": "maxpool", "max": "maxpool", "avgpool": "avgpool", "avg": "avgpool", "route": "route",
    "reorg": "reorg", "softmax": "softmax", "soft": "softmax", "region": "region", "cost": "cost",
}
# darknet options we read but that do not change the network at inference
_IGNORED = {
    "net": {"learning_rate_min", "max_batch", "adam", "B1", "B2", "eps", "inputs", "max_crop", "min_crop",
            "center", "clip", "gamma", "step", "time_steps", "notruth", "random", "noadjust", "h", "w", "c"},
    "convolutional": {"flipped", "dot"},
    "region": {"log", "sqrt", "background", "max", "classfix", "mask_scale"},
    "cost": {"ratio", "noobj", "thresh"},
    "softmax": {"spatial", "noloss"},
    "reorg": {"reverse", "flatten", "extra"},
}
# options whose non-default value we cannot honour
_UNSUPPORTED = {"convolutional": {"groups": "1", "binary": "0", "xnor": "0"},
                "reorg": {"reverse": "0", "flatten": "0", "extra": "0"}}


class _Section:
    """One ``[section]`` with its options and the line numbers they came from."""

    def __init__(self, kind: str, line: int, source: str) -> None:
        self.kind, self.line, self.source = kind, line, source
        self.options: dict[str, tuple[str, int]] = {}
        self.used: set[str] = set()

    def error(self, key: str | None, problem: str) -> Yolo9000Error:
        line = self.options[key][1] if key in self.options else self.line
        return file_error(f"{self.source}:{line}", f"[{self.kind}] {problem}")

    def raw(self, key: str) -> str | None:
        self.used.add(key)
        return self.options[key][0] if key in self.options else None

    def int(self, key: str, default: int) -> int:
        v = self.raw(key)
        if v is None:
            return default
        try:
            n = int(v)
        except ValueError:
            raise self.error(key, f"{key}={v} is not an integer") from None
        if not -2**31 <= n < 2**31:  # darknet reads them with atoi into a C int
            raise self.error(key, f"{key}={v} is out of range (darknet's options are 32-bit integers)")
        return n

    def float(self, key: str, default: float) -> float:
        v = self.raw(key)
        if v is None:
            return default
        try:
            x = float(v)
        except ValueError:
            raise self.error(key, f"{key}={v} is not a number") from None
        if not math.isfinite(x):
            raise self.error(key, f"{key}={v} is not a finite number")
        return x

    def str(self, key: str, default: str | None) -> str | None:
        v = self.raw(key)
        return default if v is None else v

    def ints(self, key: str) -> tuple[int, ...]:
        v = self.raw(key)
        try:
            return tuple(int(x) for x in v.split(",") if x) if v else ()
        except ValueError:
            raise self.error(key, f"{key}={v} is not a comma-separated list of integers") from None

    def floats(self, key: str) -> tuple[float, ...]:
        v = self.raw(key)
        try:
            out = tuple(float(x) for x in v.split(",") if x) if v else ()
        except ValueError:
            raise self.error(key, f"{key}={v} is not a comma-separated list of numbers") from None
        if (k := next((k for k, x in enumerate(out) if not math.isfinite(x)), None)) is not None:
            raise self.error(key, f"{key}={v}: value {k + 1} is not a finite number")
        return out


def _sections(text: str, source: str) -> list[_Section]:
    sections: list[_Section] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = "".join(line.split())  # darknet strips all whitespace
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]"):
                raise file_error(f"{source}:{lineno}", f"malformed section header {line!r}")
            name = line[1:-1]
            if name not in _SECTION_ALIASES:
                raise file_error(f"{source}:{lineno}", f"unknown layer type [{name}]")
            sections.append(_Section(_SECTION_ALIASES[name], lineno, source))
            continue
        if "=" not in line:
            raise file_error(f"{source}:{lineno}", f"expected key=value or [section], got {line!r}")
        if not sections:
            raise file_error(f"{source}:{lineno}", "option before the first [section]")
        key, value = line.split("=", 1)
        if not key:
            raise file_error(f"{source}:{lineno}", f"missing key in {line!r}")
        section = sections[-1]
        if key in section.options:  # darknet's option_find returns the first match; the rest go unused
            warnings.warn(f"{source}:{lineno}: [{section.kind}] duplicate option {key}: ignored, as darknet "
                          f"does; the value of line {section.options[key][1]} applies", stacklevel=4)
            continue
        section.options[key] = (value, lineno)
    if not sections:
        raise file_error(source, "no sections: not a darknet cfg")
    if sections[0].kind != "net":
        raise file_error(f"{source}:{sections[0].line}", "the first section must be [net]")
    if len(sections) == 1:
        raise file_error(source, "no layers after [net]")
    return sections


def _resolve_data_file(value: str, cfg_dir: Path | None, sec: _Section, key: str) -> str:
    """Find a tree/map file as darknet names it (``data/9k.tree``): as given, beside the cfg, one
    folder up from it, or among the bundled files by name."""
    p = Path(value)
    candidates = [p]
    if cfg_dir is not None and not p.is_absolute():
        candidates += [cfg_dir / p, cfg_dir.parent / p, cfg_dir / p.name]
    candidates.append(bundled(p.name))
    for c in candidates:
        if c.is_file():
            return str(c.resolve())
    raise sec.error(key, f"{key} file {value!r} not found (looked as given, beside the cfg and in the "
                         f"bundled data)")


def _net(s: _Section) -> NetSpec:
    d = NetSpec()
    return NetSpec(
        width=s.int("width", d.width), height=s.int("height", d.height), channels=s.int("channels", d.channels),
        batch=s.int("batch", d.batch), subdivisions=s.int("subdivisions", d.subdivisions),
        momentum=s.float("momentum", d.momentum), decay=s.float("decay", d.decay),
        learning_rate=s.float("learning_rate", d.learning_rate), burn_in=s.int("burn_in", d.burn_in),
        max_batches=s.int("max_batches", d.max_batches), policy=s.str("policy", d.policy) or d.policy,
        steps=s.ints("steps"), scales=s.floats("scales"), power=s.float("power", d.power),
        angle=s.float("angle", d.angle), saturation=s.float("saturation", d.saturation),
        exposure=s.float("exposure", d.exposure), hue=s.float("hue", d.hue), aspect=s.float("aspect", d.aspect),
        min_crop=s.int("min_crop", d.min_crop), max_crop=s.int("max_crop", d.max_crop),
    )


def _layer(s: _Section, cfg_dir: Path | None) -> LayerSpec:
    for key, default in _UNSUPPORTED.get(s.kind, {}).items():
        v = s.raw(key)
        if v is not None and v != default:
            raise s.error(key, f"{key}={v} is not supported")
    if s.kind == "convolutional":
        size = s.int("size", 1)
        padding = size // 2 if s.int("pad", 0) else s.int("padding", 0)
        s.raw("padding")
        return ConvSpec(filters=s.int("filters", 1), size=size, stride=s.int("stride", 1), padding=padding,
                        batch_normalize=bool(s.int("batch_normalize", 0)),
                        activation=s.str("activation", "logistic") or "logistic")
    if s.kind == "maxpool":
        stride = s.int("stride", 1)
        size = s.int("size", stride)
        return MaxPoolSpec(size=size, stride=stride, padding=s.int("padding", size - 1))
    if s.kind == "avgpool":
        return AvgPoolSpec()
    if s.kind == "route":
        layers = s.ints("layers")
        if not layers:
            raise s.error("layers", "route needs layers=...")
        return RouteSpec(layers)
    if s.kind == "reorg":
        return ReorgSpec(stride=s.int("stride", 1))
    if s.kind == "softmax":
        tree = s.str("tree", None)
        return SoftmaxSpec(groups=s.int("groups", 1), temperature=s.float("temperature", 1.0),
                           tree=_resolve_data_file(tree, cfg_dir, s, "tree") if tree else None)
    if s.kind == "cost":
        return CostSpec(type=s.str("type", "sse") or "sse", scale=s.float("scale", 1.0))
    # region
    tree, map_file = s.str("tree", None), s.str("map", None)
    anchors = s.floats("anchors")
    if (k := bad_anchor(anchors)) is not None:
        raise s.error("anchors", f"anchors must be finite positive numbers, value {k + 1} is {anchors[k]}")
    return RegionSpec(
        anchors=anchors, classes=s.int("classes", 20), num=s.int("num", 1),
        coords=s.int("coords", 4), softmax=bool(s.int("softmax", 0)),
        tree=_resolve_data_file(tree, cfg_dir, s, "tree") if tree else None,
        map=_resolve_data_file(map_file, cfg_dir, s, "map") if map_file else None,
        jitter=s.float("jitter", 0.2), rescore=bool(s.int("rescore", 0)),
        object_scale=s.float("object_scale", 1.0), noobject_scale=s.float("noobject_scale", 1.0),
        class_scale=s.float("class_scale", 1.0), coord_scale=s.float("coord_scale", 1.0),
        thresh=s.float("thresh", 0.5), absolute=bool(s.int("absolute", 0)), random=bool(s.int("random", 0)),
        bias_match=bool(s.int("bias_match", 0)), location=s.str("location", "direct") or "direct",
    )


def _problem_line(problem: str, sections: list[_Section]) -> int:
    """The cfg line a :func:`check_config` message is about: the line of the option it quotes
    (``layer 3 (convolutional): padding=-5 ...``) when that layer's section sets it, else the section's
    header line; ``[net]``'s header for a message about no layer."""
    match = re.match(r"layer (\d+) \(\w+\): (\w+)=", problem) or re.match(r"layer (\d+)", problem)
    index = int(match.group(1)) if match else -1
    if not 0 <= index < len(sections) - 1:
        return sections[0].line
    section = sections[index + 1]
    key = match.group(2) if match and match.lastindex == 2 else None
    return section.options[key][1] if key in section.options else section.line


def parse_cfg_text(text: str, source: str = "<cfg>", cfg_dir: Path | None = None,
                   name: str | None = None) -> DarknetConfig:
    """Parse darknet cfg ``text``; ``source`` names it in errors and ``cfg_dir`` anchors tree/map paths."""
    sections = _sections(text, source)
    net = _net(sections[0])
    layers = tuple(_layer(s, cfg_dir) for s in sections[1:])
    for s in sections:
        unused = set(s.options) - s.used - _IGNORED.get(s.kind, set())
        for key in sorted(unused, key=lambda k: s.options[k][1]):
            warnings.warn(f"{source}:{s.options[key][1]}: [{s.kind}] unused option {key}", stacklevel=3)
    config = DarknetConfig(name or Path(source).stem, net, layers)
    try:
        check_config(config)
    except ConfigError as e:  # the message names the layer; the file and the line are added here
        raise file_error(f"{source}:{_problem_line(str(e), sections)}", str(e)) from None
    stride = config_stride(config)
    if net.width % stride or net.height % stride:
        warnings.warn(f"{source}:{sections[0].line}: [net] width={net.width}, height={net.height}: not multiples of "
                      f"the network's stride {stride}; yolo9000 runs it at --imgsz (a multiple of {stride})",
                      stacklevel=2)
    return config


def net_options(path: str | Path) -> dict[str, str]:
    """The options a darknet ``.cfg`` file's first section (``[net]``) sets, as written (whitespace removed):
    which of its training settings the file gives, not :class:`NetSpec`'s defaults."""
    p, text = read_text_file(path, "cfg file")
    sections = _sections(text, str(p))
    return {k: v for k, (v, _) in sections[0].options.items()} if sections else {}


def parse_cfg(path: str | Path) -> DarknetConfig:
    """Parse a darknet ``.cfg`` file."""
    p, text = read_text_file(path, "cfg file")
    return parse_cfg_text(text, str(p), p.parent.resolve(), p.stem)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, tuple):
        return ",".join(_fmt(x) for x in v)
    return repr(v) if isinstance(v, float) else str(v)


_SECTION_OF = {NetSpec: "net", ConvSpec: "convolutional", MaxPoolSpec: "maxpool", AvgPoolSpec: "avgpool",
               RouteSpec: "route", ReorgSpec: "reorg", SoftmaxSpec: "softmax", CostSpec: "cost",
               RegionSpec: "region"}


def require_darknet(config: DarknetConfig) -> None:
    """Raise a one-line ``Yolo9000Error`` when darknet could not run ``config`` as we do (so it gets no
    .cfg/.weights): today only ``[region] location=offset``, which darknet would decode the sigmoid way."""
    region = config.region
    if region is not None and region.location != "direct":
        raise Yolo9000Error(f"{config.name}: no darknet .cfg/.weights for this network: [region] "
                            f"location={region.location} (the RPN-style unbounded centre offset) is a yolo9000 "
                            f"option darknet has no equivalent of: darknet would decode every box with its sigmoid "
                            f"form; keep it as a checkpoint (.pt) or export it to ONNX")


def config_to_cfg_text(config: DarknetConfig, extensions: bool = False) -> str:
    """Write ``config`` as darknet cfg text, every option explicit (``pad`` as ``padding=N``).

    ``extensions``: also write yolo9000's own options (``[region] location=offset``), as our checkpoints and
    ONNX metadata do; without it (a ``.cfg`` for darknet) a network darknet cannot run is a one-line error.
    """
    if not extensions:
        require_darknet(config)
    out: list[str] = [f"# {config.name}, written by yolo9000"]
    for spec in (config.net, *config.layers):
        out.append(f"[{_SECTION_OF[type(spec)]}]")
        for f in fields(spec):
            v = getattr(spec, f.name)
            if v is None or (isinstance(v, tuple) and not v):
                continue
            if isinstance(spec, RegionSpec) and f.name == "location" and v == "direct":
                continue  # darknet's own form: not written, so the text stays darknet's
            out.append(f"{f.name}={_fmt(v)}")
        out.append("")
    return "\n".join(out)
