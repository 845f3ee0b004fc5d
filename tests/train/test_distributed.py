"""DDP through torchrun (gloo, 2 CPU processes): the same weights as one process accumulating the same
two half-batches (``--subdivisions 2``), and the batch slicing behind it."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

from yolo9000.train.distributed import RankSlice, setup
from yolo9000.errors import Yolo9000Error

from tests.train.test_detect import SMALL_CFG
from tests.train.test_engine import _cli


def test_rank_slices_partition_each_batch() -> None:
    batches = [[0, 1, 2, 3], [4, 5, 6, 7]]
    got = [list(RankSlice(batches, r, 2)) for r in range(2)]
    assert got == [[[0, 1], [4, 5]], [[2, 3], [6, 7]]]
    with pytest.raises(Yolo9000Error, match="does not split"):
        list(RankSlice([[0, 1, 2]], 0, 2))


def test_one_process_without_torchrun(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = setup("cpu")
    assert (info.rank, info.world, info.is_main, info.device.type) == (0, 1, True, "cpu")


def _train(args: list[str], tmp: Path, nproc: int) -> subprocess.CompletedProcess:
    return _cli(["train", *args], tmp, nproc)


def test_ddp_two_processes_equal_one_process_with_subdivisions(tmp_path: Path) -> None:
    from yolo9000.datasets.shapes import make_shapes

    data = make_shapes(tmp_path / "shapes", n_train=12, n_val=4, size=64, seed=1)
    cfg = tmp_path / "small.cfg"
    cfg.write_text(SMALL_CFG)
    common = ["--data", str(data), "--model", str(cfg), "--epochs", "2", "--imgsz", "64", "--batch", "4",
              "--burn-in", "2", "--min-size", "64", "--max-size", "96", "--scale-every", "2", "--workers", "0",
              "--val-every", "0", "--no-tensorboard", "--project", str(tmp_path / "runs")]
    ddp = _train(common + ["--name", "ddp"], tmp_path, 2)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = _train(common + ["--name", "one", "--subdivisions", "2"], tmp_path, 1)
    assert one.returncode == 0, one.stderr[-3000:]
    a = torch.load(tmp_path / "runs/ddp/weights/last.pt", weights_only=True)
    b = torch.load(tmp_path / "runs/one/weights/last.pt", weights_only=True)
    assert a["seen"] == b["seen"] == 2 * 12
    params = [k for k in a["model"] if "running" not in k and "num_batches" not in k]
    assert len(params) == 8
    for k in params:  # the averaged gradient differs from the accumulated one by float rounding only
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-4, msg=k)
    import csv

    rows = [list(csv.DictReader(open(tmp_path / f"runs/{n}/results.csv"))) for n in ("ddp", "one")]
    assert len(rows[0]) == len(rows[1]) == 2
    for ra, rb in zip(*rows):  # the loss terms summed over both processes equal one process's
        for k in ("total", "coord", "obj", "noobj", "cls"):
            assert float(ra[k]) == pytest.approx(float(rb[k]), rel=1e-4), k
    assert float(rows[0][1]["total"]) != float(rows[0][0]["total"])
