"""Training the Darknet-19 classifier on an ImageFolder tree (``DATA/train/<class>/*.jpg``, ``DATA/val/...``).

The paper's recipe: SGD momentum 0.9, weight decay 5e-4 on conv weights, darknet's polynomial rate
(``lr * (1 - i / max_batches) ** 4``) after a burn-in, random crops, rotation, hue / saturation / exposure
and flips; first at 224, then a short fine-tune at 448 from the 224 checkpoint (``--imgsz 448 --weights
runs/classify/weights/last.pt --lr 0.001 --epochs 10``). Checkpoints are our usual ones: ``YOLO(ckpt)``
classifies, and ``yolo9000 convert`` writes darknet ``.weights``.

WordTree (the paper's WordTree1k): with ``tree`` the class folders are named by wnids of that tree (inner
nodes allowed: an image labelled "dog" trains only the groups above "dog"), the head predicts every node
with one softmax per sibling group, and the loss is :func:`yolo9000.wordtree.hierarchical_nll`. Validation
reports top-1 / top-5 over the leaves (argmax of the absolute probability among leaves; a leaf under an
inner-node truth counts as right), ``parent_top1`` (the best leaf's parent is the truth's parent, or the
truth itself for an inner-node label: how often the prediction is right one level up) and
``errors_to_ancestor`` (of the top-1 errors, the fraction whose darknet top-down prediction, threshold .5,
stops at an ancestor of the truth: the "degrades gracefully to a more general class" measure).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from .devices import training_autocast
from .options import OptimOptions, RunOptions, option
from .errors import Yolo9000Error, file_error
from .fileio import run_folder
from .models.darknet import ConvSpec, Darknet, DarknetConfig, SoftmaxSpec, require_rgb
from .run_checks import check_run_options, resume_config
from .train import EarlyStop, _checkpoint, _restore, _save, _seed_all, param_groups

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class ClassifyConfig(OptimOptions, RunOptions):
    """Every option of ``yolo9000 train-classifier`` (field names are the flags)."""

    data: str = option(help="ImageFolder root with train/ and val/ (one folder per class)")
    model: str = option("darknet19", "zoo name or darknet .cfg of a classifier; the head follows the classes")
    tree: str | None = option(None, "WordTree file: class folders are wnids of it, hierarchical softmax and loss")
    weights: str | None = option(None, "darknet .weights or one of our checkpoints (e.g. the 224 run for 448)")
    epochs: int = option(10, "passes over the training images")
    imgsz: int = option(224, "training and validation size (square)")
    batch: int = option(64, "images per weight update")
    lr: float = option(0.1, "learning rate (darknet's Darknet-19 recipe: 0.1 at 224, 0.001 at 448)")
    power: float = option(4.0, "darknet's poly policy exponent")
    burn_in: int = option(0, "batches of darknet's burn-in, lr * (i / burn_in)^4")
    min_scale: float = option(0.25, "random crop area, as a fraction of the image")
    angle: float = option(7.0, "random rotation, degrees")
    hue: float = option(0.1, "colour augmentation: hue shift, a fraction of the hue circle")
    saturation: float = option(0.75, "darknet's 1/s .. s range, as ColorJitter's 1 - x .. 1 + x")
    exposure: float = option(0.75, "colour augmentation: brightness scaled by 1/e .. e; None: the model cfg's")
    amp: bool = option(False, "mixed precision: float16 + GradScaler on CUDA, bfloat16 on CPU")
    patience: int = option(0, "stop when this many epochs in a row bring no better val top-1 (0: off)")
    name: str = option("classify", "an existing runs/<name> is kept: the run goes to <name>2, <name>3, ...")


def classifier_with_classes(config: DarknetConfig, classes: int, names: tuple[str, ...]) -> DarknetConfig:
    """The same classifier predicting ``classes`` classes: its last convolution's filters follow."""
    if config.region is not None:
        raise Yolo9000Error(f"{config.name}: a detector, not a classifier (use 'yolo9000 train')")
    last = max(i for i, s in enumerate(config.layers) if isinstance(s, ConvSpec))
    layers = list(config.layers)
    layers[last] = replace(layers[last], filters=classes)
    return DarknetConfig(config.name, config.net, tuple(layers), names)


def classifier_with_tree(config: DarknetConfig, tree_path: str | Path, num_nodes: int,
                         names: tuple[str, ...]) -> DarknetConfig:
    """The classifier predicting every node of a WordTree: ``num_nodes`` outputs and a ``[softmax]
    tree=`` head (one softmax per sibling group)."""
    if not config.layers or not isinstance(config.layers[-1], SoftmaxSpec):
        raise Yolo9000Error(f"{config.name}: a WordTree classifier needs a [softmax] last layer")
    c = classifier_with_classes(config, num_nodes, names)
    layers = c.layers[:-1] + (replace(c.layers[-1], tree=str(Path(tree_path).resolve())),)
    return DarknetConfig(c.name, c.net, layers, names)


