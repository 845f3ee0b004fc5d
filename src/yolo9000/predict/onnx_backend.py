"""Predicting with an ONNX file written by ``yolo9000 export``, through onnxruntime.

The export stores what prediction needs in the model's ``metadata_props`` (:class:`OnnxMetadata`):
the network as darknet cfg text, the class names, anchors, class count, stride, input size, batch, and
whether the graph ends in the raw head or in decoded boxes. :class:`OnnxBackend` stands in for the
torch network behind a :class:`~yolo9000.predict.predictor.Predictor` (it is a
:class:`~yolo9000.predict.backend.Backend`): it is called on a (B, 3, H, W) float32 batch and returns the raw
head as a float32 torch tensor, so the predictor's own decode, WordTree walk and NMS run unchanged.

Only raw-head exports load this way; ``--with-decode`` files are meant for other runtimes, which run
their own NMS on the (boxes, scores) outputs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from yolo9000.darknet.cfg import parse_cfg_text
from yolo9000.devices import resolve_device
from yolo9000.errors import Yolo9000Error, file_error, require_file
from yolo9000.models.darknet import Darknet, DarknetConfig, native_imgsz
from yolo9000.optional import require
from yolo9000.words import count

METADATA_FORMAT = "yolo9000-onnx"
METADATA_VERSION = 1
INPUT_NAME = "images"
RAW_OUTPUT = "output"
DECODED_OUTPUTS = ("boxes_xyxy", "scores")


@dataclass(frozen=True)
class OnnxMetadata:
    """What an exported ONNX model says about itself (stored as string ``metadata_props``).

    ``anchors_grid``: (w, h) per anchor in grid cells, empty for a classifier. ``imgsz`` and ``batch``:
    the input size the graph was traced at, the only one it accepts unless ``dynamic``.
    """

    model_name: str
    cfg_text: str
    names: tuple[str, ...]
    anchors_grid: tuple[tuple[float, float], ...]
    num_classes: int
    stride: int
    imgsz: int
    batch: int
    with_decode: bool
    dynamic: bool

    @property
    def is_detector(self) -> bool:
        return bool(self.anchors_grid)

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` entries (all strings; lists as JSON)."""
        return {
            "format": METADATA_FORMAT, "format_version": str(METADATA_VERSION), "model_name": self.model_name,
            "cfg": self.cfg_text, "names": json.dumps(list(self.names)),
            "anchors": json.dumps([list(a) for a in self.anchors_grid]), "num_classes": str(self.num_classes),
            "stride": str(self.stride), "imgsz": str(self.imgsz), "batch": str(self.batch),
            "with_decode": str(int(self.with_decode)), "dynamic": str(int(self.dynamic)),
            "task": "detect" if self.is_detector else "classify",
            "outputs": ",".join(DECODED_OUTPUTS if self.with_decode else (RAW_OUTPUT,)),
        }

    @classmethod
    def from_props(cls, props: dict[str, str], path: str | Path) -> "OnnxMetadata":
        """Parse ``metadata_props``; a one-line error naming ``path`` if they are missing or malformed."""
        if props.get("format") != METADATA_FORMAT:
            raise file_error(path, "not exported by yolo9000 (no yolo9000 metadata in the model); "
                                   "export it with `yolo9000 export`")
        version = props.get("format_version", "")
        if version != str(METADATA_VERSION):
            raise file_error(path, f"yolo9000 ONNX metadata version {version!r}, this version reads "
                                   f"{METADATA_VERSION}")
        try:
            names = tuple(str(n) for n in json.loads(props["names"]))
            anchors = tuple((float(w), float(h)) for w, h in json.loads(props["anchors"]))
            meta = cls(props["model_name"], props["cfg"], names, anchors, int(props["num_classes"]),
                       int(props["stride"]), int(props["imgsz"]), int(props["batch"]),
                       props["with_decode"] == "1", props["dynamic"] == "1")
        except (KeyError, ValueError, TypeError) as e:
            raise file_error(path, f"malformed yolo9000 ONNX metadata ({type(e).__name__}: {e})") from None
        if len(meta.names) != meta.num_classes:
            raise file_error(path, f"metadata lists {len(meta.names)} names for {meta.num_classes} classes")
        return meta


def _ort_errors() -> tuple[type[BaseException], ...]:
    """onnxruntime's exception types for a file it cannot load or run (none derives from RuntimeError)."""
    st = require("onnxruntime.capi.onnxruntime_pybind11_state", "running an ONNX model")

    return (st.Fail, st.InvalidArgument, st.InvalidGraph, st.InvalidProtobuf, st.NoSuchFile, st.NotImplemented,
            st.RuntimeException)


def ort_providers(device: str | torch.device) -> list[str | tuple[str, dict[str, str]]]:
    """onnxruntime execution providers for a torch device string (``cpu``, ``cuda``, ``cuda:1``)."""
    ort = require("onnxruntime", "running an ONNX model")
    dev = resolve_device(device)
    if dev.type == "cpu":
        return ["CPUExecutionProvider"]
    if dev.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise Yolo9000Error(f"device={dev}: this onnxruntime has no CUDA provider "
                                f"(available: {', '.join(ort.get_available_providers())})")
        return [("CUDAExecutionProvider", {"device_id": str(dev.index or 0)}), "CPUExecutionProvider"]
    raise Yolo9000Error(f"device={dev}: ONNX models run on cpu or cuda")


