"""The ``yolo9000`` command: the parser (one subcommand per job, each registering its function) and the
functions. predict and val take their flags from :class:`~yolo9000.predict.options.PredictOptions` and
:class:`~yolo9000.eval.options.ValOptions`, convert from :class:`ConvertOptions`, the trainers from their
config dataclasses and the other subcommands from their modules' options dataclasses, all through
:mod:`yolo9000.cli.args`.
Every user error ends as one line on stderr (``yolo9000: error: <file>: <problem>``) and exit code 2.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from yolo9000.api import YOLO, load_model
from yolo9000.checkpoints.loading import RANDOM_WEIGHTS
from yolo9000.cli.anchors import add_anchors_parser, cmd_anchors
from yolo9000.cli.args import add_dataclass_args, dataclass_from_args, given_flags
from yolo9000.cli.benchmark import add_benchmark_parser, cmd_benchmark
from yolo9000.cli.check_data import add_check_data_parser, cmd_check_data
from yolo9000.cli.download import add_download_parser, cmd_download
from yolo9000.cli.export import add_export_parser, cmd_export
from yolo9000.cli.score import add_score_parser, cmd_score
from yolo9000.cli.shapes import add_shapes_parser, cmd_shapes
from yolo9000.cli.wordtree import add_wordtree_parser, cmd_wordtree
from yolo9000.errors import Yolo9000Error
from yolo9000.eval.options import ValOptions
from yolo9000.eval.validate import check_val_outputs, format_sizes, validate_sizes
from yolo9000.fields import option
from yolo9000.fileio import (
    DISK_ERRNOS, HeldInterrupts, atomic_write, check_output_dir, check_outputs, check_staged, disk_error, run_folder,
    staged_folder, write_json,
)
from yolo9000.metrics.report import write_result_json
from yolo9000.models.darknet import darknet_float_count, imgsz_problem, native_imgsz
from yolo9000.models.zoo import ZOO
from yolo9000.ops.boxes import box_convert
from yolo9000.paths import DEFAULT_PROJECT
from yolo9000.predict.options import PredictOptions, TrackOptions
from yolo9000.predict.results import Results
from yolo9000.predict.sources import count_frames, expand, output_stem
from yolo9000.predict.video import VideoOut, open_video
from yolo9000.train.classify import ClassifyConfig, train_classifier
from yolo9000.train.detect import TrainConfig, train
from yolo9000.train.joint import JointConfig, train_joint
from yolo9000.version import __version__
from yolo9000.words import count


def _add_model_args(p: argparse.ArgumentParser, weights_required: bool = False) -> None:
    p.add_argument("--model", required=True, help="zoo name, darknet .cfg, or a checkpoint (.pt)")
    p.add_argument("--weights", required=weights_required, default=None,
                   help="darknet .weights or checkpoint (.pt); a name from 'yolo9000 download --list' "
                        "(e.g. yolov2-voc.weights) downloads once into the cache")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yolo9000", description="YOLOv2 and YOLO9000, exact to darknet.")
    parser.add_argument("--version", action="version", version=f"yolo9000 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="detect objects in images, folders, globs, videos, URLs, streams and cameras")
    p.add_argument("source", nargs="+",
                   help="image, folder, glob pattern or video file(s); an image or video URL (http(s)://), a "
                        "stream (rtsp://, rtmp://) or a camera index (0)")
    add_dataclass_args(p, PredictOptions)

    p = sub.add_parser("track", help="follow objects across the frames of videos, streams and cameras (ByteTrack)",
                       description="Predict as `predict` does and give each object an id it keeps across frames "
                                   "(ByteTrack); ids are drawn, in --save-json and, with --save-mot, in MOT Challenge "
                                   "text files.")
    p.add_argument("source", nargs="+", help="video file(s), stream URL, camera index, or images in order")
    add_dataclass_args(p, TrackOptions)

    p = sub.add_parser("convert", help="convert between darknet .cfg/.weights and yolo9000 checkpoints")
    add_dataclass_args(p, ConvertOptions)

    p = sub.add_parser("info", help="print a network's layers and darknet float count")
    _add_model_args(p)
    p.add_argument("--imgsz", type=int, default=None, help="input size of the printed shapes (default: the model's "
                                                           "own, its cfg's [net] width)")

    add_score_parser(sub)

    p = sub.add_parser("val", help="predict on a dataset split and score it (darknet's validation settings)")
    add_dataclass_args(p, ValOptions)

    p = sub.add_parser("train", help="train a detector (no flags: the generated shapes demo)")
    add_dataclass_args(p, TrainConfig)

    p = sub.add_parser("train-classifier", help="train a Darknet-19 classifier on an ImageFolder tree")
    add_dataclass_args(p, ClassifyConfig)

    p = sub.add_parser("train-joint", help="YOLO9000 joint training: detection + classification data in one WordTree "
                                           "(no flags: the generated shapes demo)",
                       description="Train a WordTree detector on detection images (full loss) and classification "
                                   "images (class loss at the best box), as YOLO9000.")
    add_dataclass_args(p, JointConfig)

    for add in (add_shapes_parser, add_wordtree_parser, add_anchors_parser, add_export_parser,
                add_benchmark_parser, add_check_data_parser, add_download_parser):
        add(sub)
    sub.add_parser("zoo", help="list the built-in networks").set_defaults(zoo=list(ZOO))
    # each subcommand's function: main() calls a.func(a)
    commands = {"predict": cmd_predict, "track": cmd_track, "convert": cmd_convert, "info": cmd_info,
                "score": cmd_score, "val": cmd_val, "train": cmd_train, "train-classifier": cmd_train_classifier,
                "export": cmd_export, "benchmark": cmd_benchmark, "anchors": cmd_anchors,
                "train-joint": cmd_train_joint, "wordtree": cmd_wordtree, "shapes": cmd_shapes,
                "check-data": cmd_check_data, "download": cmd_download, "zoo": cmd_zoo}
    assert set(commands) == set(sub.choices), "every subcommand needs its function"
    for name, func in commands.items():
        sub.choices[name].set_defaults(func=func)
    return parser


def _unique_name(stem: str, suffix: str, used: set[str]) -> str:
    """``stem + suffix``, else ``stem_1 + suffix``, ... (not in ``used``, which gets it); a stem near the file
    system's 255-byte limit is cut to 200 bytes, so the counters and crop suffixes still fit."""
    stem = os.fsencode(stem)[:200].decode("utf-8", "ignore") if len(os.fsencode(stem)) > 200 else stem
    name, k = f"{stem}{suffix}", 1
    while name in used:
        name, k = f"{stem}_{k}{suffix}", k + 1
    used.add(name)
    return name


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict on the sources. Outputs are all or nothing: annotated files are staged and moved into
    ``--save-dir`` only when every input has been predicted (or skipped with ``--skip-bad``), with the JSON
    written just before; a failed run leaves neither, never writes over an input, and never replaces a file
    of ``--save-dir`` it did not write (``--exist-ok``: it may). ``--save-txt`` labels and ``--save-crop`` crops
    go through the same staging, into ``--save-dir/labels`` and ``--save-dir/crops``.

    Ctrl-C (KeyboardInterrupt) is not a failure: it stops the run (a camera or live stream runs until
    then) and keeps what is complete: the files written so far (videos closed, so playable) and the JSON
    of every frame predicted; one line says so, and the exit code is 130. A second Ctrl-C while those are
    moved into place is held back, so the files and the JSON are kept together."""
    return _predict_command(args, PredictOptions)


def cmd_track(args: argparse.Namespace) -> int:
    """``predict`` with ByteTrack's ids (see :func:`cmd_predict`); ``--save-mot`` adds MOT text files."""
    return _predict_command(args, TrackOptions)


