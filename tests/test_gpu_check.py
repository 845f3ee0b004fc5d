"""benchmarks/gpu_check.py: the no-CUDA exit, a CPU smoke run of its sections at toy sizes, and (marker
``gpu``) the real run on a CUDA device."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from .conftest import CACHE, ROOT

SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
CPU_SECTIONS = ["parity", "precision", "cuda_graphs", "benchmark", "train_amp", "joint"]


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = mod  # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


gc = _load()


def test_without_cuda_exits_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    p = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0] == gc.NO_CUDA, p.stderr
    assert p.stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unknown_section_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as e:
        gc.main(["--out", str(tmp_path / "x.json"), "--sections", "parity,nope"])
    assert e.value.code == 2
    assert not (tmp_path / "x.json").exists()


def _check_structure(report: dict, sections: list[str], device: str) -> None:
    assert report["complete"] is True
    assert list(report["sections"]) == sections
    env = report["environment"]
    for k in ("torch", "cuda", "cudnn", "python", "device", "gpu_name", "gpu_count", "fp32_precision_default"):
        assert k in env, k
    assert env["torch"] == torch.__version__ and env["device"] == device
    for name, res in report["sections"].items():
        assert res["ok"] is True, (name, res.get("error"), res.get("traceback"))
        assert isinstance(res["seconds"], float) and res["seconds"] >= 0
        assert "peak_gpu_memory_bytes" in res
        assert all(v is True for v in res.get("checks", {}).values()), (name, res["checks"])
    assert report["summary"]["sections_failed"] == []


def test_cpu_smoke_run_of_the_sections(tmp_path: Path) -> None:
    """Every section except ddp (its subprocesses take half a minute on two cores; see the slow test) at
    toy sizes on the CPU, through the same functions the GPU run calls; figures are not judged."""
    out = tmp_path / "report.json"
    lines: list[str] = []
    t = time.perf_counter()
    report = gc.run_check(out, CPU_SECTIONS, torch.device("cpu"), gc.Plan.small(), CACHE, budget_s=600,
                          progress=lines.append)
    seconds = time.perf_counter() - t
    on_disk = json.loads(out.read_text())
    assert on_disk["sections"].keys() == report["sections"].keys()
    _check_structure(on_disk, CPU_SECTIONS, "cpu")
    assert len(lines) == len(CPU_SECTIONS) and all(line.startswith("gpu_check: [") for line in lines)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file behind
    s = on_disk["sections"]
    case = s["parity"]["cases"]["yolov2-tiny-voc_416_dog"]["strict_fp32"]
    assert case["head_vs_cpu"] == 0.0 and case["dets_vs_darknet"]["parity_rule"]
    assert s["parity"]["cases"]["yolov2-tiny-voc_416_dog"]["predict_api_fused_fp32"]["parity_rule"]
    assert "bf16" in s["precision"]["cases"]["yolov2-tiny-voc_416_dog"]
    assert s["precision"]["skipped"] == {"fp16": "float16 inference needs CUDA"}
    assert "skipped" in s["cuda_graphs"]
    assert s["benchmark"]["runs"]["bf16_b1"]["images_per_s"] > 0
    assert set(on_disk["targets"]) == {"batch1_bf16_images_per_s", "batch1_bf16_latency_ms"}
    assert s["train_amp"]["steps"] == gc.Plan.small().train_steps and s["train_amp"]["amp"] is False
    assert s["joint"]["steps"] == gc.Plan.small().joint_steps
    print(f"CPU smoke run: {seconds:.1f} s")


def test_a_failing_section_is_recorded_and_the_others_run(tmp_path: Path, monkeypatch) -> None:
    def boom(ctx):
        raise ValueError("boom")

    def fine(ctx):
        return {"value": float("nan"), "checks": {"holds": True}}

    def wrong(ctx):
        return {"checks": {"holds": False}}

    monkeypatch.setattr(gc, "SECTION_FUNCS", {"parity": boom, "precision": fine, "joint": wrong})
    out = tmp_path / "r.json"
    report = gc.run_check(out, ["parity", "precision", "joint"], torch.device("cpu"), gc.Plan.small(), CACHE,
                          budget_s=60, progress=lambda line: None)
    r = json.loads(out.read_text())["sections"]
    assert r["parity"]["ok"] is False and r["parity"]["error"] == "ValueError: boom"
    assert any("boom" in line for line in r["parity"]["traceback"])
    assert r["precision"]["ok"] is True and r["precision"]["value"] == "nan"  # strict JSON: no bare NaN
    assert r["joint"]["ok"] is False and "holds" in r["joint"]["error"]
    assert report["summary"]["sections_failed"] == ["parity", "joint"]


@pytest.mark.slow
def test_cpu_smoke_run_of_ddp(tmp_path: Path) -> None:
    """The ddp section on the CPU: a gloo DDP worker under torchrun and the trainer under torchrun."""
    out = tmp_path / "report.json"
    gc.run_check(out, ["ddp"], torch.device("cpu"), gc.Plan.small(), CACHE, budget_s=600, progress=lambda s: None)
    report = json.loads(out.read_text())
    _check_structure(report, ["ddp"], "cpu")
    w = report["sections"]["ddp"]["workers"]["world1"]
    assert w["backend"] == "gloo" and w["all_reduce_ok"] and w["weights_equal_across_ranks"]
    assert report["sections"]["ddp"]["cli_train"]["world1"]["returncode"] == 0


def _gpu_run(tmp_path: Path, *extra: str, timeout: int) -> dict:
    out = tmp_path / "gpu.json"
    p = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *extra], capture_output=True, text=True,
                       timeout=timeout)
    assert out.is_file(), p.stderr[-3000:]
    report = json.loads(out.read_text())
    failed = {n: (r.get("error"), r.get("traceback")) for n, r in report["sections"].items() if not r["ok"]}
    assert not failed and p.returncode == 0, (failed, p.stderr[-3000:])
    return report


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_check_tiny_on_cuda(tmp_path: Path) -> None:
    report = _gpu_run(tmp_path, "--tiny", timeout=300)
    _check_structure(report, list(gc.SECTIONS), "cuda:0")
    assert report["environment"]["gpu_name"]
    assert all(r["peak_gpu_memory_bytes"] is not None for r in report["sections"].values())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_check_full_on_cuda(tmp_path: Path) -> None:
    """The real run: every section ok within 8 minutes; the speed targets are reported, not asserted."""
    t = time.perf_counter()
    report = _gpu_run(tmp_path, timeout=600)
    assert time.perf_counter() - t < 8 * 60
    _check_structure(report, list(gc.SECTIONS), "cuda:0")
    s = report["sections"]
    assert {"bf16", "fp16"} <= set(next(iter(s["precision"]["cases"].values())))
    assert s["train_amp"]["steps"] == 100 and s["train_amp"]["amp"] is True
    assert s["joint"]["steps"] == 20
    assert set(report["targets"]) == {"batch256_bf16_images_per_s", "batch1_bf16_latency_ms"}
