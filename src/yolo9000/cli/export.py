"""``yolo9000 export``: ONNX export, checked against PyTorch."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yolo9000.fileio import check_outputs
from yolo9000.models.loading import CHECKPOINT_EXTS, load_model
from yolo9000.predict.export import (
    FORMATS,
    MIN_OPSET,
    DecodedDetector,
    ExportOptions,
    ExportReport,
    ParityCheck,
    boxes_scores_for_nms,
    export_onnx,
)


# ----------------------------------------------------------------------------- CLI
def add_export_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``export --model M [--weights W] --format onnx [--imgsz] [--batch] [--dynamic] [--with-decode]
    [--opset N] [--no-check] -o FILE``."""
    p = sub.add_parser("export", help="export a network to ONNX (checked against PyTorch with onnxruntime)",
                       description="Export a network to ONNX: the raw head (YOLO('x.onnx') loads it) or, with "
                                   "--with-decode, boxes (xyxy, network-input pixels) and scores for NMS.")
    p.add_argument("--model", required=True, help="zoo name, darknet .cfg, or a checkpoint (.pt)")
    p.add_argument("--weights", default=None, help="darknet .weights or checkpoint (.pt)")
    p.add_argument("--format", choices=FORMATS, default="onnx")
    p.add_argument("--imgsz", type=int, default=None,
                   help="input size traced, the only one unless --dynamic (default: the model's own, the size it "
                        "was trained and validated at)")
    p.add_argument("--batch", type=int, default=1, help="batch traced (the only one unless --dynamic)")
    p.add_argument("--dynamic", action="store_true", help="free batch, height and width axes")
    p.add_argument("--with-decode", action="store_true",
                   help="end in boxes_xyxy (B, N, 4) and scores (B, N, C) instead of the raw head")
    p.add_argument("--opset", type=int, default=18, help=f"ONNX opset (>= {MIN_OPSET})")
    p.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                   help="compare onnxruntime with PyTorch before writing (max diff <= 1e-4)")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")


def cmd_export(a: argparse.Namespace) -> int:
    """Load the network, export it, print one summary line."""
    check_outputs({"-o": a.output}, reads=[a.model, a.weights])
    model, _header, names = load_model(a.model, a.weights)
    options = ExportOptions(imgsz=a.imgsz, batch=a.batch, dynamic=a.dynamic, with_decode=a.with_decode,
                            opset=a.opset, check=a.check)
    report = export_onnx(model, a.output, names, options)
    print(report.summary(), file=sys.stderr)
    if a.weights is None and Path(a.model).suffix.lower() not in CHECKPOINT_EXTS:
        print("yolo9000: warning: no --weights given: the export holds random weights", file=sys.stderr)
    return 0


__all__ = ["DecodedDetector", "ExportOptions", "ExportReport", "ParityCheck", "add_export_parser",
           "boxes_scores_for_nms", "cmd_export", "export_onnx"]
