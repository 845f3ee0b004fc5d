"""The peers' own virtual environment, for the side-by-side benchmarks (``engines.py``, ``peer_training.py``).

Peers we benchmark against are installed here, by the benchmark scripts, never as dependencies of
``yolo9000``. :func:`ensure_peers` is called first thing by each script: when the peers do not import
in the running interpreter it creates, once, ``benchmarks/.peers-venv`` and re-executes the script
inside it (``os.execv``).

The venv is a plain one (no system site-packages) with one overlay: a ``.pth`` file that appends the
site-packages of the interpreter that created it (normally ``/work/main/.venv``), so the peers run on
the very same torch, torchvision, onnxruntime and numpy builds as ``yolo9000`` (and ``yolo9000`` itself,
installed there in editable mode). Only what is new is pip-installed into the peers' venv:
``lightnet==4.0.0``, ``brambox`` and ``openvino``. The versions of torch, torchvision and onnxruntime
are pinned on the same pip command line to the ones found, so pip cannot swap them; nothing is ever
written into the base environment. A ``.gitignore`` of ``*`` inside the folder keeps git from seeing it.

    rm -rf benchmarks/.peers-venv      # to rebuild it from scratch
"""
from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".peers-venv"
PEERS = ("lightnet==4.0.0", "brambox", "openvino")
PINNED_FROM_BASE = ("torch", "torchvision", "onnxruntime", "numpy")
_MARK = "YOLO9000_PEERS_VENV"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _create(venv: Path) -> None:
    base = sysconfig.get_paths()["purelib"]
    pins = []
    for name in PINNED_FROM_BASE:
        try:
            pins.append(f"{name}=={md.version(name)}")
        except md.PackageNotFoundError:
            pass
    print(f"[peers] creating {venv} (once; cached) with {sys.executable} -m venv", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (venv / ".gitignore").write_text("*\n")
    site = Path(subprocess.run([str(_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # addsitedir (not a bare path) so the base's own .pth files run too (yolo9000's editable install).
    (site / "zz_yolo9000_base.pth").write_text(f"import site; site.addsitedir({base!r})\n")
    print(f"[peers] overlay: {site}/zz_yolo9000_base.pth appends {base} (same torch/torchvision/onnxruntime/"
          f"numpy builds, yolo9000 editable from {ROOT / 'src'})", flush=True)
    cmd = [str(_python(venv)), "-m", "pip", "install", "--disable-pip-version-check", *PEERS, *pins]
    print("[peers] installing: " + " ".join(cmd[3:]), flush=True)
    subprocess.run(cmd, check=True)
    frozen = subprocess.run([str(_python(venv)), "-m", "pip", "freeze", "--local", "--disable-pip-version-check"],
                            check=True, capture_output=True, text=True).stdout
    print("[peers] now in the peers' venv (on top of the base):\n  " + "\n  ".join(frozen.split()), flush=True)
    (venv / "READY").write_text(frozen)


def ensure_peers(modules: tuple[str, ...] = ("lightnet", "brambox", "openvino")) -> None:
    """Return if ``modules`` import here; else build the peers' venv (once) and re-exec this script in it."""
    if not _missing(modules):
        return
    if os.environ.get(_MARK):
        raise SystemExit(f"[peers] still missing inside {VENV}: {', '.join(_missing(modules))}; "
                         f"rm -rf {VENV} and run again")
    if not (VENV / "READY").is_file():
        if VENV.exists():
            import shutil

            print(f"[peers] {VENV} is incomplete: rebuilding it", flush=True)
            shutil.rmtree(VENV)
        _create(VENV)
    py = str(_python(VENV))
    print(f"[peers] re-executing in {py}", flush=True)
    os.environ[_MARK] = "1"
    os.execv(py, [py, *sys.argv])


def peer_versions() -> dict[str, str]:
    """Versions of every package these benchmarks touch, as imported now."""
    out = {}
    for name in ("lightnet", "brambox", "openvino", "onnxruntime", "torch", "torchvision", "numpy", "yolo9000"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "absent"
    return out
