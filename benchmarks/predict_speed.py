"""Prediction speed: images/s at 416, batch 1, end to end from a decoded image to Results, float32.

For each model, also the forward pass alone, the network's FLOPs, and the fraction of this machine's
float32 GEMM throughput (measured in the same run by ``yolo9000.predict.benchmark.gemm_peak_gflops``: large
torch.mm calls and oneDNN's GEMM) that the end-to-end rate reaches. ``yolo9000 benchmark`` measures
one configuration (any precision, compile, batch) with the same functions. Weights: the darknet reference weights if ``--weights-dir`` holds them (so detections are
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
from yolo9000.predict.benchmark import conv_gflops, gemm_peak_gflops
from yolo9000.predict.sources import load_image

ROOT = Path(__file__).resolve().parents[1]
WEIGHT_FILE = {"yolov2-voc": "yolov2-voc", "yolov2-coco": "yolov2", "yolov2-tiny-voc": "yolov2-tiny-voc",
               "yolo9000": "yolo9000"}


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
    gemm = gemm_peak_gflops()
    mm, dnn, peak = gemm.torch_mm, gemm.onednn or 0.0, gemm.best
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; float32 GEMM peak {peak:.0f} GFLOP/s "
          f"(torch.mm {mm:.0f}, oneDNN {dnn:.0f})")
    report = {"gemm_peak_gflops": peak, "gemm_torch_mm_gflops": mm, "gemm_onednn_gflops": dnn, "imgsz": a.imgsz, "threads": torch.get_num_threads(), "models": {}}
    for name in a.models:
        w = Path(a.weights_dir) / f"{WEIGHT_FILE.get(name, name)}.weights"
        yolo = YOLO(name, weights=w if w.is_file() else None)
        gflops = conv_gflops(yolo.config, a.imgsz)
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
