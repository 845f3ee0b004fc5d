"""``yolo9000 export``: ONNX export, checked against PyTorch; the flags of what is exported are
:class:`~yolo9000.predict.export.ExportOptions`' fields (as :meth:`yolo9000.YOLO.export`'s keywords)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yolo9000.checkpoints.format import CHECKPOINT_EXTS
from yolo9000.checkpoints.loading import load_model, weights_for
from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.fileio import check_outputs
from yolo9000.predict.export import (
    FORMATS,
    DecodedDetector,
    ExportOptions,
    ExportReport,
    ParityCheck,
    boxes_scores_for_nms,
    export_onnx,
)
from yolo9000.predict.options import WEIGHTS_HELP


# ----------------------------------------------------------------------------- CLI
def add_export_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``export --model M [--weights W] --format onnx -o FILE`` and the flags of
    :class:`~yolo9000.predict.export.ExportOptions` (``--imgsz``, ``--batch``, ``--dynamic``, ``--with-decode``,
    ``--opset``, ``--no-check``)."""
    p = sub.add_parser("export", help="export a network to ONNX (checked against PyTorch with onnxruntime)",
                       description="Export a network to ONNX: the raw head (YOLO('x.onnx') loads it) or, with "
                                   "--with-decode, boxes (xyxy, network-input pixels) and scores for NMS.")
    p.add_argument("--model", required=True, help="zoo name, darknet .cfg, or a checkpoint (.pt)")
    p.add_argument("--weights", default=None, help=WEIGHTS_HELP)
    p.add_argument("--format", choices=FORMATS, default="onnx")
    add_dataclass_args(p, ExportOptions)
    p.add_argument("-o", "--output", required=True, help="output .onnx file")


def cmd_export(a: argparse.Namespace) -> int:
    """Load the network, export it, print one summary line."""
    options = dataclass_from_args(ExportOptions, a)
    check_outputs({"-o": a.output}, reads=[a.model, a.weights])
    weights = weights_for(a.model, a.weights)
    model, _header, names = load_model(a.model, weights)
    report = export_onnx(model, a.output, names, options)
    print(report.summary(), file=sys.stderr)
    if weights is None and a.weights is None and Path(a.model).suffix.lower() not in CHECKPOINT_EXTS:
        print("yolo9000: warning: no --weights given: the export holds random weights", file=sys.stderr)
    return 0


__all__ = ["DecodedDetector", "ExportOptions", "ExportReport", "ParityCheck", "add_export_parser",
           "boxes_scores_for_nms", "cmd_export", "export_onnx"]
