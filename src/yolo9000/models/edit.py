"""Every change the package makes to a network config, in one place: a new head (classes, priors, a WordTree),
another [region] setting, the input size, and Table 2's switches (batch norm, passthrough, box placement).

Each function returns a new :class:`~yolo9000.models.darknet.DarknetConfig` and leaves its argument as it was.
A head change goes through :func:`_with_head`, which resizes the last convolution with it, so a config never
holds a head convolution whose filters disagree with its last layer.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from yolo9000.errors import ConfigError, Yolo9000Error
from yolo9000.models.darknet import (
    ConvSpec, DarknetConfig, LayerSpec, RegionSpec, ReorgSpec, RouteSpec, SoftmaxSpec, route_sources,
)
from yolo9000.names import default_names


# ----------------------------------------------------------------------------- the head
def _with_head(config: DarknetConfig, filters: int, last: LayerSpec) -> DarknetConfig:
    """``config`` with its last convolution's filters set to ``filters`` and its last layer replaced by ``last``
    (a region or a softmax)."""
    head = max(i for i, s in enumerate(config.layers) if isinstance(s, ConvSpec))
    layers = list(config.layers)
    layers[head] = replace(layers[head], filters=filters)
    layers[-1] = last
    return replace(config, layers=tuple(layers))


def with_region(config: DarknetConfig, **changes: Any) -> DarknetConfig:
    """The same detector with its ``[region]`` fields ``changes`` (:class:`RegionSpec` names); the head
    convolution's filters follow ``num * (coords + 1 + classes)``."""
    if config.region is None:
        raise ConfigError(f"{config.name}: not a detector")
    region: RegionSpec = replace(config.region, **changes)
    return _with_head(config, region.num * (region.coords + 1 + region.classes), region)


def with_classes(config: DarknetConfig, classes: int, names: tuple[str, ...] = ()) -> DarknetConfig:
    """The same detector predicting ``classes`` classes (``names``, else the default names of that count)."""
    if config.region is not None and config.region.tree is not None:
        raise ConfigError(f"{config.name}: a WordTree head ({config.region.classes} tree nodes) cannot change its "
                          f"class count to {classes}")
    return replace(with_region(config, classes=classes), names=names or default_names(classes))


def with_tree(config: DarknetConfig, tree_path: str | Path, num_nodes: int,
              names: tuple[str, ...] = ()) -> DarknetConfig:
    """The same detector with a WordTree head: ``num_nodes`` classes, a group softmax over ``tree_path`` (kept
    as an absolute path), ``map=`` dropped."""
    return replace(with_region(config, classes=num_nodes, tree=str(Path(tree_path).resolve()), map=None, softmax=True),
                   names=names)


def classifier_with_classes(config: DarknetConfig, classes: int, names: tuple[str, ...]) -> DarknetConfig:
    """The same classifier predicting ``classes`` classes: its last convolution's filters follow."""
    if config.region is not None:
        raise Yolo9000Error(f"{config.name}: a detector, not a classifier (use 'yolo9000 train')")
    return replace(_with_head(config, classes, config.layers[-1]), names=names)


def classifier_with_tree(config: DarknetConfig, tree_path: str | Path, num_nodes: int,
                         names: tuple[str, ...]) -> DarknetConfig:
    """The classifier predicting every node of a WordTree: ``num_nodes`` outputs and a ``[softmax] tree=`` head
    (one softmax per sibling group; the path kept absolute)."""
    if not config.layers or not isinstance(config.layers[-1], SoftmaxSpec):
        raise Yolo9000Error(f"{config.name}: a WordTree classifier needs a [softmax] last layer")
    softmax = replace(config.layers[-1], tree=str(Path(tree_path).resolve()))
    return replace(_with_head(config, num_nodes, softmax), names=names)


# ----------------------------------------------------------------------------- the input
def with_input_size(config: DarknetConfig, size: int) -> DarknetConfig:
    """The same network with a ``size`` x ``size`` ``[net]`` input (what it is validated and predicted at)."""
    return replace(config, net=replace(config.net, width=size, height=size))


# ----------------------------------------------------------------------------- Table 2's switches
# Each returns the same network with one of YOLOv2's mechanisms changed, so that a run can switch them off
# one by one (``yolo9000 train --no-batchnorm --no-passthrough --location offset --anchors hand``).

def with_anchors(config: DarknetConfig, anchors_grid: tuple[float, ...]) -> DarknetConfig:
    """The same detector with these priors (flat ``w0, h0, ...`` in grid cells); their count may differ:
    ``num`` and the head conv's filters follow."""
    return with_region(config, anchors=tuple(anchors_grid), num=len(anchors_grid) // 2)


def with_location(config: DarknetConfig, location: str) -> DarknetConfig:
    """The same detector placing box centres the ``direct`` (YOLOv2) or ``offset`` (RPN) way."""
    return with_region(config, location=location)


def without_batchnorm(config: DarknetConfig) -> DarknetConfig:
    """Every batch-normalised convolution with a bias instead (the paper's baseline before "batch norm")."""
    layers = tuple(replace(s, batch_normalize=False) if isinstance(s, ConvSpec) else s for s in config.layers)
    return replace(config, layers=layers)


def without_passthrough(config: DarknetConfig) -> DarknetConfig:
    """The network without its passthrough: the route back to the fine-grained map, the convolutions on it,
    the reorg and the concatenation are removed, so the head sees only the coarse features (as before the
    paper's "passthrough" step). The branch must be darknet's form: ``[route] -k``, convolutions,
    ``[reorg]``, then a ``[route]`` of the reorg and the layer just before the branch, with no route after.

    Raises ``Yolo9000Error`` if the network has no such passthrough (e.g. tiny YOLOv2)."""
    layers = config.layers
    reorg = next((i for i, s in enumerate(layers) if isinstance(s, ReorgSpec)), None)
    if reorg is None:
        raise Yolo9000Error(f"{config.name}: no passthrough to turn off (the network has no [reorg] layer)")
    start = reorg - 1
    while start >= 0 and isinstance(layers[start], ConvSpec):
        start -= 1
    concat = reorg + 1
    ok = (start >= 1 and isinstance(layers[start], RouteSpec) and len(layers[start].layers) == 1
          and concat < len(layers) and isinstance(layers[concat], RouteSpec)
          and sorted(route_sources(layers[concat], concat)) == [start - 1, reorg]
          and not any(isinstance(s, RouteSpec) for s in layers[concat + 1:]))
    if not ok:
        raise Yolo9000Error(f"{config.name}: its [reorg] (layer {reorg}) is not a passthrough of darknet's form; "
                            f"it cannot be turned off")
    return replace(config, layers=layers[:start] + layers[concat + 1:])
