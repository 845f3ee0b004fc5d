"""Training the Darknet-19 classifier on an ImageFolder tree (``DATA/train/<class>/*.jpg``, ``DATA/val/...``).

The paper's recipe: SGD momentum 0.9, weight decay 5e-4 on conv weights, darknet's polynomial rate
(``lr * (1 - i / max_batches) ** 4``) after a burn-in, random crops, rotation, hue / saturation / exposure
and flips; first at 224, then a short fine-tune at 448 from the 224 checkpoint (``--imgsz 448 --weights
runs/classify/weights/last.pt --lr 0.001 --epochs 10``). Checkpoints are our usual ones: ``YOLO(ckpt)``
classifies, and ``yolo9000 convert`` writes darknet ``.weights``.

WordTree (the paper's WordTree1k): with ``tree`` the class folders are named by wnids of that tree (inner
nodes allowed: an image labelled "dog" trains only the groups above "dog"), the head predicts every node
with one softmax per sibling group, and the loss is :func:`yolo9000.wordtree.tree.hierarchical_nll`. Validation
reports top-1 / top-5 over the leaves (argmax of the absolute probability among leaves; a leaf under an
inner-node truth counts as right), ``parent_top1`` (the best leaf's parent is the truth's parent, or the
truth itself for an inner-node label: how often the prediction is right one level up) and
``errors_to_ancestor`` (of the top-1 errors, the fraction whose darknet top-down prediction, threshold .5,
stops at an ancestor of the truth: the "degrades gracefully to a more general class" measure).
"""
from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset, Sampler
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from yolo9000.checkpoints.loading import resolve_config
from yolo9000.datasets.loader import warn_skipped
from yolo9000.errors import file_error
from yolo9000.fields import option
from yolo9000.fileio import copy_into
from yolo9000.images import CLASS_FOLDER_EXTS, scan_image
from yolo9000.models.darknet import Darknet, require_rgb
from yolo9000.models.edit import classifier_with_classes, classifier_with_tree
from yolo9000.ops.letterbox import letterbox
from yolo9000.train.engine import RunContext, Task, fit, poly_lambda
from yolo9000.train.init import initialise
from yolo9000.train.options import SIZE, EngineOptions, OptimOptions, RunOptions
from yolo9000.wordtree.tree import (
    WordTree,
    absolute_probs,
    group_softmax,
    hierarchical_nll,
    label_targets,
    load_tree,
    top_down_darknet,
    tree_names,
)


@dataclass(frozen=True)
class ClassifyConfig(OptimOptions, EngineOptions, RunOptions):
    """Every option of ``yolo9000 train-classifier`` (field names are the flags)."""

    TRAINER: ClassVar[str] = "train-classifier"  # the command, recorded in the checkpoints (a resume checks it)
    data: str = option(help="ImageFolder root with train/ and val/ (one folder per class)")
    model: str = option("darknet19", "zoo name or darknet .cfg of a classifier; the head follows the classes")
    tree: str | None = option(None, "WordTree file: class folders are wnids of it, hierarchical softmax and loss")
    weights: str | None = option(None, "darknet .weights or one of our checkpoints (e.g. the 224 run for 448)")
    epochs: int = option(10, "passes over the training images", min=1)
    imgsz: int = option(224, "training and validation size (square)", check=SIZE)
    batch: int = option(64, "images per weight update", min=1)
    lr: float = option(0.1, "learning rate (darknet's Darknet-19 recipe: 0.1 at 224, 0.001 at 448)", min=0)
    power: float = option(4.0, "darknet's poly policy exponent", min=0)
    burn_in: int = option(0, "batches of darknet's burn-in, lr * (i / burn_in)^4", min=0)
    min_scale: float = option(0.25, "random crop area, as a fraction of the image", range="(0, 1]",
                              note="a fraction of the image area")
    angle: float = option(7.0, "random rotation, degrees", range="[0, 180]", note="degrees")
    hue: float = option(0.1, "colour augmentation: hue shift, a fraction of the hue circle", range="[0, 0.5]",
                        note="a fraction of the hue circle either way")
    saturation: float = option(0.75, "darknet's 1/s .. s range, as ColorJitter's 1 - x .. 1 + x", min=0)
    exposure: float = option(0.75, "colour augmentation: brightness scaled by 1/e .. e; None: the model cfg's",
                             min=0)
    name: str = option("classify", "the run's folder in --project (one folder name); an existing one is kept: "
                       "the run goes to <name>2, <name>3, ...")


SEED_RANGE = 2**64  # torch.manual_seed takes 0 .. 2**64 - 1


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
    folder = root / split
    if not folder.is_dir():
        raise file_error(folder, "no such folder (expected DATA/train/<class>/... and DATA/val/<class>/...)")
    try:
        ds = ImageFolder(str(folder), transform=transform, loader=_load_rgb,
                         is_valid_file=lambda f: f.lower().endswith(CLASS_FOLDER_EXTS))
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
        return letterbox(np.array(im), self.size)


