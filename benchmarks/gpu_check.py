"""Every CUDA path of the project in one call, one JSON report (issue 11, section 4).

usage: python benchmarks/gpu_check.py --out gpu.json [--sections parity,benchmark,...] [--device cuda:0]

Sections (each in its own try/except: a failure is recorded as ``"ok": false`` with the exception and the
last traceback lines, and the others still run; a section whose checks fail is ``"ok": false`` too):

- ``parity``: CUDA fp32 forward on every shared darknet case (``../shared/reference/darknet/cases``),
  against darknet's output and the CPU forward, with TF32 off (strict float32, the checks) and with
  PyTorch's default TF32 convolutions (reported only); detection sets through ``YOLO.predict`` on CUDA.
- ``precision``: fp16 and bf16 prediction (the fused inference copy) against fp32: head difference and
  detection-set agreement at darknet's threshold (0.005) and at 0.25.
- ``cuda_graphs``: ``benchmark.CudaGraphForward`` replay against the eager forward (fp32, bf16), and
  its batch-1 latency gain.
- ``benchmark``: ``benchmark.run_benchmark`` for yolov2-voc at 416 in bf16, batch 1 (eager and CUDA
  graph) and batch 256; the targets (batch-256 bf16 >= 5,000 images/s, batch-1 latency <= 2 ms) are
  judged on the forward-only figures (end-to-end figures, with the CPU letterbox and NMS, are reported).
- ``train_amp``: 100 AMP steps of yolov2-tiny-voc on raccoon at 416 with the trainer's own pieces (model,
  augmentation, batch sampler, region loss, SGD, GradScaler): finite and falling losses, images/s.
- ``ddp``: DistributedDataParallel on NCCL at world size 1 (and 2 with two GPUs) in worker processes
  started by torchrun; then ``torchrun -m yolo9000.cli train --amp`` for one epoch (world 1, and 2).
- ``joint``: ``yolo9000.train.joint.train_joint`` (YOLO9000's backbone, WordTree head) for 20 steps on the
  generated problem of ``benchmarks/joint_demo.py``, with the final mapped validation on CUDA.

Every section records its peak GPU memory (``torch.cuda.max_memory_allocated``, reset before it; the
subprocess parts of ``ddp`` report their own). One progress line per section goes to stderr. The report
is rewritten atomically after every section (``"complete": false`` until the end). Exit status: 0 when
every section is ok, 1 otherwise, 2 for usage errors and without CUDA.

The run is sized to finish in well under 8 minutes on one H100/H200 (``--budget-s``, default 450 s,
skips the remaining sections when spent). ``--tiny`` runs toy sizes; the hidden ``--allow-cpu`` runs the
toy sizes on the CPU so that the test suite exercises the code (no figure there means anything).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import gc
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from yolo9000.fileio import write_json

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = ("gpu_check: error: no CUDA device (torch.cuda.is_available() is False); "
           "run this on a GPU machine")
SECTIONS = ("parity", "precision", "cuda_graphs", "benchmark", "train_amp", "ddp", "joint")
TARGET_B256_IMAGES_S = 5000.0
TARGET_B1_LATENCY_MS = 2.0


# ----------------------------------------------------------------------------- plan (sizes)
@dataclass(frozen=True)
class Plan:
    """Every size the sections use; ``full`` on a GPU, ``tiny`` for a smoke run (and on the CPU)."""

    tiny: bool
    cases: tuple[str, ...] | None          # None: every case of the reference folder
    precision_cases: tuple[str, ...] | None
    bench_model: str                       # reference cfg name (its rebuilt weights are used)
    bench_imgsz: int
    bench_batches: tuple[int, ...]
    bench_iters: dict                      # batch -> (iters, warmup)
    bench_peak_s: float
    graph_batches: tuple[int, ...]
    graph_imgsz: int
    graph_iters: int
    train_steps: int
    train_batch: int
    train_imgsz: int
    train_workers: int
    ddp_steps: int
    ddp_batch: int
    ddp_imgsz: int
    cli_batch: int
    cli_imgsz: int
    cli_workers: int
    joint_model: str                      # "yolo9000" (zoo) or "demo" (joint.demo_network_cfg)
    joint_size: int
    joint_batch: int
    joint_steps: int
    joint_workers: int

    @staticmethod
    def full() -> "Plan":
        return Plan(tiny=False, cases=None, precision_cases=None, bench_model="yolov2-voc", bench_imgsz=416,
                    bench_batches=(1, 256), bench_iters={1: (100, 10), 256: (6, 1)}, bench_peak_s=0.5,
                    graph_batches=(1, 8), graph_imgsz=416, graph_iters=50,
                    train_steps=100, train_batch=32, train_imgsz=416, train_workers=8,
                    ddp_steps=10, ddp_batch=16, ddp_imgsz=416, cli_batch=32, cli_imgsz=416, cli_workers=4,
                    joint_model="yolo9000", joint_size=224, joint_batch=16, joint_steps=20, joint_workers=4)

    @staticmethod
    def small() -> "Plan":
        return Plan(tiny=True, cases=("yolov2-tiny-voc_416_dog",), precision_cases=("yolov2-tiny-voc_416_dog",),
                    bench_model="yolov2-tiny-voc", bench_imgsz=64, bench_batches=(1,),
                    bench_iters={1: (2, 1)}, bench_peak_s=0.01,
                    graph_batches=(1,), graph_imgsz=64, graph_iters=3,
                    train_steps=4, train_batch=2, train_imgsz=64, train_workers=0,
                    ddp_steps=2, ddp_batch=2, ddp_imgsz=64, cli_batch=4, cli_imgsz=64, cli_workers=0,
                    joint_model="demo", joint_size=64, joint_batch=6, joint_steps=2, joint_workers=0)


@dataclass
class Ctx:
    """What every section gets: the device, the sizes, the rebuilt weights, a scratch folder."""

    device: torch.device
    plan: Plan
    weights_dir: Path
    work: Path
    deadline: float

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class CheckFailed(Exception):
    """A section ran but one of its checks did not hold."""


# ----------------------------------------------------------------------------- helpers
def _parity():
    """tests/darknet/test_parity.py: its case loaders, reference readers and tolerances (reused, not copied)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import conftest
    from tests.darknet import test_parity

    return conftest, test_parity


