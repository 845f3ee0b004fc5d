"""Where the forward time goes: every convolution of the inference copy, timed in place, against the
machine's GEMM peak; and how far an algorithmic shortcut (Winograd F(2x2, 3x3)) could move the ceiling.

Per layer: milliseconds per call (batch 1), darknet's FLOP count, GFLOP/s and the fraction of the GEMM
peak measured in the same run (``yolo9000.predict.benchmark.gemm_peak_gflops``). The total gives the ceiling
on images/s for direct convolution: GFLOP per image / peak.

Winograd F(2x2, 3x3) turns a 3x3 stride-1 convolution into 16 independent GEMMs of
(tiles x C_in) @ (C_in x C_out), tiles = ceil(H/2) * ceil(W/2): 2.25x fewer multiplications on even
sizes (1.94x at 13x13). The column ``wino_gemm_ms`` times only those 16 GEMMs (one ``torch.bmm``), without
the input and output transforms, so ``best_case`` (each 3x3 layer at min(direct, Winograd GEMMs), every
other layer as measured) is a lower bound on what a Winograd path could reach.

usage: python benchmarks/layer_profile.py [--model yolov2-voc] [--imgsz 416] [--precision bf16]
                                          [--iters 20] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import torch

from yolo9000 import YOLO
from yolo9000.predict.benchmark import cpu_name, gemm_peak_gflops, time_calls
from yolo9000.models.inference import fuse_for_inference, precision_dtype
from yolo9000.models.darknet import conv_blocks


def profile_convs(net: torch.nn.Module, x: torch.Tensor, iters: int) -> tuple[list[dict], float]:
    """Time every ConvBlock of ``net`` inside full forward passes on ``x`` (B, 3, H, W).

    Returns one dict per conv (shapes, kernel, stride, ms per call) and the mean forward time in ms.
    """
    blocks = conv_blocks(net)
    start: dict[int, float] = {}
    spent: dict[int, float] = defaultdict(float)
    shapes: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    handles = []
    for i, block in enumerate(blocks):
        handles.append(block.register_forward_pre_hook(lambda m, a, i=i: start.__setitem__(i, time.perf_counter())))

        def after(m, a, out, i=i):
            spent[i] += time.perf_counter() - start[i]
            shapes[i] = (tuple(a[0].shape), tuple(out.shape))
        handles.append(block.register_forward_hook(after))
    with torch.inference_mode():
        for _ in range(3):
            net(x)
        spent.clear()
        t0 = time.perf_counter()
        for _ in range(iters):
            net(x)
        forward_ms = (time.perf_counter() - t0) / iters * 1e3
    for h in handles:
        h.remove()
    rows = []
    for i, block in enumerate(blocks):
        conv = block.conv
        (_, c_in, _, _), (_, c_out, h_out, w_out) = shapes[i]
        k = conv.kernel_size[0]
        rows.append({"layer": i, "kernel": k, "stride": conv.stride[0], "c_in": c_in, "c_out": c_out,
                     "h_out": h_out, "w_out": w_out, "ms": spent[i] / iters * 1e3,
                     "gflop": 2 * k * k * c_in * c_out * h_out * w_out / 1e9})
    return rows, forward_ms


def winograd_gemm_ms(c_in: int, c_out: int, h: int, w: int, dtype: torch.dtype, iters: int) -> float:
    """Milliseconds for the 16 GEMMs of Winograd F(2x2, 3x3) on one (c_in, h, w) image: one
    ``torch.bmm`` of (16, tiles, c_in) @ (16, c_in, c_out); transforms not included."""
    tiles = ((h + 1) // 2) * ((w + 1) // 2)
    v = torch.randn(16, tiles, c_in).to(dtype)
    u = torch.randn(16, c_in, c_out).to(dtype)
    with torch.inference_mode():
        times = time_calls(lambda: torch.bmm(v, u), iters, warmup=3, device=v.device)
    return sum(times) / len(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="yolov2-voc")
    ap.add_argument("--imgsz", type=int, default=416)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="bf16")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    a = ap.parse_args()

    dtype = precision_dtype(a.precision)
    net = fuse_for_inference(YOLO(a.model, weights="random").model, dtype=dtype)  # timing: any weights
    x = torch.rand(1, 3, a.imgsz, a.imgsz).to(dtype).contiguous(memory_format=torch.channels_last)
    rows, forward_ms = profile_convs(net, x, a.iters)
    peak = gemm_peak_gflops(precision=a.precision).best

    print(f"{a.model} at {a.imgsz}, batch 1, {a.precision}, {cpu_name()}, {torch.get_num_threads()} threads; "
          f"GEMM peak {peak:.0f} GFLOP/s")
    print(f"{'layer':>5} {'k/s':>4} {'c_in->c_out':>12} {'out':>7} {'ms':>7} {'GFLOP':>6} {'GFLOP/s':>8} "
          f"{'of peak':>7} {'wino_gemm_ms':>12}")
    best_ms = 0.0
    for r in rows:
        r["gflops_per_s"] = r["gflop"] / r["ms"] * 1e3
        winograd = r["kernel"] == 3 and r["stride"] == 1 and r["c_in"] >= 16
        r["wino_gemm_ms"] = (winograd_gemm_ms(r["c_in"], r["c_out"], r["h_out"], r["w_out"], dtype, a.iters)
                             if winograd else None)
        best_ms += min(r["ms"], r["wino_gemm_ms"] or r["ms"])
        wino = f"{r['wino_gemm_ms']:12.2f}" if r["wino_gemm_ms"] is not None else f"{'-':>12}"
        print(f"{r['layer']:5d} {r['kernel']}/{r['stride']:<2d} {r['c_in']:5d}->{r['c_out']:<6d} "
              f"{r['h_out']:3d}x{r['w_out']:<3d} {r['ms']:7.2f} {r['gflop']:6.2f} {r['gflops_per_s']:8.0f} "
              f"{r['gflops_per_s'] / peak:7.0%} {wino}")
    conv_ms = sum(r["ms"] for r in rows)
    gflop = sum(r["gflop"] for r in rows)
    other_ms = forward_ms - conv_ms
    summary = {
        "model": a.model, "imgsz": a.imgsz, "precision": a.precision, "cpu": cpu_name(),
        "threads": torch.get_num_threads(), "gemm_peak_gflops": peak, "gflop_per_image": gflop,
        "forward_ms": forward_ms, "conv_ms": conv_ms, "conv_fraction_of_peak": gflop / conv_ms * 1e3 / peak,
        "ceiling_images_per_s": peak / gflop,
        "winograd_best_case_forward_ms": best_ms + other_ms,
        "winograd_best_case_images_per_s": 1e3 / (best_ms + other_ms),
    }
    print(f"forward {forward_ms:.1f} ms ({1e3 / forward_ms:.2f} images/s), convolutions {conv_ms:.1f} ms at "
          f"{summary['conv_fraction_of_peak']:.0%} of peak; direct-convolution ceiling "
          f"{summary['ceiling_images_per_s']:.2f} images/s ({gflop:.2f} GFLOP at {peak:.0f} GFLOP/s)")
    print(f"Winograd F(2x2,3x3) best case (GEMMs only, no transforms): {summary['winograd_best_case_forward_ms']:.1f} ms "
          f"forward = {summary['winograd_best_case_images_per_s']:.2f} images/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "layers": rows}, f, indent=1)


if __name__ == "__main__":
    main()
