"""Training YOLOv2 the paper's way, in one readable function.

SGD with momentum 0.9 and weight decay 5e-4 on conv weights only; darknet's burn-in
(``lr * (i / burn_in) ** 4``) then steps; batch and subdivisions (gradient accumulation); multi-scale
every 10 batches over {320, ..., 608}; the darknet-faithful region loss; checkpoints (``last.pt`` and
``best.pt``) written atomically with everything needed to resume exactly.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .anchors import anchors_for_dataset, hand_picked_anchors
from .cfg import config_to_cfg_text
from .devices import training_autocast
from .errors import Yolo9000Error
from .fileio import atomic_write, run_folder
from .models.darknet import ConvBlock, Darknet, DarknetConfig, config_stride, require_rgb
from .models.zoo import with_anchors, with_classes, with_location, without_batchnorm, without_passthrough
from .options import DetectionOptions, OptimOptions, RunOptions, option
from .run_checks import check_run_options, resume_config
from .weights import WeightsHeader


@dataclass(frozen=True)
class TrainConfig(DetectionOptions, OptimOptions, RunOptions):
    """Every option of ``yolo9000 train``; field names are the CLI flags (``--burn-in`` = burn_in). Those
    it shares with the other trainers are :mod:`yolo9000.options`' (keyword-only).

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
    ema: float = option(0.0, "decay of an exponential moving average of the weights (0: off)")
    amp: bool = option(False, "mixed precision: float16 + GradScaler on CUDA, bfloat16 on CPU")
    deterministic: bool = option(False, "deterministic algorithms only (slower; runs reproducible bit for bit)")
    val_every: int = option(1, "epochs between VOC07 mAP evaluations (0: only at the end)")
    patience: int = option(0, "stop when this many validations in a row bring no better mAP (0: off)")
    val_split: str = option("val", "the split scored every --val-every epochs")
    train_eval: int = option(100, "training images scored beside the validation mAP (an even sample; 0: off)")
    skip_bad: bool = option(False, "leave unreadable records out of training and validation (listed in a warning) "
                                   "instead of stopping")
    tensorboard: bool = option(True, "scalars per epoch in the run folder")
    name: str = option("train", "an existing runs/<name> is kept: the run goes to <name>2, <name>3, ...")


@dataclass
class EarlyStop:
    """``--patience``: the best validation score, its epoch, and the validations since it (``stale``).

    ``update`` after each validation; ``stop`` once ``patience`` validations in a row have not beaten the
    best (never when ``patience`` is 0). :meth:`state` goes into the checkpoints, so a resumed run that had
    stopped stops again at once (unless the resume raises ``--patience``).
    """

    patience: int
    best: float = -1.0
    best_epoch: int = 0  # 1-based; 0: no validation yet
    stale: int = 0

    @classmethod
    def restore(cls, patience: int, state: dict[str, Any] | None, best: float) -> EarlyStop:
        """From a checkpoint's ``early_stop`` entry (checkpoints from before --patience: nothing stale)."""
        saved = (state or {}).get("early_stop") or {}
        return cls(patience, best, int(saved.get("best_epoch", 0)), int(saved.get("stale", 0)))

    def update(self, score: float, epoch: int) -> bool:
        """Record the score of 1-based ``epoch``; True if it is a new best (NaN: no validation, no change)."""
        if math.isnan(score):
            return False
        if score > self.best:
            self.best, self.best_epoch, self.stale = score, epoch, 0
            return True
        self.stale += 1
        return False

    @property
    def stop(self) -> bool:
        return self.patience > 0 and self.stale >= self.patience

    def next_may_stop(self) -> bool:
        """Whether the next validation stops the run unless it improves (its plots are then the run's)."""
        return self.patience > 0 and self.stale + 1 >= self.patience

    def state(self) -> dict[str, int]:
        return {"best_epoch": self.best_epoch, "stale": self.stale, "patience": self.patience}

    def message(self, epoch: int, epochs: int, metric: str) -> str:
        """The one line printed when the run stops early."""
        return (f"early stop after epoch {epoch}/{epochs}: {metric} has not improved for {self.stale} "
                f"validation{'s' if self.stale != 1 else ''} (--patience {self.patience}); the best, "
                f"{self.best:.4f}, was at epoch {self.best_epoch} (weights/best.pt)")


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


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    return {"python": list(random.getstate()[1]), "python_version": random.getstate()[0],
            "python_gauss": random.getstate()[2], "numpy": np.random.get_state()[1].tolist(),
            "numpy_pos": int(np.random.get_state()[2]), "torch": torch.get_rng_state()}