def folder_nodes(classes: tuple[str, ...], tree, folder: Path) -> torch.Tensor:
    """(K,) int64 tree node of each class folder (named by a wnid); a one-line error for any other name."""
    bad = [c for c in classes if c not in tree.wnids]
    if bad:
        raise file_error(folder / bad[0], f"folder name {bad[0]!r} is not a wnid of the tree")
    return torch.tensor([tree.index(c) for c in classes], dtype=torch.int64)


def _load_rgb(path: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError) as e:
        raise file_error(path, f"unreadable image ({e})") from None


def image_folder(root: Path, split: str, transform: Any, classes: tuple[str, ...] | None = None):
    """torchvision's ImageFolder on ``root/split`` with one-line errors; ``classes`` pins the label order."""
    from torchvision.datasets import ImageFolder

    folder = root / split
    if not folder.is_dir():
        raise file_error(folder, "no such folder (expected DATA/train/<class>/... and DATA/val/<class>/...)")
    try:
        ds = ImageFolder(str(folder), transform=transform, loader=_load_rgb,
                         is_valid_file=lambda f: f.lower().endswith(IMAGE_EXTS))
    except (FileNotFoundError, RuntimeError) as e:
        raise file_error(folder, str(e).splitlines()[0]) from None
    if classes is not None and tuple(ds.classes) != classes:
        raise file_error(folder, f"classes {ds.classes} differ from train's {list(classes)}")
    return ds


class _Letterbox:
    """PIL image -> (3, size, size) float tensor letterboxed as prediction does."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, im: Image.Image) -> torch.Tensor:
        from .ops.letterbox import letterbox

        return letterbox(np.array(im), self.size)


def transforms(cfg: ClassifyConfig, train: bool):
    """Darknet-style augmentation for training; letterbox to ``imgsz`` (as prediction does) for validation."""
    from torchvision.transforms import v2

    if not train:
        return _Letterbox(cfg.imgsz)
    return v2.Compose([
        v2.PILToTensor(),
        v2.RandomResizedCrop(cfg.imgsz, scale=(cfg.min_scale, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
        v2.RandomRotation(cfg.angle),
        v2.ColorJitter(brightness=cfg.exposure, saturation=cfg.saturation, hue=cfg.hue),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
    ])


def poly_lambda(burn_in: int, max_batches: int, power: float):
    """Darknet's ``poly`` policy with burn-in, as a multiplier of the base rate per batch."""
    def factor(i: int) -> float:
        if i < burn_in:
            return (i / burn_in) ** 4
        return max(0.0, 1 - i / max_batches) ** power
    return factor


@torch.no_grad()
def evaluate(model: nn.Module, loader, device: torch.device) -> tuple[float, float, float]:
    """(top-1, top-5 accuracy, mean cross-entropy) of ``model`` over ``loader``."""
    model.eval()
    top1 = top5 = loss = n = 0.0
    for x, y in loader:
        logits = model(x.to(device)).float()
        y = y.to(device)
        loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        k = min(5, logits.shape[1])
        top = logits.topk(k, dim=1).indices
        top1 += float((top[:, 0] == y).sum())
        top5 += float((top == y[:, None]).any(dim=1).sum())
        n += len(y)
    return top1 / max(n, 1), top5 / max(n, 1), loss / max(n, 1)


@torch.no_grad()
def tree_metrics(logits: torch.Tensor, labels: torch.Tensor, tree) -> dict[str, torch.Tensor]:
    """Per-image WordTree scores of (M, N) logits against (M,) node labels -> dict of (M,) tensors:
    ``top1``, ``top5`` (over the leaves; right when a chosen leaf is the label or under it), ``parent_top1``
    (the label's parent is an ancestor of the best leaf; for an inner-node label or a top-level leaf,
    as top1), ``error_to_ancestor`` (top-1 wrong and the top-down node is an ancestor of the label),
    ``loss`` (:func:`~yolo9000.wordtree.hierarchical_nll`)."""
    from .wordtree import absolute_probs, group_softmax, hierarchical_nll, label_targets, top_down_darknet

    absolute = absolute_probs(group_softmax(logits, tree), tree)
    leaves = tree.leaves.to(logits.device)
    k = min(5, int(leaves.sum()))
    top = torch.where(leaves, absolute, torch.full_like(absolute, -1.0)).topk(k, dim=1).indices   # (M, k)
    # ancestors-or-self of every chosen leaf, as 0/1 over the nodes: right if the label is among them
    under = label_targets(tree, top.reshape(-1)).view(*top.shape, -1)                              # (M, k, N)
    hit = under.gather(2, labels.view(-1, 1, 1).expand(-1, k, 1)).squeeze(2) > 0                  # (M, k)
    parent = tree.parent.to(logits.device)
    lab_parent = torch.where(tree.leaves.to(logits.device)[labels], parent[labels], labels)
    parent_hit = torch.where(lab_parent >= 0, under[:, 0].gather(1, lab_parent.clamp(min=0)[:, None]).squeeze(1) > 0,
                             hit[:, 0])
    down = top_down_darknet(absolute, tree, 0.5)
    ancestors = label_targets(tree, labels)                                                         # (M, N)
    to_ancestor = ~hit[:, 0] & (ancestors.gather(1, down[:, None]).squeeze(1) > 0) & (down != labels)
    return {"top1": hit[:, 0].float(), "top5": hit.any(dim=1).float(), "parent_top1": parent_hit.float(),
            "error_to_ancestor": to_ancestor.float(), "loss": hierarchical_nll(logits, labels, tree)}


