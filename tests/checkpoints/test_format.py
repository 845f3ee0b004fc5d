"""Our checkpoint format (checkpoints/format.py): one layout, written atomically, read with weights_only, and the
files written before it moved out of darknet/weights.py still load."""
from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
import torch

from yolo9000.checkpoints.format import (
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION, checkpoint_dict, checkpoint_header, load_checkpoint, save_checkpoint,
)
from yolo9000.darknet.cfg import config_to_cfg_text
from yolo9000.darknet.weights import WeightsHeader, load_darknet_weights, save_darknet_weights
from yolo9000.errors import Yolo9000Error
from yolo9000.models import Darknet, zoo_config
from yolo9000.models.darknet import ConvSpec, DarknetConfig, NetSpec

TINY = DarknetConfig("t", NetSpec(width=32, height=32), (ConvSpec(2, 3, 1, 1, True, "leaky"),), ("a", "b"))


def test_checkpoint_round_trip_keeps_weights_file_exact(weights_dir: Path, tmp_path: Path) -> None:
    config = zoo_config("yolov2-tiny-voc")
    model = Darknet(config)
    src = weights_dir / "yolov2-tiny-voc.oldheader.weights"
    header = load_darknet_weights(model, src)
    ckpt_path = tmp_path / "m.pt"
    save_checkpoint(ckpt_path, checkpoint_dict(model, config_to_cfg_text(config), config.names, header))
    ckpt = load_checkpoint(ckpt_path)  # weights_only=True inside
    back = Darknet(config)
    back.load_state_dict(ckpt["model"])
    out = tmp_path / "back.weights"
    save_darknet_weights(back, out, checkpoint_header(ckpt))
    assert filecmp.cmp(src, out, shallow=False)
    assert torch.load(ckpt_path, weights_only=True)["names"][0] == "aeroplane"


def test_bad_checkpoints(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(Yolo9000Error, match=r"junk.pt: not a checkpoint \(neither a torch zip archive nor a pickle\)"):
        load_checkpoint(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(Yolo9000Error, match="not a yolo9000 checkpoint"):
        load_checkpoint(foreign)


def test_the_layout_is_the_one_checkpoints_always_had() -> None:
    """The markers and keys of version 1, so that every checkpoint written before still loads."""
    model = Darknet(TINY)
    ckpt = checkpoint_dict(model, "[net]\n", TINY.names, WeightsHeader(0, 2, 0, 7), epoch=3, best_map=0.5)
    assert (CHECKPOINT_FORMAT, CHECKPOINT_VERSION) == ("yolo9000-checkpoint", 1)
    assert list(ckpt) == ["format", "version", "cfg", "names", "header", "model", "epoch", "best_map"]
    assert ckpt["format"] == "yolo9000-checkpoint" and ckpt["version"] == 1
    assert ckpt["names"] == ["a", "b"] and ckpt["header"] == [0, 2, 0, 7]
    assert all(v.device.type == "cpu" for v in ckpt["model"].values())
    assert list(ckpt["model"]) == list(model.state_dict())


def test_a_checkpoint_written_by_hand_in_the_old_layout_loads(tmp_path: Path) -> None:
    model = Darknet(TINY)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    old = {"format": "yolo9000-checkpoint", "version": 1, "cfg": config_to_cfg_text(TINY), "names": ["a", "b"],
           "header": [0, 2, 0, 12], "model": state, "epoch": 0}
    torch.save(old, tmp_path / "old.pt")
    ckpt = load_checkpoint(tmp_path / "old.pt")
    assert checkpoint_header(ckpt) == WeightsHeader(0, 2, 0, 12)
    assert all(torch.equal(ckpt["model"][k], v) for k, v in state.items())


def test_extras_do_not_replace_the_layout() -> None:
    with pytest.raises(ValueError, match=r"\['cfg', 'format'\]"):
        checkpoint_dict(Darknet(TINY), "[net]\n", TINY.names, format="other", cfg="[net]\n", epoch=0)


def test_only_checkpoints_are_saved_as_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checkpoint_dict"):
        save_checkpoint(tmp_path / "x.pt", {"state_dict": {}})
    assert not (tmp_path / "x.pt").exists()


def test_a_saved_checkpoint_is_written_atomically(tmp_path: Path) -> None:
    """A save over an existing checkpoint leaves no temporary file, and the new one loads."""
    path = tmp_path / "last.pt"
    model = Darknet(TINY)
    save_checkpoint(path, checkpoint_dict(model, config_to_cfg_text(TINY), TINY.names, epoch=0))
    save_checkpoint(path, checkpoint_dict(model, config_to_cfg_text(TINY), TINY.names, epoch=1))
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
