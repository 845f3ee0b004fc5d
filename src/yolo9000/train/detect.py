"""Detection training (YOLOv2, the paper's recipe) as a task of the engine (:mod:`yolo9000.train.engine`).

SGD with momentum 0.9 and weight decay 5e-4 on conv weights only; darknet's burn-in
(``lr * (i / burn_in) ** 4``) then steps; batch and subdivisions (gradient accumulation); multi-scale
every 10 batches over {320, ..., 608}; the darknet-faithful region loss; VOC07 mAP@0.5 every
``--val-every`` epochs; checkpoints (``last.pt`` and ``best.pt``) with everything needed to resume exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from yolo9000.anchors.kmeans import anchors_for_dataset, hand_picked_anchors
from yolo9000.darknet.cfg import parse_cfg_text
from yolo9000.datasets.config import load_dataset_config
from yolo9000.datasets.loader import load_dataset
from yolo9000.datasets.shapes import make_shapes
from yolo9000.datasets.torch_data import DetectionData, MultiScaleBatchSampler, collate
from yolo9000.errors import Yolo9000Error
from yolo9000.eval.validate import validate
from yolo9000.fields import option
from yolo9000.models.darknet import Darknet, DarknetConfig, config_stride, require_rgb
from yolo9000.models.loading import resolve_config
from yolo9000.models.zoo import with_anchors, with_classes, with_location, without_batchnorm, without_passthrough
from yolo9000.predict.predictor import Predictor
from yolo9000.train.engine import RunContext, darknet_lr_lambda, fit
from yolo9000.train.init import initialise
from yolo9000.train.loss import region_loss
from yolo9000.train.options import DetectionOptions, EngineOptions, OptimOptions, RunOptions
from yolo9000.train.report import save_predictions, save_val_montage


@dataclass(frozen=True)
class TrainConfig(DetectionOptions, OptimOptions, EngineOptions, RunOptions):
    """Every option of ``yolo9000 train``; field names are the CLI flags (``--burn-in`` = burn_in). Those
    it shares with the other trainers are :mod:`yolo9000.train.options`' (keyword-only).

    With no options it trains the demo: ``yolov2-nano16`` on the generated shapes set (2,000 training
    images), in about 5 minutes on two CPU cores, then evaluates and writes annotated predictions.
    """

    data: str = option("shapes", "dataset YAML, or 'shapes' for the generated demo set")
    model: str = option("yolov2-nano16", "zoo name or darknet .cfg; the head follows the dataset's classes")
    weights: str | None = option(None, "darknet .weights (whole or a prefix, e.g. darknet19_448.conv.23) or .pt")
    # ---- the network; these switches walk the paper's Table 2 (benchmarks/ablation.py)
    anchors: str | None = option(None, "auto: k-means (1 - IoU) of the training boxes; hand: Faster R-CNN's 3 scales "
                                       "x 3 ratios; not given: the model's")
    batchnorm: bool = option(True, "off: every conv gets a bias instead of batch norm (Table 2's first step)")
    passthrough: bool = option(True, "off: the 26x26 passthrough is removed (the model must have one)")
    location: str | None = option(None, "direct: sigmoid-bounded centres (YOLOv2, darknet); offset: RPN's x = x_a + "
                                        "t_x * w_a; not given: the model's")
    epochs: int = option(8, "passes over the training images (the demo's 8; darknet's VOC cfgs: about 160 of 16,551)")
    imgsz: int | None = option(None, "validation size and multi-scale centre; none: the YAML's imgsz, else 416")
    val_imgsz: int | None = option(None, "evaluation size when it is not imgsz (Table 2's high-res detector: above it)")
    batch: int = option(8, "images per weight update (darknet's cfgs: 64, with lr 0.001)")
    lr: float = option(0.005, "learning rate (the demo's, for batch 8; darknet's cfgs: 0.001 at batch 64)")
    burn_in: int = option(50, "batches of darknet's burn-in, lr * (i / burn_in)^4 (darknet's cfgs: 1000)")
    scale: tuple[float, ...] = option((1.0, 1.0), "random rescale range: (1, 1) as darknet HEAD, (0.25, 2) as 2017-18")
    val_split: str = option("val", "the split scored every --val-every epochs")
    train_eval: int = option(100, "training images scored beside the validation mAP (an even sample; 0: off)")
    name: str = option("train", "an existing runs/<name> is kept: the run goes to <name>2, <name>3, ...")


def resolve_sizes(cfg: TrainConfig, yaml_imgsz: int | None) -> tuple[int, list[int]]:
    """(validation size, multi-scale training sizes): darknet's {320, ..., 608} around 416, scaled."""
    imgsz = cfg.imgsz or yaml_imgsz or 416
    if imgsz % 32:
        raise Yolo9000Error(f"--imgsz {imgsz}: must be a multiple of 32")
    if not cfg.multiscale:
        return imgsz, [imgsz]
    lo = cfg.min_size or max(32, round(imgsz * 320 / 416 / 32) * 32)
    hi = cfg.max_size or round(imgsz * 608 / 416 / 32) * 32
    if lo % 32 or hi % 32 or lo > hi:
        raise Yolo9000Error(f"--min-size {lo} / --max-size {hi}: need multiples of 32 with min <= max")
    return imgsz, list(range(lo, hi + 1, 32))