def open_session(model: str | Path | bytes, device: str | torch.device = "cpu", source: str | Path = "<onnx>"):
    """An ``onnxruntime.InferenceSession`` on a file path or serialized bytes; one-line error if unreadable."""
    ort = require("onnxruntime", "running an ONNX model")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only
    where = str(model) if isinstance(model, (str, Path)) else model
    try:
        return ort.InferenceSession(where, sess_options=opts, providers=ort_providers(device))
    except _ort_errors() as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise file_error(source, f"onnxruntime cannot load it ({first})") from None


def read_onnx_metadata(path: str | Path) -> OnnxMetadata:
    """The yolo9000 metadata of an ONNX file; one-line error if it is not an ONNX model or has none."""
    onnx = require("onnx", "reading an ONNX file")
    from google.protobuf.message import DecodeError  # protobuf comes with onnx

    p = require_file(path, "ONNX file")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except DecodeError:
        raise file_error(p, "not an ONNX model (protobuf parse error)") from None
    return OnnxMetadata.from_props({m.key: m.value for m in model.metadata_props}, p)


class OnnxBackend:
    """A raw-head ONNX export run by onnxruntime: a :class:`~yolo9000.predict.backend.Backend` with no torch
    ``module``, whose runner is itself (float32, no fusing or compiling; inputs and outputs cross as CPU
    arrays, the session's device is chosen here). ``imgsz`` is the size the graph was traced at (a
    ``--dynamic`` graph: its cfg's); ``metadata`` and ``path`` say where it came from.
    """

    module: Darknet | None = None
    fuse, precision, compile = False, "fp32", False

    def __init__(self, path: str | Path, device: str | torch.device = "cpu") -> None:
        self.path = require_file(path, "ONNX file")
        self.device = resolve_device(device)
        self.session = open_session(self.path, self.device, self.path)
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.metadata = OnnxMetadata.from_props(props, self.path)
        config = parse_cfg_text(self.metadata.cfg_text, f"{self.path} (embedded cfg)", name=self.metadata.model_name)
        if config.num_classes != self.metadata.num_classes:  # names and num_classes agree (from_props checks)
            k = config.num_classes
            raise file_error(self.path, f"metadata lists {len(self.metadata.names)} names, its embedded cfg has "
                                        f"{count(k, 'class')}: damaged or edited metadata; export the "
                                        f"model again")
        self.config = DarknetConfig(config.name, config.net, config.layers, self.metadata.names)
        self.stride = self.metadata.stride
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def names(self) -> tuple[str, ...]:
        return self.metadata.names

    @property
    def imgsz(self) -> int:
        return native_imgsz(self.config) if self.metadata.dynamic else self.metadata.imgsz

    def runner(self) -> "OnnxBackend":
        return self

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        m = self.metadata
        if m.dynamic:
            return
        if shape[2:] != (m.imgsz, m.imgsz):
            raise file_error(self.path, f"exported for {m.imgsz}x{m.imgsz} input without --dynamic; got "
                                        f"{shape[3]}x{shape[2]} (predict with imgsz={m.imgsz}, or export with "
                                        f"--dynamic)")
        if m.batch != 1 and shape[0] != m.batch:
            raise file_error(self.path, f"exported for batch {m.batch} without --dynamic; got batch {shape[0]}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float32 in [0, 1] -> the first output as a float32 CPU tensor: the raw head
        (B, A*(5+C), H/32, W/32) for a detector, (B, C) logits for a classifier."""
        self._check_shape(tuple(x.shape))
        arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        if not self.metadata.dynamic and self.metadata.batch == 1 and arr.shape[0] > 1:
            outs = [self.session.run(self.output_names[:1], {self.input_name: arr[i:i + 1]})[0]
                    for i in range(arr.shape[0])]
            return torch.from_numpy(np.concatenate(outs))
        return torch.from_numpy(self.session.run(self.output_names[:1], {self.input_name: arr})[0])

    forward = __call__


def load_onnx_backend(path: str | Path, device: str | torch.device = "cpu", weights: str | Path | None = None,
                      precision: str = "fp32", compile: bool = False) -> OnnxBackend:
    """An :class:`OnnxBackend` for ``YOLO(path)``; one-line errors for options that do not apply."""
    if weights is not None:
        raise file_error(path, f"an ONNX file carries its own weights; drop weights={str(weights)!r}")
    if precision != "fp32" or compile:
        raise file_error(path, f"precision={precision!r}/compile={compile} apply to torch models; ONNX models "
                               f"run in float32 through onnxruntime")
    backend = OnnxBackend(path, device)
    if backend.metadata.with_decode:
        raise file_error(backend.path, "exported --with-decode (boxes and scores); YOLO() loads raw-head exports: "
                                       "re-export without --with-decode")
    return backend


__all__ = ["DECODED_OUTPUTS", "INPUT_NAME", "RAW_OUTPUT", "OnnxBackend", "OnnxMetadata", "load_onnx_backend",
           "open_session", "ort_providers", "read_onnx_metadata"]
