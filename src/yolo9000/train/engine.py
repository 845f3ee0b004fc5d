"""The one training loop. Detection (:mod:`.detect`), classification (:mod:`.classify`) and YOLO9000's
joint training (:mod:`.joint`) are *tasks*: each supplies its network, its batches, its loss and its
validation (:class:`Task`); :func:`fit` owns everything else, for all three alike:

- the run: a fresh folder (``runs/<name>2`` beside an existing one), ``--resume`` as the run was
  configured, the checks of every option before anything is written;
- the step: micro-batches (darknet's ``subdivisions``) whose gradients accumulate, DDP through ``torchrun``
  (gloo on CPU, NCCL on CUDA; the all-reduce only on the last micro-batch), mixed precision (``--amp``:
  float16 with a GradScaler or bfloat16 on CUDA, bfloat16 on CPU), a stop with one line on a non-finite
  loss, before the update;
- SGD (or AdamW, ``--optimizer``) on the model's own groups (:meth:`~yolo9000.models.darknet.Darknet.param_groups`: darknet's decay
  on convolution weights only) and darknet's learning-rate policies (burn-in, then steps or poly), an EMA
  of the weights (``--ema``);
- per epoch: ``results.csv``, TensorBoard, validation every ``--val-every`` epochs, ``--patience``,
  atomic ``last.pt`` / ``best.pt`` that resume bit for bit (weights, optimizer, schedule, scaler, EMA, RNGs).

Under ``torchrun`` every process runs :func:`fit` on its slice of each batch; process 0 validates and writes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from yolo9000.checkpoints.format import checkpoint_dict, cpu_state, save_checkpoint
from yolo9000.darknet.cfg import config_to_cfg_text, parse_cfg_text
from yolo9000.darknet.weights import WeightsHeader
from yolo9000.errors import Yolo9000Error
from yolo9000.fileio import check_output_dir, removed_on_error, run_folder
from yolo9000.models.darknet import Darknet, DarknetConfig
from yolo9000.train import distributed as dist
from yolo9000.train.checks import check_run_folder, check_run_options, resume_config
from yolo9000.train.report import Scalars, append_csv, plot_results
from yolo9000.words import count


# ----------------------------------------------------------------------------- what a task supplies
@dataclass(frozen=True)
class RunContext:
    """What a task is built with: the run folder, this process's place, and on ``--resume`` the checkpoint's
    state and its network (``network``: the saved config with the saved class names, tree paths resolved
    beside ``last``), which the task builds instead of a fresh one."""

    run: Path
    info: dist.DistInfo
    state: dict[str, Any] | None
    last: Path
    network: DarknetConfig | None = None

    @property
    def device(self) -> torch.device:
        return self.info.device


class Task(Protocol):
    """One kind of training on the engine (see the module docstring). The engine constructs it as
    ``Task(cfg, context)`` (:class:`RunContext`); a task class subclasses this protocol to inherit the defaults
    of :meth:`resolve` and :meth:`resume_forced`."""

    model: Darknet
    seen: int                     # images the starting weights had seen (darknet's header)
    metric: str                   # the validation score's name in messages ("VOC07 mAP@0.5", "val top-1")
    score_key: str                # its column in results.csv ("mAP50", "top1")
    best_key: str                 # the best score's key in the checkpoints ("best_map", "best_top1")
    bar_keys: tuple[str, ...]     # loss terms on the progress bar; the first is the total
    val_keys: tuple[str, ...]     # the columns validate() fills (NaN in the epochs it does not run)
    data: Dataset                 # the items of the sampler's indices; set_epoch(e) keys its augmentation
    sampler: Sampler[list]        # the global batches of an epoch (set_epoch(e)); each process takes its slice
    collate: Callable[[list], tuple[torch.Tensor, torch.Tensor]] | None

    @classmethod
    def resolve(cls, cfg: Any, given: Collection[str] | None = None) -> Any:
        """The config with its defaults made concrete, as the checkpoints record it (process 0 runs it first:
        it may generate a demo's data); ``given``: the options the caller set (None: those that differ from
        their defaults). Default: ``cfg`` as given."""
        return cfg

    @classmethod
    def resume_forced(cls, cfg: Any) -> dict[str, Any]:
        """Options a resume takes from its own command line whatever the run was started with. Default: none."""
        return {}

    def lr_factor(self, total_batches: int) -> Callable[[int], float]:
        """The learning-rate multiplier of batch i (darknet's policy; ``total_batches`` in the run)."""

    def loss(self, out: torch.Tensor, targets: torch.Tensor, seen: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(loss to minimise, the mean over the micro-batch; the terms to log, detached) of one micro-batch's
        float32 network output ``out``."""

    def validate(self, model: Darknet, plots: bool) -> dict[str, float]:
        """The epoch's validation columns (the score among them, NaN when not scored), on ``model`` (the
        EMA's weights when EMA is on); ``plots``: also write the validation plots (the last validation, or one
        that may end the run early)."""

    def describe(self, row: dict[str, Any]) -> str:
        """The validation part of the epoch's line ("" when none)."""

    def finish(self, run: Path, best: Path) -> None:
        """Pictures and reports from ``best.pt`` once the run is done (process 0)."""


# ----------------------------------------------------------------------------- darknet's optimisation
def darknet_lr_lambda(burn_in: int, steps: list[int], scales: list[float]) -> Callable[[int], float]:
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


def poly_lambda(burn_in: int, max_batches: int, power: float) -> Callable[[int], float]:
    """Darknet's ``poly`` policy with burn-in, as a multiplier of the base rate per batch."""
    def factor(i: int) -> float:
        if i < burn_in:
            return (i / burn_in) ** 4
        return max(0.0, 1 - i / max_batches) ** power
    return factor


def _ema_avg(decay: float):
    """EMA update with a ramp (``decay * (1 - exp(-n / 2000))``) so early weights do not linger."""
    def avg(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = decay * (1 - math.exp(-float(n) / 2000))
        return averaged + (current - averaged) * (1 - d)
    return avg


def make_optimizer(name: str, groups: list[dict[str, Any]], lr: float, momentum: float) -> torch.optim.Optimizer:
    """``--optimizer`` on the model's own parameter groups (:meth:`~yolo9000.models.darknet.Darknet.param_groups`,
    each with its weight decay): ``sgd``, darknet's SGD with momentum (decay added to the gradient), or
    ``adamw``, AdamW with betas (``momentum``, 0.999) and the decay decoupled from the gradient."""
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(momentum, 0.999))
    if name != "sgd":
        raise Yolo9000Error(f"--optimizer {name}: choose sgd or adamw")
    return torch.optim.SGD(groups, lr=lr, momentum=momentum)


def amp_dtype(device: torch.device, amp: bool, dtype: str = "auto") -> torch.dtype | None:
    """The autocast dtype of ``--amp`` (``--amp-dtype``) on ``device``: None (off), float16 (with a
    GradScaler; CUDA's default) or bfloat16 (the CPU's: AVX512-BF16 / AMX; no scaler needed, bfloat16 keeps
    float32's range)."""
    if not amp:
        return None
    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.bfloat16
    if dtype == "fp16" and device.type != "cuda":
        raise Yolo9000Error(f"--amp-dtype fp16: float16 training needs CUDA (on {device.type}, use bf16)")
    return torch.float16 if dtype == "fp16" else torch.bfloat16


# ----------------------------------------------------------------------------- early stop
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
        return (f"early stop after epoch {epoch}/{epochs}: {metric} has not improved for "
                f"{count(self.stale, 'validation')} (--patience {self.patience}); the best, "
                f"{self.best:.4f}, was at epoch {self.best_epoch} (weights/best.pt)")


# ----------------------------------------------------------------------------- checkpoints and RNGs
def seed_all(seed: int) -> None:
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


@dataclass
class Trainer:
    """What a run optimises and saves: the network, its EMA (or None), the optimizer, the schedule and the
    gradient scaler."""

    model: Darknet
    ema: torch.optim.swa_utils.AveragedModel | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    hyper: list[dict[str, Any]] = dataclasses.field(init=False)  # per group: initial_lr, momentum/betas, decay

    def __post_init__(self) -> None:
        self.hyper = [{k: g[k] for k in ("initial_lr", "momentum", "betas", "weight_decay") if k in g}
                      for g in self.optimizer.param_groups]

    @classmethod
    def create(cls, model: Darknet, cfg: Any, lr_factor: Callable[[int], float], device: torch.device,
               dtype: torch.dtype | None) -> Trainer:
        """A fresh state for ``model`` (on ``device``): ``--optimizer`` on the model's own groups, darknet's
        policy ``lr_factor`` per batch, a gradient scaler when the forward runs in float16, ``--ema``."""
        optimizer = make_optimizer(cfg.optimizer, model.param_groups(cfg.decay), cfg.lr, cfg.momentum)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
        scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
        ema = (torch.optim.swa_utils.AveragedModel(model, avg_fn=_ema_avg(cfg.ema), use_buffers=True)
               if cfg.ema > 0 else None)
        return cls(model, ema, optimizer, scheduler, scaler)

    @property
    def eval_model(self) -> Darknet:
        """The weights a run validates and predicts with: the EMA's when EMA is on."""
        return self.model if self.ema is None else self.ema.module

    def checkpoint(self, cfg: Any, epoch: int, seen: int, **scores: Any) -> dict[str, Any]:
        """Everything to predict (``model``: the EMA weights when EMA is on) and to resume exactly; ``cfg``
        is the run's frozen config dataclass and ``scores`` the best-so-far figures. The layout is
        :func:`~yolo9000.checkpoints.format.checkpoint_dict`'s, with the training state as its extras."""
        extras = {**self._training_state(cfg, epoch, seen), **scores}
        return checkpoint_dict(self.eval_model, config_to_cfg_text(self.model.config, extensions=True),
                               self.model.config.names, WeightsHeader(seen=seen), **extras)

    def _training_state(self, cfg: Any, epoch: int, seen: int) -> dict[str, Any]:
        """What a checkpoint holds beyond the network to resume exactly: optimizer, schedule, scaler, RNGs, where
        the run stands, its command and config, and with EMA the weights SGD moves (``train_model``)."""
        state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "scaler": self.scaler.state_dict(), "rng": _rng_state(), "epoch": epoch, "seen": seen,
                 "trainer": type(cfg).TRAINER,
                 "train_config": {f.name: list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v
                                  for f in dataclasses.fields(cfg)}}
        if self.ema is not None:
            state.update(train_model=cpu_state(self.model), ema_updates=int(self.ema.n_averaged))
        return state

    def restore(self, state: dict[str, Any]) -> tuple[int, int]:
        """Load what :meth:`checkpoint` saved, and the RNGs; returns (first epoch to run, images seen)."""
        if (self.ema is not None) != ("train_model" in state):
            raise Yolo9000Error("--ema: a run cannot switch its EMA on or off when it resumes (start a new run "
                                "with --weights)")
        self.model.load_state_dict(state["train_model"] if self.ema is not None else state["model"])
        if self.ema is not None:
            self.ema.module.load_state_dict(state["model"])
            self.ema.n_averaged.fill_(int(state["ema_updates"]))
        saved = {k for g in state["optimizer"]["param_groups"] for k in ("momentum", "betas") if k in g}
        if saved != {k for h in self.hyper for k in ("momentum", "betas") if k in h}:
            raise Yolo9000Error("--optimizer: a run cannot switch between sgd and adamw when it resumes (start a new "
                                "run with --weights)")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        # the rates of this config, which a resume's command line may have changed (the saved state holds the old)
        self.scheduler.base_lrs = [g["initial_lr"] for g in self.hyper]
        factor = self.scheduler.lr_lambdas[0](self.scheduler.last_epoch)
        for g, h in zip(self.optimizer.param_groups, self.hyper):
            g.update(h, lr=h["initial_lr"] * factor)
        self.scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"])
        return int(state["epoch"]) + 1, int(state["seen"])