@torch.no_grad()
def evaluate_tree(model: nn.Module, loader, device: torch.device, tree, nodes: torch.Tensor) -> dict[str, float]:
    """WordTree validation (see :func:`tree_metrics`): means over ``loader``; ``errors_to_ancestor`` is a
    fraction of the top-1 errors."""
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    for x, y in loader:
        m = tree_metrics(model(x.to(device)).float().cpu(), nodes[y], tree)
        for key, v in m.items():
            sums[key] = sums.get(key, 0.0) + float(v.sum())
        n += len(y)
    out = {key: v / max(n, 1) for key, v in sums.items()}
    errors = sums.get("top1", 0.0)
    wrong = n - errors
    out["errors_to_ancestor"] = sums.get("error_to_ancestor", 0.0) / wrong if wrong > 0 else 0.0
    out.pop("error_to_ancestor", None)
    return out


def train_classifier(cfg: ClassifyConfig) -> Path:
    """Train a classifier; returns the run folder (``weights/last.pt``, ``weights/best.pt``, ``results.csv``)."""
    from tqdm import tqdm

    from . import distributed as dist
    from .api import CHECKPOINT_EXTS, resolve_config
    from .cfg import parse_cfg_text
    from .train_report import Scalars, append_csv
    from .weights import darknet_prefix_cutoff, load_checkpoint, load_darknet_weights, load_state_prefix

    check_run_options(cfg)
    info = dist.setup(cfg.device)
    try:
        run = run_folder(cfg.project, cfg.name, exist_ok=cfg.exist_ok or cfg.resume)
        dist.barrier(info)  # every process has chosen the folder before process 0 creates it
        last, best = run / "weights" / "last.pt", run / "weights" / "best.pt"
        state = None
        if cfg.resume:
            state, cfg = resume_config(cfg, last)
            check_run_options(cfg)
        _seed_all(cfg.seed)
        root = Path(cfg.data)
        train_ds = image_folder(root, "train", transforms(cfg, True))
        names = tuple(train_ds.classes)
        val_ds = image_folder(root, "val", transforms(cfg, False), names)
        seen = 0
        tree, nodes = None, None
        if cfg.tree is not None:
            import shutil

            from .wordtree import load_tree

            tree = load_tree(cfg.tree)
            nodes = folder_nodes(names, tree, root / "train")
            tree_copy = run / "weights" / Path(cfg.tree).name
            tree_copy.parent.mkdir(parents=True, exist_ok=True)
            if Path(cfg.tree).resolve() != tree_copy.resolve():
                shutil.copyfile(cfg.tree, tree_copy)
        if state is not None:
            config = parse_cfg_text(state["cfg"], str(last))
            config = replace(config, names=tuple(state["names"]) if tree is not None else names)
        elif tree is not None:
            from .joint import tree_names

            config = classifier_with_tree(resolve_config(cfg.model), tree_copy, tree.num_nodes,
                                          tree_names(cfg.tree, tree))
        else:
            base = resolve_config(cfg.model)
            config = classifier_with_classes(base, len(names), names)
        require_rgb(config, cfg.model)
        model = Darknet(config)
        if state is None and cfg.weights:
            from .hub import resolve_weights  # a name of darknet's files downloads once into the cache

            w = resolve_weights(cfg.weights)
            if w.suffix.lower() in CHECKPOINT_EXTS:
                load_state_prefix(model, load_checkpoint(w)["model"], w)
            else:
                seen = load_darknet_weights(model, w, cutoff=darknet_prefix_cutoff(model, w)).seen
        device = info.device
        model.to(device)
        per_rank = cfg.batch // info.world
        if cfg.batch % info.world or per_rank % cfg.subdivisions:
            raise Yolo9000Error(f"--batch {cfg.batch} must split evenly over {info.world} process(es) "
                                f"and --subdivisions {cfg.subdivisions}")
        sampler = torch.utils.data.DistributedSampler(train_ds, info.world, info.rank, shuffle=True, seed=cfg.seed,
                                                      drop_last=True)
        loader = torch.utils.data.DataLoader(train_ds, per_rank, sampler=sampler, num_workers=cfg.workers,
                                             drop_last=len(train_ds) >= cfg.batch, pin_memory=device.type == "cuda")
        val_loader = torch.utils.data.DataLoader(val_ds, max(1, per_rank), num_workers=cfg.workers)
        optimizer = torch.optim.SGD(param_groups(model, cfg.decay), lr=cfg.lr, momentum=cfg.momentum)
        max_batches = max(1, len(loader) * cfg.epochs)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, poly_lambda(cfg.burn_in, max_batches, cfg.power))
        scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and device.type == "cuda")
        start, best_top1 = 0, -1.0
        if state is not None:
            start, seen = _restore(state, model, None, optimizer, scheduler, scaler)
            best_top1 = float(state["best_top1"])
        stopper = EarlyStop.restore(cfg.patience, state, best_top1)
        if stopper.stop and start < cfg.epochs:  # a run that stopped early, resumed: it stays stopped
            if info.is_main:
                print(stopper.message(start, cfg.epochs, "val top-1"), flush=True)
            start = cfg.epochs
        net = dist.wrap(model, info)
        if info.is_main:
            run.mkdir(parents=True, exist_ok=True)
            print(f"run folder: {run}", flush=True)
        scalars = Scalars(run, info.is_main)
        mini = per_rank // cfg.subdivisions
        for epoch in range(start, cfg.epochs):
            sampler.set_epoch(epoch)
            torch.manual_seed(cfg.seed * 100_003 + epoch)  # the epoch's augmentation: a function of (seed, epoch)
            net.train()
            t0, n_img, loss_sum = time.perf_counter(), 0, torch.zeros((), device=device)
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, dynamic_ncols=True,
                       disable=None if info.is_main else True)
            for i, (x, y) in enumerate(bar):
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                for j in range(0, len(x), mini):
                    with training_autocast(device, cfg.amp):
                        logits = net(x[j:j + mini])
                    if tree is not None:
                        from .wordtree import hierarchical_nll

                        loss = hierarchical_nll(logits.float(), nodes.to(device)[y[j:j + mini]], tree).mean()
                    else:
                        loss = nn.functional.cross_entropy(logits.float(), y[j:j + mini])
                    scaler.scale(loss * len(logits) / len(x)).backward()
                    loss_sum += loss.detach() * len(logits)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                seen += len(x) * info.world
                n_img += len(x)
                if i % 10 == 0:
                    bar.set_postfix(loss=f"{float(loss_sum) / n_img:.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            bar.close()
            tot = dist.all_sum(torch.stack([loss_sum.float(), torch.tensor(float(n_img), device=device)]), info)
            if info.is_main:
                extra: dict[str, float] = {}
                if tree is not None:
                    m = evaluate_tree(model, val_loader, device, tree, nodes)
                    top1, top5, val_loss = m["top1"], m["top5"], m["loss"]
                    extra = {"parent_top1": m["parent_top1"], "errors_to_ancestor": m["errors_to_ancestor"]}
                else:
                    top1, top5, val_loss = evaluate(model, val_loader, device)
                row = {"epoch": epoch + 1, "loss": float(tot[0]) / max(1.0, float(tot[1])), "val_loss": val_loss,
                       "top1": top1, "top5": top5, **extra, "lr": scheduler.get_last_lr()[0],
                       "images_per_s": float(tot[1]) / (time.perf_counter() - t0)}
                append_csv(run / "results.csv", row)
                scalars.log(row)
                improved = stopper.update(top1, epoch + 1)
                best_top1 = stopper.best
                ckpt = _checkpoint(model, None, optimizer, scheduler, scaler, cfg, epoch, seen, best_top1=best_top1,
                                   early_stop=stopper.state())
                _save(last, ckpt)
                if improved or not best.exists():
                    _save(best, ckpt)
                print(f"epoch {epoch + 1}/{cfg.epochs}: loss {row['loss']:.4f}, val top-1 {top1:.4f}, "
                      f"top-5 {top5:.4f}, {row['images_per_s']:.1f} images/s", flush=True)
                if stopper.stop and epoch + 1 < cfg.epochs:
                    print(stopper.message(epoch + 1, cfg.epochs, "val top-1"), flush=True)
            stop = cfg.patience > 0 and float(dist.all_sum(torch.tensor(float(info.is_main and stopper.stop),
                                                                         device=device), info)) > 0
            dist.barrier(info)
            if stop:  # every process leaves the loop together; the last row of results.csv is this epoch
                break
        scalars.close()
        return run
    finally:
        dist.cleanup()