def build_model(cfg: TrainConfig, names: tuple[str, ...], data_yaml: str, imgsz: int) -> tuple[Darknet, int]:
    """The network for ``names`` with ``cfg``'s switches, initialised from ``cfg.weights``
    (:func:`~yolo9000.train.init.initialise`); returns (model, images already seen)."""
    config: DarknetConfig = resolve_config(cfg.model)
    require_rgb(config, cfg.model)
    if config.region is None:
        raise Yolo9000Error(f"{cfg.model}: not a detector (train a classifier with 'yolo9000 train-classifier')")
    if config.num_classes != len(names):
        config = with_classes(config, len(names), names)
    else:
        config = DarknetConfig(config.name, config.net, config.layers, names)
    config = apply_switches(config, cfg, data_yaml, imgsz)
    model = Darknet(config)
    return model, initialise(model, cfg.weights)


def apply_switches(config: DarknetConfig, cfg: TrainConfig, data_yaml: str, imgsz: int) -> DarknetConfig:
    """The network ``cfg`` asks for: its priors (``--anchors``), batch norm, passthrough and location form,
    and in the cfg it will carry, darknet's multi-scale flag (``[region] random``) and the evaluation size
    (``[net] width, height``, what darknet's ``detector valid`` runs at)."""
    stride = config_stride(config)
    if cfg.anchors == "auto":
        grid = anchors_for_dataset(data_yaml, k=config.region.num, imgsz=imgsz, seed=cfg.seed, stride=stride)
        config = with_anchors(config, tuple(round(float(v), 4) for v in grid))
    elif cfg.anchors == "hand":
        config = with_anchors(config, hand_picked_anchors(imgsz, stride))
    if cfg.anchors is not None:
        print("anchors (%s, grid cells of %d px at %d): %s"
              % ("k-means" if cfg.anchors == "auto" else "hand-picked, 3 scales x 3 ratios", stride, imgsz,
                 ", ".join(f"{v:g}" for v in config.region.anchors)), flush=True)
    if not cfg.batchnorm:
        config = without_batchnorm(config)
    if not cfg.passthrough:
        config = without_passthrough(config)
    if cfg.location is not None:
        config = with_location(config, cfg.location)
    size = cfg.val_imgsz or imgsz
    layers = config.layers[:-1] + (replace(config.region, random=cfg.multiscale),)
    return replace(config, net=replace(config.net, width=size, height=size), layers=layers)


def _pair(v: tuple[float, ...], flag: str) -> tuple[float, float]:
    if len(v) != 2 or not 0 < v[0] <= v[1]:
        raise Yolo9000Error(f"{flag} {' '.join(map(str, v))}: expected two numbers 0 < low <= high")
    return float(v[0]), float(v[1])


