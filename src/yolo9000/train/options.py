"""The fields the trainers' config dataclasses share (run, engine, optimisation, detection), each with its
default and the ``--help`` line of its flag (:func:`yolo9000.fields.option`): ``yolo9000 train --help``
(and ``train-classifier``, ``train-joint``) prints them with their defaults."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from yolo9000.fields import option
from yolo9000.models.darknet import imgsz_problem
from yolo9000.paths import DEFAULT_PROJECT
from yolo9000.train.loss import BOX_LOSSES, OBJ_LOSSES

AMP_CHOICES = ("auto", "fp16", "bf16")  # --amp-dtype
OPTIMIZERS = ("sgd", "adamw")  # --optimizer
SEED_MAX = 2**32 - 1  # --seed: numpy's legacy seeding takes no more, and the random streams' keys stay in range
#: ``check=`` of the input sizes (--imgsz, --min-size, ...): a positive multiple of 32 up to MAX_IMGSZ
SIZE = partial(imgsz_problem, stride=32)


# ----------------------------------------------------------------------------- fields the trainers share
# Keyword-only, so each trainer's own fields (its data and model first) keep their places and positions.

@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Where a run goes and what runs it: every trainer's."""

    workers: int = option(2, "data-loading worker processes (0: in the main process)", min=0)
    device: str = option("auto", "cpu, cuda, cuda:N, a GPU index (0; 0,1: one training process per GPU under "
                                 "torchrun) or auto (CUDA when present, else CPU)")
    seed: int = option(0, "seed of the initialisation, the augmentation and the sampling",
                       range=f"[0, {SEED_MAX}]")
    project: str = option(DEFAULT_PROJECT, "the folder that holds the run folders")
    exist_ok: bool = option(False, "write into runs/<name> even if it exists")
    skip_bad: bool = option(False, "leave unreadable images and records out of training and validation (listed in a "
                                   "warning) instead of stopping before the first batch")
    resume: bool = option(False, "continue runs/<name> from its last.pt, as it was configured (options given here "
                                 "override, but for those that make the network, its data and its optimizer: "
                                 "these must be the run's own)")


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """What the training engine does around each step and epoch: every trainer's."""

    amp: bool = option(False, "mixed precision: float16 + GradScaler on CUDA, bfloat16 on CPU (AVX512-BF16 / AMX); "
                              "see --amp-dtype")
    amp_dtype: str = option("auto", "the --amp dtype: auto (fp16 on CUDA, bf16 on CPU), fp16 (CUDA only) or bf16",
                            choices=AMP_CHOICES)
    ema: float = option(0.0, "decay of an exponential moving average of the weights, which validate and are saved "
                             "(0: off)", range="[0, 1)", note="0: off")
    deterministic: bool = option(False, "deterministic algorithms only (slower; runs reproducible bit for bit)")
    val_every: int = option(1, "epochs between validations (0: only at the end)", min=0,
                            note="0: validate only at the end")
    patience: int = option(0, "stop when this many validations in a row bring no better score (0: off)",
                           min=0, note="0: off")
    tensorboard: bool = option(True, "scalars per epoch in the run folder (needs tensorboard)")


@dataclass(frozen=True, kw_only=True)
class OptimOptions:
    """SGD as darknet runs it, or AdamW: every trainer's (each sets its own batch, lr and schedule lengths)."""

    optimizer: str = option("sgd", "sgd: SGD with momentum, darknet's; adamw: AdamW (betas --momentum, 0.999; weight "
                                   "decay decoupled)", choices=OPTIMIZERS)
    subdivisions: int = option(1, "split each batch into this many micro-batches whose gradients accumulate "
                                  "(darknet's subdivisions)", min=1)
    momentum: float = option(0.9, "SGD momentum (AdamW: its first beta)", range="[0, 1)")
    decay: float = option(0.0005, "weight decay, on convolution weights only (not biases or batch norm)", min=0)


@dataclass(frozen=True, kw_only=True)
class DetectionOptions:
    """The detection trainers' schedule steps, multi-scale sizes and darknet augmentation (detection and joint)."""

    steps: tuple[float, ...] = option((0.8, 0.9), "fractions of all batches where lr is multiplied by the matching "
                                                  "--scales")
    scales: tuple[float, ...] = option((0.1, 0.1), "learning-rate factor at each of --steps")
    multiscale: bool = option(True, "draw a new square training size every --scale-every batches (darknet's "
                                    "[region] random=1)")
    min_size: int | None = option(None, "smallest multi-scale size; none: imgsz * 320/416 (320 at 416), a multiple "
                                        "of 32", check=SIZE)
    max_size: int | None = option(None, "largest multi-scale size; none: imgsz * 608/416 (608 at 416), a multiple "
                                        "of 32", check=SIZE)
    scale_every: int = option(10, "batches between multi-scale size changes", min=1)
    jitter: float | None = option(None, "random crop jitter, a fraction of the image size; none: the model cfg's "
                                        "[region] jitter", range="[0, 1)",
                                  note="a fraction of the image size")
    hue: float | None = option(None, "colour augmentation: hue shift, a fraction of the hue circle either way; "
                                     "none: the model cfg's", range="[0, 0.5]",
                               note="a fraction of the hue circle either way")
    saturation: float | None = option(None, "colour augmentation: saturation scaled by 1/s .. s; none: the model "
                                            "cfg's", min=0)
    exposure: float | None = option(None, "colour augmentation: brightness scaled by 1/e .. e; none: the model cfg's",
                                    min=0)
    flip: bool = option(True, "random horizontal flips")
    obj_loss: str = option("bce", "objectness loss: bce (the cross-entropy of the logit: darknet's delta without the "
                                  "sigmoid's derivative, which stalls small real data trained from scratch), mse "
                                  "(darknet's YOLOv2 squared error of the sigmoid) or mixed (the cross-entropy where a "
                                  "prediction is responsible for a box, at unit scale; darknet's squared error "
                                  "elsewhere)", choices=OBJ_LOSSES)
    box_loss: str = option("mse", "box loss at the responsible predictions: mse (darknet's squared error of the box "
                                  "codes, in grid cells) or ciou (1 - complete IoU of the boxes: scale-free, so small "
                                  "objects are placed as precisely as large ones)", choices=BOX_LOSSES)