def _predict_command(args: argparse.Namespace, options: type[PredictOptions]) -> int:
    """``predict`` or ``track`` (``options``: its dataclass), as :func:`cmd_predict` says."""
    a = dataclass_from_args(options, args)
    save_dir = Path(a.save_dir) if a.save_dir else None
    yolo, items, reads = _predict_setup(args, a, save_dir)
    tally = _PredictTally()
    with contextlib.ExitStack() as stack:
        held = stack.enter_context(HeldInterrupts())  # exits last: after the staged files are in place
        stage = stack.enter_context(staged_folder(save_dir, "--save-dir", a.exist_ok, reads)) if save_dir else None
        writers: dict[str, VideoOut] = {}  # videos: closed before the staged files move into place
        stack.callback(_release_writers, writers)
        # .track notes what each finished result added; a Ctrl-C ends this block only
        with _KeepOnInterrupt(tally.progress) as interrupted:
            _predict_loop(a, yolo, items, stage, writers, tally, interrupted)
        if stage is not None and tally.mot:
            _write_mot(stage, tally.mot)
        # the commit: files and JSON together, a second Ctrl-C held back until both are in place
        held.hold()
        _release_writers(writers)
        if interrupted.caught:  # the JSON holds the results handled to the end, as the files written do
            n_records, tally.n_images, _ = interrupted.done
            del tally.records[n_records:]
        if stage is not None:  # refused before the JSON is written: nothing is
            check_staged(stage, save_dir, "--save-dir", a.exist_ok, reads)
        if a.save_json:
            write_json(tally.records, a.save_json)
    return _predict_summary(a, yolo, tally, save_dir, interrupted.caught or held.interrupted)


