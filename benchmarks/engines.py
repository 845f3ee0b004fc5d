"""Side by side with the best peers: forward images/s of YOLOv2-VOC at 416 on darknet-free CPU engines.

    .venv/bin/python benchmarks/engines.py [--iters 5] [--warmup 1] [--batches 1 8] [--quick] [--json OUT]

One run times, on one fixed random input per batch size (batch 1 and 8, fp32 and bf16):

* ``yolo9000``: our inference copy (``YOLO(...).inference_model()``: BN folded, channels-last,
  oneDNN-packed weights; bf16 = the folded copy cast to bfloat16, float32 in and out);
* ``lightnet``: EAVISE lightnet 4.0.0's ``lightnet.models.YoloV2(20)`` (5 VOC anchors, the same
  architecture), as a user runs it: eager NCHW, and eager channels-last; bf16 = ``torch.autocast("cpu",
  dtype=torch.bfloat16)`` around the forward;
* ``onnxruntime``: CPU execution provider on OUR ONNX export (``yolo9000.predict.export.export_onnx``, raw head,
  dynamic batch); it has no bf16 path on CPU, so its bf16 rows say n/a;
* ``openvino``: OpenVINO's CPU plugin on the same ONNX file, reshaped to each static batch, with
  ``INFERENCE_PRECISION_HINT`` f32 or bf16; the precision it actually ran (the convolutions' runtime
  precision in the compiled graph) is reported beside the row.

Weights are random (seeded): speed does not depend on them, and lightnet has its own. Parity: on the
same batch-1 input, our fused copy, onnxruntime and OpenVINO are compared with our unfused float32
PyTorch forward (max abs diff of the raw head, and that divided by the head's max magnitude); lightnet's
variants are compared with lightnet's own float32 eager forward. The figures are set against the GEMM
peaks measured in this run by ``yolo9000.predict.benchmark.gemm_peak_gflops`` (the best of ``torch.mm`` and
oneDNN's packed 1x1 convolution, per precision), with darknet's FLOP count (29.36 GFLOP/image).
Timing is ``yolo9000.predict.benchmark.time_calls`` (one call = one batch). Every engine uses as many threads
as there are cores. The peers live in ``benchmarks/.peers-venv`` (see ``_peers.py``): the script
re-executes itself there when they do not import.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import ensure_peers, peer_versions  # noqa: E402

if __name__ == "__main__":
    ensure_peers(("lightnet", "openvino", "onnxruntime"))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from yolo9000 import YOLO  # noqa: E402
from yolo9000.predict.benchmark import conv_gflops, cpu_name, gemm_peak_gflops, latency_ms, time_calls  # noqa: E402
from yolo9000.predict.export import ExportOptions, export_onnx  # noqa: E402

CPU = torch.device("cpu")
IMGSZ = 416


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# ----------------------------------------------------------------------------- engines
# Each engine factory returns (forward: np/torch input -> raw head as float32 numpy, note) or None (n/a).
Forward = Callable[[torch.Tensor], np.ndarray]


def ours(yolo_fp32: YOLO, precision: str) -> tuple[Forward, str]:
    yolo = yolo_fp32 if precision == "fp32" else YOLO.from_module(yolo_fp32.model, yolo_fp32.names, precision=precision)
    net = yolo.inference_model()

    def fwd(x: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return net(x.contiguous(memory_format=torch.channels_last)).float().numpy()
    return fwd, "BN folded, channels-last, oneDNN-packed" + (", bf16 weights" if precision == "bf16" else "")


def lightnet_engine(model: torch.nn.Module, precision: str, channels_last: bool) -> tuple[Forward, str]:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).eval()
    bf16 = precision == "bf16"

    def fwd(x: torch.Tensor) -> np.ndarray:
        x = x.contiguous(memory_format=fmt)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(x).float().numpy()
    return fwd, ("channels-last" if channels_last else "NCHW") + (", torch.autocast bf16" if bf16 else "") + ", BN unfolded"


def onnxruntime_engine(onnx_path: Path, precision: str, threads: int) -> tuple[Forward, str] | None:
    if precision != "fp32":
        return None
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def fwd(x: torch.Tensor) -> np.ndarray:
        return sess.run(None, {name: x.numpy()})[0]
    return fwd, f"CPUExecutionProvider, ORT_ENABLE_ALL, {threads} intra-op threads"


def openvino_engine(onnx_path: Path, precision: str, batch: int, threads: int) -> tuple[Forward, str, str]:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(onnx_path))
    model.reshape({model.inputs[0].get_any_name(): [batch, 3, IMGSZ, IMGSZ]})
    hint = {"fp32": "f32", "bf16": "bf16"}[precision]
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY",
                                                 "INFERENCE_NUM_THREADS": threads})
    used = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # e.g. 'f32', 'bf16'
    conv_prec, kernels = Counter(), Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        if "layerType" in rt and rt["layerType"].astype(str) == "Convolution":
            conv_prec[rt["runtimePrecision"].astype(str)] += 1
            if "primitiveType" in rt:
                kernels[rt["primitiveType"].astype(str)] += 1
    actual = ", ".join(f"{v} in {k}" for k, v in sorted(conv_prec.items())) or "?"
    kern = ", ".join(f"{v} {k}" for k, v in sorted(kernels.items()))
    req = compiled.create_infer_request()

    def fwd(x: torch.Tensor) -> np.ndarray:
        return np.asarray(req.infer({0: x.numpy()})[compiled.outputs[0]], dtype=np.float32)
    note = (f"INFERENCE_PRECISION_HINT {hint} -> compiled {used}; convolutions: {actual} ({kern}); "
            f"{threads} threads, LATENCY hint, static batch {batch}")
    return fwd, note, used


# ----------------------------------------------------------------------------- run
def parity(ref: np.ndarray, out: np.ndarray) -> dict:
    d = float(np.abs(out.astype(np.float64) - ref.astype(np.float64)).max())
    scale = float(np.abs(ref).max())
    return {"max_abs_diff": d, "ref_max_abs": scale, "scaled": d / max(scale, 1e-12)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=5, help="timed calls per row (one call = one batch)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls per row first")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--peak-seconds", type=float, default=1.0, help="seconds per GEMM-peak candidate")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 timed call, no warm-up, short peak")
    ap.add_argument("--json", default=None, help="write every figure here as JSON")
    a = ap.parse_args()
    if a.quick:
        a.iters, a.warmup, a.peak_seconds = 1, 0, 0.2
    threads = cores()
    torch.set_num_threads(threads)
    up_start = uptime()
    print(f"engines: yolov2-voc {IMGSZ}x{IMGSZ}, random weights, {threads} threads, {cpu_name()}", flush=True)
    print(f"uptime at start: {up_start}", flush=True)
    versions = peer_versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)

    import lightnet as ln

    torch.manual_seed(0)
    yolo = YOLO("yolov2-voc", weights="random", device="cpu")  # random weights, 20 VOC classes, 5 anchors
    yolo.model.eval()
    torch.manual_seed(0)
    lnet = ln.models.YoloV2(20).eval()  # random (lightnet's init), 20 classes, 5 VOC anchors
    params = {"yolo9000 yolov2-voc": sum(p.numel() for p in yolo.model.parameters()),
              "lightnet YoloV2(20)": sum(p.numel() for p in lnet.parameters())}
    gflop = conv_gflops(yolo.config, IMGSZ)
    print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items())
          + f"; {gflop:.2f} GFLOP/image (darknet's count)", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="yolo9000-engines-"))
    onnx_path = tmp / "yolov2-voc.onnx"
    t = time.perf_counter()
    rep = export_onnx(yolo.model, onnx_path, yolo.names, ExportOptions(imgsz=IMGSZ, batch=1, dynamic=True))
    print(f"exported ({time.perf_counter() - t:.1f} s): {rep.summary()}", flush=True)

    gen = torch.Generator().manual_seed(0)
    inputs = {b: torch.rand(b, 3, IMGSZ, IMGSZ, generator=gen) for b in sorted(set(a.batches) | {1})}
    with torch.inference_mode():
        ref_ours = yolo.model(inputs[1]).float().numpy()  # unfused float32 PyTorch: the reference
        ref_ln = lnet(inputs[1]).float().numpy()

    rows, checks = [], []
    specs = [("yolo9000", "ours"), ("lightnet", "eager"), ("lightnet", "channels-last"),
             ("onnxruntime", "our ONNX"), ("openvino", "our ONNX")]
    for engine, variant in specs:
        for precision in ("fp32", "bf16"):
            for batch in a.batches:
                used = precision
                if engine == "yolo9000":
                    made = ours(yolo, precision)
                elif engine == "lightnet":
                    made = lightnet_engine(lnet, precision, variant == "channels-last")
                elif engine == "onnxruntime":
                    made = onnxruntime_engine(onnx_path, precision, threads)
                else:
                    fwd, note, used_hint = openvino_engine(onnx_path, precision, batch, threads)
                    made = (fwd, note)
                    used = {"f32": "fp32", "bf16": "bf16"}.get(used_hint, used_hint)
                row = {"engine": engine, "variant": variant, "precision": precision, "batch": batch}
                if made is None:
                    row.update(images_per_s=None, ms_p50=None, fraction_of_peak=None,
                               note="no bf16 path on the CPU execution provider")
                    rows.append(row)
                    print(f"  {engine:11s} {variant:13s} {precision} b{batch}: n/a", flush=True)
                    continue
                fwd, note = made
                if batch == 1:  # parity on the shared batch-1 input
                    out = fwd(inputs[1])
                    ref, against = (ref_ln, "lightnet fp32 eager") if engine == "lightnet" else \
                        (ref_ours, "yolo9000 unfused fp32 PyTorch")
                    checks.append({"engine": engine, "variant": variant, "precision": precision,
                                   "against": against, **parity(ref, out)})
                x = inputs[batch]
                times = time_calls(lambda: fwd(x), a.iters, a.warmup, CPU)
                rate = batch * len(times) / sum(times)
                row.update(images_per_s=rate, ms_p50=latency_ms(times, 50), precision_used=used, note=note,
                           times_s=times)
                rows.append(row)
                print(f"  {engine:11s} {variant:13s} {precision} b{batch}: {rate:6.2f} images/s, "
                      f"p50 {row['ms_p50']:.0f} ms ({note})", flush=True)

    print("measuring the GEMM peaks (fp32, bf16) ...", flush=True)
    peaks = {p: gemm_peak_gflops(a.peak_seconds, p, CPU) for p in ("fp32", "bf16")}
    for row in rows:
        if row["images_per_s"] is not None:
            peak = peaks.get(row.get("precision_used"), peaks[row["precision"]]).best
            row["fraction_of_peak"] = row["images_per_s"] * gflop / peak
    up_end = uptime()

    lines = ["| engine | precision | batch | images/s | ms per batch (p50) | of GEMM peak |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        name = f"{r['engine']} ({r['variant']})"
        prec = r["precision"] if r.get("precision_used", r["precision"]) == r["precision"] else \
            f"{r['precision']} (ran {r['precision_used']})"
        if r["images_per_s"] is None:
            lines.append(f"| {name} | {prec} | {r['batch']} | n/a | n/a | n/a |")
        else:
            lines.append(f"| {name} | {prec} | {r['batch']} | {r['images_per_s']:.2f} | {r['ms_p50']:.0f} | "
                         f"{r['fraction_of_peak']:.1%} |")
    table = "\n".join(lines)
    plines = ["| engine | precision | compared with | max abs diff (raw head) | / max abs of reference |",
              "| --- | --- | --- | ---: | ---: |"]
    for c in checks:
        plines.append(f"| {c['engine']} ({c['variant']}) | {c['precision']} | {c['against']} | "
                      f"{c['max_abs_diff']:.3g} | {c['scaled']:.2e} |")
    ptable = "\n".join(plines)
    notes = sorted({f"- {r['engine']} ({r['variant']}) {r['precision']}: {r['note']}" for r in rows})
    print()
    print(f"## Forward speed, yolov2-voc {IMGSZ}x{IMGSZ} ({gflop:.2f} GFLOP/image), random weights, "
          f"{threads} threads, {cpu_name()}")
    print(f"GEMM peaks this run: fp32 {peaks['fp32'].best:.0f} GFLOP/s (torch.mm {peaks['fp32'].torch_mm:.0f}, "
          f"oneDNN {peaks['fp32'].onednn or 0:.0f}); bf16 {peaks['bf16'].best:.0f} GFLOP/s (torch.mm "
          f"{peaks['bf16'].torch_mm:.0f}, oneDNN {peaks['bf16'].onednn or 0:.0f}). iters {a.iters}, warmup {a.warmup}.")
    print(f"uptime at start: {up_start}\nuptime at end:   {up_end}\n")
    print(table)
    print("\nParity on one batch-1 input (random weights; lightnet has its own, so it is compared with itself):\n")
    print(ptable)
    print("\nParameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    print("\nEngine settings:\n" + "\n".join(notes))
    if a.json:
        out = {"model": "yolov2-voc", "imgsz": IMGSZ, "weights": "random (seeded)", "gflop_per_image": gflop,
               "threads": threads, "machine": cpu_name(), "uptime_start": up_start, "uptime_end": up_end,
               "iters": a.iters, "warmup": a.warmup, "versions": versions, "parameters": params,
               "gemm_peak_gflops": {p: {"best": g.best, "torch_mm": g.torch_mm, "onednn": g.onednn}
                                    for p, g in peaks.items()},
               "rows": rows, "parity": checks, "table_markdown": table, "parity_markdown": ptable}
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"\nwrote {a.json}")
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
