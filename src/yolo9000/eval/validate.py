"""``val``: predict over a dataset split with darknet's validation settings and score the result.

Darknet's ``validate_detector`` settings are the defaults: letterbox, objectness threshold 0.005, NMS
0.45. Boxes are written and scored the way darknet writes them: for VOC-format data, 1-based pixel
corners clipped to [1, size] (``print_detector_detections``, matching the XML's 1-based corners); for
other formats, 0-based corners clipped to [0, size] (``print_cocos``).
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from yolo9000.datasets import dataset_paths, load_dataset
from yolo9000.datasets.records import DetectionDataset
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.eval.options import ValOptions
from yolo9000.fileio import atomic_write, check_outputs, check_staged, staged_folder, write_json
from yolo9000.metrics.analysis import confusion_matrix, recall_at_proposals
from yolo9000.metrics.coco import COCOResult
from yolo9000.metrics.plots import plot_confusion_matrix, plot_pr_curves, plot_recall_at_proposals, plot_speed_accuracy
from yolo9000.metrics.report import Result, evaluate, format_table, headline, protocol, write_result_json
from yolo9000.metrics.structures import DetectionSet, GroundTruth, detections_to_coco
from yolo9000.metrics.summary import BoxMetrics, DetectionSummary, summarize
from yolo9000.metrics.voc import evaluate_voc
from yolo9000.ops.boxes import box_convert
from yolo9000.predict.predictor import HasPredictor, Predictor, as_predictor
from yolo9000.words import count


@dataclass(frozen=True)
class ValResult:
    """What ``val`` measured: the metric's result object, the detections and ground truth it scored."""

    result: Result
    gt: GroundTruth
    dets: DetectionSet
    settings: dict[str, Any]
    seconds: float

    @property
    def mAP(self) -> float:
        """The headline number: VOC mAP over classes with ground truth, or COCO AP@[.5:.95]."""
        return headline(self.result)

    @property
    def protocol(self) -> str:
        s = self.settings
        return (f"{protocol(self.result)}; darknet validation settings: letterbox {s['imgsz']}, "
                f"objectness > {s['conf']}, NMS {s['nms']}, {s['split']} split ({count(s['images'], 'image')})")

    @functools.cached_property
    def summary(self) -> DetectionSummary:
        """The per-class report (:mod:`yolo9000.metrics.summary`): TP, FP, FN, P, R, F1 and the true
        positives' IoU at ``conf_report``, the metric's AP and COCO's AP@[.50:.95]; computed once, when asked."""
        s = self.settings
        return summarize(self.gt, self.dets, self.result, s["conf_report"], s["iou"], s["plus1"])

    @property
    def box(self) -> BoxMetrics:
        """Ultralytics' ``metrics.box``: ``map50``, ``map`` (AP@[.50:.95]), ``mp``, ``mr``, and per class
        ``p``, ``r``, ``f1``, ``ap50``, ``ap``."""
        return self.summary.box

    def table(self) -> str:
        """The protocol line, COCO's twelve numbers (``metric="coco"``), the per-class report, then the headline
        (``mAP 0.8601``: VOC's mean AP, or COCO's AP@[.50:.95]) to four decimals."""
        coco = isinstance(self.result, COCOResult)
        stats = format_table(self.result).splitlines()[1:3] if coco else []
        return "\n".join([self.protocol, *stats, self.summary.table(), f"{'AP' if coco else 'mAP'} {self.mAP:.4f}"])


def ground_truth_from_dataset(ds: Any) -> GroundTruth:
    """:class:`GroundTruth` of a loaded dataset split (boxes xyxy -> xywh, category index = name index,
    COCO's annotation ``area`` where the dataset has one)."""
    img, lab, boxes, diff, crowd, area = [], [], [], [], [], []
    for i, rec in enumerate(ds.records):
        n = len(rec.labels)
        img.append(np.full(n, i, np.int64))
        lab.append(np.asarray(rec.labels, np.int64))
        b = np.asarray(rec.boxes_xyxy, np.float64).reshape(-1, 4)
        boxes.append(box_convert(b, "xyxy", "xywh"))
        diff.append(np.asarray(rec.difficult, bool))
        crowd.append(np.asarray(rec.iscrowd, bool))
        area.append(np.asarray(rec.area, np.float64) if rec.area is not None else boxes[-1][:, 2] * boxes[-1][:, 3])
    xywh = np.concatenate(boxes) if boxes else np.zeros((0, 4))
    return GroundTruth(tuple(r.image_id for r in ds.records), tuple(str(r.image) for r in ds.records),
                       tuple(range(len(ds.names))), tuple(ds.names), np.concatenate(img) if img else np.zeros(0, np.int64),
                       np.concatenate(lab) if lab else np.zeros(0, np.int64), xywh,
                       np.concatenate(area) if area else np.zeros(0),
                       np.concatenate(diff) if diff else np.zeros(0, bool),
                       np.concatenate(crowd) if crowd else np.zeros(0, bool))


