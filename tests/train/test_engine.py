"""The one training engine, for classification and YOLO9000 joint training (detection has the same checks in
test_detect.py and test_distributed.py): exact resume with EMA, DDP equal to subdivisions, bfloat16 on CPU,
the run-safety rules and the non-finite stop."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000.datasets.shapes import make_shapes, render
from yolo9000.errors import Yolo9000Error
from yolo9000.train.classify import ClassifyConfig, train_classifier
from yolo9000.train.joint import JointConfig, demo_cfg_text, train_joint

from tests.train.test_classify import SMALL_CLASSIFIER

TREE = ["polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A 2-class ImageFolder (8 + 8 training images) and a joint problem (8 detection images, 9 classification
    images in a 7-node tree), with their small networks."""
    root = tmp_path_factory.mktemp("engine")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 3)):
        for name, channel in (("blue", 2), ("red", 0)):
            (root / "folder" / split / name).mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 90, (40, 48, 3), dtype=np.uint8)
                img[..., channel] = rng.integers(150, 256, (40, 48), dtype=np.uint8)
                Image.fromarray(img).save(root / "folder" / split / name / f"{i}.png")
    (root / "cls.cfg").write_text(SMALL_CLASSIFIER)
    tree = root / "shapes.tree"
    tree.write_text("\n".join(TREE) + "\n")
    det = make_shapes(root / "det", n_train=8, n_val=4, size=64, seed=0, classes=("triangle", "square", "circle"))
    for c in ("pentagon", "ellipse", "polygon"):
        (root / "cls" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(render(1, "train", i, 64, ("pentagon" if c == "polygon" else c,)).pixels).save(
                root / "cls" / c / f"{i}.png")
    (root / "joint.cfg").write_text(demo_cfg_text(str(tree), len(TREE), 64, anchors=(0.5, 0.5, 1.0, 1.0, 1.6, 1.6)))
    return {"folder": root / "folder", "cls_cfg": root / "cls.cfg", "det": det, "cls": root / "cls",
            "joint_cfg": root / "joint.cfg"}


def _job(task: str, sets: dict[str, Path], project: Path, **kw: Any) -> tuple[Any, Callable[[Any], Path]]:
    """(config, trainer) of a small run of ``task``: 2 epochs, batch 4, fixed size, no TensorBoard."""
    if task == "classify":
        cfg = ClassifyConfig(data=str(sets["folder"]), model=str(sets["cls_cfg"]), imgsz=32, batch=4, epochs=2,
                             lr=0.01, workers=0, tensorboard=False, project=str(project), name="c")
        return replace(cfg, **kw), train_classifier
    cfg = JointConfig(data=str(sets["det"]), cls_data=str(sets["cls"]), model=str(sets["joint_cfg"]), imgsz=64,
                      batch=4, det_ratio=0.5, epochs=2, multiscale=False, burn_in=1, lr=0.001, workers=0, val=False,
                      tensorboard=False, project=str(project), name="j")
    return replace(cfg, **kw), train_joint


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


LOSS = {"classify": ("loss",), "joint": ("total", "coord", "obj", "noobj", "cls")}


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_interrupted_and_resumed_equals_uninterrupted_with_ema(task: str, data, tmp_path: Path, monkeypatch) -> None:
    import yolo9000.train.engine as engine

    cfg, fit = _job(task, data, tmp_path, ema=0.9, deterministic=True)
    full = fit(replace(cfg, name="full"))
    real = engine.save_checkpoint

    def killed(path: Path, ckpt: dict) -> None:  # the run is killed once epoch 1's last.pt is on disk
        real(path, ckpt)
        if path.name == "last.pt":
            raise KeyboardInterrupt

    monkeypatch.setattr(engine, "save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        fit(replace(cfg, name="part"))
    monkeypatch.setattr(engine, "save_checkpoint", real)
    assert [r["epoch"] for r in _rows(tmp_path / "part")] == ["1"]
    part = fit(type(cfg)(data=cfg.data, project=str(tmp_path), name="part", resume=True))  # as it was configured
    a, b = _rows(full), _rows(part)
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b] == ["1", "2"]
    for ra, rb in zip(a, b):  # losses per epoch, bit for bit
        for k in (*LOSS[task], "lr"):
            assert ra[k] == rb[k], (ra["epoch"], k)
    sa = torch.load(full / "weights" / "last.pt", weights_only=True)
    sb = torch.load(part / "weights" / "last.pt", weights_only=True)
    assert sa["ema_updates"] == sb["ema_updates"] > 0
    for k in sa["model"]:
        assert torch.equal(sa["model"][k], sb["model"][k]), k          # the average, which predicts
        assert torch.equal(sa["train_model"][k], sb["train_model"][k]), k  # the weights SGD moves
    w = next(k for k in sa["model"] if k.endswith("conv.weight"))
    assert not torch.equal(sa["model"][w], sa["train_model"][w])  # the average lags the weights


def _cli(args: list[str], cwd: Path, nproc: int) -> subprocess.CompletedProcess:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
                if nproc > 1 else [sys.executable])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(launcher + ["-m", "yolo9000.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_ddp_two_processes_equal_one_process_with_subdivisions(task: str, data, tmp_path: Path) -> None:
    if task == "classify":
        common = ["train-classifier", "--data", str(data["folder"]), "--model", str(data["cls_cfg"]), "--imgsz", "32",
                  "--lr", "0.01"]
    else:
        common = ["train-joint", "--data", str(data["det"]), "--cls-data", str(data["cls"]), "--model",
                  str(data["joint_cfg"]), "--imgsz", "64", "--det-ratio", "0.5", "--no-multiscale", "--burn-in", "1",
                  "--no-val"]
    common += ["--epochs", "2", "--batch", "4", "--workers", "0", "--no-tensorboard", "--project", str(tmp_path)]
    ddp = _cli(common + ["--name", "ddp"], tmp_path, 2)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = _cli(common + ["--name", "one", "--subdivisions", "2"], tmp_path, 1)
    assert one.returncode == 0, one.stderr[-3000:]
    a = torch.load(tmp_path / "ddp/weights/last.pt", weights_only=True)
    b = torch.load(tmp_path / "one/weights/last.pt", weights_only=True)
    assert a["seen"] == b["seen"] > 0
    params = [k for k in a["model"] if "running" not in k and "num_batches" not in k]  # DDP keeps rank 0's BN stats
    assert len(params) >= 4
    for k in params:  # the averaged gradient differs from the accumulated one by float rounding only
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-4, msg=k)
    for ra, rb in zip(_rows(tmp_path / "ddp"), _rows(tmp_path / "one")):  # loss terms summed over both processes
        for k in LOSS[task]:
            assert float(ra[k]) == pytest.approx(float(rb[k]), rel=1e-4), k


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_amp_on_cpu_trains_in_bfloat16(task: str, data, tmp_path: Path, monkeypatch) -> None:
    cfg, fit = _job(task, data, tmp_path, epochs=1, deterministic=True)
    fp32 = float(_rows(fit(replace(cfg, name="fp32")))[0][LOSS[task][0]])
    dtypes: list[torch.dtype] = []
    real = torch.nn.Conv2d.forward

    def spy(self, x):
        out = real(self, x)
        dtypes.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Conv2d, "forward", spy)
    bf16 = float(_rows(fit(replace(cfg, name="bf16", amp=True)))[0][LOSS[task][0]])
    assert torch.bfloat16 in dtypes  # the convolutions ran in bfloat16
    assert bf16 != fp32 and abs(bf16 - fp32) < 0.05 * abs(fp32)  # the same run, in bfloat16 rounding
    with pytest.raises(Yolo9000Error, match="--amp-dtype fp16: float16 training needs CUDA"):
        fit(replace(cfg, name="fp16", amp=True, amp_dtype="fp16"))
    assert not (tmp_path / "fp16").exists()


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(task: str, data, tmp_path: Path) -> None:
    cfg, fit = _job(task, data, tmp_path, epochs=1, name="div")
    run = fit(cfg)
    good = (run / "weights" / "last.pt").read_bytes()
    with pytest.raises(Yolo9000Error, match=r"non-finite loss \(NaN or Infinity\) at epoch 2, batch \d+: training "
                                            r"stopped before the update; the last good checkpoint is .*last.pt"):
        fit(replace(cfg, epochs=2, lr=1e30, resume=True))  # the resume's own rate: it diverges at once
    assert (run / "weights" / "last.pt").read_bytes() == good
    assert [r["epoch"] for r in _rows(run)] == ["1"]


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_runs_never_overwrite_and_resume_as_configured(task: str, data, tmp_path: Path) -> None:
    cfg, fit = _job(task, data, tmp_path, epochs=1, name="exp")
    first = fit(cfg)
    stamp = (first / "weights" / "last.pt").read_bytes()
    assert fit(cfg) == tmp_path / "exp2"
    assert (first / "weights" / "last.pt").read_bytes() == stamp  # untouched
    assert fit(replace(cfg, exist_ok=True)) == first  # reuse on purpose
    # a bare resume (every other option at its default): the run's own data, model and 1 epoch
    bare = type(cfg)(data=cfg.data, project=str(tmp_path), name="exp2", resume=True)
    assert fit(bare) == tmp_path / "exp2" and len(_rows(tmp_path / "exp2")) == 1
    assert len(_rows(fit(replace(bare, epochs=2)))) == 2  # an option on the resume's command line wins
    (tmp_path / "exp2" / "weights" / "last.pt").write_bytes(stamp[:1000])
    with pytest.raises(Yolo9000Error, match="last.pt: truncated or damaged checkpoint"):
        fit(bare)
    with pytest.raises(Yolo9000Error, match="nothing to resume"):
        fit(replace(bare, name="none"))


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_a_bad_image_stops_the_run_before_training_or_is_left_out(task: str, data, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "data"
    if task == "classify":
        shutil.copytree(data["folder"], copy)
        bad = copy / "val" / "red" / "1.png"
        overrides = {"data": str(copy)}
    else:
        shutil.copytree(data["cls"], copy)
        bad = copy / "ellipse" / "1.png"
        overrides = {"cls_data": str(copy)}
    bad.write_bytes(bad.read_bytes()[:120])  # a truncated PNG: its header still reads
    cfg, fit = _job(task, data, tmp_path / "runs", epochs=1, **overrides)
    with pytest.raises(Yolo9000Error, match=rf"{bad.name}: (corrupt image|not an image).*--skip-bad leaves such images out"):
        fit(cfg)
    assert not (tmp_path / "runs").exists()  # stopped before anything was written
    run = fit(replace(cfg, skip_bad=True))
    assert len(_rows(run)) == 1


def test_zero_byte_classification_image(data, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "folder"
    shutil.copytree(data["folder"], copy)
    (copy / "train" / "blue" / "empty.png").write_bytes(b"")
    cfg, fit = _job("classify", data, tmp_path / "runs", epochs=1, data=str(copy))
    with pytest.raises(Yolo9000Error, match="empty.png: not an image file"):
        fit(cfg)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("task", ["classify", "joint"])
def test_bad_options_are_one_line_before_anything_is_written(task: str, data, tmp_path: Path) -> None:
    for change, message in (({"lr": float("nan")}, "--lr nan: must be a finite number"),
                            ({"lr": -0.1}, "--lr -0.1: must be a finite number >= 0"),
                            ({"epochs": 0}, "--epochs 0: must be at least 1"),
                            ({"batch": 0}, "--batch 0: must be at least 1"),
                            ({"amp_dtype": "fp8"}, "--amp-dtype fp8: choose auto, fp16 or bf16")):
        cfg, fit = _job(task, data, tmp_path / "runs", **change)
        with pytest.raises(Yolo9000Error, match=message.replace("(", r"\(")):
            fit(cfg)
    assert not (tmp_path / "runs").exists()


def test_torchrun_trains_the_joint_demo_on_cpu(tmp_path: Path) -> None:
    """The issue's command: two CPU processes (gloo) on the built-in joint demo, no data flags."""
    r = _cli(["train-joint", "--epochs", "1", "--imgsz", "64", "--batch", "8", "--workers", "0", "--project",
              str(tmp_path / "P"), "--name", "N"], tmp_path, 2)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / "P" / "N"
    state = torch.load(run / "weights" / "last.pt", weights_only=True)
    assert state["epoch"] == 0 and state["seen"] > 0
    assert (run / "val.json").is_file() and len(_rows(run)) == 1