def ensure_weights(names: set[str], weights_dir: Path) -> None:
    """Rebuild, with the reference recipe (SHA-256 checked), the ``.weights`` files of ``names`` that the
    folder lacks (``name.oldheader`` for the 16-byte-header variant); the tests' cache by default."""
    conftest, _ = _parity()
    recipe = conftest.REFERENCE / "weights-recipe" / "make_weights.py"
    plain = sorted(n for n in names if not n.endswith(".oldheader") and not (weights_dir / f"{n}.weights").is_file())
    if plain:
        subprocess.run([sys.executable, str(recipe), *plain, "--out", str(weights_dir)], check=True,
                       stdout=subprocess.DEVNULL)
    for n in sorted(n for n in names if n.endswith(".oldheader")):
        if not (weights_dir / f"{n}.weights").is_file():
            subprocess.run([sys.executable, str(recipe), n[: -len(".oldheader")], "--old-header", "--out",
                            str(weights_dir)], check=True, stdout=subprocess.DEVNULL)


def _cases(ctx: Ctx, which: tuple[str, ...] | None) -> list[str]:
    _, tp = _parity()
    cases = list(tp.CASES) if which is None else [c for c in which if c in tp.CASES]
    if not cases:
        raise FileNotFoundError(f"no darknet reference cases found under {tp.REFERENCE / 'cases'}")
    ensure_weights({tp.case_info(c)[2] for c in cases}, ctx.weights_dir)
    return cases


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def tf32(enabled: bool | None) -> Iterator[None]:
    """cuDNN convolutions and cuBLAS matmuls in float32 with TF32 on (True) or off (False, IEEE float32),
    restored afterwards; None leaves PyTorch's settings alone (its default: TF32 convolutions, IEEE
    matmuls). Uses the ``fp32_precision`` API where torch has it (mixing it with the legacy
    ``allow_tf32`` flags makes torch raise on reading them), else the legacy flags."""
    if enabled is None:
        yield
        return
    conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None)
    if conv is not None:
        old = torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
        mode = "tf32" if enabled else "ieee"
        torch.backends.cudnn.conv.fp32_precision = torch.backends.cuda.matmul.fp32_precision = mode
        try:
            yield
        finally:
            torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision = old
        return
    old_flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old_flags


def tf32_settings() -> dict:
    """The float32 precision settings in effect (new API where present, else the legacy flags)."""
    out: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        out["cudnn_conv_fp32_precision"] = torch.backends.cudnn.conv.fp32_precision
        out["cuda_matmul_fp32_precision"] = torch.backends.cuda.matmul.fp32_precision
    if not out:
        with contextlib.suppress(Exception):
            out = {"cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                   "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32}
    return out


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().float().cpu() - b.detach().float().cpu()).abs().max())


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def _activate(raw: torch.Tensor, model) -> torch.Tensor:
    from yolo9000.ops.region import region_activate
    from yolo9000.wordtree.tree import load_tree

    region = model.config.region
    if region is None:
        return torch.softmax(raw, dim=1)
    return region_activate(raw, region.num, load_tree(model.config.tree) if model.config.tree else None)


def _det_keys(raw_cpu: torch.Tensor, model, w: int, h: int, size: int, conf: float) -> set[tuple[int, int]]:
    """(det_index, class) of the detections of a raw head (CPU), darknet's NMS and hierarchy thresholds."""
    from yolo9000.ops.region import decode_region, region_detections
    from yolo9000.wordtree.tree import load_tree

    _, tp = _parity()
    tree = load_tree(model.config.tree) if model.config.tree else None
    pred = decode_region(raw_cpu.float(), torch.tensor(model.config.region.anchors_grid), tree)
    d = region_detections(pred, 0, w, h, size, size, conf, tp.NMS, tree, tp.HIER)
    return {(int(i), int(c)) for i, c in zip(d.det_index, d.class_ids)}


def _set_compare(ours: set, ref: set) -> dict:
    """Agreement of two detection sets keyed by (det_index, class), and darknet parity's rule: the same
    boxes survive and at most one box changes class (a near-tie in darknet's own output)."""
    only_ours, only_ref = ours - ref, ref - ours
    union = len(ours | ref)
    return {"n_ours": len(ours), "n_ref": len(ref), "equal": ours == ref, "only_ours": len(only_ours),
            "only_ref": len(only_ref), "jaccard": 1.0 if union == 0 else len(ours & ref) / union,
            "parity_rule": ({i for i, _ in only_ours} == {i for i, _ in only_ref} and len(only_ours) <= 1)}


def _predict_keys(yolo, image, size: int, conf: float) -> set[tuple[int, int]]:
    _, tp = _parity()
    kw = {"hier": tp.HIER} if yolo.tree is not None else {}  # hier= is an error on flat heads
    r = yolo.predict(image, imgsz=size, conf=conf, nms=tp.NMS, **kw)[0]
    return {(int(i), int(c)) for i, c in zip(r.det_index, r.class_ids)}


def _top5(raw: torch.Tensor) -> list[int]:
    return torch.softmax(raw.float().cpu(), dim=1)[0].topk(5).indices.tolist()