class _PredictTally:
    """What ``predict`` has done so far: the JSON ``records`` (detections, top-5 rows or errors), the ``bad``
    inputs' errors, and the counts of images predicted and detections found."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.bad: list[str] = []
        self.n_images = 0
        self.n_dets = 0
        self.ms = {"preprocess": 0.0, "inference": 0.0, "postprocess": 0.0}  # summed over the images
        self.mot: dict[str, list[str]] = {}  # track --save-mot: each video's MOT lines

    def add(self, r: Results) -> None:
        """Count a predicted image, its detections and its time."""
        self.n_images += 1
        self.n_dets += len(r)
        for stage, ms in (r.speed or {}).items():
            self.ms[stage] += ms

    def progress(self) -> tuple[int, int, int]:
        """(records, images, detections) so far: what :class:`_KeepOnInterrupt` keeps at a Ctrl-C."""
        return len(self.records), self.n_images, self.n_dets


def _predict_setup(args: argparse.Namespace, a: PredictOptions, save_dir: Path | None) -> tuple[YOLO, list, list]:
    """The checks before any work, then the model, the sources expanded into single items, and every path the
    run reads (inputs, model, weights, names, label map: no output may be one of them)."""
    _check_label_flags(a, save_dir)
    items = expand(args.source)  # a missing input stops the run before the weights are downloaded
    yolo = YOLO(a.model, a.weights, names=a.names, device=a.device, precision=a.precision, compile=a.compile)
    if a.save_crop and not yolo.is_detector:
        raise Yolo9000Error(f"--save-crop crops detections; {a.model} is a classifier")
    reads = [*args.source, *(i for i in items if isinstance(i, (str, Path))), a.model, a.weights, a.names,
             a.label_map, *yolo.files_read]
    check_outputs({"--save-json": a.save_json}, {"--save-dir": save_dir}, reads=reads)
    return yolo, items, reads


def _predict_loop(a: PredictOptions, yolo: YOLO, items: list, stage: Path | None, writers: dict[str, VideoOut],
                  tally: _PredictTally, interrupted: _KeepOnInterrupt) -> None:
    """Predict every item, adding each result to ``tally`` and, with a ``stage`` folder, writing its annotated
    image (or video frame, through ``writers``), labels and crops there; ``interrupted`` tracks the results."""
    used: set[str] = set()
    label_names: set[str] = set()  # labels/*.txt (and the crops' stems), unique as the images' names
    run = yolo.track if isinstance(a, TrackOptions) else yolo.predict
    results = run(items, imgsz=a.imgsz, conf=a.conf, nms=a.nms, hier=a.hier, batch=a.batch,
                  tree_depth=a.tree_depth, label_map=a.label_map, skip_bad=a.skip_bad,
                  classes=a.classes, max_det=a.max_det, stream=True, keep_images=stage is not None, exif=a.exif)
    total = None if a.quiet else count_frames(items)
    imgsz = yolo.imgsz if a.imgsz is None else a.imgsz
    for r in interrupted.track(results):
        if r.error is not None:
            tally.bad.append(r.error)
            tally.records.append({"image": r.path, "error": r.error.removeprefix(f"{r.path}: ")})
            continue
        tally.add(r)
        if not a.quiet:
            lines = [_image_line(r, tally.n_images, total, imgsz)] + (_box_lines(r) if a.ext_output else [])
            print("\n".join(lines), file=sys.stderr)
        if yolo.is_detector:
            tally.records += r.to_records()
        else:
            tally.records += [{"image": r.path, "class_id": c, "class_name": n, "score": p} for c, n, p in r.top(5)]
        if stage is None:
            continue
        if r.frame is None:
            r.save(stage / _unique_name(output_stem(r.path), ".jpg", used))
        else:
            _write_video_frame(writers, r, stage, used)
        if a.save_txt or a.save_crop:
            _save_labels_and_crops(a, r, stage, label_names)
        if isinstance(a, TrackOptions) and a.save_mot:
            tally.mot.setdefault(r.path, []).extend(_mot_lines(r))


def _image_line(r: Results, index: int, total: int | None, imgsz: int) -> str:
    """``image 3/10 dog.jpg: 416x416 1 bicycle, 1 dog, 30.2 ms`` (a video frame: ``video 12/300 clip.mp4
    frame 11: ...``; an unknown total, e.g. a camera: ``image 3 ...``): what one image gave and its time."""
    kind, where = ("image", r.path) if r.frame is None else ("video", f"{r.path} frame {r.frame}")
    ms = sum((r.speed or {}).values())
    return f"{kind} {index}{'' if total is None else f'/{total}'} {where}: {imgsz}x{imgsz} {r.verbose()}, {ms:.1f} ms"


def _box_lines(r: Results) -> list[str]:
    """darknet's lines for one image: ``dog: 99%  (left_x: 128  top_y: 224  width: 184  height: 316)`` per
    detection, pixels of the original image (a classifier: its top 5, ``dog: 91%``)."""
    if r.probs is not None:
        return [f"{name}: {p:.0%}" for _, name, p in r.top(5)]
    lines = []
    xywh = box_convert(r.xyxy.double(), "xyxy", "xywh").tolist()
    for (x, y, w, h), score, c in zip(xywh, r.scores.tolist(), r.class_ids.tolist()):
        lines.append(f"{r.names[c]}: {score:.0%}  (left_x: {x:.0f}  top_y: {y:.0f}  width: {w:.0f}  height: {h:.0f})")
    return lines


def _predict_summary(a: PredictOptions, yolo: YOLO, tally: _PredictTally, save_dir: Path | None,
                     interrupted: bool) -> int:
    """Print ``predict``'s closing lines on stderr (what was kept after a Ctrl-C, else the counts and the
    skipped inputs) and return the exit code: 130 if interrupted, else 0."""
    if interrupted:
        kept = [f"the files done in {save_dir}"] if save_dir else []
        kept += [f"their JSON in {a.save_json}"] if a.save_json else []
        print(f"yolo9000: interrupted after {count(tally.n_images, 'image')}; kept "
              f"{' and '.join(kept) or 'nothing (no outputs asked)'}", file=sys.stderr)
        return 130
    what = "detection" if yolo.is_detector else "top-5 row"
    n = tally.n_dets if yolo.is_detector else len(tally.records) - len(tally.bad)
    print(f"{count(tally.n_images, 'image')}, {count(n, what)}"
          + (f"; {len(tally.bad)} unreadable, skipped" if tally.bad else "")
          + (f"; annotated images in {save_dir}" if save_dir else "")
          + (f"; JSON in {a.save_json}" if a.save_json else ""), file=sys.stderr)
    if tally.n_images and not a.quiet:
        ms = ", ".join(f"{t / tally.n_images:.1f} ms {stage}" for stage, t in tally.ms.items())
        imgsz = yolo.imgsz if a.imgsz is None else a.imgsz
        print(f"speed: {ms} per image at {imgsz}x{imgsz}, batch {a.batch}", file=sys.stderr)
    for error in tally.bad:
        print(f"yolo9000: warning: skipped {error}", file=sys.stderr)
    return 0


def _release_writers(writers: dict[str, Any]) -> None:
    """Close the video writers (each once), so the videos are playable before they move into place."""
    while writers:
        writers.popitem()[1].release()


def _check_label_flags(a: PredictOptions, save_dir: Path | None) -> None:
    """One-line errors for ``--save-txt`` / ``--save-conf`` / ``--save-crop`` that cannot apply."""
    if isinstance(a, TrackOptions) and a.save_mot and save_dir is None:
        raise Yolo9000Error("--save-mot writes into --save-dir/mot: give --save-dir too")
    if (a.save_txt or a.save_crop) and save_dir is None:
        raise Yolo9000Error("--save-txt and --save-crop write into --save-dir/labels and --save-dir/crops: "
                            "give --save-dir too")
    if a.save_conf and not a.save_txt:
        raise Yolo9000Error("--save-conf adds the score column to --save-txt's labels: give --save-txt too")
    if save_dir is not None:
        if a.save_txt:
            check_output_dir(save_dir / "labels", "--save-dir/labels")
        if a.save_crop:
            check_output_dir(save_dir / "crops", "--save-dir/crops")


def _mot_lines(r: Results) -> list[str]:
    """The MOT Challenge lines of one tracked frame: ``frame,id,x,y,w,h,score,-1,-1,-1`` (frames from 1; a
    still image of a sequence counts as frame 1)."""
    frame = 1 if r.frame is None else r.frame + 1
    xywh = box_convert(r.xyxy.double(), "xyxy", "xywh").tolist()
    return [f"{frame},{i},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{s:.4f},-1,-1,-1"
            for i, (x, y, w, h), s in zip(r.track_ids.tolist(), xywh, r.scores.tolist())]


def _write_mot(stage: Path, mot: dict[str, list[str]]) -> None:
    """``stage/mot/<stem>.txt`` per video (stems unique in the run)."""
    used: set[str] = set()
    for path, lines in mot.items():
        with atomic_write(stage / "mot" / _unique_name(output_stem(path), ".txt", used), "w") as f:
            f.write("".join(line + "\n" for line in lines))


def _save_labels_and_crops(a: PredictOptions, r, stage: Path, label_names: set[str]) -> None:  # noqa: ANN001
    """Ultralytics' layout: ``labels/<stem>.txt`` (videos: ``<stem>_<frame>.txt``), one file per image with
    detections, and ``crops/<class>/<stem>.jpg``; the stem is unique in the run (``dog``, ``dog_1``, as the
    annotated images), reserved even for an image with nothing to write."""
    stem = output_stem(r.path) if r.frame is None else f"{output_stem(r.path)}_{r.frame}"
    stem = Path(_unique_name(stem, ".txt", label_names)).stem
    if a.save_txt:
        r.save_txt(stage / "labels" / f"{stem}.txt", save_conf=a.save_conf)
    if a.save_crop:
        r.save_crop(stage / "crops", file_name=f"{stem}.jpg")


class _KeepOnInterrupt:
    """Ends its block quietly at a KeyboardInterrupt (``caught`` is then True), so the outer blocks finish as on
    success: video writers close and the staged files move into place.

    ``track(results)`` passes the results on and, each time the loop asks for the next one (so the previous one
    was handled to the end), stores ``progress()`` in ``done``: what the completed results amount to."""

    def __init__(self, progress: Callable[[], tuple]) -> None:
        self._progress = progress
        self.done: tuple = progress()
        self.caught = False

    def track(self, results: Iterable[Any]) -> Iterator[Any]:
        it = iter(results)
        try:
            while True:
                self.done = self._progress()
                try:
                    r = next(it)
                except StopIteration:
                    return
                yield r
        finally:
            if hasattr(it, "close"):
                it.close()  # stops the readers of a predict generator left mid-way

    def __enter__(self) -> "_KeepOnInterrupt":
        return self

    def __exit__(self, kind, value, tb) -> bool:  # noqa: ANN001
        self.caught = kind is not None and issubclass(kind, KeyboardInterrupt)
        return self.caught


def _write_video_frame(writers: dict[str, VideoOut], r: Results, save_dir: Path, used: set[str]) -> None:
    """Add ``r``'s annotated frame to its video in ``save_dir`` (H.264 where PyAV is installed, else mp4v)."""
    if r.path not in writers:
        fps = r.fps or 25.0  # as the video or stream reports it (a camera's nominal rate: dropped frames speed it up)
        h, w = r.orig_shape
        writers[r.path] = open_video(save_dir / _unique_name(output_stem(r.path), ".mp4", used), fps, (w, h))
    writers[r.path].write(np.asarray(r.draw()))