def _set_rng_state(s: dict[str, Any]) -> None:
    random.setstate((s["python_version"], tuple(s["python"]), s["python_gauss"]))
    np.random.set_state(("MT19937", np.array(s["numpy"], dtype=np.uint32), s["numpy_pos"], 0, 0.0))
    torch.set_rng_state(s["torch"])


def darknet_lr_lambda(burn_in: int, steps: list[int], scales: list[float]):
    """Darknet's ``get_current_rate`` (policy=steps) as a multiplier of the base rate, per batch."""
    def factor(batch_num: int) -> float:
        if batch_num < burn_in:
            return (batch_num / burn_in) ** 4
        f = 1.0
        for step, scale in zip(steps, scales):
            if step > batch_num:
                break
            f *= scale
        return f
    return factor


def param_groups(model: nn.Module, decay: float) -> list[dict[str, Any]]:
    """Weight decay on convolution weights only (not biases, not batch-norm), as darknet does."""
    conv_w = [m.conv.weight for m in model.modules() if isinstance(m, ConvBlock)]
    ids = {id(p) for p in conv_w}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": conv_w, "weight_decay": decay}, {"params": rest, "weight_decay": 0.0}]


def build_model(cfg: TrainConfig, names: tuple[str, ...], data_yaml: str, imgsz: int) -> tuple[Darknet, int]:
    """The network for ``names``, initialised from ``cfg.weights``; returns (model, images already seen).

    ``--weights`` may be a whole darknet file, a darknet prefix (``darknet19_448.conv.23``), one of our
    checkpoints of the same network, or of another one sharing its first layers (a Darknet-19 classifier,
    a detector with other classes): then the leading layers that fit are loaded.
    """
    from .api import CHECKPOINT_EXTS, resolve_config
    from .weights import darknet_prefix_cutoff, load_checkpoint, load_darknet_weights, load_state_prefix

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
    seen = 0
    if cfg.weights:
        from .hub import resolve_weights  # a name of darknet's files downloads once into the cache

        w = resolve_weights(cfg.weights)
        if w.suffix.lower() in CHECKPOINT_EXTS:
            ckpt = load_checkpoint(w)
            n = load_state_prefix(model, ckpt["model"], w)
            if n < sum(1 for k in model.state_dict() if k.endswith("conv.weight")):
                print(f"{w}: initialised the first {n} parametrised layers", flush=True)
        else:
            header = load_darknet_weights(model, w, cutoff=darknet_prefix_cutoff(model, w))
            seen = header.seen
    return model, seen


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


