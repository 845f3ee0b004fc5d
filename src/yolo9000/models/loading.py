"""Networks from files: a zoo name, darknet ``.cfg`` or checkpoint -> a config (:func:`resolve_config`),
and with darknet ``.weights`` or a checkpoint -> a network ready to run (:func:`load_model`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from yolo9000.darknet.cfg import parse_cfg, parse_cfg_text
from yolo9000.darknet.hub import resolve_weights
from yolo9000.darknet.names import default_names
from yolo9000.darknet.weights import WeightsHeader, checkpoint_header, load_checkpoint, load_darknet_weights, load_state
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.models.darknet import Darknet, DarknetConfig, darknet_float_count
from yolo9000.models.zoo import ZOO, zoo_config

CHECKPOINT_EXTS = (".pt", ".pth", ".ckpt")


def resolve_config(model: str | Path) -> DarknetConfig:
    """A zoo name, a darknet ``.cfg`` path, or a checkpoint path -> the network's config."""
    s = str(model)
    if s in ZOO:
        return zoo_config(s)
    p = Path(s)
    if p.suffix.lower() == ".cfg":
        return parse_cfg(p)
    if p.suffix.lower() in CHECKPOINT_EXTS:
        ckpt = load_checkpoint(p)
        return _checkpoint_config(ckpt, p)
    if p.suffix.lower() == ".weights":
        raise Yolo9000Error(f"{p}: a .weights file holds no architecture; pass it as weights= with a model "
                            f"name or .cfg")
    raise Yolo9000Error(f"{s}: not a zoo model ({', '.join(ZOO)}), a .cfg file or a checkpoint")


def _checkpoint_config(ckpt: dict[str, Any], path: Path) -> DarknetConfig:
    # cfg_dir: a WordTree head's tree file is also looked for beside the checkpoint (joint training copies it)
    config = parse_cfg_text(ckpt["cfg"], f"{path} (embedded cfg)", cfg_dir=path.parent, name=path.stem)
    names = tuple(ckpt.get("names") or ())
    return DarknetConfig(config.name, config.net, config.layers, names)


def load_model(model: str | Path, weights: str | Path | None = None
               ) -> tuple[Darknet, WeightsHeader, tuple[str, ...]]:
    """Build a network and load its weights.

    Args:
        model: zoo name, darknet ``.cfg`` path, or one of our checkpoints (which carries its network).
        weights: darknet ``.weights`` or one of our checkpoints; None keeps a checkpoint's own weights
            (when ``model`` is one) or darknet's random initialisation. A bare name of darknet's
            published files (``yolov2-voc.weights``, see :data:`yolo9000.darknet.hub.WEIGHTS`) that is not a local
            file is downloaded once into the cache (:func:`yolo9000.darknet.hub.resolve_weights`).
    Returns:
        (model in eval mode, the darknet header to write back, class names).
    """
    config = resolve_config(model)
    net = Darknet(config)
    header = WeightsHeader()
    names = config.names
    if weights is None and Path(str(model)).suffix.lower() in CHECKPOINT_EXTS:
        weights = model
    if weights is not None:
        w = resolve_weights(weights, floats=darknet_float_count(net))
        if w.suffix.lower() in CHECKPOINT_EXTS:
            ckpt = load_checkpoint(w)
            other = _checkpoint_config(ckpt, w)
            if other.layers != config.layers:
                raise file_error(w, f"checkpoint holds a different network ({other.name}) than {config.name}")
            load_state(net, ckpt["model"], w)
            header = checkpoint_header(ckpt)
            names = other.names or names
        else:
            header = load_darknet_weights(net, w)
    if not names or len(names) != config.num_classes:
        names = default_names(config.num_classes)
    return net.eval(), header, names
