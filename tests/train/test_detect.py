"""Training: darknet's schedule, decay groups, exact resume, and the CLI on the generated set."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.models import Darknet, zoo_config
from yolo9000.models.edit import with_classes
from yolo9000.train.detect import TrainConfig, resolve_recipe, train
from yolo9000.train.engine import darknet_lr_lambda
from yolo9000.train.loss import FIT

SMALL_CFG = """[net]
width=64
height=64
channels=3
hue=.1
saturation=1.5
exposure=1.5
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[convolutional]
filters=16
size=1
stride=1
pad=1
activation=linear
[region]
anchors=1,1,2.5,2.5
classes=3
num=2
coords=4
softmax=1
jitter=.2
rescore=1
object_scale=5
noobject_scale=1
class_scale=1
coord_scale=1
thresh=.6
bias_match=1
"""


def test_darknet_lr_schedule() -> None:
    f = darknet_lr_lambda(burn_in=100, steps=[400, 600], scales=[0.1, 0.1])
    assert f(0) == 0.0 and f(50) == pytest.approx(0.5 ** 4) and f(99) == pytest.approx(0.99 ** 4)
    assert f(100) == 1.0 and f(399) == 1.0 and f(400) == pytest.approx(0.1) and f(600) == pytest.approx(0.01)


def test_decay_on_conv_weights_only() -> None:
    model = Darknet(zoo_config("yolov2-tiny-voc"))
    decayed, rest = model.param_groups(5e-4)
    assert decayed["weight_decay"] == 5e-4 and rest["weight_decay"] == 0.0
    assert len(decayed["params"]) == 9 and all(p.dim() == 4 for p in decayed["params"])
    assert all(p.dim() == 1 for p in rest["params"])
    n = sum(p.numel() for g in (decayed, rest) for p in g["params"])
    assert n == sum(p.numel() for p in model.parameters())


def test_with_classes_changes_the_head() -> None:
    c = with_classes(zoo_config("yolov2-voc"), 3, ("a", "b", "c"))
    assert c.region.classes == 3 and c.layers[-2].filters == 5 * 8 and c.names == ("a", "b", "c")
    assert c.layers[:-2] == zoo_config("yolov2-voc").layers[:-2]


def _losses(run: Path) -> list[dict[str, str]]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_resume_reproduces_the_uninterrupted_run(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    base = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=3, imgsz=64, batch=4, subdivisions=2,
                       burn_in=2, steps=(5.0,), scales=(0.1,), min_size=64, max_size=96, scale_every=2,
                       workers=0, deterministic=True,
                       val_every=0, project=str(tmp_path), name="full")
    full = _losses(train(base))
    part = replace(base, name="part", epochs=2)
    train(part)
    resumed = _losses(train(replace(part, epochs=3, resume=True)))
    assert len(full) == len(resumed) == 3
    for a, b in zip(full, resumed):
        for k in ("total", "coord", "obj", "noobj", "cls", "lr"):
            assert a[k] == b[k], (a["epoch"], k)
    ckpt = torch.load(tmp_path / "part" / "weights" / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and ckpt["seen"] == 3 * 12


def test_obj_loss_reaches_the_loss_and_resume_keeps_it(shapes_yaml: Path, small_cfg: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """--obj-loss mse is what the loss gets, batch after batch, also after a resume with no flag (whose default
    is bce); results.csv logs the fit columns beside the loss terms, the loss's own batch means."""
    import yolo9000.train.detect as loss_mod  # the name detection training calls the loss through

    seen: list[tuple[str, dict]] = []
    real = loss_mod.region_loss

    def spy(*args, **kw):
        out = real(*args, **kw)
        seen.append((kw.get("obj_loss", "mse"), {k: float(out[k]) for k in FIT}))
        return out

    monkeypatch.setattr(loss_mod, "region_loss", spy)
    assert resolve_recipe(TrainConfig(data=str(shapes_yaml))).obj_loss == "bce"  # scratch's and demo's
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, burn_in=1,
                      min_size=64, max_size=64, workers=0, val_every=0, train_eval=0, obj_loss="mse",
                      project=str(tmp_path), name="mse")
    run = train(cfg)
    assert [k for k, _ in seen] == ["mse"] * 3  # 12 images, batch 4
    row = _losses(run)[0]
    for k in FIT:  # the epoch's value: the per-batch means, weighted by images
        assert float(row[k]) == pytest.approx(sum(f[k] for _, f in seen) / len(seen), rel=1e-5)
    assert 0 < float(row["iou_resp"]) < 1 and 0 < float(row["obj_resp"]) < 1
    seen.clear()
    train(TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=2, imgsz=64, batch=4, burn_in=1,
                      min_size=64, max_size=64, workers=0, val_every=0, train_eval=0,
                      project=str(tmp_path), name="mse", resume=True))
    assert [k for k, _ in seen] == ["mse"] * 3  # the run goes on as it was configured, not with the default
    seen.clear()
    train(replace(cfg, obj_loss="mixed", name="mixed"))
    assert [k for k, _ in seen] == ["mixed"] * 3


