"""Darknet .cfg parsing and writing."""
from __future__ import annotations

from pathlib import Path

import pytest

from yolo9000.darknet.cfg import config_to_cfg_text, parse_cfg, parse_cfg_text
from yolo9000.errors import Yolo9000Error
from yolo9000.models import Darknet, darknet_float_count, zoo_config
from yolo9000.models.darknet import ConvSpec, MaxPoolSpec, RegionSpec, RouteSpec, SoftmaxSpec

from tests.conftest import REFERENCE

CFGS = sorted(p.name for p in (REFERENCE / "cfg").glob("*.cfg"))
FLOATS = {"yolov2-voc.cfg": 50_676_061, "yolov2.cfg": 50_983_561, "yolov2-tiny-voc.cfg": 15_867_885,
          "yolov2-tiny.cfg": 11_237_145, "yolo9000.cfg": 48_807_501, "darknet19.cfg": 20_856_776,
          "darknet19_448.cfg": 20_856_776, "yolo-voc.2.0.cfg": 67_158_109, "darknet9000.cfg": 29_485_226}
SAME_AS_ZOO = {"yolov2-voc.cfg": "yolov2-voc", "yolov2.cfg": "yolov2-coco", "yolov2-tiny-voc.cfg": "yolov2-tiny-voc",
               "yolov2-tiny.cfg": "yolov2-tiny-coco", "yolo9000.cfg": "yolo9000", "darknet19.cfg": "darknet19",
               "darknet19_448.cfg": "darknet19-448", "yolo-voc.2.0.cfg": "yolov2-paper-voc"}


def test_every_reference_cfg_is_here() -> None:
    assert len(CFGS) == 9


@pytest.mark.parametrize("name", CFGS)
def test_reference_cfgs_load(name: str) -> None:
    config = parse_cfg(REFERENCE / "cfg" / name)
    assert darknet_float_count(Darknet(config)) == FLOATS[name]


@pytest.mark.parametrize("name", CFGS)
def test_write_then_parse_round_trips(name: str) -> None:
    config = parse_cfg(REFERENCE / "cfg" / name)
    assert parse_cfg_text(config_to_cfg_text(config)) == config


@pytest.mark.parametrize("name", sorted(SAME_AS_ZOO))
def test_zoo_matches_darknet_cfg(name: str) -> None:
    assert parse_cfg(REFERENCE / "cfg" / name).layers == zoo_config(SAME_AS_ZOO[name]).layers


def test_parsed_values() -> None:
    c = parse_cfg(REFERENCE / "cfg" / "yolov2-voc.cfg")
    assert (c.net.width, c.net.height, c.net.burn_in, c.net.steps, c.net.scales) == (416, 416, 1000, (40000, 60000), (0.1, 0.1))
    assert c.net.saturation == 1.5 and c.net.hue == 0.1
    assert c.layers[0] == ConvSpec(32, 3, 1, 1, True, "leaky")
    assert c.layers[1] == MaxPoolSpec(2, 2, 1)
    assert c.layers[25] == RouteSpec((-9,)) and c.layers[28] == RouteSpec((-1, -4))
    r = c.layers[-1]
    assert isinstance(r, RegionSpec) and r.num == 5 and r.classes == 20 and r.rescore and r.bias_match
    assert r.anchors_grid[0] == (1.3221, 1.73145) and r.object_scale == 5 and r.thresh == 0.6
    tiny = parse_cfg(REFERENCE / "cfg" / "yolov2-tiny-voc.cfg")
    assert tiny.layers[11] == MaxPoolSpec(2, 1, 1)
    assert tiny.net.steps == (-1, 100, 20000, 30000)
    y9k = parse_cfg(REFERENCE / "cfg" / "yolo9000.cfg")
    assert y9k.layers[-1].tree.endswith("9k.tree") and Path(y9k.layers[-1].tree).is_file()
    d9k = parse_cfg(REFERENCE / "cfg" / "darknet9000.cfg")
    assert isinstance(d9k.layers[-2], SoftmaxSpec) and d9k.layers[-2].tree.endswith("9k.tree")


