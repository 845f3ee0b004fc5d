"""The recipe a run trains when the command line leaves it out (the presets), the optimizer choice, and what a
trained model remembers: the input size ``val``, ``predict``, ``export`` and ``benchmark`` then default to."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from yolo9000 import YOLO
from yolo9000.checkpoints.format import load_checkpoint
from yolo9000.checkpoints.loading import resolve_config
from yolo9000.cli.app import main as cli_main
from yolo9000.datasets.shapes import make_shapes
from yolo9000.errors import Yolo9000Error
from yolo9000.models.darknet import native_imgsz
from yolo9000.predict.predictor import RandomWeightsWarning
from yolo9000.train.detect import PRESETS, TrainConfig, resolve_recipe, train
from yolo9000.train.engine import make_optimizer

from .test_detect import SMALL_CFG, _losses

ROOT = Path(__file__).resolve().parents[2]
RACCOON_YAML = ROOT / "data" / "raccoon.yaml"


# ----------------------------------------------------------------------------- presets
def test_data_given_trains_the_scratch_preset() -> None:
    cfg = resolve_recipe(TrainConfig(data=str(RACCOON_YAML)))
    p = PRESETS["scratch"]
    assert (cfg.preset, cfg.model, cfg.epochs, cfg.optimizer, cfg.lr, cfg.burn_in, cfg.anchors, cfg.box_loss,
            cfg.class_scale) == ("scratch", "yolov2-tiny-voc", 100, "adamw", 0.001, 100, "auto", "ciou", 5.0)
    assert p.lr_adamw == 0.001 and cfg.imgsz == 256  # raccoons fill their photos: the smallest size does
    assert cfg.obj_loss == "bce" and TrainConfig().obj_loss is None


def test_no_data_trains_the_demo_preset(tmp_path: Path, monkeypatch) -> None:
    made = []

    def small_shapes(root: Path) -> Path:  # the demo's 2,000 images, 12 of them
        made.append(root)
        return make_shapes(root, n_train=12, n_val=4, size=160, seed=1)

    monkeypatch.setattr("yolo9000.train.detect.make_shapes", small_shapes)
    cfg = resolve_recipe(TrainConfig(project=str(tmp_path)))
    p = PRESETS["demo"]
    assert (cfg.preset, cfg.model, cfg.epochs, cfg.optimizer, cfg.lr, cfg.burn_in, cfg.anchors, cfg.box_loss,
            cfg.class_scale) == ("demo", "yolov2-nano16", 8, "sgd", 0.002, 50, "model", "mse", 5.0)
    assert made == [tmp_path / "shapes-data"] and cfg.data == str(tmp_path / "shapes-data" / "shapes.yaml")
    assert cfg.imgsz == 160  # the generated set's YAML names its size
    assert p.about.startswith("the built-in shapes demo")


def test_darknets_recipe_is_one_option_away() -> None:
    """--preset darknet: darknet's loss exactly (squared-error objectness and box codes, the model's class
    scale and anchors), SGD at its cfgs' lr 0.001 for batch 64, burn-in 1000, at 416."""
    cfg = resolve_recipe(TrainConfig(data=str(RACCOON_YAML), preset="darknet"))
    assert (cfg.model, cfg.epochs, cfg.imgsz, cfg.optimizer, cfg.burn_in, cfg.anchors, cfg.obj_loss, cfg.box_loss,
            cfg.class_scale) == ("yolov2-voc", 160, 416, "sgd", 1000, "model", "mse", "mse", None)
    assert cfg.lr == pytest.approx(0.001 * 8 / 64)
    assert resolve_recipe(TrainConfig(data=str(RACCOON_YAML), preset="darknet", batch=64)).lr == pytest.approx(0.001)
    assert resolve_recipe(TrainConfig(data=str(RACCOON_YAML), obj_loss="mse")).obj_loss == "mse"  # a flag wins


