"""Training YOLOv2 the paper's way, in one readable function.

SGD with momentum 0.9 and weight decay 5e-4 on conv weights only; darknet's burn-in
(``lr * (i / burn_in) ** 4``) then steps; batch and subdivisions (gradient accumulation); multi-scale
every 10 batches over {320, ..., 608}; the darknet-faithful region loss; checkpoints (``last.pt`` and
``best.pt``) written atomically with everything needed to resume exactly.
"""
from __future__ import annotations

import csv
import math
import random
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .cfg import config_to_cfg_text
from .errors import Yolo9000Error
from .models.darknet import ConvBlock, Darknet, DarknetConfig
from .models.zoo import with_classes
from .weights import WeightsHeader, atomic_write


@dataclass(frozen=True)
class TrainConfig:
    """Every option of ``yolo9000 train``; field names are the CLI flags (``--burn-in`` = burn_in)."""

    data: str = "shapes"            # dataset YAML, or 'shapes' for the generated demo set
    model: str = "yolov2-tiny-voc"  # zoo name or darknet .cfg; the head follows the dataset's classes
    weights: str | None = None      # darknet .weights (whole or a prefix, e.g. darknet19_448.conv.23) or .pt
    epochs: int = 30
    imgsz: int = 416                # validation size, and training size without multi-scale
    batch: int = 16
    subdivisions: int = 1
    lr: float = 0.001
    momentum: float = 0.9
    decay: float = 0.0005
    burn_in: int = 100              # batches
    steps: tuple[float, ...] = (0.8, 0.9)  # fractions of all batches where lr *= scale
    scales: tuple[float, ...] = (0.1, 0.1)
    multiscale: bool = True
    min_size: int = 320
    max_size: int = 608
    scale_every: int = 10           # batches between size changes
    jitter: float | None = None     # None: the model cfg's region jitter
    hue: float | None = None
    saturation: float | None = None
    exposure: float | None = None
    workers: int = 2
    device: str = "cpu"
    amp: bool = False               # mixed precision (CUDA only)
    seed: int = 0
    deterministic: bool = False
    val_every: int = 1              # epochs between VOC07 mAP evaluations (0: never)
    val_split: str = "val"
    skip_bad: bool = False
    project: str = "runs"
    name: str = "train"
    resume: bool = False


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


def build_model(cfg: TrainConfig, names: tuple[str, ...]) -> tuple[Darknet, int]:
    """The network for ``names``, initialised from ``cfg.weights``; returns (model, images already seen)."""
    from .api import CHECKPOINT_EXTS, resolve_config
    from .weights import darknet_prefix_cutoff, load_checkpoint, load_darknet_weights, load_state

    config: DarknetConfig = resolve_config(cfg.model)
    if config.region is None:
        raise Yolo9000Error(f"{cfg.model}: not a detector")
    if config.num_classes != len(names):
        config = with_classes(config, len(names), names)
    else:
        config = DarknetConfig(config.name, config.net, config.layers, names)
    model = Darknet(config)
    seen = 0
    if cfg.weights:
        w = Path(cfg.weights)
        if w.suffix.lower() in CHECKPOINT_EXTS:
            load_state(model, load_checkpoint(w)["model"], w)
        else:
            header = load_darknet_weights(model, w, cutoff=darknet_prefix_cutoff(model, w))
            seen = header.seen
    return model, seen


def _loaders(cfg: TrainConfig, ds_train, model: Darknet):
    from .datasets.torch_data import DetectionData, MultiScaleBatchSampler

    net, region = model.config.net, model.config.region
    data = DetectionData(ds_train, train=True, seed=cfg.seed,
                         jitter=region.jitter if cfg.jitter is None else cfg.jitter,
                         hue=net.hue if cfg.hue is None else cfg.hue,
                         saturation=net.saturation if cfg.saturation is None else cfg.saturation,
                         exposure=net.exposure if cfg.exposure is None else cfg.exposure)
    sizes = list(range(cfg.min_size, cfg.max_size + 1, 32)) if cfg.multiscale else [cfg.imgsz]
    sampler = MultiScaleBatchSampler(len(data), cfg.batch, sizes=sizes, every=cfg.scale_every, seed=cfg.seed,
                                     shuffle=True, drop_last=len(data) >= cfg.batch)
    return data, sampler


