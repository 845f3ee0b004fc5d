"""``yolo9000 export``: a network to ONNX, checked against PyTorch with onnxruntime.

Two graphs can be written (input ``images``: (B, 3, H, W) float32 in [0, 1], letterboxed as darknet does):

* raw head (default): output ``output``, the network's own output: (B, A*(5+C), H/32, W/32) for a
  detector in darknet's channel order, or (B, C) logits for a classifier. ``YOLO("model.onnx")``
  loads these and reuses its own decode and NMS.
* ``--with-decode``: outputs ``boxes_xyxy`` (B, A*H/32*W/32, 4), corners in pixels of the network input
  (the letterboxed frame), and ``scores`` (B, A*H/32*W/32, C) = objectness x P(class): ready for any
  NMS. Predictions are in darknet's order, index ``a*h*w + row*w + col``. WordTree heads (YOLO9000) are
  refused: their labels come from a thresholded top-down walk over the tree, not a fixed score
  tensor; export their raw head instead.

``--dynamic`` makes batch, height and width free (height and width stay multiples of the stride).
The graph carries :class:`yolo9000.predict.onnx_backend.OnnxMetadata` in ``metadata_props``. Unless
``check=False``, the serialized model is run by onnxruntime on a random input (and a second shape
when dynamic) and compared with the PyTorch float32 forward before anything is written; the file is
then written atomically.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from yolo9000.darknet.cfg import config_to_cfg_text
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.fields import check_fields, option
from yolo9000.fileio import atomic_write
from yolo9000.models.darknet import Darknet, imgsz_problem, native_imgsz
from yolo9000.ops.boxes import box_convert
from yolo9000.ops.region import decode_region
from yolo9000.optional import require
from yolo9000.predict.onnx_backend import DECODED_OUTPUTS, INPUT_NAME, RAW_OUTPUT, OnnxMetadata, open_session

MIN_OPSET = 18  # torch's exporter writes opset 18+; its down-conversion fails on these graphs
FORMATS = ("onnx",)


@dataclass(frozen=True)
class ExportOptions:
    """What to export: input size and batch traced (``imgsz`` None: the model's own, the size it was trained
    and validated at), free axes, graph end, opset, and the parity check. Field names are the flags of
    ``yolo9000 export`` (``with_decode`` = ``--with-decode``) and the keywords of :meth:`yolo9000.YOLO.export`;
    ``tolerance`` and ``seed`` are Python-only."""

    imgsz: int | None = option(None, "input size traced, the only one unless --dynamic; none: the model's own, the "
                                     "size it was trained and validated at")
    batch: int = option(1, "batch traced (the only one unless --dynamic)", min=1)
    dynamic: bool = option(False, "free batch, height and width axes")
    with_decode: bool = option(False, "end in boxes_xyxy (B, N, 4) and scores (B, N, C) instead of the raw head")
    opset: int = option(MIN_OPSET, f"ONNX opset (>= {MIN_OPSET})", min=MIN_OPSET,
                        note=f"torch's ONNX exporter writes opset {MIN_OPSET} or later")
    check: bool = option(True, "compare onnxruntime with PyTorch before writing (max diff <= 1e-4)")
    tolerance: float = option(1e-4, "the largest scaled difference the check allows", min=0, flags=())
    seed: int = option(0, "seed of the check's random input", flags=())


@dataclass(frozen=True)
class ParityCheck:
    """onnxruntime against the PyTorch float32 forward on one random input, per output.

    ``max_abs_diff``: the largest absolute difference, in the output's units (boxes in pixels).
    ``max_scaled_diff``: the same divided by ``max(1, largest |value|)`` of the PyTorch output, boxes
    first taken as fractions of the input size: the absolute difference for outputs within +-1 (scores,
    most heads), relative to the output's range beyond it. Deep float32 heads reach |30| (YOLO9000)
    where float32 itself differs from float64 by ~1e-4, and untrained ``exp(tw)`` boxes reach 1e5 px.
    """

    input_shape: tuple[int, ...]
    output_shapes: tuple[tuple[int, ...], ...]
    max_abs_diff: tuple[float, ...]
    max_scaled_diff: tuple[float, ...]

    @property
    def worst(self) -> float:
        """The figure the tolerance applies to: the largest scaled difference."""
        return max(self.max_scaled_diff)


@dataclass(frozen=True)
class ExportReport:
    path: Path
    metadata: OnnxMetadata
    opset: int
    nbytes: int
    checks: tuple[ParityCheck, ...]
    seconds: float

    def summary(self) -> str:
        """One line: what was written and the parity figures."""
        m = self.metadata
        what = "boxes_xyxy + scores" if m.with_decode else ("raw head" if m.is_detector else "logits")
        axes = "dynamic batch/H/W" if m.dynamic else f"{m.batch}x3x{m.imgsz}x{m.imgsz}"
        line = f"wrote {self.path} ({m.model_name}, {what}, {axes}, opset {self.opset}, {self.nbytes / 1e6:.1f} MB)"
        if self.checks:
            parts = []
            for c in self.checks:
                outputs = DECODED_OUTPUTS if m.with_decode else (RAW_OUTPUT,)
                units = (" px", "") if m.with_decode else ("",)
                diffs = ", ".join(f"{n} {d:.2g}{u}" for n, d, u in zip(outputs, c.max_abs_diff, units))
                parts.append(f"{tuple(c.input_shape)}: max abs diff {diffs} (scaled {c.worst:.2g})")
            line += "; onnxruntime vs PyTorch " + "; ".join(parts)
        return line


def boxes_scores_for_nms(raw: torch.Tensor, anchors_grid: torch.Tensor, net_w: int | torch.SymInt,
                         net_h: int | torch.SymInt, location: str = "direct") -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a flat-softmax raw head into NMS inputs.

    Args:
        raw: (B, A*(5+C), h, w) raw head.
        anchors_grid: (A, 2) anchor (w, h) in grid cells.
        net_w, net_h: network input size in pixels.
        location: the head's ``[region] location`` (direct: darknet's sigmoid centres; offset: RPN-style).
    Returns:
        boxes_xyxy: (B, A*h*w, 4) corners in network-input pixels (letterboxed frame), darknet's order;
        scores: (B, A*h*w, C) objectness x P(class).
    """
    pred = decode_region(raw, anchors_grid, location=location)
    x1, y1, x2, y2 = box_convert(pred.boxes_cxcywh_norm, "cxcywh", "xyxy").unbind(-1)
    # scaled per column: net_w, net_h may be symbolic sizes of the traced graph
    boxes_xyxy = torch.stack([x1 * net_w, y1 * net_h, x2 * net_w, y2 * net_h], dim=-1)
    return boxes_xyxy, pred.objectness.unsqueeze(-1) * pred.class_probs