def _cfg(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "bad.cfg"
    p.write_text("[net]\nwidth=64\nheight=64\nchannels=3\n" + body)
    return p


@pytest.mark.parametrize("body,pattern", [
    ("[convolutional]\nfilters=abc\nsize=3\n", r"bad\.cfg:6: \[convolutional\] filters=abc is not an integer"),
    ("[yolo]\nmask=0\n", r"bad\.cfg:5: unknown layer type \[yolo\]"),
    ("[convolutional]\nfilters=8\nthis line is wrong\n", r"bad\.cfg:7: expected key=value"),
    ("[convolutional\nfilters=8\n", r"bad\.cfg:5: malformed section header"),
    ("[convolutional]\nfilters=8\n[route]\nlayers=3\n", r"bad\.cfg:7: layer 1 \(route\)"),
    ("[convolutional]\nfilters=8\n[route]\n", r"bad\.cfg:7: \[route\] route needs layers"),
    ("[convolutional]\nfilters=8\nactivation=mish\n", r"bad\.cfg:5: layer 0 \(convolutional\): unsupported activation"),
    ("[convolutional]\nfilters=12\n[region]\nclasses=2\nnum=2\nanchors=1,1,2,2\n",
     r"bad\.cfg:7: layer 1 \(region\): the last convolution has 12 filters, num\*\(coords\+1\+classes\) = 14"),
    ("[convolutional]\nfilters=14\n[region]\nclasses=2\nnum=2\nanchors=1,1,2\n", r"3 anchor values for num=2"),
    ("[convolutional]\nfilters=14\n[region]\nclasses=2\nnum=2\nanchors=1,1,2,2\ntree=nowhere/none.tree\n",
     r"tree file 'nowhere/none.tree' not found"),
    ("[convolutional]\nfilters=8\ngroups=2\n", r"groups=2 is not supported"),
    ("[convolutional]\nfilters=8\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nfilters=8\n[route]\nlayers=-1,-3\n",
     r"different spatial sizes"),
    # numbers no network can run: named with the line of the option (issue 22)
    ("[convolutional]\nfilters=8\nsize=3\npadding=-5\n",
     r"bad\.cfg:8: layer 0 \(convolutional\): padding=-5 must be >= 0"),
    ("[maxpool]\nsize=2\nstride=2\npadding=-1\n", r"bad\.cfg:8: layer 0 \(maxpool\): padding=-1 must be >= 0"),
    ("[convolutional]\nfilters=200000000\nsize=3\n",
     r"bad\.cfg:6: layer 0 \(convolutional\): filters=200000000 would hold 5,400,000,000 weights \(200000000 filters "
     r"x 3 channels x 3x3\), more than 2,147,483,648"),
    ("[convolutional]\nfilters=8\nstride=1600000\n",
     r"bad\.cfg:7: layer 0 \(convolutional\): stride=1600000 brings the network's total stride to 1,600,000, above "
     r"the largest input size 8192"),
    ("[maxpool]\nstride=128\n[maxpool]\nstride=128\n",
     r"bad\.cfg:8: layer 1 \(maxpool\): stride=128 brings the network's total stride to 16,384"),
    ("[convolutional]\nfilters=6\n[region]\nclasses=1\nnum=1\nanchors=1,1\nobject_scale=nan\n",
     r"bad\.cfg:11: \[region\] object_scale=nan is not a finite number"),
    ("momentum=-inf\n[convolutional]\nfilters=8\n", r"bad\.cfg:5: \[net\] momentum=-inf is not a finite number"),
    ("steps=10,20\nscales=.1,Infinity\n[convolutional]\nfilters=8\n",
     r"bad\.cfg:6: \[net\] scales=\.1,Infinity: value 2 is not a finite number"),
])
def test_malformed_cfgs_name_file_and_line(tmp_path: Path, body: str, pattern: str) -> None:
    with pytest.raises(Yolo9000Error, match=pattern) as e:
        parse_cfg(_cfg(tmp_path, body))
    assert "\n" not in str(e.value)


def test_other_cfg_problems(tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="no such cfg file"):
        parse_cfg(tmp_path / "missing.cfg")
    empty = tmp_path / "empty.cfg"
    empty.write_text("# nothing\n")
    with pytest.raises(Yolo9000Error, match="no sections"):
        parse_cfg(empty)
    no_net = tmp_path / "nonet.cfg"
    no_net.write_text("[convolutional]\nfilters=3\n")
    with pytest.raises(Yolo9000Error, match=r"nonet\.cfg:1: the first section must be \[net\]"):
        parse_cfg(no_net)
    binary = tmp_path / "bin.cfg"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(Yolo9000Error, match="not a UTF-8 text file"):
        parse_cfg(binary)


def test_unknown_option_warns_with_line(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"bad\.cfg:7: \[convolutional\] unused option fliters"):
        parse_cfg(_cfg(tmp_path, "[convolutional]\nfilters=8\nfliters=9\n"))


def test_whitespace_and_comments_like_darknet(tmp_path: Path) -> None:
    p = _cfg(tmp_path, "# comment\n; also a comment\n[convolutional]\n filters = 8 \nsize= 3\npad=1\nactivation = leaky\n")
    assert parse_cfg(p).layers == (ConvSpec(8, 3, 1, 1, False, "leaky"),)