@dataclass(frozen=True, kw_only=True)
class ConvertOptions:
    """``yolo9000 convert``'s options: field names are the flags (``output`` = ``-o/--output``); keyword-only,
    so the required ``output`` keeps its place after ``weights``."""

    model: str = option(help="zoo name, darknet .cfg, or a checkpoint (.pt)")
    weights: str | None = option(None, "darknet .weights or checkpoint (.pt); a name from 'yolo9000 download --list' "
                                       "(e.g. yolov2-voc.weights) downloads once into the cache; none: a "
                                       "checkpoint's own weights, else a fresh initialisation (--seed)")
    output: str = option(help="output file: .weights (darknet's), .cfg (the network as darknet cfg text) or .pt",
                         flags=("-o", "--output"))
    seed: int = option(0, "seed of the fresh initialisation (no --weights)")


def cmd_convert(args: argparse.Namespace) -> int:
    """Write ``--model`` (with ``--weights``, else freshly initialised from ``--seed``) to ``-o``."""
    a = dataclass_from_args(ConvertOptions, args)
    check_outputs({"-o": a.output}, reads=[a.model, a.weights])
    if a.weights is None:
        torch.manual_seed(a.seed)
    out = YOLO(a.model, a.weights if a.weights is not None else RANDOM_WEIGHTS).save(a.output)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_val(args: argparse.Namespace) -> int:
    """Score a model on a split; the plots go to ``--save-dir``, by default a fresh ``runs/val``, ``runs/val2``,
    ... (as Ultralytics writes them), none with ``--no-plots``."""
    a = dataclass_from_args(ValOptions, args)
    if a.save_dir is None and a.plots:
        a = replace(a, save_dir=str(run_folder(DEFAULT_PROJECT, "val")))
    check_val_outputs(a.data, {"--json": a.json, "--save-coco": a.save_coco},
                      {"--save-dir": a.save_dir, "--save-voc": a.save_voc}, reads=(a.model, a.weights))
    yolo = YOLO(a.model, a.weights, device=a.device, precision=a.precision, compile=a.compile)
    if a.imgsz is not None and len(a.imgsz) > 1:
        return _val_sizes(a, yolo)
    v = yolo.val(a.data, split=a.split, metric=a.metric, imgsz=a.imgsz[0] if a.imgsz else None, conf=a.conf,
                 nms=a.nms, iou=a.iou, plus1=a.plus1, batch=a.batch, conf_report=a.conf_report, skip_bad=a.skip_bad,
                 save_dir=a.save_dir, save_json=a.save_coco, save_voc=a.save_voc, exist_ok=a.exist_ok,
                 progress=not a.quiet and sys.stderr.isatty())
    if a.json:  # first: a write that fails leaves no table behind
        write_result_json(v.result, a.json, protocol=v.protocol, settings=v.settings, report=v.summary.to_json())
    print(v.table())
    print(f"{count(v.settings['images'], 'image')} in {v.seconds:.1f} s"
          + (f"; plots in {a.save_dir}" if a.save_dir else ""), file=sys.stderr)
    return 0


