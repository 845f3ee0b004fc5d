"""``yolo9000 benchmark``: prediction speed, end to end and forward only, against this machine's GEMM peak.

End to end is what ``YOLO.predict`` does from a decoded (H, W, 3) uint8 image: letterbox and stack into
a tensor, forward, decode, NMS, Results. Forward only times the inference module on a ready
(B, 3, imgsz, imgsz) tensor. Both report images/s and per-call latency percentiles (one call = one
batch). The network's cost is counted as darknet counts it: 2*k*k*c_in*c_out*H_out*W_out per
convolution, convolutions only (yolov2-voc at 416: 29.36 GFLOP). The GEMM peak is measured in the
same run, in the benchmark's precision: the best of large ``torch.mm`` calls and, on CPU, oneDNN's
GEMM run as a packed 1x1 convolution (the kernels the network's convolutions use; at 2 threads MKL's
``torch.mm`` stops short of the machine's peak). ``fraction_of_peak`` = images/s x GFLOP/image / peak.

On CUDA every timed call ends in ``torch.cuda.synchronize()``; ``--cuda-graphs`` captures the forward
pass in a CUDA graph (forward-only figures).
"""
from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from yolo9000.checkpoints.loading import RANDOM_WEIGHTS
from yolo9000.devices import resolve_device
from yolo9000.errors import Yolo9000Error
from yolo9000.fields import check_fields, option
from yolo9000.models.darknet import (
    AvgPoolSpec,
    ConvSpec,
    DarknetConfig,
    MaxPoolSpec,
    ReorgSpec,
    RouteSpec,
    imgsz_problem,
    route_sources,
)
from yolo9000.models.inference import PRECISIONS, PackedConv, precision_dtype
from yolo9000.predict.predictor import Predictor
from yolo9000.predict.sources import load_image


# ----------------------------------------------------------------------------- network cost
def conv_flops(config: DarknetConfig, height: int, width: int | None = None) -> int:
    """FLOPs of one image, darknet's count: sum over convolutions of 2*k*k*c_in*c_out*H_out*W_out.

    Walks the layers with darknet's output-size rules (conv ``(n + 2p - k)//s + 1``, maxpool
    ``(n + p - k)//s + 1``, reorg ``n/s``, global avgpool 1, route: its first source's size).

    Args:
        height, width: network input size in pixels (``width`` defaults to ``height``).
    """
    shapes: list[tuple[int, int, int]] = []  # (channels, height, width) after each layer
    c, h, w = config.net.channels, height, height if width is None else width
    total = 0
    for i, spec in enumerate(config.layers):
        if isinstance(spec, ConvSpec):
            h = (h + 2 * spec.padding - spec.size) // spec.stride + 1
            w = (w + 2 * spec.padding - spec.size) // spec.stride + 1
            total += 2 * spec.size * spec.size * c * spec.filters * h * w
            c = spec.filters
        elif isinstance(spec, MaxPoolSpec):
            h = (h + spec.padding - spec.size) // spec.stride + 1
            w = (w + spec.padding - spec.size) // spec.stride + 1
        elif isinstance(spec, RouteSpec):
            sources = route_sources(spec, i)
            c = sum(shapes[j][0] for j in sources)
            h, w = shapes[sources[0]][1:]
        elif isinstance(spec, ReorgSpec):
            c, h, w = c * spec.stride ** 2, h // spec.stride, w // spec.stride
        elif isinstance(spec, AvgPoolSpec):
            h = w = 1
        shapes.append((c, h, w))
    return total


def conv_gflops(config: DarknetConfig, imgsz: int) -> float:
    """:func:`conv_flops` of a square ``imgsz`` input, in GFLOP (1e9)."""
    return conv_flops(config, imgsz) / 1e9


