"""benchmarks/ablation.py: the cumulative path of Table 2, its table arithmetic, and its row-by-row resume
(training replaced by a stand-in; the real runs are the benchmark's, not the suite's)."""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "ablation.py"


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("ablation", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["ablation"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_each_row_switches_on_one_mechanism(ablation) -> None:
    from yolo9000.train.detect import TrainConfig

    assert ablation.row_settings(0) == {"batchnorm": False, "anchors": "hand", "location": "offset",
                                        "passthrough": False, "multiscale": False}
    full = ablation.row_settings(len(ablation.ROWS) - 1)
    assert full == {"batchnorm": True, "anchors": "auto", "location": "direct", "passthrough": True,
                    "multiscale": True}  # YOLOv2 as trained, with k-means priors
    for i in range(1, len(ablation.ROWS)):
        before, after = ablation.row_settings(i - 1), ablation.row_settings(i)
        changed = [k for k in after if after[k] != before[k]]
        assert len(changed) == (0 if ablation.ROWS[i].eval_only else 1), ablation.ROWS[i].name
    TrainConfig(**full)  # every switch is a TrainConfig field


def test_table_mean_std_and_change(ablation) -> None:
    records = {ablation.run_name(0, s): {"mAP50": m} for s, m in zip((0, 1, 2), (0.50, 0.60, 0.70))}
    records.update({ablation.run_name(1, s): {"mAP50": m} for s, m in zip((0, 1, 2), (0.70, 0.80, 0.90))})
    records[ablation.run_name(2, 0)] = {"mAP50": 0.0, "failed": "non-finite loss"}
    table = ablation.summarise(records, [0, 1, 2])
    assert table[0]["mean"] == pytest.approx(0.60) and table[0]["std"] == pytest.approx(0.10)
    assert math.isnan(table[0]["change"])
    assert table[1]["change"] == pytest.approx(0.20) and table[1]["paper_change"] == 2.4
    assert table[2]["n"] == 1 and table[2]["failed"] == 1 and math.isnan(table[2]["std"])
    assert table[3]["n"] == 0 and math.isnan(table[3]["mean"])


def test_runs_resume_row_by_row(ablation, tmp_path: Path, monkeypatch) -> None:
    trained: list[tuple[int, int]] = []
    killed: list[bool] = []

    def fake_train(a, index, seed):
        trained.append((index, seed))
        if (index, seed) == (3, 1) and not killed:  # the first time only
            killed.append(True)
            raise RuntimeError("killed")  # the benchmark stopped mid-way
        return {"row": index, "seed": seed, "mAP50": 0.1 * index + 0.01 * seed}

    monkeypatch.setattr(ablation, "train_one", fake_train)
    monkeypatch.setattr(ablation, "score", lambda a, folder, imgsz: 0.9 if imgsz == 288 else 0.0)
    argv = ["ablation.py", "--out", str(tmp_path), "--seeds", "0", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(RuntimeError, match="killed"):
        ablation.main()
    done = json.loads((tmp_path / "ablation.json").read_text())["records"]
    assert sorted(done) == sorted(ablation.run_name(i, s) for i in range(3) for s in (0, 1)) + ["row3-seed0"]
    first = len(trained)
    ablation.main()  # again: only what was missing
    assert trained[first:] == [(3, 1), (4, 0), (4, 1), (5, 0), (5, 1)]
    done = json.loads((tmp_path / "ablation.json").read_text())["records"]
    assert done["row6-seed1"]["mAP50"] == 0.9 and done["row6-seed1"]["imgsz"] == 288  # hi-res: 224 * 544/416
    text = (tmp_path / "ablation.md").read_text()
    assert "| + hi-res detector | 90.0 ± 0.0 |" in text and "| baseline | 0.5 ± 0.7 |" in text
    assert (tmp_path / "ablation.png").stat().st_size > 0
