"""Multi-process training with ``torchrun`` (PyTorch DDP): process-group setup and batch sharding.

``torchrun --nproc_per_node N -m yolo9000.cli train ...`` starts N processes; each reads ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` from the environment. The global batch (``--batch``) is cut into N equal
contiguous slices, one per process, so N processes see exactly the images one process would (and with
``--subdivisions N`` one process computes exactly the gradient N processes average).
"""
from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from yolo9000.devices import cuda_indices, resolve_device
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


def torchrun_command(gpus: int, argv: list[str] | None = None) -> str:
    """The command that runs this training command over ``gpus`` processes: ``torchrun --nproc_per_node N -m
    yolo9000.cli train ...`` with the command line's own subcommand and options (``argv``, default
    ``sys.argv``), or with ``...`` in their place when the run was not started from the command line."""
    argv = sys.argv if argv is None else argv
    start = next((i for i, a in enumerate(argv[1:3], 1) if a.startswith("train")), None)
    rest = argv[start:] if start is not None else ["train", "..."]
    return shlex.join(["torchrun", "--nproc_per_node", str(gpus), "-m", "yolo9000.cli", *rest])


def setup(device: str) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (gloo on CPU, nccl on CUDA); else one process.

    ``device`` may list GPUs (``"0,1"``): under torchrun, process ``LOCAL_RANK`` trains on the
    ``LOCAL_RANK``-th of them; in one process it is a one-line error that gives the torchrun command.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    gpus = cuda_indices(device)
    if world <= 1:
        if gpus is not None and len(gpus) > 1:
            raise Yolo9000Error(f"--device {device}: training on {len(gpus)} GPUs runs one process per GPU; "
                                f"start it with: {torchrun_command(len(gpus))}")
        return DistInfo(0, 1, resolve_device(device))
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if gpus is not None or str(device).startswith("cuda"):
        if gpus is not None and len(gpus) != int(os.environ.get("LOCAL_WORLD_SIZE", world)):
            raise Yolo9000Error(f"--device {device}: lists {len(gpus)} GPUs for {world} processes (give torchrun "
                                f"--nproc_per_node {len(gpus)})")
        index = gpus[local] if gpus is not None else local
        if not torch.cuda.is_available() or torch.cuda.device_count() <= index:
            raise Yolo9000Error(f"--device {device}: process {rank} needs CUDA device {index}, "
                                f"found {torch.cuda.device_count() if torch.cuda.is_available() else 0}")
        torch.cuda.set_device(index)
        dev, backend = torch.device("cuda", index), "nccl"
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