# ----------------------------------------------------------------------------- sections
def section_parity(ctx: Ctx) -> dict:
    """CUDA fp32 vs darknet and vs CPU on every reference case; TF32 off for the checks."""
    import numpy as np

    from yolo9000 import YOLO

    _, tp = _parity()
    out: dict[str, Any] = {"tolerance_head": tp.OUTPUT_TOL, "cases": {}}
    checks: dict[str, bool] = {}
    wd = str(ctx.weights_dir)
    for case in _cases(ctx, ctx.plan.cases):
        name, size, weights = tp.case_info(case)
        d = tp.REFERENCE / "cases" / case
        cpu_model = tp._model(name, weights, wd)
        raw_cpu = tp._forward(case, wd)
        x = torch.from_numpy(np.load(d / "input.npy"))
        ref = torch.from_numpy(np.load(d / "output.npy"))
        model = copy.deepcopy(cpu_model).to(ctx.device).eval()
        row: dict[str, Any] = {}
        for label, allow in (("strict_fp32", False), ("torch_default_precision", None)):
            with tf32(allow), torch.inference_mode():
                raw = model(x.to(ctx.device))
                act = _activate(raw, model).cpu()
            raw = raw.float().cpu()
            r = {"head_vs_darknet": _max_abs(act, ref), "head_vs_cpu": _max_abs(act, _activate(raw_cpu, cpu_model)),
                 "raw_vs_cpu": _max_abs(raw, raw_cpu), "finite": _finite(raw)}
            if model.config.region is None:
                with open(d / "top5.csv") as f:
                    ref_top = [int(q["class"]) for q in csv.DictReader(f)]
                r["top5_equal_darknet"] = _top5(raw) == ref_top
                r["top5_equal_cpu"] = _top5(raw) == _top5(raw_cpu)
            else:
                h, w = np.load(d / "image_u8.npy").shape[:2]
                ours = set(tp._as_dict(tp._detections(act, model, d, size)))
                r["dets_vs_darknet"] = _set_compare(ours, set(tp._read_dets(d / "dets.csv")))
                r["dets_vs_cpu"] = _set_compare(ours, _det_keys(raw_cpu, cpu_model, w, h, size, tp.THRESH))
            row[label] = r
        s = row["strict_fp32"]
        checks[f"{case}: finite"] = s["finite"]
        checks[f"{case}: head vs darknet <= {tp.OUTPUT_TOL:g}"] = s["head_vs_darknet"] <= tp.OUTPUT_TOL
        checks[f"{case}: head vs CPU <= {tp.OUTPUT_TOL:g}"] = s["head_vs_cpu"] <= tp.OUTPUT_TOL
        if model.config.region is None:
            checks[f"{case}: top-5 = darknet"] = s["top5_equal_darknet"]
        else:
            checks[f"{case}: detections = darknet (parity rule)"] = s["dets_vs_darknet"]["parity_rule"]
            if case in ("yolov2-voc_416_dog", "yolo9000_416_dog") or ctx.plan.tiny:
                # the whole predict path on the device (fused copy, pinned copy, decode, NMS)
                image = np.load(d / "image_u8.npy")
                with tf32(False):
                    yolo = YOLO.from_module(copy.deepcopy(cpu_model), cpu_model.config.names, device=ctx.device)
                    got = _predict_keys(yolo, image, size, tp.THRESH)
                cmp_ = _set_compare(got, set(tp._read_dets(d / "dets.csv")))
                row["predict_api_fused_fp32"] = cmp_
                checks[f"{case}: YOLO.predict detections = darknet (parity rule)"] = cmp_["parity_rule"]
                del yolo
        out["cases"][case] = row
        del model
        _free(ctx)
    out["checks"] = checks
    return out


def section_precision(ctx: Ctx) -> dict:
    """fp16 and bf16 prediction (fused inference copy, as YOLO.predict runs it) against fp32."""
    import numpy as np

    from yolo9000 import YOLO

    _, tp = _parity()
    precisions = ["bf16", "fp16"] if ctx.cuda else ["bf16"]
    out: dict[str, Any] = {"precisions": precisions, "cases": {}}
    if not ctx.cuda:
        out["skipped"] = {"fp16": "float16 inference needs CUDA"}
    checks: dict[str, bool] = {}
    cases = [c for c in _cases(ctx, ctx.plan.precision_cases) if not c.endswith("_oldheader")]
    for case in cases:
        name, size, weights = tp.case_info(case)
        d = tp.REFERENCE / "cases" / case
        cpu_model = tp._model(name, weights, str(ctx.weights_dir))
        image = np.load(d / "image_u8.npy")
        h, w = image.shape[:2]
        x = torch.from_numpy(np.load(d / "input.npy")).to(ctx.device).contiguous(memory_format=torch.channels_last)
        row: dict[str, Any] = {}
        base = None
        with tf32(False):
            for p in ["fp32", *precisions]:
                yolo = YOLO.from_module(copy.deepcopy(cpu_model), cpu_model.config.names, device=ctx.device,
                                        precision=p)
                with torch.inference_mode():
                    raw = yolo.inference_model()(x).float().cpu()
                act = _activate(raw, cpu_model)
                r: dict[str, Any] = {"finite": _finite(raw)}
                if cpu_model.config.region is not None:
                    r["dets_005"] = _predict_keys(yolo, image, size, tp.THRESH)
                    r["dets_025"] = _predict_keys(yolo, image, size, 0.25)
                else:
                    r["top5"] = _top5(raw)
                if base is None:
                    base = (raw, act, r)
                    row[p] = {"finite": r["finite"], "head_vs_darknet": _max_abs(act, torch.from_numpy(np.load(d / "output.npy")))}
                else:
                    b_raw, b_act, b_r = base
                    q: dict[str, Any] = {"finite": r["finite"], "head_vs_fp32": _max_abs(act, b_act),
                                         "raw_vs_fp32": _max_abs(raw, b_raw)}
                    if "top5" in r:
                        q["top5_equal_fp32"] = r["top5"] == b_r["top5"]
                    else:
                        q["dets_vs_fp32_conf_0.005"] = _set_compare(r["dets_005"], b_r["dets_005"])
                        q["dets_vs_fp32_conf_0.25"] = _set_compare(r["dets_025"], b_r["dets_025"])
                    row[p] = q
                checks[f"{case} {p}: finite head"] = r["finite"]
                del yolo
                _free(ctx)
        out["cases"][case] = row
    out["checks"] = checks
    return out


