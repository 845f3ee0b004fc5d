"""The predictor the ``YOLO`` facade holds: a network's backend (:mod:`yolo9000.predict.backend`), and the path
from inputs (:mod:`yolo9000.predict.sources`) through letterbox, the network, the region decode and NMS to
:class:`~yolo9000.predict.results.Results`. Training and validation predict through it directly."""
from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm import tqdm

from yolo9000.checkpoints.format import CHECKPOINT_EXTS
from yolo9000.checkpoints.loading import RANDOM_WEIGHTS, load_model, weights_for
from yolo9000.darknet.hub import for_model
from yolo9000.darknet.weights import WeightsHeader
from yolo9000.errors import Yolo9000Error
from yolo9000.models.darknet import (
    AvgPoolSpec,
    CostSpec,
    Darknet,
    DarknetConfig,
    SoftmaxSpec,
    imgsz_problem,
    require_rgb,
)
from yolo9000.names import read_names
from yolo9000.ops.letterbox import letterbox
from yolo9000.ops.region import decode_region, region_detections
from yolo9000.predict.backend import Backend, TorchBackend
from yolo9000.predict.onnx_backend import load_onnx_backend
from yolo9000.predict.options import PredictOptions
from yolo9000.predict.results import Results
from yolo9000.predict.sources import Frame, Source, Unreadable, count_frames, expand, is_live, prefetch_frames
from yolo9000.predict.track import ByteTracker, TrackerConfig
from yolo9000.wordtree.tree import WordTree, group_softmax, load_label_map, load_tree


class RandomWeightsWarning(UserWarning):
    """A network built without weights (darknet's random initialisation) is predicting."""


class HasPredictor(Protocol):
    """Anything that holds a :class:`Predictor` (:class:`yolo9000.YOLO` does)."""

    predictor: "Predictor"