class DecodedDetector(nn.Module):
    """A detector followed by :func:`boxes_scores_for_nms`: (B, 3, H, W) -> (boxes_xyxy, scores)."""

    def __init__(self, model: Darknet) -> None:
        super().__init__()
        region = model.config.region
        if region is None or model.config.tree is not None:
            raise ValueError("DecodedDetector needs a detector with a flat softmax head")
        self.model = model
        self.register_buffer("anchors_grid", torch.tensor(region.anchors_grid, dtype=torch.float32))
        self.location = region.location

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return boxes_scores_for_nms(self.model(x), self.anchors_grid, x.shape[3], x.shape[2], self.location)


def check_export_options(model: Darknet, options: ExportOptions, out: str | Path) -> None:
    """One-line errors for options that cannot produce a valid export of ``model``."""
    config, stride = model.config, model.stride
    if Path(out).suffix.lower() != ".onnx":
        raise file_error(out, "ONNX output must end in .onnx")
    if (problem := imgsz_problem(options.imgsz, stride)) is not None:
        raise Yolo9000Error(f"imgsz={options.imgsz}: {problem}")
    check_fields(options)  # batch, opset, tolerance
    if options.with_decode and config.region is None:
        raise Yolo9000Error(f"{config.name}: --with-decode needs a detector; a classifier exports its logits")
    if options.with_decode and config.tree is not None:
        raise Yolo9000Error(f"{config.name}: --with-decode does not support WordTree heads (labels come from a "
                            f"top-down tree walk, not a score tensor); export the raw head and load it with YOLO()")


def export_metadata(model: Darknet, names: tuple[str, ...], options: ExportOptions) -> OnnxMetadata:
    """The metadata stored with an export of ``model``."""
    config = model.config
    anchors = config.region.anchors_grid if config.region is not None else ()
    return OnnxMetadata(config.name, config_to_cfg_text(config, extensions=True), tuple(names), anchors,
                        config.num_classes,
                        model.stride, options.imgsz, options.batch, options.with_decode, options.dynamic)


def _label_dims(proto, names: dict[str, list[str | int]]) -> None:
    """Give the graph's inputs and outputs readable symbolic dimension names (labels only)."""
    for value in list(proto.graph.input) + list(proto.graph.output):
        for dim, label in zip(value.type.tensor_type.shape.dim, names.get(value.name, [])):
            if isinstance(label, str) and dim.HasField("dim_param"):
                dim.dim_param = label