def saved_network(state: dict[str, Any], last: Path) -> DarknetConfig:
    """The network a checkpoint ``state`` (read from ``last``) holds: its cfg text, its tree file resolved beside
    ``last`` (a run copies its tree into ``weights/``), its class names."""
    config = parse_cfg_text(state["cfg"], str(last), cfg_dir=last.parent)
    return dataclasses.replace(config, names=tuple(state.get("names") or ()))


def _autocast(device: torch.device, dtype: torch.dtype | None):
    """The forward's autocast to ``dtype`` (None: none, float32 throughout)."""
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def _main_first(info: dist.DistInfo, make: Callable[[], Any]) -> Any:
    """``make()`` on process 0, then on the others: process 0 may generate files (a demo's data, the run's
    copy of a tree) that the others then read."""
    out = make() if info.is_main else None
    dist.barrier(info)
    return out if info.is_main else make()


def _no_sync(net: nn.Module, sync: bool):
    """DDP: skip the gradient all-reduce on all but the last micro-batch of a batch."""
    if sync or not isinstance(net, nn.parallel.DistributedDataParallel):
        return contextlib.nullcontext()
    return net.no_sync()


# ----------------------------------------------------------------------------- the loop
@dataclass
class Loop:
    """What :func:`fit` carries from epoch to epoch: the run's config, folder and checkpoints, the task, the
    optimisation state (:class:`Trainer`), the network as the step runs it (DDP-wrapped under ``torchrun``),
    the early stop and the images seen so far."""

    cfg: Any
    info: dist.DistInfo
    dtype: torch.dtype | None     # the forward's autocast dtype (None: float32)
    run: Path
    last: Path
    best: Path
    task: Task
    trainer: Trainer
    net: nn.Module
    stopper: EarlyStop
    scalars: Scalars
    start: int                    # the first epoch to run (0-based)
    seen: int

    @property
    def device(self) -> torch.device:
        return self.info.device