def darknet_output_boxes(xyxy: np.ndarray, width: int, height: int, voc: bool) -> np.ndarray:
    """(N, 4) predicted corners -> the corners darknet writes: +1 and clipped to [1, size] for VOC,
    clipped to [0, size] otherwise."""
    b = xyxy.astype(np.float64) + (1.0 if voc else 0.0)
    lo = 1.0 if voc else 0.0
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], lo, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], lo, height)
    return b


def check_val_outputs(data: str | Path | DetectionDataset, files: dict[str, Any], folders: dict[str, Any],
                      reads: tuple[Any, ...] = ()) -> None:
    """:func:`~yolo9000.fileio.check_outputs` for a command that reads the dataset ``data``: its YAML and list
    files are inputs, its image and annotation folders take no output (a loaded split: nothing to add)."""
    paths = None if isinstance(data, DetectionDataset) else dataset_paths(data)
    check_outputs(files, folders, reads=(*reads, *(paths.files if paths else ())),
                  data_folders=paths.folders if paths else ())


def validate(yolo: Predictor | HasPredictor, data: str | Path | DetectionDataset, split: str = ValOptions.split,
             metric: str = ValOptions.metric, imgsz: int | None = None, conf: float = ValOptions.conf,
             nms: float = ValOptions.nms, iou: float = ValOptions.iou, plus1: bool = ValOptions.plus1,
             batch: int = ValOptions.batch, conf_report: float = ValOptions.conf_report, skip_bad: bool = False,
             save_dir: str | Path | None = None, save_json: str | Path | None = None,
             save_voc: str | Path | None = None, exist_ok: bool = False, progress: bool = False,
             max_images: int | None = None) -> ValResult:
    """Predict on ``split`` of dataset YAML ``data`` and score it with ``metric`` (voc07, voc or coco). The
    defaults are ``yolo9000 val``'s (:class:`~yolo9000.eval.options.ValOptions`).
    ``data`` may also be a split loaded already (a :class:`DetectionDataset`; ``split`` and ``skip_bad``
    then do not apply), as training passes the splits it checked before its first batch.

    ``imgsz``: the input size; None: the model's own (:attr:`Predictor.imgsz`, the size it was trained and
    validated at).

    ``max_images`` scores an evenly spaced sample of at most that many images of the split (the same
    sample every call), e.g. the training images a run checks its fit on.

    ``save_dir`` receives the plots (precision-recall curves, confusion matrix, recall at N proposals)
    and ``results.json``; ``save_json`` the detections as COCO results; ``save_voc`` a folder of
    darknet/VOC ``comp4_det_test_<class>.txt`` files. They are written all or nothing, after the scoring;
    an output that is one of the dataset's files or lies in its image or annotation folders is refused
    before any work (:func:`~yolo9000.fileio.check_outputs`), and so is a file of ``save_dir`` or ``save_voc``
    that this call did not write (``exist_ok``: replaced).
    """
    yolo = as_predictor(yolo)
    _check_val_args(yolo, metric, iou, max_images)
    check_val_outputs(data, {"the COCO results file": save_json},
                      {"the comp4 folder": save_voc, "the plots folder": save_dir})
    ds, split = _load_split(yolo, data, split, skip_bad, max_images, save_voc)
    gt = ground_truth_from_dataset(ds)
    imgsz = yolo.imgsz if imgsz is None else imgsz
    dets, seconds = _predict_split(yolo, ds, imgsz, conf, nms, batch, progress)
    result = evaluate(gt, dets, metric, iou, plus1)
    settings = {"imgsz": imgsz, "conf": conf, "nms": nms, "split": split, "images": len(ds.records),
                "metric": metric, "iou": iou, "plus1": plus1, "conf_report": conf_report,
                "data": str(ds.root if isinstance(data, DetectionDataset) else data)}
    out = ValResult(result, gt, dets, settings, seconds)
    _write_val_outputs(out, save_dir, save_json, save_voc, exist_ok)
    return out


def _check_val_args(yolo: Predictor, metric: str, iou: float, max_images: int | None) -> None:
    """One-line errors for :func:`validate`'s arguments that cannot apply, before any work."""
    if metric not in ("voc07", "voc", "coco"):
        raise Yolo9000Error(f"metric {metric!r}: choose voc07, voc or coco")
    if metric != "coco" and not 0.0 < iou < 1.0:
        raise Yolo9000Error(f"IoU threshold {iou}: must be between 0 and 1")
    if not yolo.is_detector:
        raise Yolo9000Error(f"{yolo.config.name}: val needs a detector")
    if max_images is not None and max_images < 1:
        raise Yolo9000Error(f"max_images={max_images}: must be at least 1")