def test_the_input_size_follows_the_small_boxes(tmp_path: Path) -> None:
    """scratch's size: the smallest multiple of 32 from 256 to 608 at which the smallest 5% of the training boxes
    span 24 px: raccoons (the 5% quantile 0.29 of the photo's side) 256, BCCD's platelets (0.066) 384, and a set
    of 4 px dots the upper bound."""
    import warnings

    from yolo9000.datasets import load_dataset
    from yolo9000.train.detect import data_imgsz

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCCD's two zero-area boxes
        assert data_imgsz(load_dataset(RACCOON_YAML, "train")) == 256
        assert data_imgsz(load_dataset(ROOT / "data" / "bccd.yaml", "train")) == 384
    dots = tmp_path / "dots"
    (dots / "images").mkdir(parents=True)
    (dots / "labels").mkdir()
    from PIL import Image
    Image.new("RGB", (400, 400)).save(dots / "images" / "a.jpg")
    (dots / "labels" / "a.txt").write_text("0 0.5 0.5 0.01 0.01\n")
    (dots / "d.yaml").write_text("train: images\nval: images\nnames: [dot]\n")
    assert data_imgsz(load_dataset(dots / "d.yaml", "train")) == 608
    (dots / "labels" / "a.txt").write_text("")
    assert data_imgsz(load_dataset(dots / "d.yaml", "train")) == 256  # no boxes: the lower bound


def test_options_given_win_over_the_preset_and_lr_follows_the_batch() -> None:
    data = str(RACCOON_YAML)
    cfg = resolve_recipe(TrainConfig(data=data, model="yolov2-nano", epochs=3, imgsz=320, lr=0.01, burn_in=0,
                                     anchors="model", optimizer="sgd"))
    assert (cfg.model, cfg.epochs, cfg.imgsz, cfg.lr, cfg.burn_in, cfg.anchors, cfg.optimizer) == (
        "yolov2-nano", 3, 320, 0.01, 0, "model", "sgd")
    scratch = PRESETS["scratch"]
    assert resolve_recipe(TrainConfig(data=data, batch=32)).lr == pytest.approx(scratch.lr_adamw * 2)  # square root
    assert resolve_recipe(TrainConfig(data=data, batch=32, optimizer="sgd")).lr == pytest.approx(
        scratch.lr_sgd * 4)  # linear (sgd)
    assert resolve_recipe(TrainConfig(data=data, preset="demo")).model == "yolov2-nano16"


def test_help_shows_the_presets(capsys) -> None:
    with pytest.raises(SystemExit):
        cli_main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--preset {scratch,demo,darknet}" in out and "none: demo for --data shapes, else scratch" in out
    assert "--optimizer {sgd,adamw}" in out and "--anchors {auto,hand,model}" in out


def test_bad_preset_or_optimizer_is_one_line(tmp_path: Path, capsys) -> None:
    for flags, needle in ((["--preset", "fast"], "--preset"), (["--optimizer", "adam"], "--optimizer")):
        with pytest.raises(SystemExit) as e:
            cli_main(["train", "--project", str(tmp_path), *flags])
        assert e.value.code == 2 and needle in capsys.readouterr().err
    with pytest.raises(Yolo9000Error, match="--optimizer adam: choose sgd or adamw"):
        train(TrainConfig(project=str(tmp_path / "runs"), optimizer="adam"))
    assert not (tmp_path / "runs").exists()


def test_a_run_prints_its_recipe_first_and_records_it(shapes_yaml: Path, small_cfg: Path, tmp_path: Path,
                                                      capsys) -> None:
    run = train(TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=64, batch=4,
                            multiscale=False, workers=0, tensorboard=False, train_eval=0, project=str(tmp_path)))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"recipe (scratch): {small_cfg} from scratch, 1 epochs at 64, batch 4, adamw lr "
                             f"{0.001 * math.sqrt(4 / 8):g}, ")
    assert "k-means anchors of the training boxes, objectness bce, box loss ciou, class scale 5" in out[0]
    assert "jitter 0.2" in out[0]
    assert out[1].startswith("anchors (k-means")
    saved = load_checkpoint(run / "weights" / "last.pt")["train_config"]
    assert (saved["preset"], saved["optimizer"], saved["anchors"], saved["class_scale"]) == ("scratch", "adamw", "auto",
                                                                                              5)
    assert saved["lr"] == pytest.approx(PRESETS["scratch"].lr_adamw * math.sqrt(4 / 8))
    assert "class_scale=5" in load_checkpoint(run / "weights" / "last.pt")["cfg"]  # the network carries it


