"""The optional parts of the package (pip extras) and the one-line error when one is missing.

The core (predict, train, VOC metrics and the NumPy COCO engine, darknet files) needs none of them:

=============  ===================================  ======================================
extra          packages                             used by
=============  ===================================  ======================================
``onnx``       onnx, onnxscript, onnxruntime        ``export``, ``YOLO("x.onnx")``
``coco``       pycocotools, faster-coco-eval        the library COCO engines (``engine=``)
``tensorboard`` tensorboard                          TensorBoard scalars while training
``video``      av (PyAV)                            H.264 videos from ``predict`` (else mp4v)
=============  ===================================  ======================================

Each is imported where it is used, through :func:`require`, never at package import.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from yolo9000.errors import Yolo9000Error

#: top-level module -> (the extra that installs it, its PyPI name)
EXTRAS: dict[str, tuple[str, str]] = {
    "onnx": ("onnx", "onnx"),
    "onnxscript": ("onnx", "onnxscript"),
    "onnxruntime": ("onnx", "onnxruntime"),
    "pycocotools": ("coco", "pycocotools"),
    "faster_coco_eval": ("coco", "faster-coco-eval"),
    "tensorboard": ("tensorboard", "tensorboard"),
    "av": ("video", "av"),
}


def missing_message(module: str, purpose: str) -> str:
    """``'<purpose> needs <package>, which is not installed: pip install 'yolo9000[<extra>]''``."""
    top = module.split(".")[0]
    extra, package = EXTRAS[top]
    return f"{purpose} needs the {package} package, which is not installed: pip install 'yolo9000[{extra}]'"


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (one of :data:`EXTRAS` or a submodule of one), or raise a one-line
    :class:`Yolo9000Error` naming the extra that adds it. ``purpose`` says what needs it."""
    top = module.split(".")[0]
    if top not in EXTRAS:
        raise ValueError(f"{module}: not an optional dependency of yolo9000")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is not None and e.name != module and not module.startswith(e.name + "."):
            raise  # the extra is there but one of its own dependencies is not: not ours to explain
        raise Yolo9000Error(missing_message(module, purpose)) from None


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a blocked entry in sys.modules (None), or a parent that is missing
        return False