def fit(cfg: Any, task: type[Task], given: Collection[str] | None = None) -> Path:
    """Train ``task`` (a :class:`Task` class) on ``cfg``; returns the run folder.

    ``cfg`` is a trainer's config dataclass (the fields of :mod:`yolo9000.train.options` and the task's
    own; its class's ``TRAINER``, the command that runs it, goes into the checkpoints, and a resume of
    another trainer's run is refused). ``given``: the options the caller set (the flags typed on the command
    line); a resume takes those from ``cfg`` and the rest from the run (None: those that differ from their
    default).
    """
    check_run_options(cfg)
    info = dist.setup(cfg.device)
    with contextlib.ExitStack() as stack:
        stack.callback(dist.cleanup)
        # the run folder, the config (resumed, resolved), the task and the optimisation state
        loop = _prepare(cfg, info, stack, task, given)
        for epoch in range(loop.start, loop.cfg.epochs):
            row = _train_epoch(loop, epoch)  # every batch of the epoch; the terms averaged over all processes
            if _end_epoch(loop, epoch, row):  # validate, log, checkpoint; True: the early stop
                break
        _finish(loop)  # the curves, and the task's report from best.pt
        run = loop.run
        del loop  # the DDP wrapper goes before its process group does: freed after, gloo's threads may never join
    return run