def as_predictor(model: "Predictor | HasPredictor") -> "Predictor":
    """``model`` itself, or the predictor it holds: what the evaluation functions take a ``YOLO`` as."""
    return model if isinstance(model, Predictor) else model.predictor


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that points a warning its caller issues at the first frame outside this package (the
    user's call, whether it came through ``YOLO`` or straight to the predictor)."""
    package = str(Path(__file__).resolve().parents[1])
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _chunks(frames: Iterator[Frame | Unreadable], size: int) -> Iterator[list[Frame] | Unreadable]:
    """Consecutive lists of ``size`` frames (shorter before an :class:`Unreadable`, which is passed on in
    its place, and at the end)."""
    chunk: list[Frame] = []
    for frame in frames:
        if isinstance(frame, Unreadable):
            if chunk:
                yield chunk
                chunk = []
            yield frame
            continue
        chunk.append(frame)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _kept(class_ids: torch.Tensor, classes: tuple[int, ...] | None, max_det: int | None) -> torch.Tensor:
    """Indices of the detections (sorted by score, highest first, as NMS returns them) of ``classes``,
    the first ``max_det`` of them."""
    keep = torch.arange(len(class_ids))
    if classes is not None:
        keep = keep[torch.isin(class_ids, torch.tensor(classes, dtype=class_ids.dtype))]
    return keep if max_det is None else keep[:max_det]


@dataclass(frozen=True)
class _Decode:
    """How raw heads become detections (see :meth:`YOLO.predict`)."""

    conf: float
    nms: float
    hier: float
    tree_depth: int | None = None
    label_map: tuple[int, ...] | None = None
    classes: tuple[int, ...] | None = None  # keep only these class ids (after NMS)
    max_det: int | None = None  # then keep the top-scored max_det per image


class Predictor:
    """A network on a device, ready to predict: letterbox, :class:`~yolo9000.predict.backend.Backend`, region
    decode and NMS, from inputs (:mod:`yolo9000.predict.sources`) to :class:`Results`. :class:`yolo9000.YOLO`
    holds one; training and validation predict through one directly.

    Args:
        backend: what runs the network (:class:`~yolo9000.predict.backend.TorchBackend` or an ONNX
            session, :class:`~yolo9000.predict.onnx_backend.OnnxBackend`).
        names: one per class. header: the darknet header of its weights. source: what errors call the
            network (its file, if it has one; default its cfg's name).
        random_weights: the network was built without weights: the first prediction warns
            (:class:`RandomWeightsWarning`).

    Build one with :meth:`load` (from files, as ``YOLO`` takes them) or :meth:`from_module` (an in-memory
    network). ``imgsz`` is the square input size the network was trained and validated at (its cfg's
    ``[net] width``; for an ONNX file traced at a fixed size, that size): ``predict`` and ``val`` run at it
    unless given another.
    """

    def __init__(self, backend: Backend, names: Sequence[str], header: WeightsHeader = WeightsHeader(),
                 source: str | None = None, random_weights: bool = False) -> None:
        self.backend = backend
        self.names, self.header = tuple(names), header
        self.source = source or backend.config.name
        self.tree: WordTree | None = load_tree(self.config.tree) if self.config.tree else None
        region = self.config.region
        self._anchors = torch.tensor(region.anchors_grid, dtype=torch.float32) if region else None
        self._random_weights = random_weights  # predict() warns once (see warn_random_weights)
        self._trackers: dict[str, ByteTracker] = {}  # track(): one per sequence (a video, or the still images)

    @classmethod
    def load(cls, model: str | Path, weights: str | Path | None = None, names: str | Path | None = None,
             device: str | torch.device = "auto", fuse: bool = True, precision: str = "fp32",
             compile: bool = False) -> "Predictor":
        """A network from files, as :class:`yolo9000.YOLO` takes them (a zoo name, ``.cfg``, checkpoint or
        raw-head ``.onnx``; darknet ``.weights`` or a checkpoint); ``fuse``, ``precision`` and ``compile`` as
        :class:`~yolo9000.predict.backend.TorchBackend` takes them.

        A zoo name without ``weights`` brings darknet's trained weights for it (``yolov2-voc`` ->
        ``yolov2-voc.weights``, :data:`yolo9000.darknet.hub.WEIGHTS`), downloaded once into the verified
        cache; ``weights="random"`` keeps darknet's random initialisation instead. A network with no
        published weights (``yolov2-nano``, a ``.cfg``) starts from that initialisation, and its first
        prediction warns (:class:`RandomWeightsWarning`)."""
        if Path(str(model)).suffix.lower() == ".onnx":
            onnx = load_onnx_backend(model, device, weights=weights, precision=precision, compile=compile)
            onnx_names = read_names(names, onnx.config.num_classes) if names is not None else onnx.names
            return cls(onnx, onnx_names, source=str(model))
        chosen = weights_for(model, weights)
        try:
            net, header, model_names = load_model(model, chosen)
        except Yolo9000Error as e:
            if weights is None and chosen is not None:  # the published weights a zoo name brings: offline?
                raise Yolo9000Error(f"{e}; or choose darknet's random initialisation with --weights "
                                    f"{RANDOM_WEIGHTS} (weights={RANDOM_WEIGHTS!r})") from None
            raise
        if names is not None:
            model_names = read_names(names, net.config.num_classes)
        own = Path(str(model)).suffix.lower() in CHECKPOINT_EXTS  # a checkpoint holds its weights
        random_weights = weights is None and chosen is None and not own  # not asked for: predict warns
        return cls(TorchBackend(net, device, fuse, precision, compile), model_names, header, str(model),
                   random_weights)

    @classmethod
    def from_module(cls, model: Darknet, names: Sequence[str], device: str | torch.device = "auto",
                    header: WeightsHeader = WeightsHeader(), fuse: bool = True, precision: str = "fp32",
                    compile: bool = False) -> "Predictor":
        """Wrap an in-memory network (e.g. one being trained) without reading any file; it is moved to
        ``device``."""
        return cls(TorchBackend(model, device, fuse, precision, compile), names, header)

    @property
    def model(self) -> Darknet:
        """The torch network; a one-line error for a predictor that runs an ONNX file."""
        if self.backend.module is None:
            raise Yolo9000Error(f"{self.source}: runs an ONNX file, which holds no torch network")
        return self.backend.module

    @property
    def config(self) -> DarknetConfig:
        return self.backend.config

    @property
    def device(self) -> torch.device:
        return self.backend.device

    @property
    def imgsz(self) -> int:
        return self.backend.imgsz

    @property
    def stride(self) -> int:
        return self.backend.stride

    @property
    def fuse(self) -> bool:
        return self.backend.fuse

    @property
    def precision(self) -> str:
        return self.backend.precision

    @property
    def compile(self) -> bool:
        return self.backend.compile

    @property
    def files_read(self) -> tuple[str, ...]:
        """The files the network's cfg names (its WordTree ``tree=``, its ``map=``): inputs that no output of a
        command may write over."""
        region = self.config.region
        return tuple(p for p in (self.config.tree, region.map if region is not None else None) if p)

    def inference_model(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """What ``predict`` feeds a batch to: the backend's runner (the torch network or its fused copy, see
        :class:`~yolo9000.predict.backend.TorchBackend`; an ONNX session)."""
        return self.backend.runner()

    @property
    def is_detector(self) -> bool:
        return self.config.region is not None

    def __call__(self, source: Source, **kwargs: Any) -> list[Results]:
        return self.predict(source, **kwargs)

    def predict(self, source: Source, imgsz: int | None = None, conf: float = 0.25, nms: float = 0.45,
                hier: float | None = None, batch: int = PredictOptions.batch, stream: bool = False,
                keep_images: bool = True,
                progress: bool = False, tree_depth: int | None = None,
                label_map: str | Path | Sequence[int] | None = None,
                skip_bad: bool = False, classes: int | Sequence[int] | None = None,
                max_det: int | None = None, exif: bool = True) -> list[Results] | Iterator[Results]:
        """Predict on a path, folder, glob, video, list, PIL image or (H, W, 3) uint8 RGB array, an image
        URL, a video stream URL (rtsp/rtmp/http(s)) or a camera index (``0``); see :mod:`yolo9000.predict.sources`.

        Args:
            imgsz: square network input size in pixels, a multiple of 32; None: the model's own
                (:attr:`imgsz`: the size it was trained and validated at, its cfg's ``[net] width``).
            conf: keep (box, class) pairs with objectness x P(class) above this (objectness for YOLO9000).
            nms: IoU above which a lower-scored box of the same class is suppressed.
            hier: YOLO9000's hierarchy threshold for the top-down walk (default 0.5, darknet's); an error
                on a model without a WordTree head, which has no hierarchy.
            batch: images per forward pass; the default is :class:`~yolo9000.predict.options.PredictOptions`',
                as ``yolo9000 predict --batch``'s (the results do not depend on it).
            stream: return a generator (constant memory over long folders and videos).
            keep_images: keep each decoded image on its Results (for ``draw``/``save``).
            progress: show a progress bar.
            tree_depth: WordTree heads: label each box with its most probable node at this depth (scored
                objectness x P(node)) instead of darknet's top-down walk.
            label_map: WordTree heads: a flat label set, as a map file (one tree node per line, e.g.
                ``inet9k.map``) or node indices; each box gets the label with the highest objectness x
                P(node), and class ids index the map.
            skip_bad: an input that cannot be decoded gives a :class:`Results` with ``error`` set (and
                no detections) instead of stopping with an error.
            classes: keep only detections of these class ids (an int or a list; ids as in ``names``, or
                indices into ``label_map``; for YOLO9000 the returned node ids), filtered after NMS.
            max_det: then keep at most this many detections per image, the highest-scored (default: all,
                as darknet; Ultralytics' default is 300).
            exif: turn images (files, URLs, PIL images) upright by their EXIF orientation, as phone photos
                need; False decodes exactly as darknet (no rotation). Arrays and video frames never rotate.
        Returns:
            One :class:`Results` per image (per frame for videos, streams and cameras; with ``stream=True``
            a camera or live stream yields until it ends or the loop stops; a live source drops frames the
            loop is too slow for, see :mod:`yolo9000.predict.sources`).
        """
        self._check_predictable()
        imgsz = self.imgsz if imgsz is None else imgsz
        if (problem := imgsz_problem(imgsz, self.stride)) is not None:
            raise Yolo9000Error(f"imgsz={imgsz}: {problem}")
        if not 0.0 <= conf < 1.0 or not 0.0 < nms <= 1.0:
            raise Yolo9000Error(f"conf={conf}, nms={nms}: conf must be in [0, 1) and nms in (0, 1]")
        if batch < 1:
            raise Yolo9000Error(f"batch={batch}: must be at least 1")
        if hier is not None and self.tree is None:
            raise Yolo9000Error(f"hier={hier}: the hierarchy threshold applies to WordTree heads (YOLO9000) only; "
                                f"{self.source} has a flat class head")
        label_nodes = self._label_nodes(label_map)
        keep_classes = self._check_filters(classes, max_det, len(self.names if label_nodes is None else label_nodes))
        decode = _Decode(conf, nms, 0.5 if hier is None else hier, tree_depth, label_nodes, keep_classes, max_det)
        items = expand(source)
        if not stream and any(is_live(i) for i in items):
            warnings.warn("a camera or live stream runs until it ends: with stream=False its results pile up in "
                          "memory until then; use stream=True", stacklevel=_outside_stacklevel())
        self.warn_random_weights()
        gen = self._predict_items(items, imgsz, decode, batch, keep_images, progress, skip_bad, exif)
        return gen if stream else list(gen)

    def track(self, source: Source, tracker: TrackerConfig | None = None, persist: bool = False,
              stream: bool = False, conf: float | None = None, **predict_options: Any
              ) -> list[Results] | Iterator[Results]:
        """Predict on a video, stream, camera or image sequence and follow the objects across frames
        (ByteTrack, :mod:`yolo9000.predict.track`): each result holds the tracked detections only, with their
        ids in ``r.track_ids`` (``r.boxes.id``). Frames of one video (or camera, or stream) are one
        sequence; still images given together are another, in their order.

        Args:
            tracker: ByteTrack's thresholds (:class:`~yolo9000.predict.track.TrackerConfig`).
            persist: go on with the tracks of the previous call (a video fed in pieces) instead of new ones.
            conf: the least score predicted; None: the tracker's ``low`` (0.1), since ByteTrack matches
                low-scored boxes too.
            predict_options: :meth:`predict`'s (``imgsz``, ``nms``, ``classes``, ``batch``, ...).
        """
        config = tracker or TrackerConfig()
        if not self.is_detector:
            raise Yolo9000Error(f"{self.source}: track follows detections; this network is a classifier")
        if not persist:
            self._trackers = {}
        results = self.predict(source, stream=True, conf=config.low if conf is None else conf, **predict_options)
        gen = self._tracked(results, config)
        return gen if stream else list(gen)

    def _tracked(self, results: Iterator[Results], config: TrackerConfig) -> Iterator[Results]:
        for r in results:
            if r.error is not None:
                yield r
                continue
            sequence = r.path if r.frame is not None else "<images>"
            tracker = self._trackers.setdefault(sequence, ByteTracker(config))
            ids = tracker.update(r.xyxy.numpy(), r.scores.numpy(), r.class_ids.numpy())
            tracked = r[torch.from_numpy(ids > 0)]
            tracked.track_ids = torch.from_numpy(ids[ids > 0])
            yield tracked

    def warn_random_weights(self, what: str = "these are the predictions of random weights") -> None:
        """Warn (once per object, one line) that a network built without weights predicts from darknet's
        random initialisation (``random_weights``); networks from checkpoints, ONNX files and
        :meth:`from_module` never warn."""
        if not self._random_weights:
            return
        self._random_weights = False
        entry = for_model(self.config.name)
        hint = (f" (weights={entry.name!r} downloads darknet's trained ones)" if entry is not None
                else " (pass weights=, a darknet .weights file or a checkpoint)")
        warnings.warn(f"{self.source}: no weights given: {what}{hint}",
                      RandomWeightsWarning, stacklevel=_outside_stacklevel())

    def _check_predictable(self) -> None:
        """One-line errors for networks ``predict`` cannot run on RGB images or cannot decode."""
        require_rgb(self.config, self.source)
        last = next((s for s in reversed(self.config.layers) if not isinstance(s, CostSpec)), None)
        if not self.is_detector and not isinstance(last, (SoftmaxSpec, AvgPoolSpec)):
            raise Yolo9000Error(f"{self.source}: the network ends in neither [region] (a detector) nor "
                                f"[softmax]/[avgpool] (a classifier), so its output cannot be decoded")

    def _check_filters(self, classes: int | Sequence[int] | None, max_det: int | None,
                       num_classes: int) -> tuple[int, ...] | None:
        """``classes`` as a tuple of ids in [0, num_classes), and ``max_det``, checked: one-line errors."""
        def whole(v: object) -> bool:
            return isinstance(v, Integral) and not isinstance(v, bool)

        if (classes is not None or max_det is not None) and not self.is_detector:
            raise Yolo9000Error(f"classes / max_det filter detections; {self.source} is a classifier")
        if max_det is not None and (not whole(max_det) or max_det < 1):
            raise Yolo9000Error(f"max_det={max_det!r}: must be a whole number of at least 1")
        if classes is None:
            return None
        try:
            ids = [classes] if whole(classes) else list(classes)  # type: ignore[arg-type]
        except TypeError:  # not a sequence
            ids = []
        if not ids or not all(whole(c) for c in ids):
            raise Yolo9000Error(f"classes={classes!r}: must be one or more whole class ids")
        ids = [int(c) for c in ids]
        bad = [c for c in ids if not 0 <= c < num_classes]
        if bad:
            raise Yolo9000Error(f"classes: {', '.join(map(str, bad))} out of range; class ids lie in "
                                f"[0, {num_classes}) for {self.source}")
        return tuple(sorted(set(ids)))

    def _label_nodes(self, label_map: str | Path | Sequence[int] | None) -> tuple[int, ...] | None:
        if label_map is None:
            return None
        if self.tree is None:
            raise Yolo9000Error("label_map applies to WordTree heads (YOLO9000) only")
        if isinstance(label_map, (str, Path)):
            return tuple(load_label_map(label_map, self.tree.num_nodes))
        nodes = tuple(int(n) for n in label_map)
        if not nodes or min(nodes) < 0 or max(nodes) >= self.tree.num_nodes:
            raise Yolo9000Error(f"label_map: node indices must lie in [0, {self.tree.num_nodes})")
        return nodes

    def _predict_items(self, items: list, imgsz: int, decode: _Decode, batch: int,
                       keep_images: bool, progress: bool, skip_bad: bool = False,
                       exif: bool = True) -> Iterator[Results]:
        frames = prefetch_frames(items, workers=2, ahead=max(8, 2 * batch), skip_bad=skip_bad, exif=exif)
        bar = None
        if progress:
            bar = tqdm(total=count_frames(items), unit="img", dynamic_ncols=True, leave=False)  # None: unknown
        try:
            for chunk in _chunks(frames, batch):
                if isinstance(chunk, Unreadable):
                    yield Results.unreadable(chunk.path, chunk.error, self.names)
                else:
                    yield from self._predict_batch(chunk, imgsz, decode, keep_images)
                if bar is not None:
                    bar.update(1 if isinstance(chunk, Unreadable) else len(chunk))
        finally:
            if bar is not None:
                bar.close()

    @torch.inference_mode()
    def _predict_batch(self, frames: list[Frame], imgsz: int, decode: _Decode,
                       keep_images: bool) -> list[Results]:
        """One batch through the three stages, each timed (``Results.speed``, per image)."""
        t0 = time.perf_counter()
        x = self._preprocess(frames, imgsz)
        t1 = time.perf_counter()
        raw = self.inference_model()(x).float().cpu()  # the copy back waits for the GPU
        t2 = time.perf_counter()
        out = self._postprocess(raw, frames, imgsz, decode, keep_images)
        t3 = time.perf_counter()
        ms = 1000.0 / len(frames)
        speed = {"preprocess": (t1 - t0) * ms, "inference": (t2 - t1) * ms, "postprocess": (t3 - t2) * ms}
        for r in out:
            r.speed = dict(speed)
        return out

    def _preprocess(self, frames: list[Frame], imgsz: int) -> torch.Tensor:
        """(B, 3, imgsz, imgsz) float32: each frame letterboxed, on the device (channels-last for the fused
        copy)."""
        x = torch.stack([letterbox(f.image, imgsz) for f in frames])
        if self.device.type == "cuda":  # page-locked host memory: an asynchronous copy to the GPU
            x = x.pin_memory().to(self.device, non_blocking=True)
        else:
            x = x.to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.fuse else x

    def _postprocess(self, raw: torch.Tensor, frames: list[Frame], imgsz: int, decode: _Decode,
                     keep_images: bool) -> list[Results]:
        """The raw heads of a batch as one :class:`Results` per frame: class probabilities, or the region
        decoded, thresholded, NMS'd, mapped back to the original image and filtered."""
        out = []
        if not self.is_detector:
            probs = group_softmax(raw, self.tree) if self.tree is not None else torch.softmax(raw, dim=1)
            for f, p in zip(frames, probs):
                h, w = f.image.shape[:2]
                empty = torch.zeros(0, dtype=torch.int64)
                out.append(Results(torch.zeros(0, 4), torch.zeros(0), empty, self.names, f.path, (h, w),
                                   f.frame, probs=p, orig_img=f.image if keep_images else None, fps=f.fps))
            return out
        pred = decode_region(raw, self._anchors, self.tree, self.config.region.location)
        names = self.names if decode.label_map is None else tuple(self.names[n] for n in decode.label_map)
        for i, f in enumerate(frames):
            h, w = f.image.shape[:2]
            d = region_detections(pred, i, w, h, imgsz, imgsz, decode.conf, decode.nms, self.tree, decode.hier,
                                  tree_depth=decode.tree_depth, label_map=decode.label_map)
            keep = _kept(d.class_ids, decode.classes, decode.max_det)
            out.append(Results(d.boxes_xyxy[keep], d.scores[keep], d.class_ids[keep], names, f.path, (h, w),
                               f.frame, det_index=d.det_index[keep], orig_img=f.image if keep_images else None,
                               fps=f.fps))
        return out