def _val_sizes(a: ValOptions, yolo: YOLO) -> int:
    """``val --imgsz S1 S2 ...``: one model scored and timed at each size; a Markdown table on stdout."""
    if a.save_coco or a.save_voc:
        raise Yolo9000Error("--save-coco / --save-voc write one size's detections: give one --imgsz")
    rows = validate_sizes(yolo, a.data, list(a.imgsz), split=a.split, skip_bad=a.skip_bad, save_dir=a.save_dir,
                          exist_ok=a.exist_ok,
                          metric=a.metric, conf=a.conf, nms=a.nms, iou=a.iou, plus1=a.plus1, batch=a.batch,
                          progress=not a.quiet and sys.stderr.isatty())
    print(format_sizes(rows, a.metric))
    print(f"{count(rows[0].images, 'image')} per size, batch {a.batch}, device {yolo.device}"
          + (f"; plot in {Path(a.save_dir) / 'sizes.png'}" if a.save_dir else ""), file=sys.stderr)
    if a.json:
        write_json([r.as_dict() for r in rows], a.json)
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    run = train(dataclass_from_args(TrainConfig, a), given_flags(a))
    print(f"weights in {run / 'weights'}; results in {run / 'results.csv'} and {run / 'results.png'}", file=sys.stderr)
    return 0


