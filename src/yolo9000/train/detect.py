"""Detection training (YOLOv2, the paper's recipe) as a task of the engine (:mod:`yolo9000.train.engine`).

SGD with momentum 0.9 and weight decay 5e-4 on conv weights only; darknet's burn-in
(``lr * (i / burn_in) ** 4``) then steps; batch and subdivisions (gradient accumulation); multi-scale
every 10 batches over {320, ..., 608}; the darknet-faithful region loss; VOC07 mAP@0.5 every
``--val-every`` epochs; checkpoints (``last.pt`` and ``best.pt``) with everything needed to resume exactly.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from yolo9000.anchors.kmeans import anchors_for_dataset, dataset_box_shapes, hand_picked_anchors
from yolo9000.checkpoints.loading import resolve_config
from yolo9000.darknet.cfg import net_options, parse_cfg
from yolo9000.datasets.config import load_dataset_config
from yolo9000.datasets.loader import load_dataset
from yolo9000.datasets.records import DetectionDataset
from yolo9000.datasets.shapes import make_shapes
from yolo9000.datasets.torch_data import DetectionData, MultiScaleBatchSampler, collate
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.eval.validate import validate
from yolo9000.fields import option
from yolo9000.models.darknet import Darknet, DarknetConfig, config_stride, require_rgb
from yolo9000.models.edit import (
    with_anchors, with_classes, with_input_size, with_location, with_region, without_batchnorm, without_passthrough,
)
from yolo9000.ops.boxes import LOCATIONS
from yolo9000.predict.predictor import Predictor
from yolo9000.train.engine import RunContext, Task, darknet_lr_lambda, fit
from yolo9000.train.init import initialise
from yolo9000.train.loss import BOX_LOSSES, OBJ_LOSSES, region_loss, region_loss_problem
from yolo9000.train.options import OPTIMIZERS, SIZE, DetectionOptions, EngineOptions, OptimOptions, RunOptions
from yolo9000.train.report import save_predictions, save_val_montage
from yolo9000.words import count


# ----------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    """The values a preset gives the recipe options a run leaves out (None in :class:`TrainConfig`)."""

    model: str
    epochs: int
    optimizer: str
    lr_sgd: float       # at BATCH, for each --optimizer; scaled with --batch: linearly (sgd), by the square root
    lr_adamw: float     # (adamw)
    burn_in: int        # batches
    anchors: str        # auto: k-means of the training boxes; hand; model: the model's own
    obj_loss: str
    box_loss: str
    class_scale: float | None  # [region] class_scale of the network trained; None: the model cfg's
    about: str
    imgsz: int = 0      # when the dataset YAML names none; 0: the size the training boxes ask for (data_imgsz)


BATCH = 8  # the batch the presets' learning rates are for
PRESETS = {
    "scratch": Preset("yolov2-tiny-voc", 100, "adamw", 0.002, 0.001, 100, "auto", "bce", "ciou", 5.0,
                      "a detector from scratch on your own photos"),
    "demo": Preset("yolov2-nano16", 8, "sgd", 0.002, 0.001, 50, "model", "bce", "mse", 5.0,
                   "the built-in shapes demo, about 5 minutes on two CPU cores"),
    "darknet": Preset("yolov2-voc", 160, "sgd", 0.001 * BATCH / 64, 0.001, 1000, "model", "mse", "mse", None,
                      "darknet's own recipe and loss, for --weights darknet19_448.conv.23", imgsz=416),
}
DEMO_DATA = "shapes"
ANCHOR_WORDS = {"auto": "k-means anchors of the training boxes", "hand": "hand-picked anchors",
                "model": "the model's anchors"}  # --anchors, in the recipe line and --help  # --data: the generated shapes set (the demo's)
# data_imgsz: the smallest input at which the small boxes (SMALL_BOX_QUANTILE of the training boxes, by
# sqrt(w * h)) span SMALL_BOX_PX pixels, between the bounds
SMALL_BOX_QUANTILE, SMALL_BOX_PX, IMGSZ_RANGE = 0.05, 24, (256, 608)


def data_imgsz(train_set: DetectionDataset, stride: int = 32) -> int:
    """The input size the training boxes ask for: the smallest multiple of ``stride`` in :data:`IMGSZ_RANGE`
    at which the :data:`SMALL_BOX_QUANTILE` quantile of the boxes' sizes (``sqrt(w * h)`` over the image's
    longer side, as the letterbox scales them) spans :data:`SMALL_BOX_PX` pixels (raccoon's photos: 256;
    BCCD's platelets: 384). No boxes: the lower bound."""
    shapes = dataset_box_shapes(train_set)
    lo, hi = IMGSZ_RANGE
    if not len(shapes):
        return lo
    small = float(np.quantile(np.sqrt(shapes[:, 0] * shapes[:, 1]), SMALL_BOX_QUANTILE))
    need = math.ceil(SMALL_BOX_PX / max(small, 1e-9) / stride) * stride
    return int(min(hi, max(lo, need)))


def describe_preset(p: Preset) -> str:
    """A preset's values in words, for ``--help``."""
    lr = p.lr_sgd if p.optimizer == "sgd" else p.lr_adamw
    anchors = ANCHOR_WORDS[p.anchors]
    class_scale = "the model's class scale" if p.class_scale is None else f"class scale {p.class_scale:g}"
    size = f" at {p.imgsz}" if p.imgsz else ""
    return (f"{p.about}: {p.model}, {p.epochs} epochs{size}, {p.optimizer} lr {lr:g} at batch {BATCH}, burn-in "
            f"{p.burn_in}, {anchors}, objectness {p.obj_loss}, box loss {p.box_loss}, {class_scale}")


@dataclass(frozen=True)
class TrainConfig(DetectionOptions, OptimOptions, EngineOptions, RunOptions):
    """Every option of ``yolo9000 train``; field names are the CLI flags (``--burn-in`` = burn_in). Those
    it shares with the other trainers are :mod:`yolo9000.train.options`' (keyword-only).

    The recipe options left out (None) take their preset's values (:data:`PRESETS`, :func:`resolve_recipe`):
    with a dataset YAML, ``scratch``, the recipe that trains a detector from scratch on real photos; with no
    data, ``demo``: ``yolov2-nano16`` on the generated shapes set (2,000 training images), in about 5
    minutes on two CPU cores, then evaluates and writes annotated predictions.
    """

    TRAINER: ClassVar[str] = "train"  # the command, recorded in the checkpoints (a resume checks it)
    data: str = option(DEMO_DATA, "dataset YAML, or 'shapes' for the generated demo set")
    preset: str | None = option(None, "the values of the recipe options left out: " + "; ".join(
        f"{name} ({describe_preset(p)})" for name, p in PRESETS.items()) + "; none: demo for --data shapes, else "
        "scratch", choices=tuple(PRESETS))
    model: str | None = option(None, "zoo name or darknet .cfg; the head follows the dataset's classes; none: the "
                                     "preset's")
    weights: str | None = option(None, "darknet .weights (whole or a prefix, e.g. darknet19_448.conv.23) or .pt")
    # ---- the network; these switches walk the paper's Table 2 (benchmarks/ablation.py)
    anchors: str | None = option(None, "auto: k-means (1 - IoU) of the training boxes; hand: Faster R-CNN's 3 scales "
                                       "x 3 ratios; model: the model's own; none: the preset's",
                                 choices=tuple(ANCHOR_WORDS))
    batchnorm: bool = option(True, "off: every conv gets a bias instead of batch norm (Table 2's first step)")
    passthrough: bool = option(True, "off: the 26x26 passthrough is removed (the model must have one)")
    location: str | None = option(None, "direct: sigmoid-bounded centres (YOLOv2, darknet); offset: RPN's x = x_a + "
                                        "t_x * w_a; not given: the model's", choices=LOCATIONS)
    epochs: int | None = option(None, "passes over the training images; none: the preset's (darknet's VOC cfgs: about "
                                      "160 of 16,551)", min=1)
    imgsz: int | None = option(None, "validation size and multi-scale centre; none: the YAML's imgsz, else the "
                                     "preset's (darknet: 416), else the smallest multiple of 32 from 256 to 608 at "
                                     "which the smallest 5% of the training boxes span 24 px", check=SIZE)
    val_imgsz: int | None = option(None, "evaluation size when it is not imgsz (Table 2's high-res detector: above it)",
                                   check=SIZE)
    batch: int = option(8, "images per weight update (darknet's cfgs: 64, with lr 0.001)", min=1)
    optimizer: str | None = option(None, "sgd: SGD with momentum, darknet's; adamw: AdamW (betas --momentum, 0.999; "
                                         "weight decay decoupled); none: the preset's", choices=OPTIMIZERS,
                                   kw_only=True)
    lr: float | None = option(None, "learning rate; none: the preset's for batch 8, scaled with --batch (linearly for "
                                    "sgd, by the square root for adamw); darknet's cfgs: 0.001 at batch 64", min=0)
    burn_in: int | None = option(None, "batches of darknet's burn-in, lr * (i / burn_in)^4; none: the preset's "
                                       "(darknet's cfgs: 1000)", min=0)
    obj_loss: str | None = option(None, "objectness loss: bce (the cross-entropy of the logit: darknet's delta without "
                                        "the sigmoid's derivative, which stalls small real data trained from scratch), "
                                        "mse (darknet's YOLOv2 squared error of the sigmoid) or mixed (the "
                                        "cross-entropy where a prediction is responsible for a box, at unit scale; "
                                        "darknet's squared error elsewhere); none: the preset's (bce but for darknet)",
                                  choices=OBJ_LOSSES, kw_only=True)
    box_loss: str | None = option(None, "box loss at the responsible predictions: mse (darknet's squared error of the "
                                        "box codes, in grid cells) or ciou (1 - complete IoU of the boxes: scale-free, "
                                        "so small objects are placed as precisely as large ones); none: the preset's",
                                  choices=BOX_LOSSES, kw_only=True)
    class_scale: float | None = option(None, "weight of the class term ([region] class_scale, written into the "
                                             "network); none: the preset's (scratch, demo: 5, the cross-entropy "
                                             "objectness's weight, object_scale, so that it does not outweigh the "
                                             "class head; darknet: the model's)", min=0)
    scale: tuple[float, ...] = option((1.0, 1.0), "augmentation: random rescale range LOW HIGH: (1, 1) as darknet "
                                                  "HEAD, (0.25, 2) as 2017-18 (not --scales, the lr steps' factors)",
                                      flags=("--rescale", "--scale"))
    val_split: str = option("val", "the split scored every --val-every epochs")
    train_eval: int = option(100, "training images scored beside the validation mAP (an even sample; 0: off)",
                             min=0, note="0: off")
    name: str = option("train", "the run's folder in --project (one folder name); an existing one is kept: "
                       "the run goes to <name>2, <name>3, ...")
    from_cfg: tuple[str, ...] = option((), "the options a darknet .cfg's [net] gave (set by the recipe's "
                                           "resolution, recorded in the checkpoints)", flags=())


#: TrainConfig fields a darknet ``.cfg``'s ``[net]`` section gives, by its keys (``steps`` and ``scales`` with
#: ``policy=steps`` and ``max_batches``, which also sets the run's length)
CFG_NET_KEYS = {"lr": "learning_rate", "batch": "batch", "subdivisions": "subdivisions", "momentum": "momentum",
                "decay": "decay", "burn_in": "burn_in"}


_FROM_CFG_WORDS = {"lr": "learning_rate", "burn_in": "burn_in", "epochs": "max_batches (as epochs)"}


def cfg_training_settings(model: str | None) -> dict[str, Any]:
    """The training settings a darknet ``.cfg`` file's ``[net]`` section gives, as TrainConfig values: ``lr``
    (darknet's learning_rate, for its batch), ``batch``, ``subdivisions``, ``momentum``, ``decay``,
    ``burn_in``; with ``policy=steps`` and ``max_batches``, ``steps`` as fractions of max_batches with their
    ``scales``, and ``max_batches``. Empty for a zoo name or a checkpoint, which carry no darknet recipe."""
    if model is None or Path(model).suffix.lower() != ".cfg":
        return {}
    net = parse_cfg(model).net  # checked values, defaults for what the file leaves out
    given = net_options(model)
    out: dict[str, Any] = {f: getattr(net, key) for f, key in CFG_NET_KEYS.items() if key in given}
    if net.max_batches > 0 and "max_batches" in given:
        out["max_batches"] = net.max_batches
        if net.policy == "steps" and net.steps and len(net.steps) == len(net.scales):
            out["steps"] = tuple(s / net.max_batches for s in net.steps)
            out["scales"] = tuple(net.scales)
    return out


def _not_given(cfg: TrainConfig, name: str, given: Collection[str] | None) -> bool:
    """Whether option ``name`` was left to its default (``given`` None: it equals the field's default)."""
    if given is not None:
        return name not in given
    return getattr(cfg, name) == next(f.default for f in fields(cfg) if f.name == name)


def _with_cfg_settings(cfg: TrainConfig, given: Collection[str] | None) -> TrainConfig:
    """``cfg`` with the training settings of its ``--model`` ``.cfg`` (:func:`cfg_training_settings`) for the
    options it was not given, as darknet trains that file: SGD, the cfg's lr (scaled linearly when
    ``--batch`` is given instead of the cfg's), its steps, and ``max_batches`` as the run's length in batches
    (epochs of the training split, rounded); ``from_cfg`` names what the file gave."""
    if cfg.resume:  # a resume keeps the run's own values (the file is not read again)
        return cfg
    settings = cfg_training_settings(cfg.model)
    if not settings:
        return cfg
    taken = {k: v for k, v in settings.items() if k != "max_batches" and _not_given(cfg, k, given)}
    if "lr" in taken and "batch" not in taken and "batch" in settings:
        taken["lr"] = settings["lr"] * cfg.batch / settings["batch"]
    if cfg.optimizer is None:
        taken["optimizer"] = "sgd"
    if "max_batches" in settings and cfg.epochs is None:
        with warnings.catch_warnings():  # the task loads the split again and says what it drops
            warnings.simplefilter("ignore")
            images = len(load_dataset(cfg.data, "train", skip_bad=cfg.skip_bad).records)
        batch = taken.get("batch", cfg.batch)
        taken["epochs"] = max(1, round(settings["max_batches"] * batch / max(images, 1)))
    return replace(cfg, **taken, from_cfg=tuple(k for k in taken if k != "optimizer"))


def resolve_recipe(cfg: TrainConfig, given: Collection[str] | None = None) -> TrainConfig:
    """``cfg`` with its preset and every recipe option it left out made concrete, as the checkpoints record
    it (the engine resolves after a resume has merged the saved options, so a resume keeps them). ``--data
    shapes`` generates the demo's set under ``<project>/shapes-data`` and names its YAML. A darknet ``.cfg``
    as ``--model`` gives its ``[net]`` training settings for the options not ``given`` (None: those at their
    defaults), before the preset fills the rest (:func:`_with_cfg_settings`)."""
    if cfg.data != DEMO_DATA:
        cfg = _with_cfg_settings(cfg, given)
    preset = cfg.preset or ("demo" if cfg.data == DEMO_DATA else "scratch")
    p = PRESETS[preset]
    if cfg.data == DEMO_DATA and cfg.model is not None:
        resolve_config(cfg.model)  # a bad --model stops the run before the demo's set is generated
    data = str(make_shapes(Path(cfg.project) / "shapes-data")) if cfg.data == DEMO_DATA else cfg.data
    optimizer = cfg.optimizer or p.optimizer
    lr = cfg.lr
    if lr is None:
        lr = (p.lr_adamw * math.sqrt(cfg.batch / BATCH) if optimizer == "adamw"
              else p.lr_sgd * cfg.batch / BATCH)
    imgsz = cfg.imgsz or load_dataset_config(data).imgsz or p.imgsz
    if not imgsz:
        with warnings.catch_warnings():  # the task loads the split again and says what it drops
            warnings.simplefilter("ignore")
            imgsz = data_imgsz(load_dataset(data, "train", skip_bad=cfg.skip_bad))
    return replace(cfg, data=data, preset=preset, model=cfg.model or p.model, epochs=cfg.epochs or p.epochs,
                   imgsz=imgsz, optimizer=optimizer,
                   lr=lr, burn_in=p.burn_in if cfg.burn_in is None else cfg.burn_in,
                   anchors=cfg.anchors or p.anchors, obj_loss=cfg.obj_loss or p.obj_loss,
                   box_loss=cfg.box_loss or p.box_loss,
                   class_scale=p.class_scale if cfg.class_scale is None else cfg.class_scale)


def describe_recipe(cfg: TrainConfig, config: DarknetConfig, sizes: list[int]) -> str:
    """The one line a run prints first: what it trains, how long, at what size, with what optimisation,
    priors, objectness and augmentation."""
    aug = augmentation(cfg, config)
    start = f"from {cfg.weights}" if cfg.weights else "from scratch"
    scales = f" (multi-scale {sizes[0]}-{sizes[-1]})" if len(sizes) > 1 else ""
    anchors = ANCHOR_WORDS[cfg.anchors or "model"]
    return (f"recipe ({cfg.preset}): {cfg.model} {start}, {cfg.epochs} epochs at {cfg.imgsz}{scales}, batch "
            f"{cfg.batch}, {cfg.optimizer} lr {cfg.lr:g}, burn-in {cfg.burn_in}, {anchors}, objectness "
            f"{cfg.obj_loss}, box loss {cfg.box_loss}, class scale {config.region.class_scale:g}, augmentation jitter "
            f"{aug['jitter']:g} hue {aug['hue']:g} saturation "
            f"{aug['saturation']:g} exposure {aug['exposure']:g} scale {aug['scale_range'][0]:g}-"
            f"{aug['scale_range'][1]:g}{' flips' if aug['flip'] else ''}"
            + (f"; from {Path(cfg.model).name} [net]: {', '.join(_FROM_CFG_WORDS.get(k, k) for k in cfg.from_cfg)}"
               if cfg.from_cfg else ""))


def resolve_sizes(cfg: TrainConfig, yaml_imgsz: int | None) -> tuple[int, list[int]]:
    """(validation size, multi-scale training sizes): darknet's {320, ..., 608} around 416, scaled. The sizes
    given are checked with the other options (:func:`~yolo9000.train.checks.check_run_options`: multiples of
    32, ``--min-size`` <= ``--max-size``); here only a bound given against one made from ``imgsz``."""
    imgsz = cfg.imgsz or yaml_imgsz or IMGSZ_RANGE[0]
    if not cfg.multiscale:
        return imgsz, [imgsz]
    lo = cfg.min_size or max(32, round(imgsz * 320 / 416 / 32) * 32)
    hi = cfg.max_size or round(imgsz * 608 / 416 / 32) * 32
    if lo > hi:
        raise Yolo9000Error(f"--min-size {lo} / --max-size {hi}: min must be <= max (at --imgsz {imgsz}, give "
                            f"both)")
    return imgsz, list(range(lo, hi + 1, 32))


def load_training_split(data_yaml: str, split: str, skip_bad: bool, use: str) -> DetectionDataset:
    """Split ``split`` of the dataset YAML ``data_yaml`` with every image decoded: a bad record stops the run
    here (or with ``skip_bad`` is left out, with the loader's warning). A split with no image (left) is a
    one-line error naming the YAML and the split, ``use`` saying what the run needed it for, before
    anything is written; the loader's warnings are then held back, so that the error is the one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(data_yaml, split, skip_bad=skip_bad, decode=True)
    if not ds.records:
        skipped = (" (--skip-bad left out every image it lists; 'yolo9000 check-data' says why)"
                   if skip_bad and caught else "")
        raise file_error(data_yaml, f"split {split!r} has no images to {use}{skipped}")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return ds


def build_model(cfg: TrainConfig, train_set: DetectionDataset, imgsz: int) -> tuple[Darknet, int]:
    """The network for the training split's classes with ``cfg``'s switches (k-means anchors from that
    split, as loaded), initialised from ``cfg.weights`` (:func:`~yolo9000.train.init.initialise`); returns
    (model, images already seen)."""
    names = tuple(train_set.names)
    config: DarknetConfig = resolve_config(cfg.model)
    require_rgb(config, cfg.model)
    if config.region is None:
        raise Yolo9000Error(f"{cfg.model}: not a detector (train a classifier with 'yolo9000 train-classifier')")
    if (problem := region_loss_problem(config.region)) is not None:
        raise Yolo9000Error(f"--model {cfg.model}: {problem}")
    if config.num_classes != len(names) and config.region.tree is not None:
        classes = count(len(names), "class")
        raise Yolo9000Error(f"--model {cfg.model}: a WordTree detector ({config.num_classes} tree nodes) cannot be "
                            f"trained on the dataset's {classes}; train it with 'yolo9000 train-joint' (--tree, "
                            f"--det-map), or choose a flat detector (e.g. yolov2-voc)")
    if config.num_classes != len(names):
        config = with_classes(config, len(names), names)
    else:
        config = DarknetConfig(config.name, config.net, config.layers, names)
    config = apply_switches(config, cfg, train_set, imgsz)
    model = Darknet(config)
    return model, initialise(model, cfg.weights)


def apply_switches(config: DarknetConfig, cfg: TrainConfig, train_set: DetectionDataset, imgsz: int) -> DarknetConfig:
    """The network ``cfg`` asks for: its priors (``--anchors``), batch norm, passthrough and location form,
    and in the cfg it will carry, darknet's multi-scale flag (``[region] random``), the class term's weight
    (``[region] class_scale``, ``--class-scale``) and the evaluation size (``[net] width, height``, what
    darknet's ``detector valid`` runs at)."""
    stride = config_stride(config)
    if cfg.anchors == "auto":
        grid = anchors_for_dataset(train_set, k=config.region.num, imgsz=imgsz, seed=cfg.seed, stride=stride)
        config = with_anchors(config, tuple(round(float(v), 4) for v in grid))
    elif cfg.anchors == "hand":
        config = with_anchors(config, hand_picked_anchors(imgsz, stride))
    if not cfg.batchnorm:
        config = without_batchnorm(config)
    if not cfg.passthrough:
        config = without_passthrough(config)
    if cfg.location is not None:
        config = with_location(config, cfg.location)
    config = with_region(config, random=cfg.multiscale,
                         **({} if cfg.class_scale is None else {"class_scale": cfg.class_scale}))
    return with_input_size(config, cfg.val_imgsz or imgsz)


def augmentation(cfg: Any, config: DarknetConfig) -> dict[str, Any]:
    """:class:`~yolo9000.datasets.torch_data.DetectionData`'s augmentation for a detection or joint config:
    each option given, else the network cfg's own (``[region] jitter``, ``[net] hue/saturation/exposure``)."""
    net, region = config.net, config.region
    if cfg.jitter is None and not 0 <= region.jitter < 1:  # --jitter itself is checked with the other options
        raise Yolo9000Error(f"--model {cfg.model}: [region] jitter={region.jitter:g}: must lie in [0, 1), a fraction "
                            f"of the image size (or give --jitter)")
    return dict(jitter=region.jitter if cfg.jitter is None else cfg.jitter,
                hue=net.hue if cfg.hue is None else cfg.hue,
                saturation=net.saturation if cfg.saturation is None else cfg.saturation,
                exposure=net.exposure if cfg.exposure is None else cfg.exposure,
                scale_range=(float(cfg.scale[0]), float(cfg.scale[1])), flip=cfg.flip)


def steps_lr(cfg: Any, total_batches: int):
    """Darknet's burn-in then steps (``--steps`` as fractions of the run's batches, ``--scales``)."""
    return darknet_lr_lambda(cfg.burn_in, [int(f * total_batches) for f in cfg.steps], list(cfg.scales))


class DetectTask(Task):
    """Detection on the engine: a :class:`DetectionDataset`'s training split through darknet's augmentation
    and multi-scale batches, the region loss, VOC07 mAP@0.5 of the validation split (and of a sample of the
    training images: the fit). Its config is resolved by :func:`resolve_recipe`."""

    metric, score_key, best_key = "VOC07 mAP@0.5", "mAP50", "best_map"
    bar_keys = ("total", "coord", "obj", "noobj", "cls")
    val_keys = ("mAP50", "train_mAP50")

    def __init__(self, cfg: TrainConfig, ctx: RunContext) -> None:
        self.cfg, self.device = cfg, ctx.device
        data_yaml = cfg.data  # a YAML: resolve_recipe generated the demo's
        imgsz, sizes = resolve_sizes(cfg, load_dataset_config(data_yaml).imgsz)
        self.eval_size = cfg.val_imgsz or imgsz
        self.plots_dir = ctx.run / "val"
        # every image of both splits is decoded now: a bad record stops the run before its first batch, or
        # with --skip-bad is left out of training and validation alike
        self.train_set = load_training_split(data_yaml, "train", cfg.skip_bad, "train on")
        self.val_set = load_training_split(data_yaml, cfg.val_split, cfg.skip_bad, "validate on")
        self.names = tuple(self.train_set.names)
        if ctx.network is not None:  # the saved network (k-means anchors included), not a fresh build
            self.model, self.seen = Darknet(replace(ctx.network, names=self.names)), 0
        else:
            self.model, self.seen = build_model(cfg, self.train_set, imgsz)
        self.region = self.model.config.region
        if ctx.info.is_main:
            print(describe_recipe(cfg, self.model.config, sizes), flush=True)
            if ctx.state is None and cfg.anchors in ("auto", "hand"):
                print("anchors (%s, grid cells of %d px at %d): %s"
                      % ("k-means" if cfg.anchors == "auto" else "hand-picked, 3 scales x 3 ratios",
                         config_stride(self.model.config), imgsz,
                         ", ".join(f"{v:g}" for v in self.region.anchors)), flush=True)
        self.data = DetectionData(self.train_set, train=True, seed=cfg.seed, **augmentation(cfg, self.model.config))
        if ctx.info.world > 1 and len(self.data) < cfg.batch:
            raise Yolo9000Error(f"{len(self.data)} training images are fewer than one batch of {cfg.batch}")
        self.sampler = MultiScaleBatchSampler(len(self.data), cfg.batch, sizes=sizes, every=cfg.scale_every,
                                              seed=cfg.seed, shuffle=True, drop_last=len(self.data) >= cfg.batch)
        self.collate = collate

    @classmethod
    def resolve(cls, cfg: TrainConfig, given: Collection[str] | None = None) -> TrainConfig:
        return resolve_recipe(cfg, given)

    def lr_factor(self, total_batches: int):
        return steps_lr(self.cfg, total_batches)

    def loss(self, out: torch.Tensor, targets: torch.Tensor, seen: int):
        terms = region_loss(out, targets, self.region, seen, obj_loss=self.cfg.obj_loss, box_loss=self.cfg.box_loss)
        return terms["total"], {k: v.detach() for k, v in terms.items()}

    def validate(self, model: Darknet, plots: bool) -> dict[str, float]:
        predictor = Predictor.from_module(model, self.names, device=self.device)
        out = {"mAP50": validate(predictor, self.val_set, metric="voc07", imgsz=self.eval_size,
                                 save_dir=self.plots_dir if plots else None, exist_ok=True).mAP,
               "train_mAP50": float("nan")}
        if self.cfg.train_eval:  # the fit: a detector that cannot find its own training boxes underfits
            out["train_mAP50"] = validate(predictor, self.train_set, metric="voc07", imgsz=self.eval_size,
                                          max_images=self.cfg.train_eval).mAP
        return out

    def describe(self, row: dict[str, Any]) -> str:
        m, t = row.get("mAP50", float("nan")), row.get("train_mAP50", float("nan"))
        return ((f", VOC07 mAP@0.5 {m:.4f}" if not math.isnan(m) else "")
                + (f" (training images: {t:.4f})" if not math.isnan(t) else ""))

    def finish(self, run: Path, best: Path) -> None:
        """From ``best.pt``, on the run's device: 16 validation records as val_predictions.jpg and predictions/."""
        predictor = Predictor.load(best, device=self.device)
        records = list(self.val_set.records[:16])
        save_val_montage(predictor, records, run / "val_predictions.jpg", self.eval_size)
        save_predictions(predictor, records, run / "predictions", self.eval_size)


def train(cfg: TrainConfig, given: Collection[str] | None = None) -> Path:
    """Train a detector; returns the run folder (``weights/last.pt``, ``weights/best.pt``, ``results.csv``,
    ``results.png``, validation plots in ``val/``, ``val_predictions.jpg``, ``predictions/``). ``given``: the
    options the caller set, which a resume takes over the run's own (:func:`~yolo9000.train.engine.fit`).

    Under ``torchrun`` every process runs this function on its slice of each batch (DDP); process 0
    validates and writes.
    """
    return fit(cfg, DetectTask, given)
