"""Device strings as darknet's and Ultralytics' users type them (``yolo9000.devices``,
``yolo9000.train.distributed.setup``): parsed on any machine, with CUDA's presence simulated where the
answer depends on it."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from yolo9000.cli.app import main
from yolo9000.devices import cuda_indices, resolve_device
from yolo9000.errors import Yolo9000Error
from yolo9000.train import distributed


@pytest.mark.parametrize("given, indices", [
    ("0", (0,)), (" 1 ", (1,)), ("0,1", (0, 1)), ("0, 2,3", (0, 2, 3)), (2, (2,)),
    ("cpu", None), ("cuda:1", None), ("auto", None), ("", None), ("0,", None), (-1, None), (True, None),
    (torch.device("cuda", 0), None),
])
def test_gpu_indices_are_parsed(given, indices):
    assert cuda_indices(given) == indices


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine with two CUDA devices, as far as device parsing can tell."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("given, expect", [("0", "cuda:0"), ("1", "cuda:1"), (1, "cuda:1"), ("cuda:1", "cuda:1"),
                                           ("cpu", "cpu"), ("auto", "cuda")])
def test_a_gpu_index_is_that_cuda_device(two_gpus, given, expect):
    assert resolve_device(given) == torch.device(expect)


@pytest.mark.parametrize("given, words", [
    ("2", "device=2: this machine has 2 CUDA devices"),
    ("0,1", "device=0,1: several GPUs are for training .*runs on one device, e.g. 0"),
    ("mps", "device=mps: Apple's MPS is not supported yet"),
    ("tpu0", "device='tpu0': not a device name .*a GPU index such as 0"),
])
def test_device_errors_are_one_line(two_gpus, given, words):
    with pytest.raises(Yolo9000Error, match=f"^{words}") as e:
        resolve_device(given)
    assert "\n" not in str(e.value)


def test_without_cuda_a_gpu_index_says_so():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(Yolo9000Error, match="^device=0: CUDA is not available on this machine"):
        resolve_device("0")


def test_training_on_two_gpus_in_one_process_gives_the_torchrun_command(two_gpus, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr("sys.argv", ["yolo9000", "train", "--data", "my data.yaml", "--device", "0,1"])
    with pytest.raises(Yolo9000Error) as e:
        distributed.setup("0,1")
    assert str(e.value) == ("--device 0,1: training on 2 GPUs runs one process per GPU; start it with: torchrun "
                            "--nproc_per_node 2 -m yolo9000.cli train --data 'my data.yaml' --device 0,1")
    # from Python, where there is no command line to repeat
    assert distributed.torchrun_command(3, ["script.py"]) == "torchrun --nproc_per_node 3 -m yolo9000.cli train ..."


def test_under_torchrun_each_process_takes_its_gpu_of_the_list(two_gpus, monkeypatch):
    """Process LOCAL_RANK trains on the LOCAL_RANK-th GPU listed (the process group itself is not joined
    here); a list that does not match the process count is one line."""
    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("LOCAL_RANK", str(rank))
        info = distributed.setup("1,0")
        assert (info.rank, info.world, info.device) == (rank, 2, torch.device("cuda", 1 - rank))
    assert chosen == [1, 0]
    with pytest.raises(Yolo9000Error, match=r"^--device 0,1,1: lists 3 GPUs for 2 processes"):
        distributed.setup("0,1,1")


def test_cli_device_errors_are_one_line(capsys, tmp_path):
    """`predict --device mps` stops before any work, in the command line's words."""
    image = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(image)
    assert main(["predict", str(image), "--model", "yolov2-nano", "--device", "mps"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "yolo9000: error: --device mps: Apple's MPS is not supported yet (use --device cpu)"


@pytest.mark.parametrize("message, expect", [
    ("device='tpu0': not a device name", "--device tpu0: not a device name"),
    ("conf=1.0, nms=0.45: conf must be in [0, 1)", "--conf 1.0, --nms 0.45: conf must be in [0, 1)"),
    ("precision='bf16'/compile=True: x", "--precision bf16/--compile True: x"),
    ("tree_depth=9: too deep", "--tree-depth 9: too deep"),
    ("gain=2: not an option of predict", "gain=2: not an option of predict"),
    ("/data/model=x.jpg: unreadable", "/data/model=x.jpg: unreadable"),
    ("no prefix, device=cpu here", "no prefix, device=cpu here"),
])
def test_cli_errors_name_flags_as_flags(message, expect):
    from yolo9000.cli.app import as_flags, build_parser

    a = build_parser().parse_args(["predict", "x.jpg", "--model", "m"])
    assert as_flags(message, a) == expect
