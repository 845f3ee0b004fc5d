"""The training data pipeline: a map-style dataset augmenting as darknet does, a padding collate, and
darknet's multi-scale batches.

>>> ds = load_dataset("data/raccoon.yaml", "train")
>>> data = DetectionData(ds, train=True, seed=0)
>>> sampler = MultiScaleBatchSampler(data, batch_size=16, seed=0)
>>> loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate, num_workers=4)
>>> for epoch in range(start_epoch, epochs):
...     sampler.set_epoch(epoch); data.set_epoch(epoch)
...     for images, targets in loader:      # (B, 3, S, S) float32, (B, T, 5) [cx, cy, w, h, class]
...         ...

Every random number of an item comes from a generator seeded by (seed, epoch, index), and every
random number of the sampler from one seeded by (seed, epoch): a run is reproducible whatever the number
of workers, and a run resumed at an epoch sees exactly the batches, sizes and augmentations it would have
seen.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence, Sized
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from yolo9000.datasets.augment import MIN_BOX_SIDE, darknet_hsv, darknet_jitter_place
from yolo9000.datasets.records import DetectionDataset, ImageRecord
from yolo9000.images import load_image
from yolo9000.ops.boxes import box_convert
from yolo9000.ops.letterbox import letterbox, letterbox_xyxy

__all__ = ["DEFAULT_SIZES", "DetectionData", "MultiScaleBatchSampler", "collate", "multiscale_sizes"]

#: darknet's multi-scale sizes, ``(rand() % 10 + 10) * 32`` in ``train_detector`` (examples/detector.c)
DEFAULT_SIZES = tuple(range(320, 609, 32))

# domain tags keep the item and sampler random streams apart
_ITEM, _ORDER, _SIZES = 0, 1, 2


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one item's augmentation: a function of (seed, epoch, index) only."""
    return np.random.default_rng([_ITEM, seed, epoch, index])