def cmd_train_classifier(a: argparse.Namespace) -> int:
    run = train_classifier(dataclass_from_args(ClassifyConfig, a), given_flags(a))
    print(f"weights in {run / 'weights'}; results in {run / 'results.csv'}", file=sys.stderr)
    return 0


def cmd_train_joint(a: argparse.Namespace) -> int:
    run = train_joint(dataclass_from_args(JointConfig, a), given_flags(a))
    print(f"results in {run}")
    return 0


def cmd_zoo(a: argparse.Namespace) -> int:
    print("\n".join(a.zoo))
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    model, header, names = load_model(a.model, a.weights)
    c = model.config
    imgsz = native_imgsz(c) if a.imgsz is None else a.imgsz
    if (problem := imgsz_problem(imgsz, model.stride)) is not None:
        raise Yolo9000Error(f"--imgsz {imgsz}: {problem}")
    print(f"{c.name}: {len(c.layers)} layers, {darknet_float_count(model):,} darknet floats, "
          f"{count(c.num_classes, 'class')}, stride {model.stride}, input {imgsz}x{imgsz}")
    if c.region is not None:
        print("anchors (grid cells): " + "  ".join(f"{w:g}x{h:g}" for w, h in c.region.anchors_grid))
    x = torch.zeros(1, c.net.channels, imgsz, imgsz)
    shapes: list[tuple[int, ...]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape))) for m in model.layers]
    with torch.inference_mode():
        model(x)
    for h in hooks:
        h.remove()
    for i, (spec, shape) in enumerate(zip(c.layers, shapes)):
        kind = type(spec).__name__[:-4].lower()
        print(f"{i:3d} {kind:<8} {' x '.join(map(str, shape[1:]))}")
    return 0