def _load_split(yolo: Predictor, data: str | Path | DetectionDataset, split: str, skip_bad: bool,
                max_images: int | None, save_voc: str | Path | None) -> tuple[DetectionDataset, str]:
    """The split :func:`validate` scores and its name: ``data`` loaded (or taken as loaded), cut to an evenly
    spaced sample of ``max_images``, and checked against the model (its class count) and ``save_voc`` (the
    comp4 file names fit the file system)."""
    if isinstance(data, DetectionDataset):
        ds, split = data, data.split
    else:
        ds = load_dataset(data, split, skip_bad=skip_bad)
    where = ds.root if isinstance(data, DetectionDataset) else data  # a loaded split: its folder, not its repr
    if max_images is not None and len(ds.records) > max_images:
        keep = np.unique(np.linspace(0, len(ds.records) - 1, max_images).round().astype(np.int64))
        ds = replace(ds, records=tuple(ds.records[i] for i in keep))
    if len(ds.names) != yolo.config.num_classes:
        raise Yolo9000Error(f"{where}: {len(ds.names)} classes in the dataset, the model predicts "
                            f"{yolo.config.num_classes}")
    if not ds.records:
        raise Yolo9000Error(f"{where}: split {split!r} has no images")
    if save_voc and (long := [n for n in ds.names if len(os.fsencode(f"comp4_det_test_{n}.txt")) > 255]):
        raise file_error(save_voc, f"class {long[0]!r} makes a comp4 file name over the file system's 255 bytes; "
                                   f"shorten the class names, or leave out --save-voc")
    return ds, split


def _predict_split(yolo: Predictor, ds: DetectionDataset, imgsz: int, conf: float, nms: float, batch: int,
                   progress: bool) -> tuple[DetectionSet, float]:
    """Predict every image of ``ds``: the detections (boxes COCO xywh pixels as darknet writes them, see
    :func:`darknet_output_boxes`; image index = record index) and the seconds the predictions took."""
    voc_format = ds.format == "voc"
    start = time.perf_counter()
    img, lab, boxes, scores = [], [], [], []
    results = yolo.predict([r.image for r in ds.records], imgsz=imgsz, conf=conf, nms=nms, batch=batch,
                           stream=True, keep_images=False, progress=progress,
                           exif=False)  # labels refer to the stored pixels: darknet's decode, no EXIF rotation
    for i, r in enumerate(results):
        h, w = r.orig_shape
        b = darknet_output_boxes(r.xyxy.numpy(), w, h, voc_format)
        img.append(np.full(len(r), i, np.int64))
        lab.append(r.class_ids.numpy())
        boxes.append(box_convert(b, "xyxy", "xywh"))
        scores.append(r.scores.numpy().astype(np.float64))
    seconds = time.perf_counter() - start
    dets = DetectionSet(np.concatenate(img), np.concatenate(lab), np.concatenate(boxes).reshape(-1, 4),
                        np.concatenate(scores))
    return dets, seconds


def _write_val_outputs(out: ValResult, save_dir: str | Path | None, save_json: str | Path | None,
                       save_voc: str | Path | None, exist_ok: bool) -> None:
    """:func:`validate`'s files, all or nothing: the comp4 files and the plots with ``results.json`` staged
    (one staging folder per folder: ``save_voc`` may be ``save_dir``), checked, then the COCO results JSON
    written, and the staged files moved into place last."""
    dets, gt, result, settings = out.dets, out.gt, out.result, out.settings
    folders = {os.path.realpath(f): what for f, what in ((save_dir, "the plots folder"), (save_voc, "the comp4 folder"))
               if f}  # one staging folder per folder: --save-voc may be --save-dir
    with contextlib.ExitStack() as stack:  # the folders' files move into place after the JSON is written
        stages = {f: stack.enter_context(staged_folder(f, what, exist_ok)) for f, what in folders.items()}
        if save_voc:
            write_comp4(dets, gt, stages[os.path.realpath(save_voc)])
        if save_dir:
            save_plots(out, stages[os.path.realpath(save_dir)])
            write_result_json(result, stages[os.path.realpath(save_dir)] / "results.json", protocol=out.protocol,
                              settings=settings)
        for f, stage in stages.items():  # refused now, before the JSON: nothing written
            check_staged(stage, Path(f), folders[f], exist_ok)
        if save_json:
            write_json(detections_to_coco(dets, gt), save_json, indent=None)


@dataclass(frozen=True)
class SizeRow:
    """One input size of :func:`validate_sizes`: its score and its speed."""

    imgsz: int
    mAP: float
    images: int
    seconds: float  # predicting the split (decode, letterbox, forward, decode and NMS), after a warm-up

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return {"imgsz": self.imgsz, "mAP": self.mAP, "images": self.images, "seconds": self.seconds,
                "images_per_s": self.images_per_s}