class DetectionData(Dataset):
    """A :class:`DetectionDataset` as a torch map-style dataset of (image, targets).

    ``data[key]``: ``key`` is an index, an ``(index, size)`` pair (``size``: this batch's square network
    input, as :class:`MultiScaleBatchSampler` yields) or an ``(index, size, epoch)`` triple (for persistent
    workers, whose copy of the dataset does not see :meth:`set_epoch`).

    Train mode (darknet's ``load_data_detection``): decode, then with the item's generator
    (:func:`item_rng`) flip with probability 1/2 (if ``flip``), jitter / scale / place / flip
    (:func:`~yolo9000.datasets.augment.darknet_jitter_place`), and HSV distortion
    (:func:`~yolo9000.datasets.augment.darknet_hsv`). Eval mode: darknet's letterbox only
    (:func:`yolo9000.ops.letterbox.letterbox`, as at inference), boxes mapped through it.

    Returns:
        image: (3, S, S) float32 in [0, 1].
        targets: (M, 5) float32 rows [cx, cy, w, h, class], box as fractions of the network input, clipped
            to it; boxes narrower or lower than 0.001 of it dropped (darknet's ``fill_truth_detection``).

    Args:
        dataset: the split.
        train: augment (True) or letterbox only (False).
        size: the square input size used when a key gives none.
        jitter, hue, saturation, exposure: darknet's cfg values (``[region] jitter``, ``[net] hue,
            saturation, exposure``); defaults are yolov2-voc.cfg's.
        scale_range: bounds of darknet's scale draw; (0.25, 2.0) as darknet 2017-03..2018-08, (1, 1) as
            darknet HEAD (see :mod:`~yolo9000.datasets.augment`).
        flip: mirror half of the images (darknet always does).
        seed, epoch: the random streams' key (with the index).
        keep_difficult: keep VOC ``difficult`` boxes in the targets (darknet's ``voc_label.py`` drops them).
        max_boxes: at most this many boxes per image: darknet shuffles an image's boxes and keeps the first
            ``max`` (``[region] max``, 30 by default) before dropping thin ones; None keeps all, unshuffled.
    """

    def __init__(self, dataset: DetectionDataset, train: bool = True, size: int = 416, *, jitter: float = 0.3,
                 hue: float = 0.1, saturation: float = 1.5, exposure: float = 1.5,
                 scale_range: tuple[float, float] = (0.25, 2.0), flip: bool = True, seed: int = 0,
                 epoch: int = 0, keep_difficult: bool = False, max_boxes: int | None = None):
        self.dataset = dataset
        self.train = train
        self.size = int(size)
        self.jitter = float(jitter)
        self.hue = float(hue)
        self.saturation = float(saturation)
        self.exposure = float(exposure)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.flip = flip
        self.seed = int(seed)
        self.epoch = int(epoch)
        self.keep_difficult = keep_difficult
        self.max_boxes = max_boxes

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Key the augmentation of the coming epoch (call before creating the epoch's DataLoader iterator)."""
        self.epoch = int(epoch)

    def record(self, key: int | tuple) -> ImageRecord:
        """The record behind ``key``."""
        return self.dataset.records[self._parse(key)[0]]

    def _parse(self, key: Any) -> tuple[int, int, int]:
        if isinstance(key, (tuple, list)):
            index = int(key[0])
            size = int(key[1]) if len(key) > 1 else self.size
            epoch = int(key[2]) if len(key) > 2 else self.epoch
        else:
            index, size, epoch = int(key), self.size, self.epoch
        n = len(self.dataset)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        return index % n, size, epoch

    def __getitem__(self, key: int | tuple) -> tuple[torch.Tensor, torch.Tensor]:
        index, size, epoch = self._parse(key)
        rec = self.dataset.records[index]
        boxes = np.asarray(rec.boxes_xyxy, dtype=np.float64)
        labels = np.asarray(rec.labels)
        if not self.keep_difficult:
            boxes, labels = boxes[~rec.difficult], labels[~rec.difficult]
        image = load_image(rec.image)
        h, w = image.shape[:2]
        if not self.train:
            return letterbox(image, size, size), _letterbox_targets(boxes, labels, w, h, size)
        rng = item_rng(self.seed, epoch, index)
        if self.max_boxes is not None and len(boxes) > self.max_boxes:
            order = rng.permutation(len(boxes))[: self.max_boxes]  # darknet's randomize_boxes, then truncation
            boxes, labels = boxes[order], labels[order]
        flip = bool(self.flip and rng.random() < 0.5)
        x, b, keep = darknet_jitter_place(image, boxes, size, size, self.jitter, rng, flip, self.scale_range)
        x = darknet_hsv(x, self.hue, self.saturation, self.exposure, rng)
        cls = torch.tensor(labels, dtype=torch.float32)[keep]
        return x, torch.cat([b, cls[:, None]], 1)


def _letterbox_targets(boxes: np.ndarray, labels: np.ndarray, w: int, h: int, size: int) -> torch.Tensor:
    """(M, 5) [cx, cy, w, h, class] of ``boxes`` ((N, 4) xyxy pixels of a w x h image) in the letterboxed
    input: corners clipped to it, boxes thinner than ``MIN_BOX_SIDE`` dropped."""
    b_cxcywh_norm = box_convert(np.clip(letterbox_xyxy(boxes, w, h, size, size), 0, 1), "xyxy", "cxcywh")
    keep = (b_cxcywh_norm[:, 2] >= MIN_BOX_SIDE) & (b_cxcywh_norm[:, 3] >= MIN_BOX_SIDE)
    out = np.concatenate([b_cxcywh_norm[keep], labels[keep, None]], 1)
    return torch.as_tensor(out.reshape(-1, 5), dtype=torch.float32)


def collate(batch: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack a batch of (image (3, S, S), targets (M_i, 5)).

    Returns:
        images: (B, 3, S, S) float32 (every image of a batch has one size).
        targets: (B, T, 5) float32, T = max(1, max M_i); rows past an image's boxes are all zeros (w == 0
            marks padding).
    """
    images = torch.stack([b[0] for b in batch])
    t = max([1] + [len(b[1]) for b in batch])
    targets = torch.zeros((len(batch), t, 5), dtype=torch.float32)
    for i, (_, tg) in enumerate(batch):
        targets[i, : len(tg)] = tg
    return images, targets


def multiscale_sizes(sizes: Sequence[int], batches: int, every: int, key: Sequence[int]) -> list[int]:
    """The input size of each of ``batches`` batches: one uniform draw among ``sizes`` per block of ``every``
    batches (darknet's ``random=1``; neighbouring blocks may draw the same size, as darknet's ``rand() % 10``
    may), from the random stream ``key`` (``np.random.default_rng(key)``)."""
    blocks = -(-batches // every)
    k = np.random.default_rng(list(key)).integers(len(sizes), size=blocks)
    return [sizes[k[b // every]] for b in range(batches)]


class MultiScaleBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of ``(index, size)`` keys, one random square size per ``every`` batches (darknet's ``random=1``).

    The sizes of epoch ``e`` are :func:`multiscale_sizes` of the stream (seed, e); blocks restart at each
    epoch. The order is a permutation from the same (seed, e) when ``shuffle``, else 0..n-1.

    Args:
        data_source: the dataset (its ``len``) or its length.
        batch_size: images per batch.
        sizes: the candidate sizes (default 320, 352, ..., 608).
        every: batches per size.
        shuffle, drop_last: as torch's samplers.
        seed, epoch: the stream's key.
    """

    def __init__(self, data_source: Sized | int, batch_size: int, sizes: Sequence[int] = DEFAULT_SIZES,
                 every: int = 10, shuffle: bool = True, drop_last: bool = False, seed: int = 0, epoch: int = 0):
        self.n = int(data_source) if isinstance(data_source, int) else len(data_source)
        if batch_size < 1 or every < 1:
            raise ValueError(f"batch_size and every must be >= 1, got {batch_size} and {every}")
        self.sizes = tuple(int(s) for s in sizes)
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes must be positive, got {sizes!r}")
        self.batch_size = int(batch_size)
        self.every = int(every)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        self.epoch = int(epoch)

    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __len__(self) -> int:
        return self.batches_per_epoch()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self) -> np.ndarray:
        """The epoch's image order, (n,) int64."""
        if not self.shuffle:
            return np.arange(self.n, dtype=np.int64)
        return np.random.default_rng([_ORDER, self.seed, self.epoch]).permutation(self.n)

    def batch_sizes(self) -> list[int]:
        """The input size of each batch of the epoch."""
        return multiscale_sizes(self.sizes, self.batches_per_epoch(), self.every, (_SIZES, self.seed, self.epoch))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = self.order().tolist()
        for b, s in enumerate(self.batch_sizes()):
            yield [(i, s) for i in order[b * self.batch_size:(b + 1) * self.batch_size]]