def section_cuda_graphs(ctx: Ctx) -> dict:
    """``CudaGraphForward`` replay = eager forward (fp32, bf16), fresh inputs give fresh outputs, and the
    batch-1 latency with and without the graph."""
    if not ctx.cuda:
        return {"skipped": "CUDA graphs need a CUDA device", "checks": {}}
    from yolo9000.api import load_model
    from yolo9000.predict.benchmark import CudaGraphForward, latency_ms, time_calls
    from yolo9000.models.inference import build_inference_model

    _, tp = _parity()
    ensure_weights({"yolov2-voc"}, ctx.weights_dir)
    net_cpu, _, _ = load_model(tp.REFERENCE / "cfg" / "yolov2-voc.cfg", ctx.weights_dir / "yolov2-voc.weights")
    model = net_cpu.to(ctx.device)
    s = ctx.plan.graph_imgsz
    out: dict[str, Any] = {"model": "yolov2-voc", "imgsz": s, "runs": {}}
    checks: dict[str, bool] = {}
    for p in ("fp32", "bf16"):
        net = build_inference_model(model, p)
        for b in ctx.plan.graph_batches:
            g = torch.Generator(device="cpu").manual_seed(b)
            x1 = torch.rand(b, 3, s, s, generator=g).to(ctx.device).contiguous(memory_format=torch.channels_last)
            x2 = torch.rand(b, 3, s, s, generator=g).to(ctx.device).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                e1, e2 = net(x1).float().clone(), net(x2).float().clone()
            graph = CudaGraphForward(net, x1)
            with torch.inference_mode():
                g1 = graph(x1).float().clone()
                g2 = graph(x2).float().clone()
            _sync(ctx.device)
            scale = max(1.0, float(e1.abs().max()), float(e2.abs().max()))
            r: dict[str, Any] = {"replay_vs_eager_x1": _max_abs(g1, e1), "replay_vs_eager_x2": _max_abs(g2, e2),
                                 "head_scale": scale, "inputs_differ_outputs_differ": _max_abs(g1, g2) > 0}
            key = f"{p}_b{b}"
            if b == 1:
                with torch.inference_mode():
                    eager_t = time_calls(lambda: net(x1), ctx.plan.graph_iters, 5, ctx.device)
                    graph_t = time_calls(lambda: graph(x1), ctx.plan.graph_iters, 5, ctx.device)
                r.update(eager_ms_p50=latency_ms(eager_t, 50), graph_ms_p50=latency_ms(graph_t, 50),
                         eager_ms_p90=latency_ms(eager_t, 90), graph_ms_p90=latency_ms(graph_t, 90))
            tol = 1e-4 if p == "fp32" else 1e-2  # relative to the head's scale (the same kernels: ~0)
            checks[f"{key}: replay = eager (x1, <= {tol:g} x scale)"] = r["replay_vs_eager_x1"] <= tol * scale
            checks[f"{key}: replay = eager on a new input (<= {tol:g} x scale)"] = r["replay_vs_eager_x2"] <= tol * scale
            checks[f"{key}: a new input changes the output"] = r["inputs_differ_outputs_differ"]
            out["runs"][key] = r
            del graph
        del net
        _free(ctx)
    out["checks"] = checks
    return out


def section_benchmark(ctx: Ctx) -> dict:
    """``run_benchmark`` in bf16: batch 1 eager and with a CUDA graph, and the big batch."""
    from yolo9000.predict.benchmark import BenchmarkConfig, run_benchmark

    _, tp = _parity()
    plan = ctx.plan
    ensure_weights({plan.bench_model}, ctx.weights_dir)
    runs: list[tuple[str, int, bool]] = []
    for b in plan.bench_batches:
        runs.append((f"bf16_b{b}", b, False))
        if b == 1 and ctx.cuda:
            runs.append((f"bf16_b{b}_cuda_graphs", b, True))
    out: dict[str, Any] = {"model": plan.bench_model, "imgsz": plan.bench_imgsz, "runs": {}}
    checks: dict[str, bool] = {}
    keep = ("images_per_s", "latency_ms_p50", "latency_ms_p90", "forward_images_per_s", "forward_latency_ms_p50",
            "forward_latency_ms_p90", "fraction_of_peak", "forward_fraction_of_peak", "gemm_peak_gflops",
            "gflop_per_image", "detections_per_image", "first_call_s", "iters", "warmup", "machine")
    for key, b, graphs in runs:
        iters, warmup = plan.bench_iters.get(b, (5, 1))
        cfg = BenchmarkConfig(model=str(tp.REFERENCE / "cfg" / f"{plan.bench_model}.cfg"),
                              weights=str(ctx.weights_dir / f"{plan.bench_model}.weights"), imgsz=plan.bench_imgsz,
                              batch=b, precision="bf16", device=str(ctx.device), iters=iters, warmup=warmup,
                              image=str(tp.REFERENCE / "images" / "dog.jpg"), peak_seconds=plan.bench_peak_s,
                              cuda_graphs=graphs)
        r = run_benchmark(cfg).to_json()
        out["runs"][key] = {k: r[k] for k in keep if k in r}
        checks[f"{key}: positive finite figures"] = all(
            isinstance(r[k], (int, float)) and math.isfinite(r[k]) and r[k] > 0
            for k in ("images_per_s", "forward_images_per_s", "latency_ms_p50", "forward_latency_ms_p50"))
        _free(ctx)
    big = max(plan.bench_batches)
    b1 = out["runs"].get("bf16_b1_cuda_graphs") or out["runs"].get("bf16_b1")
    bb = out["runs"].get(f"bf16_b{big}")
    out["targets"] = {
        f"batch{big}_bf16_images_per_s": {
            "target": f">= {TARGET_B256_IMAGES_S:g}", "measure": "forward only, bf16" + (" (CUDA-synchronised)" if ctx.cuda else ""),
            "value": bb["forward_images_per_s"] if bb else None,
            "end_to_end_value": bb["images_per_s"] if bb else None,
            "pass": bool(bb and bb["forward_images_per_s"] >= TARGET_B256_IMAGES_S)},
        "batch1_bf16_latency_ms": {
            "target": f"<= {TARGET_B1_LATENCY_MS:g}",
            "measure": "forward-only p50" + (" with a CUDA graph" if "bf16_b1_cuda_graphs" in out["runs"] else ""),
            "value": b1["forward_latency_ms_p50"] if b1 else None,
            "end_to_end_value": b1["latency_ms_p50"] if b1 else None,
            "pass": bool(b1 and b1["forward_latency_ms_p50"] <= TARGET_B1_LATENCY_MS)},
    }
    out["checks"] = checks
    return out