# ----------------------------------------------------------------------------- GEMM peak
@dataclass(frozen=True)
class GemmPeak:
    """Best GEMM rates measured, GFLOP/s: ``torch.mm`` and (CPU) oneDNN as a packed 1x1 convolution."""

    dtype: str
    torch_mm: float
    onednn: float | None

    @property
    def best(self) -> float:
        return max(self.torch_mm, self.onednn or 0.0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_rate_gflops(fn: Callable[[], object], flops: float, seconds: float,
                     device: torch.device = torch.device("cpu")) -> float:
    """Best single-call rate of ``fn`` over ``seconds`` (after one warm-up call), in GFLOP/s."""
    fn()
    _sync(device)
    best, end = 0.0, time.perf_counter() + seconds
    while True:
        t = time.perf_counter()
        fn()
        _sync(device)
        best = max(best, flops / (time.perf_counter() - t) / 1e9)
        if time.perf_counter() >= end:
            return best


def gemm_peak_gflops(seconds: float = 1.5, precision: str = "fp32", device: str | torch.device = "cpu") -> GemmPeak:
    """This machine's GEMM peak in ``precision``, each candidate timed for ``seconds``.

    CPU: ``torch.mm`` on n x n x n (n = 1024, 2048) and oneDNN's convolution as a GEMM (packed 1x1,
    1024 -> 1024 channels on 32x32 and 64x64 maps). CUDA: ``torch.mm`` with n = 4096, 8192.
    """
    dev = torch.device(device)
    dtype = precision_dtype(precision, dev)
    sizes = (4096, 8192) if dev.type == "cuda" else (1024, 2048)
    mm = 0.0
    with torch.inference_mode():
        for n in sizes:
            a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
            mm = max(mm, best_rate_gflops(lambda: torch.mm(a, b), 2 * n ** 3, seconds, dev))
        dnn = None
        if dev.type == "cpu" and torch.backends.mkldnn.is_available():
            dnn = 0.0
            for c, hw in ((1024, 32), (1024, 64)):
                conv = PackedConv(torch.nn.Conv2d(c, c, 1).to(dtype), "linear", (hw, hw))
                x = torch.randn(1, c, hw, hw, dtype=dtype).contiguous(memory_format=torch.channels_last)
                dnn = max(dnn, best_rate_gflops(lambda: conv(x), 2 * c * c * hw * hw, seconds))
    return GemmPeak(precision, mm, dnn)


# ----------------------------------------------------------------------------- timing
def time_calls(fn: Callable[[], object], iters: int, warmup: int, device: torch.device) -> list[float]:
    """Seconds per call of ``fn`` over ``iters`` timed calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return times


def latency_ms(times_s: list[float], q: float) -> float:
    """The ``q``-th percentile of per-call latencies, in milliseconds."""
    return float(np.percentile(np.asarray(times_s) * 1e3, q))


class CudaGraphForward:
    """A forward pass captured once in a CUDA graph for a fixed input shape; ``__call__`` copies the
    input into the captured buffer and replays. (B, 3, H, W) -> the module's output (a static buffer)."""

    def __init__(self, module: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor) -> None:
        self.static_in = example.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(3):
                module(self.static_in)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.inference_mode():
            self.static_out = module(self.static_in)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out


# ----------------------------------------------------------------------------- the benchmark
@dataclass(frozen=True)
class BenchmarkConfig:
    """One benchmark run; the fields are the flags of ``yolo9000 benchmark`` (``peak_seconds`` =
    ``--peak-seconds``), with their defaults and help lines."""

    model: str = option(help="zoo name, darknet .cfg, checkpoint (.pt) or exported .onnx")
    weights: str | None = option(None, "darknet .weights or checkpoint (.pt); none: random weights")
    imgsz: int | None = option(None, "input size; none: the model's own, the size it was trained and validated at")
    batch: int = option(1, "images per forward pass (each timed call predicts one batch)", min=1)
    precision: str = option("fp32", "inference precision: fp32, bf16 or fp16 (CUDA only)", choices=PRECISIONS)
    compile: bool = option(False, "torch.compile the inference copy")
    device: str = option("auto", "cpu, cuda, cuda:N, a GPU index (0) or auto (CUDA when present, else CPU)")
    iters: int = option(20, "timed calls (each one batch)", min=1)
    warmup: int = option(3, "untimed calls first", min=0)
    image: str | None = option(None, "image predicted on; none: a fixed 768x576 noise image")
    conf: float = option(0.25, "score threshold (objectness x P(class))")
    nms: float = option(0.45, "NMS IoU threshold")
    peak_seconds: float = option(1.0, "seconds per GEMM-peak candidate (4 candidates on CPU, 2 on CUDA)")
    cuda_graphs: bool = option(False, "CUDA: replay the forward pass as a CUDA graph")


@dataclass(frozen=True)
class BenchmarkResult:
    """Figures of one run; ``to_json`` gives the documented keys first."""

    images_per_s: float
    latency_ms_p50: float
    latency_ms_p90: float
    gemm_peak_gflops: float
    fraction_of_peak: float
    forward_images_per_s: float
    forward_latency_ms_p50: float
    forward_latency_ms_p90: float
    forward_fraction_of_peak: float
    gflop_per_image: float
    detections_per_image: float
    first_call_s: float
    gemm_peak: dict
    model: str
    weights: str | None
    imgsz: int
    batch: int
    precision: str
    compile: bool
    cuda_graphs: bool
    device: str
    iters: int
    warmup: int
    threads: int
    machine: str
    torch_version: str

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """Human-readable lines."""
        return "\n".join([
            f"{self.model} {self.imgsz}x{self.imgsz} batch {self.batch} {self.precision}"
            f"{' compiled' if self.compile else ''} on {self.device} ({self.machine}, {self.threads} threads, "
            f"torch {self.torch_version})",
            f"  end to end:   {self.images_per_s:7.2f} images/s  p50 {self.latency_ms_p50:7.1f} ms  "
            f"p90 {self.latency_ms_p90:7.1f} ms  {self.fraction_of_peak:6.1%} of peak",
            f"  forward only: {self.forward_images_per_s:7.2f} images/s  p50 {self.forward_latency_ms_p50:7.1f} ms  "
            f"p90 {self.forward_latency_ms_p90:7.1f} ms  {self.forward_fraction_of_peak:6.1%} of peak"
            f"{' (CUDA graph)' if self.cuda_graphs else ''}",
            f"  {self.gflop_per_image:.2f} GFLOP/image; {self.precision} GEMM peak {self.gemm_peak_gflops:.0f} GFLOP/s "
            f"(torch.mm {self.gemm_peak['torch_mm']:.0f}"
            + (f", oneDNN {self.gemm_peak['onednn']:.0f}" if self.gemm_peak.get("onednn") is not None else "")
            + f"); {self.detections_per_image:.1f} detections/image; first call {self.first_call_s:.2f} s",
        ])


def cpu_name() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else the platform's machine type."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _bench_image(path: str | None) -> np.ndarray:
    """The decoded image predicted on: ``path``, or a fixed 576x768 noise image."""
    if path is not None:
        return load_image(path)
    return np.random.default_rng(0).integers(0, 256, (576, 768, 3), dtype=np.uint8)


def check_benchmark_config(cfg: BenchmarkConfig) -> None:
    """One-line errors for values no run can use."""
    check_fields(cfg)  # the choices and ranges of its fields: --iters >= 1, --warmup >= 0, --batch >= 1, ...
    if cfg.cuda_graphs and resolve_device(cfg.device).type != "cuda":
        raise Yolo9000Error(f"--cuda-graphs needs a CUDA device (got {cfg.device})")
    resolve_device(cfg.device)
    if cfg.cuda_graphs and cfg.compile:
        raise Yolo9000Error("--cuda-graphs and --compile: choose one (compile mode reduce-overhead graphs already)")


def run_benchmark(cfg: BenchmarkConfig) -> BenchmarkResult:
    """Load the model, time end to end and forward only, measure the GEMM peak; see the module doc."""
    check_benchmark_config(cfg)
    device = resolve_device(cfg.device)
    onnx = Path(cfg.model).suffix.lower() == ".onnx"  # carries its weights
    weights = RANDOM_WEIGHTS if cfg.weights is None and not onnx else cfg.weights  # speed needs no download
    yolo = Predictor.load(cfg.model, weights, device=device, precision=cfg.precision, compile=cfg.compile)
    stride = yolo.stride
    cfg = replace(cfg, imgsz=yolo.imgsz if cfg.imgsz is None else cfg.imgsz)
    if (problem := imgsz_problem(cfg.imgsz, stride)) is not None:
        raise Yolo9000Error(f"imgsz={cfg.imgsz}: {problem}")
    gflop = conv_gflops(yolo.config, cfg.imgsz)
    images = [_bench_image(cfg.image)] * cfg.batch

    t = time.perf_counter()
    first = yolo.predict(images, imgsz=cfg.imgsz, conf=cfg.conf, nms=cfg.nms, batch=cfg.batch, keep_images=False)
    _sync(device)
    first_call_s = time.perf_counter() - t
    detections = sum(len(r) for r in first) / cfg.batch

    def end_to_end() -> None:
        yolo.predict(images, imgsz=cfg.imgsz, conf=cfg.conf, nms=cfg.nms, batch=cfg.batch, keep_images=False)

    e2e = time_calls(end_to_end, cfg.iters, cfg.warmup, device)

    net = yolo.inference_model()
    x = torch.rand(cfg.batch, 3, cfg.imgsz, cfg.imgsz, device=device)
    if yolo.fuse:
        x = x.contiguous(memory_format=torch.channels_last)
    forward_fn: Callable[[torch.Tensor], torch.Tensor] = net
    if cfg.cuda_graphs:
        forward_fn = CudaGraphForward(net, x)

    def forward() -> None:
        with torch.inference_mode():
            forward_fn(x)

    fwd = time_calls(forward, cfg.iters, cfg.warmup, device)
    peak = gemm_peak_gflops(cfg.peak_seconds, cfg.precision, device)
    e2e_rate = cfg.batch * len(e2e) / sum(e2e)
    fwd_rate = cfg.batch * len(fwd) / sum(fwd)
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return BenchmarkResult(
        images_per_s=e2e_rate, latency_ms_p50=latency_ms(e2e, 50), latency_ms_p90=latency_ms(e2e, 90),
        gemm_peak_gflops=peak.best, fraction_of_peak=e2e_rate * gflop / peak.best,
        forward_images_per_s=fwd_rate, forward_latency_ms_p50=latency_ms(fwd, 50),
        forward_latency_ms_p90=latency_ms(fwd, 90), forward_fraction_of_peak=fwd_rate * gflop / peak.best,
        gflop_per_image=gflop, detections_per_image=detections, first_call_s=first_call_s,
        gemm_peak={"dtype": peak.dtype, "torch_mm": peak.torch_mm, "onednn": peak.onednn},
        model=cfg.model, weights=cfg.weights, imgsz=cfg.imgsz, batch=cfg.batch, precision=cfg.precision,
        compile=cfg.compile, cuda_graphs=cfg.cuda_graphs, device=str(device), iters=cfg.iters, warmup=cfg.warmup,
        threads=torch.get_num_threads(), machine=machine, torch_version=torch.__version__)