def validate_sizes(yolo: Predictor | HasPredictor, data: str | Path | DetectionDataset, sizes: list[int],
                   split: str = "val",
                   skip_bad: bool = False, save_dir: str | Path | None = None, **options: Any) -> list[SizeRow]:
    """Score one model at several input sizes (the paper's Table 3 / Figure 4), in one run on one machine.

    The split is loaded once; before each size one prediction warms the network up at that size, so
    every row times the same work. ``options`` are :func:`validate`'s (metric, conf, nms, iou, batch, ...;
    not its output files). ``save_dir`` receives ``sizes.png`` (mAP against images/s) and ``sizes.json``.
    """
    yolo = as_predictor(yolo)
    if not sizes or len(set(sizes)) != len(sizes):
        raise Yolo9000Error(f"imgsz={sizes}: give one or more different sizes")
    stride = yolo.stride
    bad = [s for s in sizes if s < stride or s % stride]
    if bad:
        raise Yolo9000Error(f"imgsz {', '.join(map(str, bad))}: each size must be a positive multiple of {stride}")
    for key in ("save_json", "save_voc", "imgsz"):
        if options.get(key) is not None:
            raise Yolo9000Error(f"{key}: not with several sizes (score one size to write its detections)")
    exist_ok = options.pop("exist_ok", False)
    check_val_outputs(data, {}, {"the plots folder": save_dir})

    ds = data if isinstance(data, DetectionDataset) else load_dataset(data, split, skip_bad=skip_bad)
    rows = []
    for s in sizes:
        yolo.predict(ds.records[0].image, imgsz=s, conf=options.get("conf", 0.005), exif=False)  # warm-up
        v = validate(yolo, ds, imgsz=s, **options)
        rows.append(SizeRow(s, v.mAP, v.settings["images"], v.seconds))
    if save_dir is not None:
        with staged_folder(save_dir, "the plots folder", exist_ok) as stage:
            plot_speed_accuracy(sizes, [r.images_per_s for r in rows], [r.mAP for r in rows], stage / "sizes.png",
                                title=f"{yolo.config.name} on {len(ds.records)} images: mAP@0.5 against speed")
            write_json([r.as_dict() for r in rows], stage / "sizes.json")
    return rows


def format_sizes(rows: list[SizeRow], metric: str = "voc07") -> str:
    """A Markdown table: input size, mAP, images/s and ms per image."""
    head = f"| imgsz | mAP ({metric}) | images/s | ms/image |\n|---:|---:|---:|---:|"
    return "\n".join([head] + [f"| {r.imgsz} | {r.mAP:.4f} | {r.images_per_s:.2f} | {1e3 / r.images_per_s:.1f} |"
                               for r in rows])


def write_comp4(dets: DetectionSet, gt: GroundTruth, folder: str | Path) -> list[Path]:
    """Darknet's VOC output: ``comp4_det_test_<class>.txt``, lines ``<image stem> <score> x1 y1 x2 y2``."""
    folder = Path(folder)
    xyxy = dets.xyxy
    if not (np.isfinite(xyxy).all() and np.isfinite(dets.scores).all()):
        raise file_error(folder, "refusing to write detections with non-finite boxes or scores (NaN or Infinity)")
    folder.mkdir(parents=True, exist_ok=True)
    stems = [Path(f).stem for f in gt.file_names]
    paths = []
    for k, name in enumerate(gt.names):
        rows = np.flatnonzero(dets.label == k)
        p = folder / f"comp4_det_test_{name}.txt"
        with atomic_write(p, "w") as f:
            for d in rows:
                x1, y1, x2, y2 = xyxy[d]
                f.write(f"{stems[dets.image_index[d]]} {dets.scores[d]:f} {x1:f} {y1:f} {x2:f} {y2:f}\n")
        paths.append(p)
    return paths


def save_plots(val: ValResult, folder: str | Path) -> list[Path]:
    """PR curves (VOC area AP at IoU 0.5), confusion matrix (score >= 0.25) and recall at N proposals."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # the PR curves are VOC's (per class, at IoU 0.5): a COCO run draws those of its own detections
    r = evaluate_voc(val.gt, val.dets, 0.5, False, True) if isinstance(val.result, COCOResult) else val.result
    out = [plot_pr_curves(r.recall, r.precision, r.ap, r.names, folder / "pr_curves.png",
                          title=f"{protocol(r)}: mAP {r.mAP:.4f}")]
    out.append(plot_confusion_matrix(confusion_matrix(val.gt, val.dets), val.gt.names, folder / "confusion_matrix.png"))
    counts, recall = recall_at_proposals(val.gt, val.dets)
    out.append(plot_recall_at_proposals(counts, recall, folder / "recall_at_proposals.png"))
    return out
