"""``yolo9000 benchmark``: end-to-end and forward speed against the GEMM peak."""
from __future__ import annotations

import argparse
import sys

from yolo9000.fileio import check_outputs, write_json
from yolo9000.models.inference import PRECISIONS
from yolo9000.predict.benchmark import (
    BenchmarkConfig,
    BenchmarkResult,
    CudaGraphForward,
    GemmPeak,
    conv_flops,
    conv_gflops,
    gemm_peak_gflops,
    run_benchmark,
    time_calls,
)


# ----------------------------------------------------------------------------- CLI
def add_benchmark_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``benchmark --model M [--weights W] [--imgsz] [--batch] [--precision] [--compile] [--device]
    [--iters] [--warmup] [--image] [--peak-seconds] [--cuda-graphs] [--json OUT]``."""
    d = BenchmarkConfig(model="")
    p = sub.add_parser("benchmark", help="prediction speed: images/s, latency, fraction of the GEMM peak",
                       description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--model", required=True, help="zoo name, darknet .cfg, checkpoint (.pt) or exported .onnx")
    p.add_argument("--weights", default=None, help="darknet .weights or checkpoint (.pt); default random weights")
    p.add_argument("--imgsz", type=int, default=d.imgsz,
                   help="input size (default: the model's own, the size it was trained and validated at)")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    p.add_argument("--compile", action="store_true", help="torch.compile the inference copy")
    p.add_argument("--device", default=d.device)
    p.add_argument("--iters", type=int, default=d.iters, help="timed calls (each one batch)")
    p.add_argument("--warmup", type=int, default=d.warmup, help="untimed calls first")
    p.add_argument("--image", default=None, help="image predicted on (default: a fixed 768x576 noise image)")
    p.add_argument("--conf", type=float, default=d.conf)
    p.add_argument("--nms", type=float, default=d.nms)
    p.add_argument("--peak-seconds", type=float, default=d.peak_seconds,
                   help="seconds per GEMM-peak candidate (4 candidates on CPU, 2 on CUDA)")
    p.add_argument("--cuda-graphs", action="store_true", help="CUDA: replay the forward pass as a CUDA graph")
    p.add_argument("--json", default=None, help="write the figures as JSON here")


def cmd_benchmark(a: argparse.Namespace) -> int:
    """Run the benchmark, print the summary, write the JSON."""
    cfg = BenchmarkConfig(model=a.model, weights=a.weights, imgsz=a.imgsz, batch=a.batch, precision=a.precision,
                          compile=a.compile, device=a.device, iters=a.iters, warmup=a.warmup, image=a.image,
                          conf=a.conf, nms=a.nms, peak_seconds=a.peak_seconds, cuda_graphs=a.cuda_graphs)
    check_outputs({"--json": a.json}, reads=[a.model, a.weights, a.image])
    result = run_benchmark(cfg)
    print(result.summary())
    if a.weights is None and not str(a.model).endswith((".pt", ".pth", ".ckpt", ".onnx")):
        print("yolo9000: warning: no --weights: random weights (detection counts, hence NMS time, are not "
              "representative)", file=sys.stderr)
    if a.json:
        write_json(result.to_json(), a.json)
    return 0


__all__ = ["BenchmarkConfig", "BenchmarkResult", "CudaGraphForward", "GemmPeak", "add_benchmark_parser",
           "cmd_benchmark", "conv_flops", "conv_gflops", "gemm_peak_gflops", "run_benchmark", "time_calls"]
