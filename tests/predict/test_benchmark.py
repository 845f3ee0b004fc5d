"""``yolo9000 benchmark``: darknet's FLOP count, the GEMM peak, and a quick run writing its JSON."""
from __future__ import annotations

import argparse
import json

import pytest
import torch

from yolo9000 import Yolo9000Error
from yolo9000.predict.benchmark import BenchmarkConfig, conv_flops, conv_gflops, gemm_peak_gflops, run_benchmark
from yolo9000.cli.benchmark import add_benchmark_parser, cmd_benchmark
from yolo9000.models import Darknet, zoo_config
from yolo9000.models.darknet import ConvBlock

KEYS = ("images_per_s", "latency_ms_p50", "latency_ms_p90", "gemm_peak_gflops", "fraction_of_peak")


def hooked_flops(name: str, h: int, w: int) -> int:
    """An independent count: 2 * output elements * c_in * k * k, read off a real forward pass."""
    model = Darknet(zoo_config(name)).eval()
    total = 0

    def hook(block: ConvBlock, _inputs, out: torch.Tensor) -> None:
        nonlocal total
        c = block.conv
        total += 2 * out.numel() * c.in_channels * c.kernel_size[0] * c.kernel_size[1]

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, ConvBlock)]
    with torch.inference_mode():
        model(torch.zeros(1, 3, h, w))
    for handle in hooks:
        handle.remove()
    return total


def test_darknet_flop_counts() -> None:
    # darknet prints these totals (BFLOPs) when it loads the cfgs
    assert round(conv_gflops(zoo_config("yolov2-voc"), 416), 2) == 29.36
    assert round(conv_gflops(zoo_config("yolov2-tiny-voc"), 416), 2) == 6.97
    assert round(conv_gflops(zoo_config("darknet19"), 224), 2) == 5.58
    for name, h, w in [("yolov2-voc", 320, 416), ("yolov2-tiny-voc", 96, 160), ("darknet19", 256, 224)]:
        assert conv_flops(zoo_config(name), h, w) == hooked_flops(name, h, w)


def test_gemm_peak_is_measured() -> None:
    peak = gemm_peak_gflops(seconds=0.05)
    assert peak.dtype == "fp32" and peak.torch_mm > 0 and peak.best >= peak.torch_mm
    if torch.backends.mkldnn.is_available():
        assert peak.onednn is not None and peak.onednn > 0


def run_cli(args: list[str]) -> int:
    ap = argparse.ArgumentParser()
    add_benchmark_parser(ap.add_subparsers(dest="command"))
    return cmd_benchmark(ap.parse_args(["benchmark", *args]))


def test_quick_benchmark_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert run_cli(["--model", "yolov2-tiny-voc", "--imgsz", "128", "--iters", "2", "--warmup", "1",
                    "--peak-seconds", "0.05", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert all(isinstance(report[k], float) and report[k] > 0 for k in KEYS)
    assert report["latency_ms_p90"] >= report["latency_ms_p50"]
    assert report["forward_images_per_s"] > 0 and report["forward_fraction_of_peak"] > 0
    assert report["gflop_per_image"] == pytest.approx(conv_gflops(zoo_config("yolov2-tiny-voc"), 128))
    assert report["fraction_of_peak"] == pytest.approx(
        report["images_per_s"] * report["gflop_per_image"] / report["gemm_peak_gflops"])
    assert (report["model"], report["imgsz"], report["batch"], report["precision"], report["device"]) == (
        "yolov2-tiny-voc", 128, 1, "fp32", "cpu")
    printed = capsys.readouterr().out
    assert "end to end" in printed and "forward only" in printed and "GEMM peak" in printed


def test_bf16_batch2_benchmark(tiny_voc_weights) -> None:
    r = run_benchmark(BenchmarkConfig("yolov2-tiny-voc", str(tiny_voc_weights), imgsz=96, batch=2,
                                      precision="bf16", iters=2, warmup=1, peak_seconds=0.05))
    assert r.batch == 2 and r.precision == "bf16" and r.gemm_peak["dtype"] == "bf16"
    assert r.images_per_s > 0 and r.forward_images_per_s > 0 and 0 < r.fraction_of_peak


@pytest.mark.parametrize("kwargs, words", [
    ({"iters": 0}, "--iters 0: must be at least 1"),
    ({"batch": 0}, "--batch 0: must be at least 1"),
    ({"cuda_graphs": True}, "CUDA"),
    ({"imgsz": 100}, "multiple of 32"),
])
def test_bad_settings(kwargs: dict, words: str) -> None:
    with pytest.raises(Yolo9000Error) as e:
        run_benchmark(BenchmarkConfig("yolov2-tiny-voc", **kwargs))
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision, graphs", [("fp32", False), ("bf16", True), ("fp16", True)])
def test_cuda_benchmark(precision: str, graphs: bool) -> None:
    r = run_benchmark(BenchmarkConfig("yolov2-tiny-voc", imgsz=224, precision=precision, device="cuda",
                                      iters=3, warmup=2, peak_seconds=0.1, cuda_graphs=graphs))
    assert r.images_per_s > 0 and r.forward_images_per_s > 0 and r.gemm_peak["onednn"] is None