def _step_batches(sampler, steps: int) -> Iterator[list]:
    """``steps`` batches from an epoch-based batch sampler, epoch after epoch; the keys carry the epoch
    (``(index, size, epoch)``, which DetectionData reads), so one loader with persistent workers serves every
    epoch."""
    done, epoch = 0, 0
    while True:
        sampler.set_epoch(epoch)
        for b in sampler:
            yield [(*k, epoch) for k in b]
            done += 1
            if done == steps:
                return
        epoch += 1


class _Steps(torch.utils.data.Sampler):
    def __init__(self, sampler, steps: int) -> None:
        self.sampler, self.steps = sampler, steps

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        return _step_batches(self.sampler, self.steps)


def section_train_amp(ctx: Ctx) -> dict:
    """AMP training of yolov2-tiny-voc on raccoon with the trainer's pieces (one persistent loader).

    One input size (416), so that the first-10 and last-10 loss means compare like with like (the loss
    sums over predictions, whose number follows the size); the multi-scale path runs in ``ddp``'s
    ``yolo9000 train``."""
    from yolo9000.datasets import load_dataset, load_dataset_config
    from yolo9000.datasets.torch_data import DetectionData, MultiScaleBatchSampler, collate
    from yolo9000.train.detect import TrainConfig, augmentation, build_model, resolve_sizes
    from yolo9000.train.engine import darknet_lr_lambda
    from yolo9000.train.loss import region_loss

    plan = ctx.plan
    data_yaml = str(ROOT / "data" / "raccoon.yaml")
    amp = ctx.cuda
    tc = TrainConfig(data=data_yaml, model="yolov2-tiny-voc", batch=plan.train_batch, imgsz=plan.train_imgsz,
                     multiscale=False, lr=0.001, burn_in=10, optimizer="sgd", obj_loss="bce", box_loss="mse",
                     anchors="model", workers=plan.train_workers, device=str(ctx.device), amp=amp, seed=0)
    imgsz, sizes = resolve_sizes(tc, load_dataset_config(data_yaml).imgsz)
    ds = load_dataset(data_yaml, "train")
    torch.manual_seed(0)
    model, seen = build_model(tc, ds, imgsz)
    model.to(ctx.device).train()
    data = DetectionData(ds, train=True, seed=tc.seed, **augmentation(tc, model.config))
    sampler = MultiScaleBatchSampler(len(data), tc.batch, sizes=sizes, every=tc.scale_every, seed=tc.seed,
                                     shuffle=True, drop_last=len(data) >= tc.batch)
    loader = torch.utils.data.DataLoader(data, batch_sampler=_Steps(sampler, plan.train_steps), collate_fn=collate,
                                         num_workers=plan.train_workers, pin_memory=ctx.cuda,
                                         persistent_workers=plan.train_workers > 0)
    optimizer = torch.optim.SGD(model.param_groups(tc.decay), lr=tc.lr, momentum=tc.momentum)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, darknet_lr_lambda(tc.burn_in, [10 ** 9], [0.1]))
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=amp)
    region = model.config.region
    losses: list[torch.Tensor] = []
    warm = min(10, plan.train_steps // 2)
    t0 = time.perf_counter()
    t_warm, n_after, n_img = t0, 0, 0
    for i, (images, targets) in enumerate(loader):
        if i == warm:
            _sync(ctx.device)
            t_warm = time.perf_counter()
        images, targets = images.to(ctx.device, non_blocking=True), targets.to(ctx.device, non_blocking=True)
        with torch.autocast(ctx.device.type, enabled=amp):
            raw = model(images)
        terms = region_loss(raw.float(), targets, region, seen, obj_loss=tc.obj_loss)
        scaler.scale(terms["total"]).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        losses.append(terms["total"].detach())
        seen += len(images)
        n_img += len(images)
        if i >= warm:
            n_after += len(images)
    _sync(ctx.device)
    t1 = time.perf_counter()
    vals = [float(v) for v in torch.stack(losses).cpu()]
    k = min(10, len(vals) // 2)
    first, last = sum(vals[:k]) / max(1, k), sum(vals[-k:]) / max(1, k)
    out = {"model": "yolov2-tiny-voc", "data": "raccoon", "steps": len(vals), "batch": plan.train_batch,
           "sizes": sizes, "amp": amp, "amp_dtype": "float16" if amp else None,
           "grad_scale_final": float(scaler.get_scale()) if amp else None,
           "loss_first": vals[0] if vals else None, "loss_last": vals[-1] if vals else None,
           "loss_first10_mean": first, "loss_last10_mean": last, "window": k,
           "images_per_s": n_img / (t1 - t0),
           "images_per_s_after_warmup": n_after / (t1 - t_warm) if n_after else None,
           "seconds": t1 - t0}
    checks = {f"{len(vals)} steps ran": len(vals) == plan.train_steps,
              "losses finite": all(math.isfinite(v) for v in vals)}
    falling = last < first
    if plan.tiny:
        out["info_checks"] = {"losses falling (first vs last window)": falling}
    else:
        checks["losses falling (first-10 mean > last-10 mean)"] = falling
    out["checks"] = checks
    del loader
    return out


# ---- DDP
def ddp_worker(a: argparse.Namespace) -> int:
    """One torchrun process: DDP (NCCL on CUDA, gloo on the CPU) over yolov2-tiny-voc with AMP; rank 0
    writes its findings to ``a.ddp_worker``."""
    import torch.distributed as dist

    from yolo9000.train.loss import region_loss
    from yolo9000.models.darknet import Darknet
    from yolo9000.models.zoo import zoo_config

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = a.device.startswith("cuda")
    if cuda:
        index = local if world > 1 else (torch.device(a.device).index or 0)
        torch.cuda.set_device(index)
        device, backend = torch.device("cuda", index), "nccl"
        torch.cuda.reset_peak_memory_stats(device)
    else:
        device, backend = torch.device("cpu"), "gloo"
    t0 = time.perf_counter()
    dist.init_process_group(backend, rank=rank, world_size=world)
    t_init = time.perf_counter() - t0
    try:
        torch.manual_seed(0)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
        model = Darknet(zoo_config("yolov2-tiny-voc")).to(device).train()
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
        opt = torch.optim.SGD(model.param_groups(5e-4), lr=1e-4, momentum=0.9)
        scaler = torch.amp.GradScaler(device.type, enabled=cuda)
        g = torch.Generator(device="cpu").manual_seed(1000 + rank)  # each rank its own data
        b, s = a.worker_batch, a.worker_imgsz
        losses = []
        t1 = time.perf_counter()
        for _ in range(a.worker_steps):
            x = torch.rand(b, 3, s, s, generator=g).to(device)
            t = torch.zeros(b, 2, 5)
            t[:, :, 0:2] = torch.rand(b, 2, 2, generator=g) * 0.6 + 0.2
            t[:, :, 2:4] = torch.rand(b, 2, 2, generator=g) * 0.3 + 0.05
            t[:, :, 4] = torch.randint(0, 20, (b, 2), generator=g).float()
            with torch.autocast(device.type, enabled=cuda):
                raw = ddp(x)
            loss = region_loss(raw.float(), t.to(device), model.config.region, 0)["total"]
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
        if cuda:
            torch.cuda.synchronize(device)
        t_steps = time.perf_counter() - t1
        # collectives: a sum, and every rank's weights bit-identical after the steps
        ones = torch.full((4,), float(rank + 1), device=device)
        dist.all_reduce(ones)
        flat = torch.cat([p.detach().double().flatten() for p in model.parameters()])
        sig = torch.stack([flat.sum(), flat.square().sum(), flat[::997].sum()])
        sigs = [torch.zeros_like(sig) for _ in range(world)]
        dist.all_gather(sigs, sig)
        report = {"backend": backend, "world": world, "device": str(device), "init_s": t_init,
                  "steps": a.worker_steps, "steps_s": t_steps, "losses": losses,
                  "all_reduce_ok": bool(torch.allclose(ones.cpu(), torch.full((4,), world * (world + 1) / 2.0))),
                  "weights_equal_across_ranks": all(bool(torch.equal(sigs[0], q)) for q in sigs),
                  "losses_finite": all(math.isfinite(v) for v in losses),
                  "peak_gpu_memory_bytes": int(torch.cuda.max_memory_allocated(device)) if cuda else None}
        dist.barrier()
        if rank == 0:
            _write_json(report, Path(a.ddp_worker))
    finally:
        dist.destroy_process_group()
    return 0


def _child_env(ctx: Ctx) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2" if ctx.cuda else "1")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *[p for p in [os.environ.get("PYTHONPATH")] if p]])
    return env


def _run(cmd: list[str], ctx: Ctx, cwd: Path, limit: float) -> dict:
    t = time.perf_counter()
    timeout = max(10.0, min(limit, ctx.remaining()))
    try:
        p = subprocess.run(cmd, cwd=cwd, env=_child_env(ctx), capture_output=True, text=True, timeout=timeout)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, err = None, f"timed out after {timeout:.0f} s\n" + (e.stderr.decode(errors="replace") if isinstance(
            e.stderr, bytes) else (e.stderr or ""))
    r = {"returncode": rc, "seconds": time.perf_counter() - t}
    if rc != 0:
        r["stderr_tail"] = err.strip().splitlines()[-15:]
    return r


def _torchrun(n: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}"]


def section_ddp(ctx: Ctx) -> dict:
    """DDP workers on NCCL (world 1, and 2 when two GPUs are present), then the trainer under torchrun."""
    plan = ctx.plan
    worlds = [1] + ([2] if ctx.cuda and torch.cuda.device_count() >= 2 else [])
    out: dict[str, Any] = {"gpus": torch.cuda.device_count() if ctx.cuda else 0, "worlds": worlds, "workers": {},
                           "cli_train": {}}
    checks: dict[str, bool] = {}
    work = ctx.work / "ddp"
    work.mkdir(parents=True, exist_ok=True)
    for n in worlds:
        res = work / f"worker_w{n}.json"
        cmd = _torchrun(n) + [str(Path(__file__).resolve()), "--ddp-worker", str(res), "--device", str(ctx.device),
                              "--worker-steps", str(plan.ddp_steps), "--worker-batch", str(plan.ddp_batch),
                              "--worker-imgsz", str(plan.ddp_imgsz)] + (["--allow-cpu"] if not ctx.cuda else [])
        r = _run(cmd, ctx, work, 180)
        if r["returncode"] == 0 and res.is_file():
            r.update(json.loads(res.read_text()))
        out["workers"][f"world{n}"] = r
        ok = r["returncode"] == 0 and r.get("all_reduce_ok") and r.get("weights_equal_across_ranks") \
            and r.get("losses_finite")
        checks[f"DDP worker, {'NCCL' if ctx.cuda else 'gloo'}, world {n}: completes, all_reduce, equal weights"] = bool(ok)
    # the trainer itself (yolo9000.cli train) under torchrun
    if plan.tiny:
        from yolo9000.datasets.shapes import make_shapes

        data = str(make_shapes(work / "shapes", n_train=8, n_val=2, size=64, seed=0))
    else:
        data = str(ROOT / "data" / "raccoon.yaml")
    for n in worlds:
        name = f"cli_w{n}"
        args = ["-m", "yolo9000.cli", "train", "--data", data, "--model", "yolov2-tiny-voc", "--epochs", "1",
                "--batch", str(plan.cli_batch), "--imgsz", str(plan.cli_imgsz), "--burn-in", "2",
                "--workers", str(plan.cli_workers), "--val-every", "0", "--no-tensorboard",
                "--project", str(work / "runs"), "--name", name,
                "--device", str(ctx.device) if n == 1 else "cuda"]
        args += ["--amp"] if ctx.cuda else []
        args += ["--no-multiscale"] if plan.tiny else []
        cmd = _torchrun(n) + args
        r = _run(cmd, ctx, work, 240)
        csv_path = work / "runs" / name / "results.csv"
        if csv_path.is_file():
            rows = list(csv.DictReader(open(csv_path)))
            if rows:
                r["results"] = {k: _num(v) for k, v in rows[-1].items()}
        r["last_pt"] = (work / "runs" / name / "weights" / "last.pt").is_file()
        out["cli_train"][f"world{n}"] = r
        checks[f"torchrun -m yolo9000.cli train, world {n}: completes"] = r["returncode"] == 0 and r["last_pt"]
    out["note"] = ("world 1 under torchrun: yolo9000.train.distributed.setup runs one plain process (no process group, "
                   "no DDP); the worker processes are what exercise NCCL at world 1")
    out["checks"] = checks
    return out


def _num(v: str) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def section_joint(ctx: Ctx) -> dict:
    """``train_joint`` for ``joint_steps`` batches on joint_demo's generated problem, then its mapped val."""
    from yolo9000.datasets.shapes import JOINT_ALL as ALL
    from yolo9000.datasets.shapes import JOINT_TREE as TREE
    from yolo9000.datasets.shapes import make_joint_shapes
    from yolo9000.train.joint import JointConfig, batch_split, demo_network_cfg, train_joint

    plan = ctx.plan
    ratio = 0.5
    k_det, k_cls = batch_split(plan.joint_batch, ratio, 1, 1)
    n_det = k_det * plan.joint_steps
    per_class = max(1, k_cls * plan.joint_steps // len(ALL))  # ceil(5 * per_class / k_cls) <= steps
    root = ctx.work / "joint"
    demo = make_joint_shapes(root, plan.joint_size, n_det, per_class, 8)
    tree, det, cls = demo.tree, demo.detection, demo.classification
    if plan.joint_model == "demo":
        model = root / "small.cfg"
        model.write_text(demo_network_cfg(tree, plan.joint_size))
        model_arg = str(model)
    else:
        model_arg = plan.joint_model
    cfg = JointConfig(data=str(det), cls_data=str(cls), model=model_arg, tree=str(tree), det_ratio=ratio, epochs=1,
                      imgsz=plan.joint_size, batch=plan.joint_batch, lr=0.0005, burn_in=5, multiscale=False,
                      workers=plan.joint_workers, device=str(ctx.device), seed=0, val=True, amp=ctx.cuda,
                      tensorboard=False, project=str(root / "runs"), name="joint")  # the engine's AMP, as detection
    t = time.perf_counter()
    run = train_joint(cfg)
    _sync(ctx.device)
    seconds = time.perf_counter() - t
    rows = list(csv.DictReader(open(run / "results.csv")))
    row = {k: _num(v) for k, v in rows[-1].items()}
    n_cls = per_class * len(ALL)
    steps = max(-(-n_det // k_det), -(-n_cls // k_cls))
    out = {"model": plan.joint_model, "tree_nodes": len(TREE), "imgsz": plan.joint_size, "batch": plan.joint_batch,
           "amp": cfg.amp,
           "det_per_batch": k_det, "cls_per_batch": k_cls, "steps": steps, "seconds": seconds, "epoch_row": row,
           "val": json.loads((run / "val.json").read_text()) if (run / "val.json").is_file() else None}
    loss = row.get("total")
    out["checks"] = {"completes, last.pt written": (run / "weights" / "last.pt").is_file(),
                     "loss finite": isinstance(loss, float) and math.isfinite(loss),
                     f"{plan.joint_steps} steps": steps == plan.joint_steps}
    return out


SECTION_FUNCS: dict[str, Callable[[Ctx], dict]] = {
    "parity": section_parity, "precision": section_precision, "cuda_graphs": section_cuda_graphs,
    "benchmark": section_benchmark, "train_amp": section_train_amp, "ddp": section_ddp, "joint": section_joint}
MIN_SECONDS = {"parity": 20, "precision": 15, "cuda_graphs": 10, "benchmark": 45, "train_amp": 30, "ddp": 60,
               "joint": 30}  # the least a section needs on a GPU; fewer left: skipped


# ----------------------------------------------------------------------------- running and reporting
def _free(ctx: Ctx) -> None:
    gc.collect()
    if ctx.cuda:
        torch.cuda.empty_cache()


def run_section(name: str, ctx: Ctx) -> dict:
    """One section in its own try/except, timed, with its peak GPU memory."""
    if ctx.cuda:
        _free(ctx)
        torch.cuda.reset_peak_memory_stats(ctx.device)
    t = time.perf_counter()
    try:
        if not ctx.plan.tiny and ctx.remaining() < MIN_SECONDS.get(name, 0):
            raise TimeoutError(f"skipped: {ctx.remaining():.0f} s of the time budget left")
        res = SECTION_FUNCS[name](ctx)
        failed = [k for k, v in res.get("checks", {}).items() if not v]
        res = {"ok": not failed, **res}
        if failed:
            res["error"] = f"CheckFailed: {len(failed)} check(s) failed: " + "; ".join(failed)
    except Exception as e:  # noqa: BLE001 -- recorded, the next section still runs
        tb = traceback.format_exc().strip().splitlines()
        res = {"ok": False, "error": f"{type(e).__name__}: {e}".strip()[:2000], "traceback": tb[-12:]}
    _sync_safe(ctx)
    res["seconds"] = time.perf_counter() - t
    if ctx.cuda:
        peak = int(torch.cuda.max_memory_allocated(ctx.device))
        res["peak_gpu_memory_bytes"] = peak
        res["peak_gpu_memory_gib"] = peak / 2 ** 30
    else:
        res["peak_gpu_memory_bytes"] = None
    _free(ctx)
    return res


def _sync_safe(ctx: Ctx) -> None:
    try:
        _sync(ctx.device)
    except Exception:  # noqa: BLE001 -- a broken context is already recorded by the section
        pass


def environment(device: torch.device) -> dict:
    env: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
                           "nccl": None, "python": platform.python_version(), "machine": platform.machine(),
                           "cpu_count": os.cpu_count(), "device": str(device),
                           "fp32_precision_default": tf32_settings()}
    with contextlib.suppress(Exception):
        env["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        env.update(gpu_name=torch.cuda.get_device_name(device), gpu_count=torch.cuda.device_count(),
                   gpu_capability=f"{p.major}.{p.minor}", gpu_memory_gib=p.total_memory / 2 ** 30,
                   gpu_multiprocessors=p.multi_processor_count)
        with contextlib.suppress(Exception):
            env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, timeout=20).stdout.strip() or None
    else:
        env.update(gpu_name=None, gpu_count=0)
    return env


def _clean(obj: Any) -> Any:
    """JSON-safe: non-finite floats as strings, sets as sorted lists, tuples as lists, paths as strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_clean(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.Tensor):
        return _clean(obj.tolist())
    return obj


def _write_json(obj: Any, path: Path) -> None:
    write_json(_clean(obj), path)


def run_check(out: Path, sections: list[str], device: torch.device, plan: Plan, weights_dir: Path,
              budget_s: float, argv: list[str] | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Run ``sections`` on ``device`` and write the report to ``out`` (after each section); returns it."""
    progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    t0 = time.monotonic()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    report: dict[str, Any] = {"tool": "benchmarks/gpu_check.py", "started": started, "argv": argv or [],
                              "complete": False, "environment": environment(device),
                              "plan": asdict(plan), "weights_dir": str(weights_dir), "budget_s": budget_s,
                              "sections": {}}
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        ctx = Ctx(device, plan, weights_dir, Path(tmp), t0 + budget_s)
        for i, name in enumerate(sections, 1):
            res = run_section(name, ctx)
            report["sections"][name] = res
            mem = f", peak {res['peak_gpu_memory_gib']:.2f} GiB" if res.get("peak_gpu_memory_gib") is not None else ""
            state = "ok" if res["ok"] else "FAILED: " + res.get("error", "").splitlines()[0][:200]
            progress(f"gpu_check: [{i}/{len(sections)}] {name}: {state} ({res['seconds']:.1f} s{mem})")
            report["seconds"] = time.monotonic() - t0
            _write_json(report, out)
    bench = report["sections"].get("benchmark", {})
    report["targets"] = bench.get("targets", {})
    failed = [n for n, r in report["sections"].items() if not r["ok"]]
    report["summary"] = {"sections_ok": [n for n in report["sections"] if n not in failed], "sections_failed": failed,
                         "targets_pass": {k: v.get("pass") for k, v in report["targets"].items()}}
    report["complete"] = True
    report["seconds"] = time.monotonic() - t0
    _write_json(report, out)
    return report


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="gpu_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="the JSON report (written atomically)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--weights-dir", default=None,
                    help="rebuilt reference weights (default: the tests' cache, .cache/reference-weights)")
    ap.add_argument("--budget-s", type=float, default=450.0, help="skip sections once this many seconds are spent")
    ap.add_argument("--tiny", action="store_true", help="toy sizes (a quick smoke run)")
    ap.add_argument("--allow-cpu", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ddp-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-steps", type=int, default=10, help=argparse.SUPPRESS)
    ap.add_argument("--worker-batch", type=int, default=16, help=argparse.SUPPRESS)
    ap.add_argument("--worker-imgsz", type=int, default=416, help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    if a.ddp_worker:
        return ddp_worker(a)
    if not a.out:
        ap.error("--out FILE is required")
    sections = [s.strip() for s in a.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        ap.error(f"--sections: unknown {','.join(unknown) or '(none given)'}; choose from {','.join(SECTIONS)}")
    if Path(a.out).is_dir():
        ap.error(f"--out {a.out}: is a directory; give a file name")
    if not torch.cuda.is_available():
        if not a.allow_cpu:
            print(NO_CUDA, file=sys.stderr)
            return 2
        device = torch.device("cpu")
    else:
        device = torch.device(a.device)
        if device.type != "cuda" and not a.allow_cpu:
            ap.error(f"--device {a.device}: this check is for CUDA devices")
        if device.type == "cuda":
            index = device.index if device.index is not None else 0
            if index >= torch.cuda.device_count():
                ap.error(f"--device {a.device}: only {torch.cuda.device_count()} CUDA device(s)")
            device = torch.device("cuda", index)
    plan = Plan.small() if a.tiny or device.type != "cuda" else Plan.full()
    if a.weights_dir is None:
        conftest, _ = _parity()
        weights_dir = conftest.CACHE
    else:
        weights_dir = Path(a.weights_dir)
    report = run_check(Path(a.out), sections, device, plan, weights_dir, a.budget_s, sys.argv[1:] if argv is None else argv)
    failed = report["summary"]["sections_failed"]
    tp = report["summary"]["targets_pass"]
    print(f"gpu_check: {len(sections) - len(failed)}/{len(sections)} sections ok"
          + (f" (failed: {', '.join(failed)})" if failed else "")
          + ("; targets: " + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in tp.items()) if tp else "")
          + f"; {report['seconds']:.0f} s; report in {a.out}", file=sys.stderr)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