# ----------------------------------------------------------------------------- the optimizer
def test_adamw_groups_keep_darknet_decay_and_resume_exactly(shapes_yaml: Path, small_cfg: Path,
                                                            tmp_path: Path) -> None:
    from yolo9000.models.darknet import Darknet
    model = Darknet(resolve_config(str(small_cfg)))
    opt = make_optimizer("adamw", model.param_groups(5e-4), 1e-3, 0.9)
    assert isinstance(opt, torch.optim.AdamW) and [g["weight_decay"] for g in opt.param_groups] == [5e-4, 0.0]
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)

    base = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=2, imgsz=64, batch=4, burn_in=1,
                       steps=(5.0,), scales=(0.1,), deterministic=True, workers=0, tensorboard=False,
                       train_eval=0, optimizer="adamw", project=str(tmp_path))
    whole = train(replace(base, name="whole"))
    train(replace(base, name="half", epochs=1))
    half = train(TrainConfig(project=str(tmp_path), name="half", resume=True, epochs=2))
    a, b = _losses(whole), _losses(half)
    assert [r["total"] for r in a] == [r["total"] for r in b] and [r["lr"] for r in a] == [r["lr"] for r in b]
    with pytest.raises(Yolo9000Error, match="last.pt: --optimizer sgd: a resume cannot change the optimizer"):
        train(TrainConfig(project=str(tmp_path), name="half", resume=True, epochs=3, optimizer="sgd"))


# ----------------------------------------------------------------------------- the model remembers its size
def test_a_model_trained_at_96_is_validated_and_predicted_at_96(shapes_yaml: Path, small_cfg: Path,
                                                                 tmp_path: Path, capsys) -> None:
    run = train(TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=1, imgsz=96, batch=4,
                            multiscale=False, workers=0, tensorboard=False, project=str(tmp_path)))
    best = run / "weights" / "best.pt"
    yolo = YOLO(best, device="cpu")
    assert yolo.imgsz == 96
    capsys.readouterr()
    assert cli_main(["val", "--data", str(shapes_yaml), "--model", str(best), "--quiet", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "letterbox 96" in out
    last_val = float(_losses(run)[-1]["mAP50"])
    assert f"{last_val:.4f}" in out  # the same mAP as the run's own last validation
    assert yolo.val(str(shapes_yaml)).settings["imgsz"] == 96
    r = yolo.predict(str(Path(shapes_yaml).parent / "images" / "val"), conf=0.001)[0]
    seen = []
    hook = yolo.inference_model().register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape[-2:])))
    yolo.predict(r.path, conf=0.001)
    hook.remove()
    assert seen == [(96, 96)]
    seen.clear()
    hook = yolo.inference_model().register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape[-2:])))
    yolo.predict(r.path, imgsz=128, conf=0.001)  # an explicit size still wins
    hook.remove()
    assert seen == [(128, 128)]


def test_native_size_of_cfgs_and_exports(tmp_path: Path) -> None:
    assert native_imgsz(resolve_config("yolov2-voc")) == 416
    cfg = tmp_path / "wide.cfg"
    cfg.write_text(SMALL_CFG.replace("width=64", "width=320").replace("height=64", "height=288"))
    assert native_imgsz(resolve_config(str(cfg))) == 320       # the larger side
    assert YOLO(str(cfg), device="cpu").imgsz == 320
    cfg.write_text(SMALL_CFG.replace("width=64", "width=100").replace("height=64", "height=100"))
    with pytest.warns(UserWarning, match="not multiples of the network's stride 32"):
        config = resolve_config(str(cfg))
    assert native_imgsz(config) == 96                          # the nearest multiple of the stride


