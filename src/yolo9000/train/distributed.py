"""Multi-process training with ``torchrun`` (PyTorch DDP): process-group setup and batch sharding.

``torchrun --nproc_per_node N -m yolo9000.cli train ...`` starts N processes; each reads ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` from the environment. The global batch (``--batch``) is cut into N equal
contiguous slices, one per process, so N processes see exactly the images one process would (and with
``--subdivisions N`` one process computes exactly the gradient N processes average).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from yolo9000.devices import resolve_device
from yolo9000.errors import Yolo9000Error


@dataclass(frozen=True)
class DistInfo:
    """This process's place: ``rank`` of ``world`` processes, and the device it trains on."""

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (gloo on CPU, nccl on CUDA); else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(0, 1, resolve_device(device))
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        if torch.cuda.device_count() <= local:
            raise Yolo9000Error(f"--device {device}: process {rank} needs CUDA device {local}, "
                                f"found {torch.cuda.device_count()}")
        torch.cuda.set_device(local)
        dev, backend = torch.device("cuda", local), "nccl"
    else:
        dev, backend = resolve_device(device), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world)
    return DistInfo(rank, world, dev)


def wrap(model: torch.nn.Module, info: DistInfo) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when there are several processes, else ``model`` itself."""
    if info.world <= 1:
        return model
    device = info.device
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


def all_sum(x: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum of ``x`` over the processes (``x`` itself in one process)."""
    if info.world > 1:
        x = x.clone()
        dist.all_reduce(x)
    return x


class RankSlice(Sampler[list]):
    """This process's contiguous slice of every batch of a batch sampler (all batches must divide evenly)."""

    def __init__(self, batches: Sampler, rank: int, world: int) -> None:
        self.batches, self.rank, self.world = batches, rank, world

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list]:
        for b in self.batches:
            if len(b) % self.world:
                raise Yolo9000Error(f"a batch of {len(b)} images does not split over {self.world} processes")
            per = len(b) // self.world
            yield b[self.rank * per:(self.rank + 1) * per]