_KEYWORD = re.compile(r"\b([a-z][a-z0-9_]*)=('[^']*'|[^\s,:/()]+)")


def as_flags(message: str, a: argparse.Namespace) -> str:
    """An error of the code shared with the Python API, in the command line's words: where the part before
    its first ``": "`` (what it is about) is nothing but ``name=value`` pairs, each whose name is an option of
    this command becomes ``--name value`` (``device='mps': ...`` -> ``--device mps: ...``); a message about a
    file, and the rest of every message, are left as written."""
    head, sep, rest = message.partition(": ")
    if not sep or _KEYWORD.sub("", head).strip(" ,/"):
        return message

    def flag(m: re.Match) -> str:
        name, value = m.group(1), m.group(2).strip("'")
        return f"--{name.replace('_', '-')} {value}" if hasattr(a, name) else m.group(0)

    return _KEYWORD.sub(flag, head) + sep + rest


def main(argv: Sequence[str] | None = None) -> int:
    # errors must stay one line: keep FFmpeg (inside OpenCV) from printing its own complaints
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    a = build_parser().parse_args(argv)
    previous = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        return a.func(a)
    except Yolo9000Error as e:
        print(f"yolo9000: error: {as_flags(str(e), a)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("yolo9000: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # the disk refused (full, read-only, no permission) where no writer caught it first
        if e.errno not in DISK_ERRNOS:
            raise
        print(f"yolo9000: error: {disk_error(e.filename or 'a file', e)}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = previous


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings as the CLI's errors are: one line, ``yolo9000: warning: <message>``."""
    print(f"yolo9000: warning: {str(message).splitlines()[0] if str(message) else category.__name__}",
          file=file or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