def test_train_writes_checkpoints_that_predict(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000 import YOLO

    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, burn_in=1,
                      min_size=64, max_size=64, workers=0, train_eval=5, project=str(tmp_path), name="run")
    run = train(cfg)
    for f in ("weights/last.pt", "weights/best.pt", "results.csv", "results.png"):
        assert (run / f).stat().st_size > 0
    row = _losses(run)[0]
    yolo = YOLO(run / "weights" / "best.pt")
    # the logged figures are the checkpoint's own: validation mAP, and the fit on a sample of training images
    assert float(row["mAP50"]) == yolo.val(shapes_yaml, imgsz=64).mAP
    sample = yolo.val(shapes_yaml, split="train", imgsz=64, max_images=cfg.train_eval)
    assert float(row["train_mAP50"]) == sample.mAP and sample.settings["images"] == 5  # of the 12
    r = yolo.predict(torch.zeros(64, 64, 3, dtype=torch.uint8).numpy(), imgsz=64, conf=0.0)[0]
    assert r.xyxy.shape[1] == 4


def test_resume_without_a_run_fails(tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="nothing to resume"):
        train(TrainConfig(project=str(tmp_path), name="none", resume=True))


def test_sizes_follow_the_dataset_yaml_or_darknet() -> None:
    from yolo9000.train.detect import resolve_sizes

    assert resolve_sizes(TrainConfig(imgsz=416), None) == (416, list(range(320, 609, 32)))  # darknet's
    assert resolve_sizes(TrainConfig(), 160) == (160, [128, 160, 192, 224])
    assert resolve_sizes(TrainConfig(imgsz=320, multiscale=False), 160) == (320, [320])
    assert resolve_sizes(TrainConfig(min_size=64, max_size=96), 160)[1] == [64, 96]
    with pytest.raises(Yolo9000Error, match="min must be <= max"):  # a bound given against one made from imgsz
        resolve_sizes(TrainConfig(imgsz=320, min_size=608), None)