def _prepare(cfg: Any, info: dist.DistInfo, stack: contextlib.ExitStack, task_class: type[Task],
             given: Collection[str] | None) -> Loop:
    """The :class:`Loop` of a run that starts or resumes (:func:`fit`'s arguments); on process 0 the run
    folder is removed again if the run stops before its first ``last.pt`` (``stack`` holds that guard)."""
    run = run_folder(cfg.project, cfg.name, exist_ok=cfg.exist_ok or cfg.resume)
    check_output_dir(run, "a run folder")  # --exist-ok (or --resume) onto a file of that name
    dist.barrier(info)  # every process has chosen the folder before process 0 creates it
    last, best = run / "weights" / "last.pt", run / "weights" / "best.pt"
    if info.is_main:  # a run that stops before its first last.pt (a full disk, Ctrl-C) leaves nothing
        stack.enter_context(removed_on_error(run, unless=last))
    state = None
    if cfg.resume:
        state, cfg = resume_config(cfg, last, task_class.resume_forced(cfg), type(cfg).TRAINER, given)
        check_run_options(cfg)
    cfg = _main_first(info, lambda: task_class.resolve(cfg, given))
    check_run_folder(run, cfg)
    seed_all(cfg.seed)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
    dtype = amp_dtype(info.device, cfg.amp, cfg.amp_dtype)
    if cfg.batch % info.world or (cfg.batch // info.world) % cfg.subdivisions:
        raise Yolo9000Error(f"--batch {cfg.batch} must split evenly over {info.world} process(es) "
                            f"and --subdivisions {cfg.subdivisions}")
    context = RunContext(run, info, state, last, None if state is None else saved_network(state, last))

    def made() -> Task:  # process 0 makes the folder once the task is built
        task = task_class(cfg, context)
        run.mkdir(parents=True, exist_ok=True)
        return task

    task = _main_first(info, made)
    trainer = Trainer.create(task.model.to(info.device).train(), cfg, task.lr_factor(len(task.sampler) * cfg.epochs),
                             info.device, dtype)
    start, seen, best_score = 0, task.seen, -1.0
    if state is not None:
        start, seen = trainer.restore(state)
        best_score = float(state.get(task.best_key, -1.0))
    stopper = EarlyStop.restore(cfg.patience, state, best_score)
    if stopper.stop and start < cfg.epochs:  # a run that stopped early, resumed: it stays stopped
        if info.is_main:
            print(stopper.message(start, cfg.epochs, task.metric), flush=True)
        start = cfg.epochs
    net = dist.wrap(trainer.model, info)
    if info.is_main:
        print(f"run folder: {run}", flush=True)
    return Loop(cfg, info, dtype, run, last, best, task, trainer, net, stopper,
                Scalars(run, cfg.tensorboard and info.is_main), start, seen)


def _train_epoch(loop: Loop, epoch: int) -> dict[str, Any]:
    """One pass over the task's batches of ``epoch`` (each process its slice): the step of every batch; returns
    the epoch's row of ``results.csv`` (the loss terms per image over all processes, lr, images/s)."""
    cfg, info, task, device = loop.cfg, loop.info, loop.task, loop.device
    task.data.set_epoch(epoch)
    task.sampler.set_epoch(epoch)
    loader = DataLoader(task.data, batch_sampler=dist.RankSlice(task.sampler, info.rank, info.world),
                        collate_fn=task.collate, num_workers=cfg.workers, pin_memory=device.type == "cuda")
    loop.net.train()
    sums: dict[str, torch.Tensor] = {}
    t0, n_img = time.perf_counter(), 0
    bar = tqdm(loader, total=len(task.sampler), desc=f"epoch {epoch + 1}/{cfg.epochs}",
               leave=False, dynamic_ncols=True, disable=None if info.is_main else True)
    for i, (inputs, targets) in enumerate(bar):
        _step(loop, inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True), sums, epoch, i)
        n_img += len(inputs)
        if i % 10 == 0:  # one host sync every 10 batches for the progress bar
            bar.set_postfix(**{k: f"{float(sums[k]) / n_img:.3f}" for k in task.bar_keys if k in sums},
                            size=inputs.shape[-1], img_s=f"{n_img * info.world / (time.perf_counter() - t0):.1f}",
                            lr=f"{loop.trainer.scheduler.get_last_lr()[0]:.2e}")
    bar.close()
    keys = sorted(sums)
    totals = dist.all_sum(torch.stack([torch.as_tensor(sums[k], device=device).float() for k in keys]
                                      + [torch.tensor(float(n_img), device=device)]), info)
    n_all = max(1.0, float(totals[-1]))
    return {"epoch": epoch + 1, **{k: float(v) / n_all for k, v in zip(keys, totals[:-1])},
            "lr": loop.trainer.scheduler.get_last_lr()[0], "images_per_s": n_all / (time.perf_counter() - t0)}


