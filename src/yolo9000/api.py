"""The Python API: ``YOLO(model, weights=...)`` and ``.predict(...)``.

>>> from yolo9000 import YOLO
>>> yolo = YOLO("yolov2-voc", weights="yolov2-voc.weights")
>>> for r in yolo.predict("images/", conf=0.25):
...     print(r.path, r.xyxy, r.class_names)
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from yolo9000.checkpoints.format import CHECKPOINT_EXTS, checkpoint_dict, save_checkpoint
from yolo9000.checkpoints.loading import load_model, resolve_config
from yolo9000.darknet.cfg import config_to_cfg_text, require_darknet
from yolo9000.darknet.weights import WeightsHeader, save_darknet_weights
from yolo9000.errors import Yolo9000Error
from yolo9000.eval.validate import ValResult, validate
from yolo9000.fileio import atomic_write
from yolo9000.models.darknet import Darknet
from yolo9000.predict.export import FORMATS, ExportOptions, export_onnx
from yolo9000.predict.predictor import Predictor, RandomWeightsWarning
from yolo9000.predict.results import Results
from yolo9000.predict.sources import Source
from yolo9000.train.detect import TrainConfig, train

__all__ = ["CHECKPOINT_EXTS", "YOLO", "Predictor", "RandomWeightsWarning", "load_model", "resolve_config"]


def _predictor_field(name: str) -> property:
    """A read-only attribute of the :class:`Predictor` a :class:`YOLO` holds, under the same name."""
    return property(lambda self: getattr(self.predictor, name), doc=f"The predictor's ``{name}``.")


class YOLO:
    """A YOLOv2 / YOLO9000 detector or Darknet-19 classifier, ready to predict, validate, train, save and export.

    Args:
        model: zoo name (``yolov2-voc``, ``yolo9000``, ...), darknet ``.cfg`` path, or checkpoint (or a
            :class:`~yolo9000.predict.predictor.Predictor`, held as it is).
        weights: darknet ``.weights`` or checkpoint (see :func:`load_model`); ``"random"``: darknet's random
            initialisation; None: a zoo name's published weights (``yolov2-voc`` -> ``yolov2-voc.weights``,
            downloaded once into the cache), a checkpoint's own, else the random initialisation (which warns).
        names: optional names file; must list exactly one name per class.
        device: torch device for inference.
        fuse: predict with a copy that folds batch norm into the convolutions and uses channels-last
            memory (faster; differs from the plain float32 forward by float rounding, ~1e-5).
        precision: ``"fp32"`` (default), ``"bf16"``, or ``"fp16"`` (CUDA only): the dtype the fused copy's
            convolutions run in; the decode and NMS stay float32.
        compile: run the fused copy under ``torch.compile`` (the first prediction compiles).

    ``model`` may also be a raw-head ``.onnx`` file written by ``yolo9000 export``: it then predicts
    through onnxruntime (float32; ``weights``, ``precision`` and ``compile`` do not apply).

    The facade holds a :class:`~yolo9000.predict.predictor.Predictor` (``.predictor``), which holds the
    network's backend (the torch network, or the ONNX session); ``model``, ``names``, ``config``, ``imgsz``
    (the size it was trained and validated at), ``device`` and the rest below are the predictor's.
    """

    def __init__(self, model: str | Path | Predictor = "yolov2-voc", weights: str | Path | None = None,
                 names: str | Path | None = None, device: str | torch.device = "auto", fuse: bool = True,
                 precision: str = "fp32", compile: bool = False) -> None:
        if isinstance(model, Predictor):  # held as it is: it was built with its weights, names and device
            if weights is not None or names is not None:
                raise Yolo9000Error("YOLO(predictor): the predictor has its weights and names already")
            self.predictor = model
        else:
            self.predictor = Predictor.load(model, weights, names, device, fuse, precision, compile)

    @classmethod
    def from_module(cls, model: Darknet, names: Sequence[str], device: str | torch.device = "auto",
                    header: WeightsHeader = WeightsHeader(), fuse: bool = True, precision: str = "fp32",
                    compile: bool = False) -> "YOLO":
        """Wrap an in-memory network (e.g. one being trained) without reading any file; see
        :meth:`Predictor.from_module`."""
        return cls(Predictor.from_module(model, names, device, header, fuse, precision, compile))

    model = _predictor_field("model")
    names = _predictor_field("names")
    config = _predictor_field("config")
    header = _predictor_field("header")
    imgsz = _predictor_field("imgsz")
    device = _predictor_field("device")
    source = _predictor_field("source")
    tree = _predictor_field("tree")
    is_detector = _predictor_field("is_detector")
    fuse = _predictor_field("fuse")
    precision = _predictor_field("precision")
    compile = _predictor_field("compile")
    stride = _predictor_field("stride")
    files_read = _predictor_field("files_read")

    def predict(self, source: Source, **kwargs: Any) -> list[Results] | Iterator[Results]:
        """Predict on images, folders, videos, streams or arrays; see :meth:`Predictor.predict` for the options."""
        return self.predictor.predict(source, **kwargs)

    def __call__(self, source: Source, **kwargs: Any) -> list[Results] | Iterator[Results]:
        return self.predictor.predict(source, **kwargs)

    def track(self, source: Source, **kwargs: Any) -> list[Results] | Iterator[Results]:
        """Follow objects across the frames of a video, stream, camera or image sequence (ByteTrack): ids in
        ``r.boxes.id``; see :meth:`Predictor.track` for the options."""
        return self.predictor.track(source, **kwargs)

    def inference_model(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """What ``predict`` feeds a batch to; see :meth:`Predictor.inference_model`."""
        return self.predictor.inference_model()

    def val(self, data: str | Path, **kwargs: Any) -> ValResult:
        """Score this detector on a dataset split; see :func:`yolo9000.eval.validate.validate` for options."""
        return validate(self.predictor, data, **kwargs)

    def train(self, data: str | Path = "shapes", **kwargs: Any) -> Path:
        """Train this network (its current weights as the start; the head follows the data's classes) with
        :class:`yolo9000.train.detect.TrainConfig` options as keywords; afterwards this object holds ``best.pt``.
        Returns the run folder."""
        with tempfile.TemporaryDirectory() as tmp:
            start = self.save(Path(tmp) / "start.pt")
            run = train(TrainConfig(data=str(data), model=str(start), weights=str(start), **kwargs))
        self.predictor = Predictor.load(run / "weights" / "best.pt", device=self.device, fuse=self.fuse,
                                        precision=self.precision, compile=self.compile)
        return run

    def save(self, path: str | Path) -> Path:
        """Write, by extension: darknet ``.weights`` (byte-compatible), the network as a darknet ``.cfg``, or
        our checkpoint (``.pt``). A network darknet cannot run (``[region] location=offset``) has no
        ``.cfg`` or ``.weights``: a one-line error, nothing written."""
        p = Path(path)
        if self.predictor.backend.module is None:
            raise Yolo9000Error(f"{p}: this YOLO runs an ONNX file, which holds no darknet network to save")
        if p.suffix.lower() == ".weights":
            require_darknet(self.config)
            save_darknet_weights(self.model, p, self.header)
        elif p.suffix.lower() == ".cfg":
            text = config_to_cfg_text(self.config)
            with atomic_write(p, "w") as f:
                f.write(text)
        elif p.suffix.lower() in CHECKPOINT_EXTS:
            save_checkpoint(p, checkpoint_dict(self.model, config_to_cfg_text(self.config, extensions=True),
                                               self.names, self.header))
        else:
            raise Yolo9000Error(f"{p}: unknown extension (use .weights, .cfg or .pt)")
        return p

    def export(self, format: str = "onnx", file: str | Path | None = None, **options: Any) -> Path:
        """Export the network (as ``yolo9000 export``), checked against PyTorch with onnxruntime; returns
        the file written.

        Args:
            format: ``"onnx"`` (the only format).
            file: the output; default ``<weights stem>.onnx`` beside a checkpoint this object was loaded
                from, else ``<model name>.onnx`` in the working folder.
            options: the fields of :class:`~yolo9000.predict.export.ExportOptions` (the flags of ``yolo9000
                export``, with their defaults): ``imgsz`` and ``batch``, the input traced, (batch, 3, imgsz,
                imgsz), ``imgsz`` None: the model's own (:attr:`imgsz`, the size it was trained and validated
                at); ``dynamic`` frees batch, height and width; ``with_decode`` ends in boxes_xyxy (B, N, 4)
                network-input pixels and scores (B, N, C) instead of the raw head; ``opset``; ``check``
                compares onnxruntime with PyTorch before writing (max diff ``tolerance``, 1e-4).
        """
        if format not in FORMATS:
            raise Yolo9000Error(f"format={format!r}: choose one of {', '.join(FORMATS)}")
        if self.predictor.backend.module is None:
            raise Yolo9000Error(f"{self.source}: this YOLO already runs an ONNX file")
        if file is None:
            src = Path(self.source)
            file = (src.with_suffix(".onnx") if src.suffix.lower() in CHECKPOINT_EXTS
                    else Path(f"{self.config.name}.onnx"))
        what = ExportOptions(**options)
        if what.imgsz is None:
            what = replace(what, imgsz=self.imgsz)
        self.predictor.warn_random_weights("the export holds random weights")
        return export_onnx(self.model, file, self.names, what).path
