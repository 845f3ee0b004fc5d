"""A new run's starting weights (``--weights``), the same for every task."""
from __future__ import annotations

from yolo9000.checkpoints.format import CHECKPOINT_EXTS, load_checkpoint, load_state_prefix
from yolo9000.darknet.hub import resolve_weights
from yolo9000.darknet.weights import darknet_prefix_cutoff, load_darknet_weights
from yolo9000.models.darknet import Darknet


def initialise(model: Darknet, weights: str | None) -> int:
    """Load ``weights`` into ``model``; returns the images they had seen (darknet's header; 0 for ours).

    ``weights`` may be a whole darknet file, a darknet prefix (``darknet19_448.conv.23``), a name of darknet's
    published files (downloaded once into the cache), one of our checkpoints of the same network, or of
    another one sharing its first layers (a Darknet-19 classifier, a detector with other classes): then the
    leading layers that fit are loaded, and a line says how many. None: darknet's random initialisation.
    """
    if not weights:
        return 0
    w = resolve_weights(weights)
    if w.suffix.lower() in CHECKPOINT_EXTS:
        n = load_state_prefix(model, load_checkpoint(w)["model"], w)
        if n < sum(1 for k in model.state_dict() if k.endswith("conv.weight")):
            print(f"{w}: initialised the first {n} parametrised layers", flush=True)
        return 0
    return load_darknet_weights(model, w, cutoff=darknet_prefix_cutoff(model, w)).seen