def _step(loop: Loop, inputs: torch.Tensor, targets: torch.Tensor, sums: dict[str, torch.Tensor], epoch: int,
          batch: int) -> None:
    """One weight update from one batch: its micro-batches (``--subdivisions``) accumulate their gradients (DDP
    all-reduces on the last only); a non-finite loss on any process stops the run before the update; the
    loss terms times the images are added to ``sums``."""
    t, task = loop.trainer, loop.task
    mini = loop.cfg.batch // loop.info.world // loop.cfg.subdivisions
    finite = torch.ones((), dtype=torch.bool, device=loop.device)
    for j in range(0, len(inputs), mini):
        with _no_sync(loop.net, j + mini >= len(inputs)):
            with _autocast(loop.device, loop.dtype):
                out = loop.net(inputs[j:j + mini])
            loss, terms = task.loss(out.float(), targets[j:j + mini], loop.seen)
            t.scaler.scale(loss * len(out) / len(inputs)).backward()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v * len(out)
        finite &= torch.isfinite(loss.detach())
    if not bool(dist.all_sum(finite.float(), loop.info) == loop.info.world):  # every process stops together
        raise Yolo9000Error(f"non-finite loss (NaN or Infinity) at epoch {epoch + 1}, batch {batch + 1}: "
                            f"training stopped before the update; the last good checkpoint is "
                            f"{loop.last if loop.last.exists() else 'none (first epoch)'} (try a lower --lr)")
    t.scaler.step(t.optimizer)
    t.scaler.update()
    t.optimizer.zero_grad(set_to_none=True)
    t.scheduler.step()
    if t.ema is not None:
        t.ema.update_parameters(t.model)
    loop.seen += len(inputs) * loop.info.world


