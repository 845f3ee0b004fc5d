"""Networks from files: a zoo name, darknet ``.cfg`` or checkpoint -> a config (:func:`resolve_config`),
and with darknet ``.weights`` or a checkpoint -> a network ready to run (:func:`load_model`).

It sits above ``models/`` (the networks and the zoo) and ``darknet/`` (darknet's files), which know nothing of it."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from yolo9000.checkpoints.format import CHECKPOINT_EXTS, checkpoint_header, load_checkpoint, load_state
from yolo9000.darknet.cfg import parse_cfg, parse_cfg_text
from yolo9000.darknet.hub import for_model, resolve_weights
from yolo9000.darknet.weights import WeightsHeader, load_darknet_weights
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.models.darknet import Darknet, DarknetConfig, darknet_float_count
from yolo9000.models.zoo import ZOO, zoo_config
from yolo9000.names import default_names


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
        raise Yolo9000Error(f"{p}: a .weights file holds no architecture; give it as the weights (--weights, "
                            f"weights=) of a model: a zoo name or a .cfg")
    raise Yolo9000Error(f"{s}: not a zoo model ({', '.join(ZOO)}), a .cfg file or a checkpoint")


def names_problem(names: Any, num_classes: int) -> str | None:
    """What is wrong with the class names a checkpoint stores (its ``names`` entry) for a network of
    ``num_classes`` classes, or None: they must be a list of one non-empty, one-line string per class."""
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n.strip() and "\n" not in n
                                                       for n in names):
        shown = repr(names) if len(repr(names)) <= 60 else repr(names)[:57] + "..."
        return f"its 'names' are not a list of class names ({shown})"
    if not names:
        return "its 'names' list is empty"
    if len(names) != num_classes:
        return f"its 'names' list holds {len(names)} names for the network's {num_classes} classes"
    return None


def _checkpoint_config(ckpt: dict[str, Any], path: Path) -> DarknetConfig:
    """The network a checkpoint holds, with its class names; names that do not fit the network (see
    :func:`names_problem`) are a one-line warning, and the network then has none (the defaults apply)."""
    # cfg_dir: a WordTree head's tree file is also looked for beside the checkpoint (joint training copies it)
    config = parse_cfg_text(ckpt["cfg"], f"{path} (embedded cfg)", cfg_dir=path.parent, name=path.stem)
    names = ckpt.get("names")
    problem = None if names is None else names_problem(names, config.num_classes)
    if problem is not None:
        default = default_names(config.num_classes)
        warnings.warn(f"{path}: {problem}: using the default names ({', '.join(default[:2])}, ...; --names "
                      f"gives others)", stacklevel=3)
    return DarknetConfig(config.name, config.net, config.layers, tuple(names) if names and not problem else ())


#: ``weights=`` (``--weights``) that asks for darknet's random initialisation instead of published weights
RANDOM_WEIGHTS = "random"


def weights_for(model: str | Path, weights: str | Path | None) -> str | Path | None:
    """The weights :func:`load_model` reads for ``weights`` as a user gives them with ``model``: None
    brings a zoo name's published file (``yolov2-voc`` -> ``yolov2-voc.weights``, downloaded once, see
    :data:`yolo9000.darknet.hub.WEIGHTS`; a model with none: None); :data:`RANDOM_WEIGHTS` is None,
    darknet's random initialisation (a checkpoint keeps its own weights); any other value as it is."""
    if weights is None:
        entry = for_model(str(model)) if str(model) in ZOO else None
        return entry.name if entry is not None else None
    return None if str(weights) == RANDOM_WEIGHTS else weights


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
            same = Path(str(model)).suffix.lower() in CHECKPOINT_EXTS and Path(str(model)).resolve() == w.resolve()
            other = config if same else _checkpoint_config(ckpt, w)  # the model's own: read (and warned) once
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