def transforms(cfg: ClassifyConfig, train: bool):
    """Darknet-style augmentation for training; letterbox to ``imgsz`` (as prediction does) for validation."""
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
    ``loss`` (:func:`~yolo9000.wordtree.tree.hierarchical_nll`)."""
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


class EpochBatches(Sampler[list[int]]):
    """Batches of ``batch`` indices of 0..n-1 in a permutation drawn from (seed, epoch) (``set_epoch``)."""

    def __init__(self, n: int, batch: int, seed: int, drop_last: bool) -> None:
        self.n, self.batch, self.seed, self.drop_last, self.epoch = n, batch, seed, drop_last, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n // self.batch if self.drop_last else -(-self.n // self.batch)

    def __iter__(self):
        g = torch.Generator().manual_seed((self.seed * 100_003 + self.epoch) % SEED_RANGE)
        order = torch.randperm(self.n, generator=g).tolist()
        for b in range(len(self)):
            yield order[b * self.batch:(b + 1) * self.batch]


class Augmented(Dataset):
    """A dataset whose random transform draws from (seed, epoch, index) alone (``set_epoch``): the same
    image gets the same crop in one process or several, with any number of workers, resumed or not."""

    def __init__(self, data: Dataset, seed: int) -> None:
        self.data, self.seed, self.epoch = data, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        with torch.random.fork_rng(devices=[]):  # the key wraps into torch's 64-bit seed range (any --seed)
            torch.manual_seed(((self.seed * 1_000_003 + self.epoch) * 10_000_019 + i) % SEED_RANGE)
            return self.data[i]


def scan_images(ds: ImageFolder, skip_bad: bool) -> list[str]:
    """Decode every image of ``ds`` once: an unreadable one is a one-line error naming it, or with
    ``skip_bad`` is dropped from ``ds`` (returned, for the warning)."""
    bad = [path for path, _ in ds.samples if scan_image(path, skip_bad) is None]
    if bad:
        drop = set(bad)
        ds.samples = [s for s in ds.samples if s[0] not in drop]
        ds.imgs, ds.targets = ds.samples, [t for _, t in ds.samples]
    return bad


class ClassifyTask(Task):
    """Classification on the engine: an ImageFolder's train split through darknet-style augmentation, the
    cross-entropy (or WordTree's hierarchical loss), top-1 / top-5 of the val split."""

    metric, score_key, best_key = "val top-1", "top1", "best_top1"
    bar_keys = ("loss",)

    def __init__(self, cfg: ClassifyConfig, ctx: RunContext) -> None:
        self.cfg, self.device = cfg, ctx.device
        root = Path(cfg.data)
        train_ds = image_folder(root, "train", transforms(cfg, True))
        names = tuple(train_ds.classes)
        self.val_ds = image_folder(root, "val", transforms(cfg, False), names)
        skipped = []
        for split, ds, use in (("train", train_ds, "train on"), ("val", self.val_ds, "validate on")):
            left_out = scan_images(ds, cfg.skip_bad)
            if not len(ds):  # before the --skip-bad lines: the error is the run's one line
                raise file_error(root / split, f"no readable images to {use} (--skip-bad left out all "
                                               f"{len(left_out)})")
            skipped.append((root / split, left_out))
        for folder, left_out in skipped:
            warn_skipped(folder, "unreadable image", left_out)
        self.tree: WordTree | None = None
        self.nodes: torch.Tensor | None = None
        self.val_keys = ("val_loss", "top1", "top5") + (("parent_top1", "errors_to_ancestor") if cfg.tree else ())
        if cfg.tree is not None:
            self.tree = load_tree(cfg.tree)
            self.nodes = folder_nodes(names, self.tree, root / "train")
            tree_copy = copy_into(cfg.tree, ctx.run / "weights")
        if ctx.network is not None:  # the saved network; a tree's names are its own, the folders' otherwise
            config = ctx.network if self.tree is not None else replace(ctx.network, names=names)
        elif self.tree is not None:
            config = classifier_with_tree(resolve_config(cfg.model), tree_copy, self.tree.num_nodes,
                                          tree_names(cfg.tree, self.tree))
        else:
            config = classifier_with_classes(resolve_config(cfg.model), len(names), names)
        require_rgb(config, cfg.model)
        self.model = Darknet(config)
        self.seen = initialise(self.model, cfg.weights) if ctx.state is None else 0
        self.data = Augmented(train_ds, cfg.seed)
        self.sampler = EpochBatches(len(train_ds), cfg.batch, cfg.seed, drop_last=len(train_ds) >= cfg.batch)
        self.collate = None
        self.val_loader = torch.utils.data.DataLoader(self.val_ds, max(1, cfg.batch // cfg.subdivisions),
                                                      num_workers=cfg.workers)

    def lr_factor(self, total_batches: int):
        return poly_lambda(self.cfg.burn_in, max(1, total_batches), self.cfg.power)

    def loss(self, out: torch.Tensor, targets: torch.Tensor, seen: int):
        if self.tree is not None:
            loss = hierarchical_nll(out, self.nodes.to(out.device)[targets], self.tree).mean()
        else:
            loss = nn.functional.cross_entropy(out, targets)
        return loss, {"loss": loss.detach()}

    def validate(self, model: Darknet, plots: bool) -> dict[str, float]:
        if self.tree is not None:
            m = evaluate_tree(model, self.val_loader, self.device, self.tree, self.nodes)
            return {"val_loss": m["loss"], "top1": m["top1"], "top5": m["top5"], "parent_top1": m["parent_top1"],
                    "errors_to_ancestor": m["errors_to_ancestor"]}
        top1, top5, val_loss = evaluate(model, self.val_loader, self.device)
        return {"val_loss": val_loss, "top1": top1, "top5": top5}

    def describe(self, row: dict[str, Any]) -> str:
        top1 = row.get("top1", float("nan"))
        return "" if math.isnan(top1) else f", val top-1 {top1:.4f}, top-5 {row['top5']:.4f}"

    def finish(self, run: Path, best: Path) -> None:
        """Nothing beyond the engine's results.csv and results.png: a classifier has no pictures to draw."""


def train_classifier(cfg: ClassifyConfig, given: Collection[str] | None = None) -> Path:
    """Train a classifier; returns the run folder (``weights/last.pt``, ``weights/best.pt``, ``results.csv``)."""
    return fit(cfg, ClassifyTask, given)