def _end_epoch(loop: Loop, epoch: int, row: dict[str, Any]) -> bool:
    """Process 0 validates (every ``--val-every`` epochs and the last), appends ``row`` to ``results.csv`` and
    TensorBoard, writes ``last.pt`` (and ``best.pt`` on a better score) and prints the epoch's line. Returns
    whether the run stops early (``--patience``), agreed by every process."""
    cfg, info, task, stopper = loop.cfg, loop.info, loop.task, loop.stopper
    final = epoch + 1 == cfg.epochs
    row.update({k: float("nan") for k in task.val_keys})
    if info.is_main:
        if final or (cfg.val_every and (epoch + 1) % cfg.val_every == 0):
            row.update(task.validate(loop.trainer.eval_model, final or stopper.next_may_stop()))
        append_csv(loop.run / "results.csv", row)
        loop.scalars.log(row)
        improved = stopper.update(row.get(task.score_key, float("nan")), epoch + 1)
        ckpt = loop.trainer.checkpoint(cfg, epoch, loop.seen, **{task.best_key: stopper.best},
                                       early_stop=stopper.state())
        save_checkpoint(loop.last, ckpt)
        if improved or not loop.best.exists():
            save_checkpoint(loop.best, ckpt)
        print(f"epoch {epoch + 1}/{cfg.epochs}: loss {row[task.bar_keys[0]]:.4f}{task.describe(row)}, "
              f"{row['images_per_s']:.1f} images/s", flush=True)
        if stopper.stop and not final:
            print(stopper.message(epoch + 1, cfg.epochs, task.metric), flush=True)
    stop = cfg.patience > 0 and float(dist.all_sum(torch.tensor(float(info.is_main and stopper.stop),
                                                                 device=loop.device), info)) > 0
    dist.barrier(info)
    return stop  # every process leaves the loop together; the last row of results.csv is this epoch


def _finish(loop: Loop) -> None:
    """Process 0: ``results.png`` from ``results.csv``, then the task's pictures and report from ``best.pt``."""
    loop.scalars.close()
    if loop.info.is_main:
        if (loop.run / "results.csv").is_file():
            plot_results(loop.run / "results.csv", loop.run / "results.png")
        if loop.best.is_file():
            loop.task.finish(loop.run, loop.best)
