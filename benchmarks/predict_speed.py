"""Prediction speed: images/s at 416, batch 1, end to end from a decoded image to Results, float32.

For each model, also the forward pass alone, the network's FLOPs, and the fraction of this machine's
float32 GEMM throughput (measured in the same run with large torch.mm calls) that the end-to-end rate
reaches. Weights: the darknet reference weights if ``--weights-dir`` holds them (so detections are
realistic in number), else darknet's random initialisation.

usage: python benchmarks/predict_speed.py [--models yolov2-voc yolov2-tiny-voc] [--seconds 15] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from yolo9000 import YOLO
from yolo9000.inference import PackedConv
from yolo9000.models.darknet import ConvBlock
from yolo9000.sources import load_image

ROOT = Path(__file__).resolve().parents[1]
WEIGHT_FILE = {"yolov2-voc": "yolov2-voc", "yolov2-coco": "yolov2", "yolov2-tiny-voc": "yolov2-tiny-voc",
               "yolo9000": "yolo9000"}


def _best_rate(fn, flops: float, seconds: float) -> float:
    fn()
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        fn()
        best = max(best, flops / (time.perf_counter() - t) / 1e9)
    return best


def gemm_peak_gflops(seconds: float = 1.5) -> tuple[float, float]:
    """Best float32 GEMM rate: (torch.mm over n x n x n, oneDNN's GEMM as a packed 1x1 convolution).

    MKL's torch.mm falls short of the machine's float32 peak at 2 threads; oneDNN's kernels (the ones
    the network's convolutions run on) reach it, so the fraction of peak is taken against the larger.
    """
    mm = 0.0
    for n in (1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        mm = max(mm, _best_rate(lambda: torch.mm(a, b), 2 * n ** 3, seconds))
    dnn = 0.0
    with torch.inference_mode():
        for c, hw in ((1024, 32), (1024, 64)):
            conv = PackedConv(torch.nn.Conv2d(c, c, 1), "linear", (hw, hw))
            x = torch.randn(1, c, hw, hw).contiguous(memory_format=torch.channels_last)
            dnn = max(dnn, _best_rate(lambda: conv(x), 2 * c * c * hw * hw, seconds))
    return mm, dnn


def model_gflops(model: torch.nn.Module, size: int) -> float:
    """Multiply-adds x 2 of every convolution at a square input."""
    total = 0

    def hook(mod: ConvBlock, _inp, out: torch.Tensor) -> None:
        nonlocal total
        c = mod.conv
        total += 2 * out.numel() * c.in_channels * c.kernel_size[0] * c.kernel_size[1]
    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, ConvBlock)]
    with torch.inference_mode():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total / 1e9


def rate(fn, seconds: float, warmup: int = 2) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return len(times) / sum(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["yolov2-voc", "yolov2-tiny-voc"])
    ap.add_argument("--imgsz", type=int, default=416)
    ap.add_argument("--seconds", type=float, default=15.0, help="timing window per measurement")
    ap.add_argument("--image", default=str(ROOT.parent / "shared/reference/darknet/images/dog.jpg"))
    ap.add_argument("--weights-dir", default=str(ROOT / ".cache/reference-weights"))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    image = load_image(a.image) if Path(a.image).is_file() else np.random.default_rng(0).integers(
        0, 256, (576, 768, 3), dtype=np.uint8)
    mm, dnn = gemm_peak_gflops()
    peak = max(mm, dnn)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; float32 GEMM peak {peak:.0f} GFLOP/s "
          f"(torch.mm {mm:.0f}, oneDNN {dnn:.0f})")
    report = {"gemm_peak_gflops": peak, "gemm_torch_mm_gflops": mm, "gemm_onednn_gflops": dnn, "imgsz": a.imgsz, "threads": torch.get_num_threads(), "models": {}}
    for name in a.models:
        w = Path(a.weights_dir) / f"{WEIGHT_FILE.get(name, name)}.weights"
        yolo = YOLO(name, weights=w if w.is_file() else None)
        gflops = model_gflops(yolo.model, a.imgsz)
        x = torch.rand(1, 3, a.imgsz, a.imgsz)
        fast = yolo.inference_model()
        x_cl = x.contiguous(memory_format=torch.channels_last)

        def forward() -> None:
            with torch.inference_mode():
                fast(x_cl)

        def plain_forward() -> None:
            with torch.inference_mode():
                yolo.model(x)

        def end_to_end() -> None:
            yolo.predict(image, imgsz=a.imgsz, conf=0.25, nms=0.45)

        fwd_rate, _ = rate(forward, a.seconds)
        plain_rate, _ = rate(plain_forward, a.seconds / 2)
        e2e_rate, times = rate(end_to_end, a.seconds)
        frac = e2e_rate * gflops / peak
        p50, p90 = (float(np.percentile(np.array(times) * 1e3, q)) for q in (50, 90))
        print(f"{name:>16}: {e2e_rate:6.2f} images/s end to end (p50 {p50:.0f} ms, p90 {p90:.0f} ms), "
              f"forward alone {fwd_rate:6.2f}/s (unfused nn.Module {plain_rate:.2f}/s); {gflops:.2f} GFLOP/image -> {frac:.0%} of GEMM peak"
              f"{'' if w.is_file() else ' (random weights)'}")
        report["models"][name] = {"images_per_s": e2e_rate, "forward_per_s": fwd_rate, "plain_forward_per_s": plain_rate, "gflop_per_image": gflops,
                                  "fraction_of_peak": frac, "latency_ms_p50": p50, "latency_ms_p90": p90}
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