def train(cfg: TrainConfig) -> Path:
    """Train a detector; returns the run folder (``weights/last.pt``, ``weights/best.pt``, ``results.csv``)."""
    from tqdm import tqdm

    from .api import YOLO
    from .datasets import load_dataset
    from .loss import region_loss
    from .validate import validate

    run = Path(cfg.project) / cfg.name
    last, best = run / "weights" / "last.pt", run / "weights" / "best.pt"
    state: dict[str, Any] | None = None
    if cfg.resume:
        if not last.is_file():
            raise Yolo9000Error(f"{last}: nothing to resume (no last.pt in this run)")
        state = torch.load(last, map_location="cpu", weights_only=True)
        saved = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["train_config"].items()})
        cfg = TrainConfig(**{**asdict(saved), "resume": True, "epochs": cfg.epochs, "device": cfg.device,
                             "workers": cfg.workers})
    _seed_all(cfg.seed)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
    data_yaml = cfg.data
    if data_yaml == "shapes":
        from .datasets.shapes import make_shapes

        data_yaml = str(make_shapes(Path(cfg.project) / "shapes-data"))
    ds_train = load_dataset(data_yaml, "train", skip_bad=cfg.skip_bad)
    names = tuple(ds_train.names)
    model, seen = build_model(cfg, names)
    device = torch.device(cfg.device)
    model.to(device).train()
    optimizer = torch.optim.SGD(param_groups(model, cfg.decay), lr=cfg.lr, momentum=cfg.momentum)
    data, sampler = _loaders(cfg, ds_train, model)
    batches_per_epoch = len(sampler)
    total = batches_per_epoch * cfg.epochs
    steps = [int(f * total) for f in cfg.steps]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, darknet_lr_lambda(cfg.burn_in, steps, list(cfg.scales)))
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and device.type == "cuda")
    start_epoch, best_map = 0, -1.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"])
        start_epoch, seen, best_map = int(state["epoch"]) + 1, int(state["seen"]), float(state["best_map"])
    run.mkdir(parents=True, exist_ok=True)
    from .datasets.torch_data import collate

    region = model.config.region
    mini = max(1, cfg.batch // cfg.subdivisions)
    for epoch in range(start_epoch, cfg.epochs):
        data.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(data, batch_sampler=sampler, collate_fn=collate,
                                             num_workers=cfg.workers)
        model.train()
        sums: dict[str, torch.Tensor] = {}
        t0, n_img = time.perf_counter(), 0
        bar = tqdm(loader, total=batches_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   dynamic_ncols=True, disable=None)
        for i, (images, targets) in enumerate(bar):
            images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            for j in range(0, len(images), mini):
                with torch.autocast(device.type, enabled=scaler.is_enabled()):
                    raw = model(images[j:j + mini])
                terms = region_loss(raw.float(), targets[j:j + mini], region, seen)
                scaler.scale(terms["total"] * len(raw) / len(images)).backward()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v.detach() * len(raw)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            seen += len(images)
            n_img += len(images)
            if i % 10 == 0:  # one host sync every 10 batches for the progress bar
                bar.set_postfix(loss=f"{float(sums['total']) / n_img:.3f}", size=images.shape[-1],
                                lr=f"{scheduler.get_last_lr()[0]:.2e}")
        bar.close()
        row: dict[str, Any] = {"epoch": epoch + 1, **{k: float(v) / max(1, n_img) for k, v in sums.items()},
                               "lr": scheduler.get_last_lr()[0], "images_per_s": n_img / (time.perf_counter() - t0)}
        map50 = float("nan")
        if cfg.val_every and ((epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs):
            yolo = YOLO.from_module(model, names, device=device)
            map50 = validate(yolo, data_yaml, split=cfg.val_split, metric="voc07", imgsz=cfg.imgsz,
                             skip_bad=cfg.skip_bad).mAP
            model.train()
        row["mAP50"] = map50
        _append_csv(run / "results.csv", row)
        improved = not math.isnan(map50) and map50 > best_map
        best_map = max(best_map, map50) if not math.isnan(map50) else best_map
        ckpt = _checkpoint(model, optimizer, scheduler, scaler, cfg, epoch, seen, best_map)
        _save(last, ckpt)
        if improved or not best.exists():
            _save(best, ckpt)
        print(f"epoch {epoch + 1}/{cfg.epochs}: loss {row['total']:.4f}, {row['images_per_s']:.1f} images/s"
              + (f", VOC07 mAP@0.5 {map50:.4f}" if not math.isnan(map50) else ""), flush=True)
    _plot_results(run / "results.csv", run / "results.png")
    return run


def _checkpoint(model: Darknet, optimizer, scheduler, scaler, cfg: TrainConfig, epoch: int, seen: int,
                best_map: float) -> dict[str, Any]:
    from .weights import CHECKPOINT_FORMAT, CHECKPOINT_VERSION

    header = WeightsHeader(seen=seen)
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "cfg": config_to_cfg_text(model.config),
            "names": list(model.config.names), "header": [header.major, header.minor, header.revision, seen],
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "rng": _rng_state(), "epoch": epoch, "seen": seen, "best_map": best_map,
            "train_config": {f.name: list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v
                             for f in fields(cfg)}}


def _save(path: Path, ckpt: dict[str, Any]) -> None:
    with atomic_write(path) as f:
        torch.save(ckpt, f)


def _append_csv(path: Path, row: dict[str, Any]) -> None:
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    rows = [r for r in rows if int(r["epoch"]) < row["epoch"]] + [{k: str(v) for k, v in row.items()}]
    with atomic_write(path, "w") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        w.writeheader()
        w.writerows(rows)


def _plot_results(csv_path: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]
    terms = [k for k in rows[0] if k not in ("epoch", "lr", "images_per_s", "mAP50")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for k in terms:
        axes[0].plot(epochs, [float(r[k]) for r in rows], label=k)
    axes[0].set(xlabel="epoch", ylabel="loss per image", yscale="log", title="loss terms")
    axes[0].legend(fontsize=8)
    axes[1].plot(epochs, [float(r["mAP50"]) for r in rows], marker="o")
    axes[1].set(xlabel="epoch", ylabel="VOC07 mAP@0.5", ylim=(0, 1), title="validation mAP")
    for ax in axes:
        ax.grid(alpha=0.3)
    with atomic_write(png) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