def augmentation(cfg: Any, config: DarknetConfig) -> dict[str, Any]:
    """:class:`~yolo9000.datasets.torch_data.DetectionData`'s augmentation for a detection or joint config:
    each option given, else the network cfg's own (``[region] jitter``, ``[net] hue/saturation/exposure``)."""
    net, region = config.net, config.region
    return dict(jitter=region.jitter if cfg.jitter is None else cfg.jitter,
                hue=net.hue if cfg.hue is None else cfg.hue,
                saturation=net.saturation if cfg.saturation is None else cfg.saturation,
                exposure=net.exposure if cfg.exposure is None else cfg.exposure,
                scale_range=_pair(cfg.scale, "--scale"), flip=cfg.flip)


def steps_lr(cfg: Any, total_batches: int):
    """Darknet's burn-in then steps (``--steps`` as fractions of the run's batches, ``--scales``)."""
    return darknet_lr_lambda(cfg.burn_in, [int(f * total_batches) for f in cfg.steps], list(cfg.scales))


class DetectTask:
    """Detection on the engine: a :class:`DetectionDataset`'s training split through darknet's augmentation
    and multi-scale batches, the region loss, VOC07 mAP@0.5 of the validation split (and of a sample of the
    training images: the fit)."""

    metric, score_key, best_key = "VOC07 mAP@0.5", "mAP50", "best_map"
    bar_keys = ("total", "coord", "obj", "noobj", "cls")
    val_keys = ("mAP50", "train_mAP50")

    def __init__(self, cfg: TrainConfig, ctx: RunContext) -> None:
        self.cfg, self.device = cfg, ctx.device
        data_yaml = cfg.data
        if data_yaml == "shapes":  # process 0 generates it (the engine builds its task first)
            data_yaml = str(make_shapes(Path(cfg.project) / "shapes-data"))
        imgsz, sizes = resolve_sizes(cfg, load_dataset_config(data_yaml).imgsz)
        self.eval_size = cfg.val_imgsz or imgsz
        self.plots_dir = ctx.run / "val"
        # every image of both splits is decoded now: a bad record stops the run before its first batch, or
        # with --skip-bad is left out of training and validation alike
        self.train_set = load_dataset(data_yaml, "train", skip_bad=cfg.skip_bad, decode=True)
        self.val_set = load_dataset(data_yaml, cfg.val_split, skip_bad=cfg.skip_bad, decode=True)
        self.names = tuple(self.train_set.names)
        if ctx.state is not None:  # the saved network (k-means anchors included), not a fresh build
            self.model, self.seen = Darknet(replace(parse_cfg_text(ctx.state["cfg"], str(ctx.last)), names=self.names)), 0
        else:
            self.model, self.seen = build_model(cfg, self.names, data_yaml, imgsz)
        self.region = self.model.config.region
        self.data = DetectionData(self.train_set, train=True, seed=cfg.seed, **augmentation(cfg, self.model.config))
        if ctx.info.world > 1 and len(self.data) < cfg.batch:
            raise Yolo9000Error(f"{len(self.data)} training images are fewer than one batch of {cfg.batch}")
        self.sampler = MultiScaleBatchSampler(len(self.data), cfg.batch, sizes=sizes, every=cfg.scale_every,
                                              seed=cfg.seed, shuffle=True, drop_last=len(self.data) >= cfg.batch)
        self.collate = collate

    def lr_factor(self, total_batches: int):
        return steps_lr(self.cfg, total_batches)

    def loss(self, out: torch.Tensor, targets: torch.Tensor, seen: int):
        terms = region_loss(out, targets, self.region, seen, obj_loss=self.cfg.obj_loss)
        return terms["total"], {k: v.detach() for k, v in terms.items()}

    def validate(self, model: Darknet, epoch: int, final: bool, plots: bool) -> dict[str, float]:
        predictor = Predictor.from_module(model, self.names, device=self.device)
        out = {"mAP50": validate(predictor, self.val_set, metric="voc07", imgsz=self.eval_size,
                                 save_dir=self.plots_dir if plots else None).mAP,
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


def train(cfg: TrainConfig) -> Path:
    """Train a detector; returns the run folder (``weights/last.pt``, ``weights/best.pt``, ``results.csv``,
    ``results.png``, validation plots in ``val/``, ``val_predictions.jpg``, ``predictions/``).

    Under ``torchrun`` every process runs this function on its slice of each batch (DDP); process 0
    validates and writes.
    """
    return fit(cfg, DetectTask)