def test_export_defaults_to_the_model_size(small_cfg: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    yolo = YOLO(str(small_cfg), device="cpu")
    with pytest.warns(RandomWeightsWarning):
        out = yolo.export(file=tmp_path / "small.onnx")
    assert YOLO(out, device="cpu").imgsz == 64


# ----------------------------------------------------------------------------- bad boxes: --skip-bad holds everywhere
def test_skip_bad_holds_for_the_kmeans_anchors(shapes_yaml: Path, small_cfg: Path, tmp_path: Path) -> None:
    """A box that is bad (here: a class the YAML does not name) stops a run before anything is written,
    naming its file; with --skip-bad the run trains, k-means anchors included (they come from the split the
    run loaded, not from a second read without --skip-bad)."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(Path(shapes_yaml).parent, data)
    bad = sorted((data / "labels" / "train").glob("*.txt"))[0]
    bad.write_text(bad.read_text() + "7 0.5 0.5 0.2 0.2\n")
    cfg = TrainConfig(data=str(data / Path(shapes_yaml).name), model=str(small_cfg), epochs=1, imgsz=64, batch=4,
                      anchors="auto", multiscale=False, workers=0, tensorboard=False, train_eval=0,
                      project=str(tmp_path / "runs"))
    with pytest.raises(Yolo9000Error, match=f"{bad.name}:.*class id 7"):
        train(cfg)
    assert not (tmp_path / "runs").exists()
    with pytest.warns(UserWarning, match="bad record"):
        run = train(replace(cfg, skip_bad=True))
    assert load_checkpoint(run / "weights" / "last.pt")["train_config"]["anchors"] == "auto"


# ----------------------------------------------------------------------------- a darknet cfg's own [net] recipe
NET_RECIPE = ("learning_rate=0.002\nbatch=16\nsubdivisions=2\nmomentum=0.85\ndecay=0.0004\nburn_in=10\n"
              "max_batches=30\npolicy=steps\nsteps=15,24\nscales=.1,.2\n")


@pytest.fixture
def darknet_cfg(tmp_path: Path) -> Path:
    """SMALL_CFG with darknet's training settings in its [net] section."""
    p = tmp_path / "yolo-obj.cfg"
    p.write_text(SMALL_CFG.replace("[net]\n", "[net]\n" + NET_RECIPE, 1))
    return p


def test_a_darknet_cfg_gives_its_net_training_settings(darknet_cfg: Path, shapes_yaml: Path) -> None:
    """As darknet trains the file: SGD at its lr, batch, subdivisions, momentum, decay, burn-in and steps
    (fractions of max_batches), and max_batches as the run's length (12 training images: 30 x 16 / 12 = 40
    epochs); the options given win, and an lr of the cfg follows a batch given instead of its own."""
    r = resolve_recipe(TrainConfig(data=str(shapes_yaml), model=str(darknet_cfg)), given=set())
    assert (r.optimizer, r.lr, r.batch, r.subdivisions, r.momentum, r.decay, r.burn_in) == (
        "sgd", 0.002, 16, 2, 0.85, 0.0004, 10)
    assert r.steps == (0.5, 0.8) and r.scales == (0.1, 0.2) and r.epochs == 40
    assert set(r.from_cfg) == {"lr", "batch", "subdivisions", "momentum", "decay", "burn_in", "steps", "scales",
                               "epochs"}
    given = resolve_recipe(TrainConfig(data=str(shapes_yaml), model=str(darknet_cfg), batch=4, epochs=2,
                                       momentum=0.9), given={"batch", "epochs", "momentum"})
    assert (given.batch, given.lr, given.epochs, given.momentum) == (4, pytest.approx(0.002 * 4 / 16), 2, 0.9)
    assert "batch" not in given.from_cfg and "momentum" not in given.from_cfg and "lr" in given.from_cfg
    # from Python (no flags): a value that differs from its default counts as given
    py = resolve_recipe(TrainConfig(data=str(shapes_yaml), model=str(darknet_cfg), decay=0.001, optimizer="adamw"))
    assert (py.decay, py.optimizer, py.batch) == (0.001, "adamw", 16)
    # a zoo name and a resume take nothing from a file
    assert resolve_recipe(TrainConfig(data=str(shapes_yaml), model="yolov2-nano")).from_cfg == ()
    kept = resolve_recipe(TrainConfig(data=str(shapes_yaml), model=str(darknet_cfg), resume=True, epochs=3,
                                      optimizer="sgd", lr=0.01))
    assert (kept.batch, kept.lr, kept.from_cfg) == (8, 0.01, ())


def test_the_recipe_line_says_what_came_from_the_cfg(darknet_cfg: Path, shapes_yaml: Path, tmp_path: Path,
                                                    capsys) -> None:
    assert cli_main(["train", "--data", str(shapes_yaml), "--model", str(darknet_cfg), "--epochs", "1",
                     "--imgsz", "64", "--batch", "4", "--subdivisions", "1", "--workers", "0", "--no-multiscale",
                     "--train-eval", "0", "--no-tensorboard", "--project", str(tmp_path), "--name", "dn"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"recipe (scratch): {darknet_cfg} from scratch, 1 epochs at 64, batch 4, sgd lr 0.0005, "
                            f"burn-in 10,")
    assert first.endswith("; from yolo-obj.cfg [net]: learning_rate, momentum, decay, burn_in, steps, scales")
    saved = load_checkpoint(tmp_path / "dn" / "weights" / "last.pt")["train_config"]
    assert tuple(saved["from_cfg"]) == ("lr", "momentum", "decay", "burn_in", "steps", "scales")
    # a resume keeps them (the run's own, not the file's again)
    assert cli_main(["train", "--resume", "--project", str(tmp_path), "--name", "dn", "--epochs", "2"]) == 0
    resumed = load_checkpoint(tmp_path / "dn" / "weights" / "last.pt")["train_config"]
    assert (resumed["batch"], resumed["lr"], resumed["epochs"]) == (4, 0.0005, 2)
    assert resumed["from_cfg"] == saved["from_cfg"]