def test_ema_resume_is_exact_and_tensorboard_logs(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    base = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=2, imgsz=64, batch=4, burn_in=2,
                       min_size=64, max_size=64, workers=0, deterministic=True, val_every=0, ema=0.9, steps=(5.0,), scales=(0.1,),
                       project=str(tmp_path), name="full")
    train(base)
    train(replace(base, name="part", epochs=1))
    train(replace(base, name="part", epochs=2, resume=True))
    full = torch.load(tmp_path / "full/weights/last.pt", weights_only=True)
    part = torch.load(tmp_path / "part/weights/last.pt", weights_only=True)
    assert full["ema_updates"] == part["ema_updates"] == 2 * 3
    for k in full["model"]:
        assert torch.equal(full["model"][k], part["model"][k]), k
        assert torch.equal(full["train_model"][k], part["train_model"][k]), k
    w = full["model"]["layers.0.conv.weight"]
    assert not torch.equal(w, full["train_model"]["layers.0.conv.weight"])  # the average lags the weights
    events = list((tmp_path / "full").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "full"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss/total")] == [1, 2]


def test_backbone_prefix_from_a_checkpoint(tmp_path: Path) -> None:
    from yolo9000.models.zoo import yolov2_nano
    from yolo9000.checkpoints.format import load_state_prefix

    src = Darknet(with_classes(yolov2_nano(), 3))
    dst = Darknet(with_classes(yolov2_nano(), 5))
    n = load_state_prefix(dst, src.state_dict(), tmp_path / "x.pt")
    assert n == 8  # every conv but the head, whose filters follow the classes
    assert torch.equal(dst.state_dict()["layers.13.conv.weight"], src.state_dict()["layers.13.conv.weight"])
    assert dst.state_dict()["layers.14.conv.weight"].shape[0] == 5 * 10 != src.state_dict()["layers.14.conv.weight"].shape[0]
    with pytest.raises(Yolo9000Error, match="first layer does not fit"):
        load_state_prefix(Darknet(zoo_config("darknet19")), src.state_dict(), tmp_path / "x.pt")


def test_finished_run_leaves_pictures(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    run = train(TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, burn_in=1,
                            multiscale=False, workers=0, project=str(tmp_path), name="pics", tensorboard=False))
    from PIL import Image

    assert Image.open(run / "val_predictions.jpg").size == (4 * 320, 320)  # the 4 val images, one row
    assert sorted(p.name for p in (run / "predictions").iterdir()) == [f"{i:06d}.jpg" for i in range(4)]
    assert (run / "val" / "pr_curves.png").is_file() or any((run / "val").glob("*.png"))


def test_auto_anchors_are_computed_and_kept(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000.anchors.kmeans import anchors_for_dataset
    from yolo9000.darknet.cfg import parse_cfg_text

    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, multiscale=False,
                      workers=0, val_every=0, anchors="auto", tensorboard=False, project=str(tmp_path), name="a")
    run = train(cfg)
    ckpt = torch.load(run / "weights" / "last.pt", weights_only=True)
    saved = parse_cfg_text(ckpt["cfg"]).region.anchors
    expected = anchors_for_dataset(str(shapes_yaml), k=2, imgsz=64, seed=0)
    assert saved == pytest.approx(expected, abs=1e-4) and saved != (1, 1, 2.5, 2.5)
    resumed = train(replace(cfg, epochs=2, resume=True))  # the saved anchors, not recomputed or the cfg's
    assert parse_cfg_text(torch.load(resumed / "weights" / "last.pt", weights_only=True)["cfg"]).region.anchors == saved
    with pytest.raises(Yolo9000Error, match="--anchors kmeans: choose auto"):
        train(replace(cfg, anchors="kmeans", name="b"))


def test_overfits_eight_raccoon_images(tmp_path: Path) -> None:
    """The whole loop learns: yolov2-nano reaches VOC07 mAP@0.5 >= 0.9 on 8 raccoon photos it trains on."""
    from tests.conftest import SHARED

    root = SHARED / "datasets" / "raccoon"
    stems = (root / "train.txt").read_text().split()[:8]
    (tmp_path / "eight.txt").write_text("\n".join(stems) + "\n")
    (tmp_path / "eight.yaml").write_text(f"path: {root}\nformat: voc\ntrain: {tmp_path / 'eight.txt'}\n"
                                         f"val: {tmp_path / 'eight.txt'}\nnames: [raccoon]\n")
    cfg = TrainConfig(data=str(tmp_path / "eight.yaml"), model="yolov2-nano", epochs=75, imgsz=160,
                      multiscale=False, batch=2, optimizer="sgd", box_loss="mse", lr=0.002, burn_in=20, jitter=0.0,
                      hue=0.0, saturation=1.0, exposure=1.0, scale=(1.0, 1.0), flip=False, workers=0, val_every=0, tensorboard=False,
                      project=str(tmp_path), name="overfit")
    rows = _losses(train(cfg))
    assert float(rows[-1]["total"]) < 0.25 * float(rows[0]["total"])
    assert float(rows[-1]["mAP50"]) >= 0.9
    assert rows[-1]["train_mAP50"] == rows[-1]["mAP50"]  # the same 8 images: the training fit is the val score


def test_yolo_train_continues_from_its_weights(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000 import YOLO

    yolo = YOLO(small_cfg)
    before = yolo.model.state_dict()["layers.0.conv.weight"].clone()
    run = yolo.train(shapes_yaml, epochs=1, imgsz=64, batch=4, multiscale=False, workers=0, val_every=0, lr=1e-4,
                     burn_in=1, tensorboard=False, project=str(tmp_path), name="api")
    assert run == tmp_path / "api" and yolo.names == ("circle", "square", "triangle")
    after = yolo.model.state_dict()["layers.0.conv.weight"]
    assert not torch.equal(before, after)  # trained, and the object now holds the result
    assert 0.0 < (after - before).abs().max() < 0.05 * before.abs().max()  # from the same start, not a fresh init
    assert yolo.val(shapes_yaml, imgsz=64).mAP >= 0.0


def test_runs_never_overwrite_each_other(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, burn_in=1,
                      multiscale=False, workers=0, val_every=0, train_eval=0, tensorboard=False,
                      project=str(tmp_path), name="exp")
    first = train(cfg)
    stamp = (first / "weights" / "last.pt").read_bytes()
    second = train(cfg)
    assert (first, second) == (tmp_path / "exp", tmp_path / "exp2")
    assert (first / "weights" / "last.pt").read_bytes() == stamp  # the first run is untouched
    assert train(cfg) == tmp_path / "exp3"
    assert train(replace(cfg, exist_ok=True)) == tmp_path / "exp"  # reuse on purpose
    assert train(replace(cfg, name="exp2", epochs=2, resume=True)) == tmp_path / "exp2"  # resume continues it


def test_non_finite_loss_stops_the_run(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000.checkpoints.format import load_checkpoint

    # 3 batches an epoch; from the 4th batch on (epoch 2) the rate is multiplied by 1e12: it diverges there
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=2, imgsz=64, batch=4, burn_in=1,
                      steps=(0.5,), scales=(1e12,), multiscale=False, workers=0, val_every=0, train_eval=0,
                      tensorboard=False, project=str(tmp_path), name="div")
    with pytest.raises(Yolo9000Error, match=r"non-finite loss \(NaN or Infinity\) at epoch 2, batch [23]: "
                                            r"training stopped before the update; the last good checkpoint is .*last.pt"):
        train(cfg)
    state = load_checkpoint(tmp_path / "div" / "weights" / "last.pt")  # epoch 1's, never the diverged weights
    assert state["epoch"] == 0 and all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_resume_continues_the_run_as_configured(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000 import YOLO

    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=2, imgsz=64, batch=4, burn_in=1,
                      multiscale=False, workers=0, val_every=0, train_eval=0, tensorboard=False,
                      project=str(tmp_path), name="short")
    run = train(cfg)
    # a bare resume: the run's own 2 epochs, its data and model -- not the defaults (30 epochs, the demo)
    assert train(TrainConfig(project=str(tmp_path), name="short", resume=True)) == run
    assert len(_losses(run)) == 2
    # an option set on the resume command line wins: one more epoch
    train(TrainConfig(project=str(tmp_path), name="short", resume=True, epochs=3))
    assert [r["epoch"] for r in _losses(run)] == ["1", "2", "3"]
    # a last.pt without training state, or not a checkpoint at all: one line each
    weights_only = tmp_path / "w" / "weights" / "last.pt"
    weights_only.parent.mkdir(parents=True)
    YOLO(small_cfg).save(weights_only)
    with pytest.raises(Yolo9000Error, match="last.pt: holds no training state to resume"):
        train(TrainConfig(project=str(tmp_path), name="w", resume=True))
    weights_only.write_bytes((run / "weights" / "last.pt").read_bytes()[:1000])
    with pytest.raises(Yolo9000Error, match="last.pt: truncated or damaged checkpoint"):
        train(TrainConfig(project=str(tmp_path), name="w", resume=True))
    with pytest.raises(Yolo9000Error, match="nothing to resume"):
        train(TrainConfig(project=str(tmp_path), name="none", resume=True))


def test_a_bad_val_image_stops_the_run_before_training(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(shapes_yaml.parent, data)
    bad = sorted((data / "images" / "val").iterdir())[1]
    bad.write_bytes(bad.read_bytes()[:200])  # a truncated PNG: its header still reads
    cfg = TrainConfig(data=str(data / shapes_yaml.name), model=str(small_cfg), epochs=1, imgsz=64, batch=4,
                      burn_in=1, multiscale=False, workers=0, train_eval=0, tensorboard=False,
                      project=str(tmp_path / "runs"), name="r")
    with pytest.raises(Yolo9000Error, match=f"{bad.name}"):
        train(cfg)
    assert not (tmp_path / "runs").exists()  # stopped before anything was written
    with pytest.warns(UserWarning, match=rf"split 'val': --skip-bad left out 1 bad record: .*{bad.name}"):
        run = train(replace(cfg, skip_bad=True))
    import json

    assert json.loads((run / "val" / "results.json").read_text())["settings"]["images"] == 3  # the good ones


def test_amp_on_cpu_trains_in_bfloat16(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    from yolo9000.train.engine import amp_dtype

    assert amp_dtype(torch.device("cpu"), True) == torch.bfloat16 and amp_dtype(torch.device("cpu"), False) is None
    assert amp_dtype(torch.device("cuda"), True) == torch.float16  # a GradScaler's
    assert amp_dtype(torch.device("cuda"), True, "bf16") == torch.bfloat16
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, burn_in=1,
                      multiscale=False, workers=0, val_every=0, train_eval=0, tensorboard=False,
                      deterministic=True, project=str(tmp_path), name="fp32")
    fp32 = float(_losses(train(cfg))[0]["total"])
    bf16 = float(_losses(train(replace(cfg, amp=True, name="bf16")))[0]["total"])
    assert bf16 != fp32 and abs(bf16 - fp32) < 0.05 * fp32  # the same run, in bfloat16 rounding


def test_resume_removes_the_half_written_checkpoints_of_a_kill(shapes_yaml: Path, small_cfg: Path,
                                                                tmp_path: Path) -> None:
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4, multiscale=False,
                      workers=0, val_every=0, tensorboard=False, project=str(tmp_path), name="k")
    run = train(cfg)
    weights = run / "weights"
    stale = [weights / ".last.pt.x1y2.tmp", weights / ".best.pt.q9.tmp"]
    for f in stale:
        f.write_bytes(b"half a checkpoint")
    other = weights / "notes.txt"
    other.write_text("kept")
    before = (weights / "last.pt").read_bytes()
    train(replace(cfg, resume=True))  # the run is complete: no checkpoint is written, the temps still go
    assert not any(f.exists() for f in stale) and other.read_text() == "kept"
    assert (weights / "last.pt").read_bytes() == before
    assert sorted(p.name for p in weights.iterdir()) == ["best.pt", "last.pt", "notes.txt"]