def _data(cfg: TrainConfig, ds_train, model: Darknet, sizes: list[int], world: int):
    from .datasets.torch_data import DetectionData, MultiScaleBatchSampler

    net, region = model.config.net, model.config.region
    data = DetectionData(ds_train, train=True, seed=cfg.seed,
                         jitter=region.jitter if cfg.jitter is None else cfg.jitter,
                         hue=net.hue if cfg.hue is None else cfg.hue,
                         saturation=net.saturation if cfg.saturation is None else cfg.saturation,
                         exposure=net.exposure if cfg.exposure is None else cfg.exposure,
                         scale_range=_pair(cfg.scale, "--scale"), flip=cfg.flip)
    if cfg.batch % world or (cfg.batch // world) % cfg.subdivisions:
        raise Yolo9000Error(f"--batch {cfg.batch} must split evenly over {world} process(es) "
                            f"and --subdivisions {cfg.subdivisions}")
    if world > 1 and len(data) < cfg.batch:
        raise Yolo9000Error(f"{len(data)} training images are fewer than one batch of {cfg.batch}")
    sampler = MultiScaleBatchSampler(len(data), cfg.batch, sizes=sizes, every=cfg.scale_every, seed=cfg.seed,
                                     shuffle=True, drop_last=len(data) >= cfg.batch)
    return data, sampler


def _pair(v: tuple[float, ...], flag: str) -> tuple[float, float]:
    if len(v) != 2 or not 0 < v[0] <= v[1]:
        raise Yolo9000Error(f"{flag} {' '.join(map(str, v))}: expected two numbers 0 < low <= high")
    return float(v[0]), float(v[1])


def _ema_avg(decay: float):
    """EMA update with a ramp (``decay * (1 - exp(-n / 2000))``) so early weights do not linger."""
    def avg(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = decay * (1 - math.exp(-float(n) / 2000))
        return averaged + (current - averaged) * (1 - d)
    return avg


def train(cfg: TrainConfig) -> Path:
    """Train a detector; returns the run folder (``weights/last.pt``, ``weights/best.pt``, ``results.csv``,
    ``results.png``, validation plots, ``val_predictions.jpg``, ``predictions/``).

    Under ``torchrun`` every process runs this function on its slice of each batch (DDP); process 0
    validates and writes.
    """
    from tqdm import tqdm

    from . import distributed as dist
    from .api import YOLO
    from .datasets import load_dataset, load_dataset_config
    from .datasets.torch_data import collate
    from .loss import region_loss
    from .train_report import Scalars
    from .validate import validate

    check_run_options(cfg)
    info = dist.setup(cfg.device)
    try:
        run = run_folder(cfg.project, cfg.name, exist_ok=cfg.exist_ok or cfg.resume)
        dist.barrier(info)  # every process has chosen the folder before process 0 creates it
        last, best = run / "weights" / "last.pt", run / "weights" / "best.pt"
        state: dict[str, Any] | None = None
        if cfg.resume:
            state, cfg = resume_config(cfg, last)
            check_run_options(cfg)
        _seed_all(cfg.seed)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        data_yaml = cfg.data
        if data_yaml == "shapes":
            from .datasets.shapes import make_shapes

            if info.is_main:
                make_shapes(Path(cfg.project) / "shapes-data")
            dist.barrier(info)
            data_yaml = str(make_shapes(Path(cfg.project) / "shapes-data"))
        imgsz, sizes = resolve_sizes(cfg, load_dataset_config(data_yaml).imgsz)
        eval_size = cfg.val_imgsz or imgsz
        # every image of both splits is decoded now: a bad record stops the run before its first batch, or
        # with --skip-bad is left out of training and validation alike
        ds_train = load_dataset(data_yaml, "train", skip_bad=cfg.skip_bad, decode=True)
        ds_val = load_dataset(data_yaml, cfg.val_split, skip_bad=cfg.skip_bad, decode=True)
        names = tuple(ds_train.names)
        if state is not None:  # the saved network (k-means anchors included), not a fresh build
            from .cfg import parse_cfg_text

            model, seen = Darknet(replace(parse_cfg_text(state["cfg"], str(last)), names=names)), 0
        else:
            model, seen = build_model(cfg, names, data_yaml, imgsz)
        device = info.device
        model.to(device).train()
        optimizer = torch.optim.SGD(param_groups(model, cfg.decay), lr=cfg.lr, momentum=cfg.momentum)
        data, sampler = _data(cfg, ds_train, model, sizes, info.world)
        batches_per_epoch = len(sampler)
        total = batches_per_epoch * cfg.epochs
        steps = [int(f * total) for f in cfg.steps]
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, darknet_lr_lambda(cfg.burn_in, steps, list(cfg.scales)))
        scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and device.type == "cuda")
        ema = (torch.optim.swa_utils.AveragedModel(model, avg_fn=_ema_avg(cfg.ema), use_buffers=True)
               if cfg.ema > 0 else None)
        start_epoch, best_map = 0, -1.0
        if state is not None:
            start_epoch, seen = _restore(state, model, ema, optimizer, scheduler, scaler)
            best_map = float(state["best_map"])
        stopper = EarlyStop.restore(cfg.patience, state, best_map)
        if stopper.stop and start_epoch < cfg.epochs:  # a run that stopped early, resumed: it stays stopped
            if info.is_main:
                print(stopper.message(start_epoch, cfg.epochs, "VOC07 mAP@0.5"), flush=True)
            start_epoch = cfg.epochs
        net = dist.wrap(model, info)
        if info.is_main:
            run.mkdir(parents=True, exist_ok=True)
            print(f"run folder: {run}", flush=True)
        scalars = Scalars(run, cfg.tensorboard and info.is_main)
        region = model.config.region
        local = cfg.batch // info.world
        mini = local // cfg.subdivisions
        eval_model = model if ema is None else ema.module
        for epoch in range(start_epoch, cfg.epochs):
            data.set_epoch(epoch)
            sampler.set_epoch(epoch)
            loader = torch.utils.data.DataLoader(data, batch_sampler=dist.RankSlice(sampler, info.rank, info.world),
                                                 collate_fn=collate, num_workers=cfg.workers,
                                                 pin_memory=device.type == "cuda")
            net.train()
            sums: dict[str, torch.Tensor] = {}
            t0, n_img = time.perf_counter(), 0
            bar = tqdm(loader, total=batches_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                       dynamic_ncols=True, disable=None if info.is_main else True)
            for i, (images, targets) in enumerate(bar):
                images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
                finite = torch.ones((), dtype=torch.bool, device=device)
                for j in range(0, len(images), mini):
                    sync = j + mini >= len(images)
                    with _maybe_no_sync(net, sync):
                        with training_autocast(device, cfg.amp):
                            raw = net(images[j:j + mini])
                        terms = region_loss(raw.float(), targets[j:j + mini], region, seen, obj_loss=cfg.obj_loss)
                        scaler.scale(terms["total"] * len(raw) / len(images)).backward()
                    for k, v in terms.items():
                        sums[k] = sums.get(k, 0.0) + v.detach() * len(raw)
                    finite &= torch.isfinite(terms["total"].detach())
                if not bool(dist.all_sum(finite.float(), info) == info.world):  # every process stops together
                    raise Yolo9000Error(f"non-finite loss (NaN or Infinity) at epoch {epoch + 1}, batch {i + 1}: "
                                        f"training stopped before the update; the last good checkpoint is "
                                        f"{last if last.exists() else 'none (first epoch)'} (try a lower --lr)")
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                if ema is not None:
                    ema.update_parameters(model)
                seen += len(images) * info.world
                n_img += len(images)
                if i % 10 == 0:  # one host sync every 10 batches for the progress bar
                    terms_now = {k: f"{float(sums[k]) / n_img:.3f}" for k in ("total", "coord", "obj", "noobj", "cls")}
                    bar.set_postfix(**terms_now, size=images.shape[-1],
                                    img_s=f"{n_img * info.world / (time.perf_counter() - t0):.1f}",
                                    lr=f"{scheduler.get_last_lr()[0]:.2e}")
            bar.close()
            keys = sorted(sums)
            totals = dist.all_sum(torch.stack([sums[k].float() for k in keys] + [torch.tensor(float(n_img), device=device)]), info)
            n_all = max(1.0, float(totals[-1]))
            row: dict[str, Any] = {"epoch": epoch + 1, **{k: float(v) / n_all for k, v in zip(keys, totals[:-1])},
                                   "lr": scheduler.get_last_lr()[0], "images_per_s": n_all / (time.perf_counter() - t0)}
            map50 = train_map50 = float("nan")
            final = epoch + 1 == cfg.epochs
            if info.is_main and (final or (cfg.val_every and (epoch + 1) % cfg.val_every == 0)):
                yolo = YOLO.from_module(eval_model, names, device=device)
                map50 = validate(yolo, ds_val, metric="voc07", imgsz=eval_size,
                                 save_dir=run / "val" if final or stopper.next_may_stop() else None).mAP
                if cfg.train_eval:  # the fit: a detector that cannot find its own training boxes underfits
                    train_map50 = validate(yolo, ds_train, metric="voc07", imgsz=eval_size,
                                           max_images=cfg.train_eval).mAP
            row["mAP50"] = map50
            row["train_mAP50"] = train_map50
            if info.is_main:
                from .train_report import append_csv

                append_csv(run / "results.csv", row)
                scalars.log(row)
                improved = stopper.update(map50, epoch + 1)
                best_map = stopper.best
                ckpt = _checkpoint(model, ema, optimizer, scheduler, scaler, cfg, epoch, seen, best_map=best_map,
                                   early_stop=stopper.state())
                _save(last, ckpt)
                if improved or not best.exists():
                    _save(best, ckpt)
                print(f"epoch {epoch + 1}/{cfg.epochs}: loss {row['total']:.4f}, {row['images_per_s']:.1f} images/s"
                      + (f", VOC07 mAP@0.5 {map50:.4f}" if not math.isnan(map50) else "")
                      + (f" (training images: {train_map50:.4f})" if not math.isnan(train_map50) else ""),
                      flush=True)
                if stopper.stop and not final:
                    print(stopper.message(epoch + 1, cfg.epochs, "VOC07 mAP@0.5"), flush=True)
            stop = cfg.patience > 0 and float(dist.all_sum(torch.tensor(float(info.is_main and stopper.stop),
                                                                         device=device), info)) > 0
            dist.barrier(info)
            if stop:  # every process leaves the loop together; the last row of results.csv is this epoch
                break
        scalars.close()
        if info.is_main:
            _finish(run, best, ds_val.records[:16], device, eval_size)
        return run
    finally:
        dist.cleanup()


