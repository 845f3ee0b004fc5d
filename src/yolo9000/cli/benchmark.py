"""``yolo9000 benchmark``: end-to-end and forward speed against the GEMM peak."""
from __future__ import annotations

import argparse
import sys

from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.fileio import check_outputs, write_json
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
    """Add ``benchmark --model M [--json OUT]`` with the flags of :class:`BenchmarkConfig` (``--weights``,
    ``--imgsz``, ``--batch``, ``--precision``, ``--compile``, ``--device``, ``--iters``, ``--warmup``,
    ``--image``, ``--conf``, ``--nms``, ``--peak-seconds``, ``--cuda-graphs``)."""
    p = sub.add_parser("benchmark", help="prediction speed: images/s, latency, fraction of the GEMM peak",
                       description="Time prediction end to end (letterbox, network, decode, NMS) and the forward "
                                   "pass alone, and compare the network's arithmetic rate with this machine's "
                                   "measured matrix-multiply peak.")
    add_dataclass_args(p, BenchmarkConfig)
    p.add_argument("--json", default=None, help="write the figures as JSON here")


def cmd_benchmark(a: argparse.Namespace) -> int:
    """Run the benchmark, print the summary, write the JSON."""
    cfg = dataclass_from_args(BenchmarkConfig, a)
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