def to_onnx_proto(module: nn.Module, example: torch.Tensor, metadata: OnnxMetadata, options: ExportOptions):
    """Trace ``module`` with torch's dynamo exporter; returns the ``onnx.ModelProto`` with metadata."""
    from torch.export import Dim

    outputs = list(DECODED_OUTPUTS) if options.with_decode else [RAW_OUTPUT]
    dynamic_shapes = None
    if options.dynamic:
        s = metadata.stride
        dynamic_shapes = {"x": {0: Dim("batch", min=1, max=4096), 2: s * Dim("h", min=1, max=1024),
                                3: s * Dim("w", min=1, max=1024)}}
    program = torch.onnx.export(module, (example,), dynamo=True, input_names=[INPUT_NAME], output_names=outputs,
                                dynamic_shapes=dynamic_shapes, opset_version=options.opset, verbose=False)
    proto = program.model_proto
    if options.dynamic:
        raw = ["batch", "channels", "grid_h", "grid_w"] if metadata.is_detector else ["batch"]
        _label_dims(proto, {INPUT_NAME: ["batch", 3, "height", "width"], RAW_OUTPUT: raw,
                            "boxes_xyxy": ["batch", "predictions"], "scores": ["batch", "predictions"]})
    del proto.metadata_props[:]
    for key, value in metadata.to_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"yolo9000 export of {metadata.model_name}"
    return proto


def parity_check(session, module: nn.Module, x: torch.Tensor, with_decode: bool) -> ParityCheck:
    """Run ``x`` through the onnxruntime ``session`` and the float32 ``module``; compare every output."""
    with torch.inference_mode():
        ref = module(x)
    refs = [t.numpy() for t in (ref if isinstance(ref, tuple) else (ref,))]
    outs = session.run(None, {INPUT_NAME: x.numpy()})
    shapes = tuple(tuple(o.shape) for o in outs)
    if shapes != tuple(r.shape for r in refs):
        return ParityCheck(tuple(x.shape), shapes, (float("inf"),), (float("inf"),))
    abs_diffs, scaled = [], []
    for k, (o, r) in enumerate(zip(outs, refs)):
        d = float(np.abs(o.astype(np.float64) - r).max(initial=0.0))
        unit = float(max(x.shape[2], x.shape[3])) if with_decode and k == 0 else 1.0  # boxes: input sizes
        abs_diffs.append(d)
        scaled.append(d / unit / max(1.0, float(np.abs(r).max(initial=0.0)) / unit))
    return ParityCheck(tuple(x.shape), shapes, tuple(abs_diffs), tuple(scaled))


def _check_inputs(metadata: OnnxMetadata, options: ExportOptions, gen: torch.Generator) -> list[torch.Tensor]:
    """Random inputs: the traced shape, and for a dynamic export another batch and a non-square size."""
    s = options.imgsz
    shapes = [(options.batch, 3, s, s)]
    if options.dynamic:
        shapes.append((options.batch + 1, 3, s + metadata.stride, max(metadata.stride, s - metadata.stride)))
    return [torch.rand(*shape, generator=gen) for shape in shapes]


def export_onnx(model: Darknet, out: str | Path, names: tuple[str, ...] | None = None,
                options: ExportOptions = ExportOptions()) -> ExportReport:
    """Export ``model`` (float32, CPU) to ``out``; see the module docstring. Raises a one-line
    :class:`Yolo9000Error` for bad options, or when onnxruntime differs by more than ``tolerance``
    (then nothing is written)."""
    t0 = time.perf_counter()
    if options.imgsz is None:
        options = replace(options, imgsz=native_imgsz(model.config))
    check_export_options(model, options, out)
    for module in ("onnx", "onnxscript") + (("onnxruntime",) if options.check else ()):
        require(module, "ONNX export" + (" with its onnxruntime check (--no-check skips it)"
                                         if module == "onnxruntime" else ""))
    model = copy.deepcopy(model).to("cpu", torch.float32).eval()  # the caller's model stays as it is
    names = tuple(names) if names else tuple(f"class{i}" for i in range(model.config.num_classes))
    metadata = export_metadata(model, names, options)
    module: nn.Module = DecodedDetector(model).eval() if options.with_decode else model
    gen = torch.Generator().manual_seed(options.seed)
    # dynamic batch: trace at batch >= 2, or torch.export specialises a batch of 1
    trace_batch = max(2, options.batch) if options.dynamic else options.batch
    example = torch.rand(trace_batch, 3, options.imgsz, options.imgsz, generator=gen)
    proto = to_onnx_proto(module, example, metadata, options)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), -1)
    if opset != options.opset:
        raise Yolo9000Error(f"opset={options.opset}: torch's exporter wrote opset {opset} instead")
    data = proto.SerializeToString()
    checks: list[ParityCheck] = []
    if options.check:
        session = open_session(data, "cpu", out)
        for x in _check_inputs(metadata, options, gen):
            c = parity_check(session, module, x, options.with_decode)
            checks.append(c)
            if not c.worst <= options.tolerance:
                raise file_error(out, f"onnxruntime differs from PyTorch by {c.worst:.3g} (scaled) > "
                                      f"{options.tolerance:g} on input {tuple(c.input_shape)}; nothing written")
    with atomic_write(out) as f:
        f.write(data)
    return ExportReport(Path(out), metadata, opset, len(data), tuple(checks), time.perf_counter() - t0)