def _maybe_no_sync(net: nn.Module, sync: bool):
    """DDP: skip the gradient all-reduce on all but the last micro-batch of a batch."""
    import contextlib

    if sync or not isinstance(net, torch.nn.parallel.DistributedDataParallel):
        return contextlib.nullcontext()
    return net.no_sync()


def _finish(run: Path, best: Path, val: Sequence[Any], device: torch.device, imgsz: int) -> None:
    """Plots and pictures at the end: results.png, and from best.pt, on the run's device, the validation
    records ``val`` (checked at the start) as val_predictions.jpg and predictions/."""
    from .api import YOLO
    from .train_report import plot_results, save_predictions, save_val_montage

    plot_results(run / "results.csv", run / "results.png")
    yolo = YOLO(best, device=device)
    save_val_montage(yolo, list(val), run / "val_predictions.jpg", imgsz)
    save_predictions(yolo, list(val), run / "predictions", imgsz)


def _checkpoint(model: Darknet, ema, optimizer, scheduler, scaler, cfg: Any, epoch: int, seen: int,
                **scores: Any) -> dict[str, Any]:
    """Everything to predict (``model``: the EMA weights when EMA is on) and to resume exactly; ``cfg`` is
    the run's frozen config dataclass and ``scores`` the best-so-far figures (``best_map=...``, and
    ``early_stop=`` :meth:`EarlyStop.state`)."""
    from .weights import CHECKPOINT_FORMAT, CHECKPOINT_VERSION

    header = WeightsHeader(seen=seen)
    cpu = lambda m: {k: v.detach().cpu() for k, v in m.state_dict().items()}  # noqa: E731
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "cfg": config_to_cfg_text(model.config, extensions=True),
            "names": list(model.config.names), "header": [header.major, header.minor, header.revision, seen],
            "model": cpu(model if ema is None else ema.module),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "rng": _rng_state(), "epoch": epoch, "seen": seen, **scores,
            "train_config": {f.name: list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v
                             for f in fields(cfg)}}
    if ema is not None:
        ckpt["train_model"] = cpu(model)
        ckpt["ema_updates"] = int(ema.n_averaged)
    return ckpt


def _restore(state: dict[str, Any], model: nn.Module, ema, optimizer, scheduler, scaler) -> tuple[int, int]:
    """Load what :func:`_checkpoint` saved back into a run's objects and the RNGs; returns
    (first epoch to run, images seen). The caller reads its own scores (``state["best_map"]``, ...)."""
    model.load_state_dict(state["train_model"] if ema is not None else state["model"])
    if ema is not None:
        ema.module.load_state_dict(state["model"])
        ema.n_averaged.fill_(int(state["ema_updates"]))
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    _set_rng_state(state["rng"])
    return int(state["epoch"]) + 1, int(state["seen"])


def _save(path: Path, ckpt: dict[str, Any]) -> None:
    with atomic_write(path) as f:
        torch.save(ckpt, f)
