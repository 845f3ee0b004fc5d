"""The core without the extras: with onnx, onnxscript, onnxruntime, pycocotools, faster-coco-eval and
tensorboard made unimportable, the package imports, predicts and scores, and each feature that needs an
extra says in one line which ``pip install 'yolo9000[...]'`` adds it."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from yolo9000.errors import Yolo9000Error
from yolo9000.optional import EXTRAS, available, missing_message, require

# a child interpreter in which every optional package fails to import as if it were not installed
_BLOCK = textwrap.dedent("""
    import sys
    for name in {blocked!r}:
        sys.modules[name] = None  # 'import name' raises ModuleNotFoundError(name=name)
""")


def _run_without_extras(body: str, tmp_path) -> subprocess.CompletedProcess:
    code = _BLOCK.format(blocked=sorted(EXTRAS)) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_require_names_the_extra():
    assert require("onnx", "x").__name__ == "onnx"
    with pytest.raises(ValueError):
        require("numpy", "x")  # not an extra: a programming error, not a user's
    assert missing_message("pycocotools.coco", "engine='pycocotools'") == (
        "engine='pycocotools' needs the pycocotools package, which is not installed: pip install 'yolo9000[coco]'")
    assert available("onnx") and not available("yolo9000_no_such_module")


def test_every_module_imports_and_the_core_runs_without_extras(tmp_path):
    r = _run_without_extras("""
        import importlib, pkgutil, warnings
        import numpy as np
        import yolo9000
        for m in pkgutil.walk_packages(yolo9000.__path__, "yolo9000."):
            importlib.import_module(m.name)
        from yolo9000 import YOLO
        from yolo9000.errors import Yolo9000Error
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random weights
            y = YOLO("yolov2-nano", device="cpu")
        rs = y.predict(np.full((70, 90, 3), 128, np.uint8), imgsz=64, conf=0.0)
        print("predicted", rs[0].orig_shape, len(rs[0]) > 0)
        try:
            y.export(file="m.onnx", imgsz=64)
        except Yolo9000Error as e:
            print("export:", e)
        from yolo9000.metrics.coco import evaluate_coco
        from yolo9000.metrics.structures import DetectionSet, GroundTruth
        from yolo9000.train.report import Scalars
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            s = Scalars(__import__("pathlib").Path("tb"), True)
            s.log({"epoch": 0, "loss": 1.0})
        print("tensorboard:", w[0].message)
        import sys
        print("loaded:", sorted(k for k in sys.modules if k.split(".")[0] in
                                ("onnx", "onnxruntime", "onnxscript", "pycocotools", "faster_coco_eval", "tensorboard")
                                and sys.modules[k] is not None))
    """, tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "predicted (70, 90) True" in lines
    assert "export: ONNX export needs the onnx package, which is not installed: pip install 'yolo9000[onnx]'" in lines
    assert ("tensorboard: TensorBoard logging (off for this run; results.csv and results.png are written as always) "
            "needs the tensorboard package, which is not installed: pip install 'yolo9000[tensorboard]'") in lines
    assert "loaded: []" in lines
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "tb").exists()


def test_cli_without_extras_is_one_line(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text('{"images": [{"id": 1, "width": 10, "height": 10}], "categories": [{"id": 1, "name": "a"}], '
                  '"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, '
                  '"iscrowd": 0}]}')
    dets = tmp_path / "dets.json"
    dets.write_text('[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.9}]')
    from yolo9000 import YOLO

    onnx_file = YOLO("yolov2-nano", device="cpu").export(file=tmp_path / "y.onnx", imgsz=64)
    r = _run_without_extras(f"""
        import sys
        from yolo9000.cli.app import main
        print("score rc", main(["score", "--gt", {str(gt)!r}, "--dets", {str(dets)!r}, "--metric", "coco"]))
        print("export rc", main(["export", "--model", "yolov2-nano", "--imgsz", "64", "-o", "x.onnx"]))
        print("onnx rc", main(["predict", {str(gt)!r}, "--model", {str(onnx_file)!r}]))
    """, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "score rc 0" in r.stdout and "AP" in r.stdout  # the NumPy COCO engine needs no extra
    assert "export rc 2" in r.stdout and "onnx rc 2" in r.stdout
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("yolo9000: error:")]
    assert errors[0] == ("yolo9000: error: ONNX export needs the onnx package, which is not installed: "
                         "pip install 'yolo9000[onnx]'")
    assert errors[1] == ("yolo9000: error: running an ONNX model needs the onnxruntime package, which is not installed: "
                         "pip install 'yolo9000[onnx]'")
    assert len(errors) == 2 and "Traceback" not in r.stderr and not (tmp_path / "x.onnx").exists()


def test_library_coco_engine_without_extra(monkeypatch, tmp_path):
    from yolo9000.metrics.coco import evaluate_coco_files

    gt, dets = tmp_path / "gt.json", tmp_path / "dets.json"
    gt.write_text('{"images": [{"id": 1, "width": 10, "height": 10}], "categories": [{"id": 1, "name": "a"}], '
                  '"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, '
                  '"iscrowd": 0}]}')
    dets.write_text('[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.9}]')
    assert evaluate_coco_files(gt, dets, engine="pycocotools").stats["AP"] == pytest.approx(1.0)
    for name in ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(Yolo9000Error, match=r"^engine='pycocotools' needs the pycocotools package, which is not "
                                            r"installed: pip install 'yolo9000\[coco\]'$"):
        evaluate_coco_files(gt, dets, engine="pycocotools")
