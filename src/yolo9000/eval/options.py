"""``yolo9000 val``'s options: field names are the flags; see :func:`yolo9000.eval.validate.validate`."""
from __future__ import annotations

from dataclasses import dataclass

from yolo9000.fields import option
from yolo9000.metrics.report import METRICS
from yolo9000.models.inference import PRECISIONS
from yolo9000.predict.options import WEIGHTS_HELP


@dataclass(frozen=True)
class ValOptions:
    data: str = option(help="dataset YAML")
    model: str = option(help="zoo name, darknet .cfg, a checkpoint (.pt) or an exported raw-head .onnx")
    weights: str | None = option(None, WEIGHTS_HELP)
    metric: str = option("voc07", "voc07 (11-point, darknet's and the paper's VOC 2007), voc (area) or coco",
                         choices=METRICS)
    split: str = option("val", "the split scored")
    imgsz: tuple[int, ...] | None = option(None, "input size(s); several give a table of mAP and images/s per size "
                                                 "(the paper's Table 3); none: the model's own (the size it was "
                                                 "trained and validated at, its cfg's [net] width)")
    conf: float = option(0.005, "objectness threshold (darknet's validation: 0.005)")
    nms: float = option(0.45, "NMS IoU threshold")
    iou: float = option(0.5, "IoU threshold of the VOC metrics (strictly above)")
    plus1: bool = option(True, "VOC metrics: widths x2 - x1 + 1, as the reference code (--no-plus1: x2 - x1)")
    conf_report: float = option(0.25, "the working confidence of the report's TP, FP, FN, precision, recall, F1 and "
                                      "IoU (darknet's map: 0.25); AP counts every detection", range="[0, 1)")
    batch: int = option(4, "images per forward pass")
    device: str = option("auto", "cpu, cuda, cuda:N, a GPU index (0) or auto (CUDA when present)")
    precision: str = option("fp32", "inference precision: fp32 (darknet-exact), bf16, fp16 (CUDA only)",
                            choices=PRECISIONS)
    compile: bool = option(False, "compile the inference copy with torch.compile")
    skip_bad: bool = option(False, "drop bad dataset records instead of stopping")
    json: str | None = option(None, "write the scores as JSON here")
    save_dir: str | None = option(None, "write the plots (PR curves, confusion matrix, recall; with several "
                                        "--imgsz, mAP against speed) here; none: a fresh runs/val, runs/val2, ...")
    plots: bool = option(True, "write the plots (--no-plots: none, unless --save-dir is given)")
    save_coco: str | None = option(None, "write the detections as COCO results JSON here")
    save_voc: str | None = option(None, "write darknet/VOC comp4_det_test_<class>.txt files here")
    exist_ok: bool = option(False, "replace files of the same names already in --save-dir / --save-voc (default: "
                                   "refuse them, with nothing written)")
    quiet: bool = option(False, "no progress bar")
