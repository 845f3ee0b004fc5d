"""YOLOv2's region loss, as darknet's GPU training computes it (``forward_region_layer`` +
``backward_region_layer_gpu``, pjreddie/darknet f6afaabc).

Darknet does not write its loss down; it writes ``l.delta``, the negative gradient of the loss with
respect to the region layer's *activated* outputs (x, y, objectness after the sigmoid; tw, th raw;
the class logits for the softmax), and the GPU backward multiplies the x, y, objectness entries by
``sigma * (1 - sigma)``. :func:`region_loss` is the function whose autograd gradient with respect to
the raw head is exactly that update:

* ``noobj``: ``0.5 * noobject_scale * obj**2`` on every prediction, unless its best IoU with any truth
  of the image exceeds ``thresh`` (or it is responsible for a truth);
* ``prior`` (only while ``seen < 12800``): ``0.5 * 0.01 * ((sx - .5)**2 + (sy - .5)**2 + tw**2 + th**2)``
  on every prediction that is not responsible for a truth: each box is pulled toward its anchor, centred
  in its cell;
* per truth, the *responsible* prediction is the anchor in the truth's cell whose shape best matches the
  truth's (IoU of the two boxes centred at the origin; with ``bias_match`` the anchor itself, otherwise
  the anchor's predicted size). There:
  ``coord``: ``0.5 * coord_scale * (2 - w*h) * ((sx - tx)**2 + (sy - ty)**2 + (tw - tw*)**2 + (th - th*)**2)``
  with ``tx = x*W - col`` (sigmoid space), ``tw* = log(w*W / anchor_w)``;
  ``obj``: ``0.5 * object_scale * (target - obj)**2``, target the IoU of the predicted box with the truth
  (``rescore``) or 1;
  ``cls``: ``class_scale`` x the softmax cross-entropy (its gradient w.r.t. the logits is darknet's
  ``class_scale * (p - onehot)``); with ``softmax=0`` the logistic cross-entropy against the union of the
  classes of the truths sharing the prediction, as darknet's ``delta_region_class`` accumulates them.
  When several truths pick the same prediction, the last one (in row order) sets its coord, obj and
  softmax class targets: darknet assigns those deltas, it does not accumulate them.

``obj_loss`` chooses how the objectness is trained (``"mse"``, darknet's, is :func:`region_loss`'s default;
training's is ``"bce"``):

* ``"mse"``: darknet's YOLOv2 (above): the squared error of the sigmoid for the responsible predictions
  (``object_scale``) and the others (``noobject_scale``), so the update on the logit carries the sigmoid's
  derivative ``sigmoid * (1 - sigmoid)``. That factor makes darknet's recipe underfit from scratch on small
  data: the first batches' no-object term (``0.5 * sigmoid(0)**2`` on each of the A*H*W predictions: 320
  per image at 256) drives every objectness to ~0.001 within a few dozen batches, where the factor is
  ~0.001 too; the responsible predictions' pull toward their IoU target is then a thousand times weaker than
  the delta darknet writes, and their objectness stays far below the IoU for most of the run (measured by
  :func:`fit_stats`, logged by every training run).
* ``"bce"``: the binary cross-entropy of the logit for both, at the same scales: ``object_scale * BCE(to,
  target)`` and ``noobject_scale * BCE(to, 0)``, whose gradient on the logit is darknet's delta ``scale *
  (sigmoid(to) - target)`` without the derivative. It cures the stall, but at ``object_scale`` 5 and with a
  push that never fades on every free prediction it takes the shared features from the class head at
  darknet's ``class_scale`` 1: on the shapes demo the class accuracy at the responsible predictions is 0.49
  after 4 epochs against 0.69 with ``"mse"``, and the demo ends at 0.39 mAP against 0.88. Training's presets
  therefore set ``class_scale`` 5, the objectness's own weight (and a smaller step): 0.86 on the demo.
* ``"mixed"``: the cross-entropy of the logit for the responsible predictions at unit scale, ``BCE(to,
  target)`` (darknet's YOLOv3 layer writes this delta, ``target - sigmoid(to)`` passed to the logit, with no
  scale: ``object_scale`` 5 made up for the derivative's factor of at most 1/4, which is gone), and darknet's
  squared error ``0.5 * noobject_scale * sigmoid(to)**2`` for the others, whose push fades as they fall. The
  responsible predictions' objectness never stalls, and the class head keeps its share of the features.

``[region] location=offset`` (a yolo9000 extension for the paper's Table 2, not darknet's) swaps the
centre parametrisation for the RPN's unbounded ``x = x_a + tx * w_a`` about the anchor centred in the cell:
the x, y entries of ``coord`` and ``prior`` then regress raw tx, ty (target ``(x*W - col - .5) / anchor_w``,
prior 0) instead of the sigmoids; everything else is unchanged (both encodings side by side:
:class:`~yolo9000.ops.boxes.RegionBoxCoder`).

Each term is summed over the predictions of an image and averaged over the batch (darknet sums the
gradients of a batch and divides the learning rate by the batch size). Darknet's printed cost is
``sum(delta**2)``, the squared norm of the gradient w.r.t. the activated outputs -- not a multiple of
this loss, since the scales enter the gradient linearly and its square quadratically, and the class term
is a cross-entropy.

WordTree heads (``[region] tree=``, YOLO9000) replace the class term by darknet's hierarchical
``delta_region_class``: at a responsible prediction, in every sibling group on the path from the truth's
node to the top, the softmax cross-entropy of that group with the path node as target (labels propagate
up; the groups below the node and off the path get nothing). When several truths share a prediction,
each group takes the target of the last truth (row order) whose path crosses it, as darknet's
assignments leave it. Target classes are tree node indices (map a flat label set, e.g. with
``coco9k.map``, before calling; ``[region] map=`` is not applied here).

Classification-only truths (YOLO9000's joint training; darknet marks them with x, y > 100000): a row
``[-1, -1, 0, 0, node]`` (:func:`class_only_rows`; cx < 0 and w = h = 0; the flat loss reads it as
padding). An image with one is a classification image: its box rows are ignored (as darknet, the first
class-only row counts), every prediction gets the no-object penalty except the one with the highest
``objectness * P(node)`` (P the product of the conditionals on the node's path,
``get_hierarchy_probability``), which gets the node's hierarchical class loss and, for its objectness,
``class_only_objectness="paper"``: ``0.5 * object_scale * max(0, .3 - obj)**2`` (the paper: assume the
box overlaps the truth by at least .3 IoU), or ``"darknet"``: nothing (darknet computes that rule and then
zeroes the delta). No coordinate or anchor-prior term on classification images.

Targets are built without autograd, fully vectorised over the batch and the truth slots, with no host
synchronisation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torchvision.ops import complete_box_iou_loss

from yolo9000.errors import Yolo9000Error
from yolo9000.models.darknet import RegionSpec
from yolo9000.ops.boxes import RegionBoxCoder, box_convert, box_iou_cxcywh, shape_iou_wh
from yolo9000.wordtree.tree import WordTree, group_log_softmax, load_tree

PRIOR_SEEN = 12800   # darknet: the anchor-prior term applies while *net.seen < 12800
PRIOR_SCALE = 0.01

TERMS = ("coord", "obj", "noobj", "cls", "prior")
FIT = ("iou_resp", "obj_resp", "obj_free", "cls_acc")  # not loss terms: what the head has learnt (fit_stats)
BOX_LOSSES = ("mse", "ciou")  # darknet's squared error of the box codes; 1 - complete IoU of the boxes
CLASS_ONLY_OBJECTNESS = ("paper", "darknet")
CLASS_ONLY_IOU = 0.3  # the paper: a classification image's best box is assumed to overlap the truth by .3
OBJ_LOSSES = ("mse", "bce", "mixed")  # darknet's; the cross-entropy of the logit; cross-entropy where responsible


def class_only_rows(nodes: torch.Tensor) -> torch.Tensor:
    """(M,) tree node indices -> (M, 5) classification-only target rows ``[-1, -1, 0, 0, node]``."""
    nodes = torch.as_tensor(nodes).reshape(-1)
    out = torch.zeros(nodes.shape[0], 5, dtype=torch.float32, device=nodes.device)
    out[:, :2] = -1.0
    out[:, 4] = nodes.to(torch.float32)
    return out


def is_class_only(targets: torch.Tensor) -> torch.Tensor:
    """(..., 5) target rows -> (...) bool, True for classification-only rows (cx < 0, w <= 0, h <= 0)."""
    return (targets[..., 0] < 0) & (targets[..., 2] <= 0) & (targets[..., 3] <= 0)


@dataclass(frozen=True)
class RegionTargets:
    """Dense targets for one batch, in the head's (B, A, ..., H, W) layout.

    Attributes:
        responsible: (B, A, H, W) bool, the predictions matched to a truth.
        coord_target: (B, A, 4, H, W) sigmoid-space x, y and raw tw, th targets (0 where not responsible).
        coord_weight: (B, A, H, W) ``coord_scale * (2 - w*h)`` where responsible, else 0.
        obj_target: (B, A, H, W) objectness target where responsible (IoU with rescore, else 1), else 0.
        noobj: (B, A, H, W) bool, the predictions that get the no-object penalty.
        cls_target: softmax: (B, A, H, W) int64 class index (0 where not responsible);
            logistic: (B, A, C, H, W) multi-hot float.
        truth_slot: (B, T) int64 prediction index ``a*H*W + row*W + col`` each truth row is matched to
            (``A*H*W`` for padding rows).
        iou: (B, A, H, W) IoU of each responsible prediction's box with its truth, else 0 (what
            ``obj_target`` is with rescore).
    """

    responsible: torch.Tensor
    coord_target: torch.Tensor
    coord_weight: torch.Tensor
    obj_target: torch.Tensor
    noobj: torch.Tensor
    cls_target: torch.Tensor
    truth_slot: torch.Tensor | None = None
    iou: torch.Tensor | None = None


@lru_cache(maxsize=32)
def _anchor_tensor(anchors: tuple[float, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(A, 2) anchor (w, h) in grid cells, cached so the host-to-device copy happens once."""
    return torch.tensor(anchors, dtype=dtype, device=device).view(-1, 2)


def decode_grid(xy: torch.Tensor, wh: torch.Tensor, region: RegionSpec) -> tuple[torch.Tensor, ...]:
    """(B, A, 2, H, W) location codes and raw log-scales -> every prediction's box ``(cx, cy, w, h)`` in grid
    cells, each (B, A, H, W) (:class:`~yolo9000.ops.boxes.RegionBoxCoder` at each cell and anchor). Autograd
    flows through it; the targets' codes decode the same way to the truths' boxes."""
    a, h, w = xy.shape[1], xy.shape[3], xy.shape[4]
    anchors = _anchor_tensor(tuple(region.anchors[: 2 * a]), xy.device, xy.dtype)                 # (A, 2)
    rows = torch.arange(h, device=xy.device, dtype=xy.dtype).view(1, 1, h, 1)
    cols = torch.arange(w, device=xy.device, dtype=xy.dtype).view(1, 1, 1, w)
    aw, ah = anchors[:, 0].view(1, a, 1, 1), anchors[:, 1].view(1, a, 1, 1)
    return RegionBoxCoder(region.location).decode(xy[:, :, 0], xy[:, :, 1], wh[:, :, 0], wh[:, :, 1], cols, rows,
                                                  aw, ah)


def region_loss_problem(region: RegionSpec) -> str | None:
    """Why the region loss cannot train a ``[region]`` head, or None. The trainers ask before building the
    network, and stop with a one-line error naming ``--model``."""
    if region.tree is None and region.map is not None:
        return "[region] map= without tree=: training such a head is not implemented (give tree= too, or drop map=)"
    if region.coords != 4:
        return f"[region] coords={region.coords}: training boxes of other than 4 coordinates (masks) is not implemented"
    return None


def _check_supported(region: RegionSpec) -> None:
    """NotImplementedError where :func:`region_loss_problem` says why (the trainers refuse such a network first)."""
    if (problem := region_loss_problem(region)) is not None:
        raise NotImplementedError(problem)


@torch.no_grad()
def build_region_targets(xy: torch.Tensor, wh: torch.Tensor, targets: torch.Tensor,
                         region: RegionSpec) -> RegionTargets:
    """Darknet's truth assignment, vectorised over the batch and the truth slots.

    Args:
        xy: (B, A, 2, H, W) location codes of tx, ty: sigmoid(t) (``region.location`` direct, darknet's)
            or t (offset; :class:`~yolo9000.ops.boxes.RegionBoxCoder`).
        wh: (B, A, 2, H, W) raw tw, th.
        targets: (B, T, 5) [cx, cy, w, h, class], cx..h as fractions of the network input; rows with
            w <= 0 or h <= 0 are padding (each row is judged on its own; darknet stops at the first
            padded row, which is the same when padding trails, as loaders write it).
        region: the head's options (anchors in grid cells, scales, ``thresh``, ``rescore``, ...).
    Returns:
        :class:`RegionTargets` (no grad), in ``xy``'s dtype and device.
    """
    _check_supported(region)
    bsz, a, _, h, w = xy.shape
    n = a * h * w
    dt = xy.dtype
    xy, wh, targets = xy.detach(), wh.detach(), targets.detach().to(dt)
    t = targets.shape[1]
    anchors = _anchor_tensor(tuple(region.anchors[: 2 * a]), xy.device, dt)              # (A, 2)
    pred = _normalised_predictions(xy, wh, region)                                        # (B, N, 4)

    box = targets[..., :4]                                                                # (B, T, 4)
    valid = (box[..., 2] > 0) & (box[..., 3] > 0)                                         # (B, T)

    # ---- no-object penalty unless some truth overlaps the prediction by more than thresh
    overlap = box_iou_cxcywh(pred.unsqueeze(2), box.unsqueeze(1))                        # (B, N, T)
    covered = ((overlap > region.thresh) & valid.unsqueeze(1)).any(dim=2)                 # (B, N)

    # ---- the responsible prediction of each truth, and what it should predict
    safe = torch.where(valid.unsqueeze(-1), box, torch.full_like(box, 0.5))             # no log(0) below
    col, row, best, slot = _responsible_slots(safe, pred, anchors, region.bias_match, h, w)
    tcoord = torch.stack(RegionBoxCoder(region.location).encode(
        safe[..., 0] * w, safe[..., 1] * h, safe[..., 2] * w, safe[..., 3] * h,
        col, row, anchors[best, 0], anchors[best, 1]), dim=-1)                            # (B, T, 4)
    weight = region.coord_scale * (2 - safe[..., 2] * safe[..., 3])
    iou = box_iou_cxcywh(pred.gather(1, slot.unsqueeze(-1).expand(bsz, t, 4)), safe)
    cls = targets[..., 4].long()

    # ---- last truth wins: a truth is overwritten by any later valid truth with the same slot
    winner = _last_truth_wins(slot, valid)
    dest = torch.where(winner, slot, torch.full_like(slot, n))                            # slot n: discarded
    truth_slot = torch.where(valid, slot, torch.full_like(slot, n))
    responsible = _scatter_to_slots(winner, dest, n).view(bsz, a, h, w)
    coord_target = _scatter_to_slots(tcoord, dest, n).view(bsz, a, h, w, 4).permute(0, 1, 4, 2, 3)
    coord_weight = _scatter_to_slots(weight, dest, n).view(bsz, a, h, w)
    iou_dense = _scatter_to_slots(iou, dest, n).view(bsz, a, h, w)
    obj_target = iou_dense if region.rescore else responsible.to(dt)  # rescore: the IoU, else 1 where matched
    cls_target = _class_targets(cls, dest, truth_slot, region, (bsz, a, h, w), dt)
    noobj = ~(covered.view(bsz, a, h, w) | responsible)
    return RegionTargets(responsible, coord_target, coord_weight, obj_target, noobj, cls_target, truth_slot,
                         iou_dense)


def _normalised_predictions(xy: torch.Tensor, wh: torch.Tensor, region: RegionSpec) -> torch.Tensor:
    """Every prediction's box as fractions of the input, in darknet's index order ``d = a*H*W + row*W + col``.

    ``xy``, ``wh``: (B, A, 2, H, W) as :func:`build_region_targets` takes them -> (B, N, 4) boxes
    ``(cx, cy, w, h)``, N = A*H*W.
    """
    bsz, a, _, h, w = xy.shape
    px, py, pw, ph = decode_grid(xy, wh, region)
    px, py, pw, ph = px / w, py / h, pw / w, ph / h                                       # normalised
    return torch.stack([px, py, pw, ph], dim=-1).view(bsz, a * h * w, 4)


def _responsible_slots(safe: torch.Tensor, pred: torch.Tensor, anchors: torch.Tensor, bias_match: bool, h: int,
                       w: int) -> tuple[torch.Tensor, ...]:
    """The prediction responsible for each truth: the anchor of best shape IoU in the truth's cell.

    ``safe``: (B, T, 4) truth boxes ``(cx, cy, w, h)`` as fractions (padding rows any positive size);
    ``pred``: (B, N, 4) the predicted boxes (their sizes are compared, unless ``bias_match``); ``anchors``:
    (A, 2) in grid cells (compared, as fractions, under ``bias_match``). Returns (B, T) int64 ``col``, ``row``,
    ``best`` (the anchor; the first of equal IoUs, as darknet) and ``slot = best*H*W + row*W + col``.
    """
    bsz, t = safe.shape[:2]
    a = anchors.shape[0]
    col = (safe[..., 0] * w).floor().long().clamp(0, w - 1)                               # darknet: (int)(x*W)
    row = (safe[..., 1] * h).floor().long().clamp(0, h - 1)
    cell = row * w + col                                                                  # (B, T)
    if bias_match:
        shapes = torch.stack([anchors[:, 0] / w, anchors[:, 1] / h], dim=-1).expand(bsz, t, a, 2)
    else:  # the anchors' predicted sizes in the truth's cell
        pwh = pred[..., 2:4].reshape(bsz, a, h * w, 2).transpose(1, 2)                  # (B, HW, A, 2)
        shapes = pwh[torch.arange(bsz, device=safe.device).unsqueeze(1), cell]           # (B, T, A, 2)
    best = shape_iou_wh(shapes, safe[..., None, 2:4]).argmax(dim=-1)                     # first max, as darknet
    return col, row, best, best * (h * w) + cell                                          # slot (B, T) in [0, N)


def _last_truth_wins(slot: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, T) slots and valid flags -> (B, T) bool: the valid truths that no later valid truth with the same slot
    overwrites (darknet writes the truths in order, so the last one wins)."""
    t = slot.shape[1]
    later = torch.ones(t, t, dtype=torch.bool, device=slot.device).triu(diagonal=1)     # later[t, t'] = t' > t
    shadowed = ((slot.unsqueeze(2) == slot.unsqueeze(1)) & valid.unsqueeze(1) & later).any(dim=2)
    return valid & ~shadowed


def _scatter_to_slots(values: torch.Tensor, dest: torch.Tensor, n: int) -> torch.Tensor:
    """(B, T, *rest) per-truth values -> (B, N, *rest), written at the (B, T) slots ``dest`` (``n``: discarded),
    0 elsewhere."""
    bsz, t = dest.shape
    rest = values.shape[2:]
    out = values.new_zeros((bsz, n + 1, *rest))
    idx = dest.view(bsz, t, *([1] * len(rest))).expand_as(values)
    return out.scatter_(1, idx, values)[:, :n]


def _class_targets(cls: torch.Tensor, dest: torch.Tensor, truth_slot: torch.Tensor, region: RegionSpec,
                   shape: tuple[int, int, int, int], dtype: torch.dtype) -> torch.Tensor:
    """The class targets from (B, T) class indices ``cls``, the winners' slots ``dest`` and every valid truth's
    slot ``truth_slot`` (N = A*H*W where none). ``shape``: (B, A, H, W).

    Softmax: (B, A, H, W) int64, the winner's class (0 elsewhere). Logistic: (B, A, C, H, W) multi-hot in
    ``dtype``: every truth landing on a prediction adds its class (darknet's delta_region_class, tag).
    """
    bsz, a, h, w = shape
    n = a * h * w
    if region.softmax:
        return _scatter_to_slots(cls, dest, n).view(bsz, a, h, w)
    c = region.classes
    flat = truth_slot * c + cls.clamp(0, c - 1)
    hot = torch.zeros(bsz, (n + 1) * c, dtype=dtype, device=cls.device).scatter_(1, flat, 1.0)[:, : n * c]
    return hot.view(bsz, a, h, w, c).permute(0, 1, 4, 2, 3)


def _objectness_terms(obj: torch.Tensor, obj_logit: torch.Tensor | None, target: torch.Tensor, resp: torch.Tensor,
                      noobj: torch.Tensor, region: RegionSpec, obj_loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(obj, noobj) sums, with their scales: the responsible predictions toward ``target`` and the free ones
    toward 0.

    obj: (...,) sigmoid(to); obj_logit: the same shape, to (``None``: ``logit(obj)``; not read by ``"mse"``);
    target, resp, noobj: the same shape (IoU or 1, 0/1 weights, bool). ``obj_loss``: ``"mse"`` (darknet's
    ``0.5 * scale * (target - obj)**2``), ``"bce"`` (``scale * BCE(to, target)``) or ``"mixed"`` (``BCE(to,
    target)`` where responsible, darknet's squared error elsewhere); see the module docstring.
    """
    if obj_loss not in OBJ_LOSSES:
        raise Yolo9000Error(f"obj_loss {obj_loss!r}: choose {', '.join(OBJ_LOSSES[:-1])} or {OBJ_LOSSES[-1]}")
    free = noobj.to(obj.dtype)
    if obj_loss == "mse":
        return (0.5 * region.object_scale * (resp * (target - obj).square()).sum(),
                0.5 * region.noobject_scale * (free * obj.square()).sum())
    logit = torch.logit(obj) if obj_logit is None else obj_logit
    pos = (resp * F.binary_cross_entropy_with_logits(logit, target, reduction="none")).sum()
    if obj_loss == "mixed":
        return pos, 0.5 * region.noobject_scale * (free * obj.square()).sum()
    neg = F.binary_cross_entropy_with_logits(logit, torch.zeros_like(logit), reduction="none")
    return region.object_scale * pos, region.noobject_scale * (free * neg).sum()


def _box_term(xy: torch.Tensor, wh: torch.Tensor, tg: RegionTargets, region: RegionSpec,
              box_loss: str) -> torch.Tensor:
    """The responsible predictions' box term (``coord``), each weighted by ``coord_weight`` (``coord_scale *
    (2 - w*h)``), summed: ``"mse"``, darknet's ``0.5 * weight * (code - target)**2`` over the four codes;
    ``"ciou"``, ``weight * (1 - CIoU)`` of the decoded boxes (torchvision's ``complete_box_iou_loss``: one
    minus the IoU, plus the squared centre distance over the enclosing box's squared diagonal, plus the
    aspect-ratio term), which is scale-free where darknet's is in grid cells: a centre 5 px off costs a
    26 px box as much IoU as 0.26 of its width, and its gradient says so.

    xy, wh: (B, A, 2, H, W) location codes and raw log-scales; tg: the batch's targets. Computed densely
    (no host sync) and selected where responsible."""
    if box_loss == "mse":
        codes = torch.cat([xy, wh], dim=2)
        return 0.5 * (tg.coord_weight.unsqueeze(2) * (codes - tg.coord_target).square()).sum()
    if box_loss != "ciou":
        raise Yolo9000Error(f"box_loss {box_loss!r}: choose {' or '.join(BOX_LOSSES)}")
    t = tg.coord_target
    cx, cy, w, h = decode_grid(xy, wh, region)
    # a side that under- or overflows (exp of a wild log-scale early on) would make CIoU's w / h NaN, and its
    # gradient too, even where the prediction is masked out: keep the sides in [1e-6, 1e4] grid cells
    pred = torch.stack([cx, cy, w.clamp(1e-6, 1e4), h.clamp(1e-6, 1e4)], dim=-1)               # (B, A, H, W, 4)
    truth = torch.stack(decode_grid(t[:, :, :2], t[:, :, 2:], region), dim=-1)
    loss = complete_box_iou_loss(box_convert(pred, "cxcywh", "xyxy"), box_convert(truth, "cxcywh", "xyxy"),
                                 reduction="none")
    return torch.where(tg.responsible, tg.coord_weight * loss, torch.zeros_like(loss)).sum()


def _region_loss_from_activated(xy: torch.Tensor, wh: torch.Tensor, obj: torch.Tensor, cls_logits: torch.Tensor,
                                targets: torch.Tensor, region: RegionSpec, seen: int,
                                class_only_objectness: str = "paper", obj_loss: str = "mse",
                                obj_logit: torch.Tensor | None = None, box_loss: str = "mse"
                                ) -> dict[str, torch.Tensor]:
    """The region loss from the activated head, so its gradients can be compared with darknet's delta.

    Args:
        xy: (B, A, 2, H, W) location codes: sigmoid(tx), sigmoid(ty) (direct), or tx, ty (offset).
        wh: (B, A, 2, H, W) raw tw, th.
        obj: (B, A, H, W) sigmoid(to).
        cls_logits: (B, A, C, H, W) class logits (before the softmax / logistic).
        targets: (B, T, 5) [cx, cy, w, h, class] normalised to the network input; w == 0 rows are padding.
        region: the head's options.
        seen: images seen so far (darknet's ``*net.seen``); the prior term applies while < 12800.
        class_only_objectness: WordTree heads: ``"paper"`` or ``"darknet"`` (see the module docstring).
        obj_loss: ``"mse"`` (darknet's), ``"bce"`` or ``"mixed"`` (see the module docstring).
        obj_logit: (B, A, H, W) to, the logit of ``obj`` (``None``: ``logit(obj)``; not read by ``"mse"``).
        box_loss: ``"mse"`` (darknet's) or ``"ciou"`` (:func:`_box_term`).
    Returns:
        dict of 0-d tensors 'coord', 'obj', 'noobj', 'cls', 'prior', 'total' (summed per image, mean over
        the batch), and :func:`fit_stats`' 'iou_resp', 'obj_resp', 'obj_free' (detached, not in 'total').
    """
    if region.tree is not None:
        return _tree_loss_from_activated(xy, wh, obj, cls_logits, targets, region, seen, class_only_objectness,
                                         obj_loss, obj_logit, box_loss)
    tg = build_region_targets(xy, wh, targets, region)
    bsz = xy.shape[0]
    dt = xy.dtype
    resp = tg.responsible.to(dt)
    obj_sum, noobj_sum = _objectness_terms(obj, obj_logit, tg.obj_target, resp, tg.noobj, region, obj_loss)
    out = {
        "coord": _box_term(xy, wh, tg, region, box_loss),
        "obj": obj_sum,
        "noobj": noobj_sum,
    }
    if region.softmax:
        ce = F.cross_entropy(cls_logits.flatten(0, 1), tg.cls_target.flatten(0, 1), reduction="none")
        out["cls"] = region.class_scale * (resp * ce.view_as(resp)).sum()
        hit = cls_logits.detach().argmax(dim=2) == tg.cls_target
    else:
        bce = F.binary_cross_entropy_with_logits(cls_logits, tg.cls_target, reduction="none").sum(dim=2)
        out["cls"] = region.class_scale * (resp * bce).sum()
        hit = tg.cls_target.gather(2, cls_logits.detach().argmax(dim=2, keepdim=True)).squeeze(2) > 0
    out["prior"] = _prior_loss(xy, wh, 1 - resp, seen, region.location)
    return _per_image(out, bsz, tg, obj, tg.noobj, hit)


def _prior_loss(xy: torch.Tensor, wh: torch.Tensor, free: torch.Tensor, seen: int,
                location: str = "direct") -> torch.Tensor:
    """Darknet's early pull of every box that has no truth toward its anchor, while ``seen < PRIOR_SEEN``:
    target the anchor centred in its cell, i.e. sigmoid(tx) = sigmoid(ty) = .5 (``offset``: tx = ty = 0),
    tw = th = 0.

    xy, wh: (B, A, 2, H, W) location codes and raw log-scales; free: (B, A, H, W) weight of each box
    (1 where the term applies). Returns a scalar (summed over the batch), 0 once ``seen`` has passed.
    """
    if seen >= PRIOR_SEEN:
        return xy.new_zeros(())
    sq = torch.cat([(xy - RegionBoxCoder(location).cell_centre_code).square(), wh.square()], dim=2)
    return 0.5 * PRIOR_SCALE * (free.unsqueeze(2) * sq).sum()


def _per_image(out: dict[str, torch.Tensor], bsz: int, tg: RegionTargets, obj: torch.Tensor,
               noobj: torch.Tensor, cls_hit: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The loss terms divided by the batch size, plus their ``total`` and :func:`fit_stats`."""
    out = {k: v / bsz for k, v in out.items()}
    out["total"] = sum(out[k] for k in TERMS)
    return {**out, **fit_stats(tg, obj, noobj, cls_hit)}


def fit_stats(tg: RegionTargets, obj: torch.Tensor, noobj: torch.Tensor,
              cls_hit: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """What the head learnt, as 0-d detached tensors (no host sync): ``iou_resp``, the mean IoU of the
    responsible predictions' boxes with their truths; ``obj_resp``, their mean objectness (the score
    validation ranks by; with rescore its target is ``iou_resp``); ``obj_free``, the mean objectness of the
    predictions under the no-object penalty; ``cls_acc`` (flat class heads, given ``cls_hit``), the fraction
    of responsible predictions whose most probable class is the truth's. A detector whose ``obj_resp`` stays
    far below ``iou_resp`` cannot rank its own good boxes (the stall ``obj_loss="mse"`` falls into, see the
    module docstring); a low ``iou_resp`` is localisation, a low ``cls_acc`` classification.

    tg: the batch's targets; obj: sigmoid(to) and noobj: the no-object mask, both (B, A, H, W) (or (B, N));
    cls_hit: (B, A, H, W) bool, whether the argmax class is the target (read where responsible). A batch
    with no truth gives 0 for the first two and ``cls_acc``.
    """
    with torch.no_grad():
        resp = tg.responsible.reshape(obj.shape).to(obj.dtype)
        free = noobj.reshape(obj.shape).to(obj.dtype)
        n_resp, n_free = resp.sum().clamp(min=1), free.sum().clamp(min=1)
        out = {"iou_resp": (tg.iou.reshape(obj.shape) * resp).sum() / n_resp,
               "obj_resp": (obj.detach() * resp).sum() / n_resp,
               "obj_free": (obj.detach() * free).sum() / n_free}
        if cls_hit is not None:
            out["cls_acc"] = (cls_hit.reshape(obj.shape).to(obj.dtype) * resp).sum() / n_resp
        return out


@lru_cache(maxsize=8)
def _tree_tensors(path: str, device: torch.device) -> tuple[WordTree, torch.Tensor, torch.Tensor]:
    """(tree, parent (N,), group (N,)) of a tree file, the index tensors on ``device`` (read once)."""
    tree = load_tree(path)
    return tree, tree.parent.to(device), tree.group.to(device)


def path_mask(nodes: torch.Tensor, parent: torch.Tensor, max_depth: int, dtype: torch.dtype) -> torch.Tensor:
    """(...,) node indices -> (..., N) 0/1 in ``dtype``: 1 at each node and its ancestors (no host sync).

    ``parent``: (N,) int64, -1 at the top level. Indices are clamped into [0, N).
    """
    n = parent.shape[0]
    cur = nodes.long().clamp(0, n - 1)
    out = torch.zeros(*nodes.shape, n, dtype=dtype, device=nodes.device)
    for _ in range(max_depth + 1):
        live = cur >= 0
        out.scatter_reduce_(-1, cur.clamp(min=0).unsqueeze(-1), live.to(dtype).unsqueeze(-1), "amax")
        cur = torch.where(live, parent[cur.clamp(min=0)], cur)
    return out


def _tree_loss_from_activated(xy: torch.Tensor, wh: torch.Tensor, obj: torch.Tensor, cls_logits: torch.Tensor,
                              targets: torch.Tensor, region: RegionSpec, seen: int,
                              class_only_objectness: str, obj_loss: str = "mse",
                              obj_logit: torch.Tensor | None = None, box_loss: str = "mse") -> dict[str, torch.Tensor]:
    """The region loss of a WordTree head (arguments as :func:`_region_loss_from_activated`; classes are
    tree node indices; class-only rows as :func:`class_only_rows`)."""
    if class_only_objectness not in CLASS_ONLY_OBJECTNESS:
        raise Yolo9000Error(f"class_only_objectness {class_only_objectness!r}: choose "
                            f"{' or '.join(CLASS_ONLY_OBJECTNESS)}")
    bsz, a, c, h, w = cls_logits.shape
    n = a * h * w
    dev, dt = xy.device, xy.dtype
    tree, parent, group = _tree_tensors(str(region.tree), dev)
    if tree.num_nodes != c:
        raise Yolo9000Error(f"{region.tree}: the tree has {tree.num_nodes} nodes, the region {c} classes")
    targets = targets.detach().to(dt)
    if targets.shape[1] == 0:  # one padding row keeps every shape below non-empty
        targets = targets.new_zeros(bsz, 1, 5)
    t = targets.shape[1]
    # ---- classification images: the first class-only row of an image makes it one
    only = is_class_only(targets)                                                         # (B, T)
    cls_img = only.any(dim=1)                                                             # (B,)
    first = only.to(torch.int8).argmax(dim=1)                                             # first True (0 if none)
    cls_img_node = targets[torch.arange(bsz, device=dev), first, 4].long()               # (B,)
    box_rows = torch.where(cls_img[:, None, None], torch.zeros_like(targets), targets)
    tg = build_region_targets(xy, wh, box_rows, region)
    resp = tg.responsible.to(dt)
    det_img = (~cls_img).to(dt)                                                           # (B,)
    # ---- group log-softmax of every prediction, predictions in darknet's order d = a*H*W + row*W + col
    logp = group_log_softmax(cls_logits.permute(0, 1, 3, 4, 2).reshape(bsz, n, c), tree)  # (B, N, C)

    # ---- detection truths: each group on a truth's path, unless a later truth at the same slot crosses it
    slot = tg.truth_slot                                                                  # (B, T), n = padding
    valid = slot < n
    path = path_mask(targets[..., 4], parent, tree.max_depth, dt) * valid.unsqueeze(-1).to(dt)   # (B, T, C)
    gidx = group.expand(bsz, t, c)
    touch = path.new_zeros(bsz, t, tree.num_groups).scatter_reduce_(-1, gidx, path, "amax")    # (B, T, G)
    later = torch.ones(t, t, dtype=torch.bool, device=dev).triu(diagonal=1)
    same_later = ((slot.unsqueeze(2) == slot.unsqueeze(1)) & valid.unsqueeze(1) & later).to(dt)  # (B, T, T')
    shadowed = torch.bmm(same_later, touch) > 0                                           # (B, T, G)
    keep = path * (~shadowed.gather(-1, gidx)).to(dt)                                     # (B, T, C)
    logp_at = logp.gather(1, slot.clamp(max=n - 1).unsqueeze(-1).expand(bsz, t, c))      # (B, T, C)
    cls_det = -(keep * logp_at).sum()

    # ---- classification images: the prediction with the highest objectness * P(node), and its class loss
    path_img = path_mask(cls_img_node, parent, tree.max_depth, dt)                       # (B, C)
    logp_path = (logp * path_img.unsqueeze(1)).sum(dim=-1)                                # (B, N) log P(node)
    obj_flat = obj.reshape(bsz, n)
    best = (torch.log(obj_flat.detach()) + logp_path.detach()).argmax(dim=1)             # (B,)
    cls_cls = -(logp_path.gather(1, best[:, None]).squeeze(1) * cls_img.to(dt)).sum()
    at_best = torch.zeros(bsz, n, dtype=torch.bool, device=dev).scatter_(1, best[:, None], True) & cls_img[:, None]
    noobj = tg.noobj.reshape(bsz, n) & ~at_best
    obj_best = obj_flat.gather(1, best[:, None]).squeeze(1)                               # (B,)
    if class_only_objectness == "paper":
        obj_cls = (cls_img.to(dt) * (CLASS_ONLY_IOU - obj_best).clamp(min=0).square()).sum()
    else:
        obj_cls = obj_best.new_zeros(())

    logit_flat = None if obj_logit is None else obj_logit.reshape(bsz, n)
    obj_sum, noobj_sum = _objectness_terms(obj_flat, logit_flat, tg.obj_target.reshape(bsz, n),
                                           resp.reshape(bsz, n), noobj, region, obj_loss)
    out = {
        "coord": _box_term(xy, wh, tg, region, box_loss),
        "obj": obj_sum + 0.5 * region.object_scale * obj_cls,  # the class-only rule stays a squared error
        "noobj": noobj_sum,
        "cls": region.class_scale * (cls_det + cls_cls),
    }
    out["prior"] = _prior_loss(xy, wh, (1 - resp) * det_img.view(bsz, 1, 1, 1), seen, region.location)
    return _per_image(out, bsz, tg, obj_flat, noobj)


def region_loss(raw: torch.Tensor, targets: torch.Tensor, region: RegionSpec, seen: int,
                class_only_objectness: str = "paper", obj_loss: str = "mse",
                box_loss: str = "mse") -> dict[str, torch.Tensor]:
    """YOLOv2's region loss (darknet's GPU training update), differentiable w.r.t. the raw head.

    Args:
        raw: (B, A*(5+C), H, W) raw head, channel ``a*(5+C) + k`` (k = tx, ty, tw, th, to, classes).
        targets: (B, T, 5) [cx, cy, w, h, class]; cx, cy, w, h as fractions of the network input, class
            an index (stored as a float); rows with w == 0 are padding. T may be 0.
        region: the head's options (:class:`~yolo9000.models.darknet.RegionSpec`).
        seen: images seen so far (darknet's ``*net.seen``); the anchor prior applies while < 12800.
        class_only_objectness: WordTree heads, classification images: ``"paper"`` (train the best box's
            objectness up to .3 when below) or ``"darknet"`` (no objectness gradient there).
        obj_loss: ``"mse"``: darknet's squared error of sigmoid(to); ``"bce"``: the cross-entropy of the
            logit; ``"mixed"``: the cross-entropy where responsible, the squared error elsewhere (see the
            module docstring).
        box_loss: ``"mse"``: darknet's squared error of the box codes; ``"ciou"``: one minus the complete IoU
            of the decoded boxes (:func:`_box_term`).
    Returns:
        dict of 0-d tensors 'coord', 'obj', 'noobj', 'cls', 'prior' and their sum 'total': each summed over
        the predictions of an image, averaged over the batch; and :func:`fit_stats`' 'iou_resp',
        'obj_resp', 'obj_free', 'cls_acc' (detached means, not part of 'total').
    Raises:
        NotImplementedError: ``coords != 4``; ``map=`` without ``tree=``.

    With a WordTree (``region.tree``) classes are tree nodes and rows ``[-1, -1, 0, 0, node]``
    (:func:`class_only_rows`) make an image a classification image (see the module docstring).
    """
    _check_supported(region)
    bsz, ch, h, w = raw.shape
    a, c = region.num, region.classes
    if ch != a * (5 + c):
        raise ValueError(f"raw head has {ch} channels; region expects num*(5+classes) = {a * (5 + c)}")
    if targets.dim() != 3 or targets.shape[0] != bsz or targets.shape[2] != 5:
        raise ValueError(f"targets must be (B={bsz}, T, 5), got {tuple(targets.shape)}")
    x = raw.view(bsz, a, 5 + c, h, w)
    to = x[:, :, 4]
    return _region_loss_from_activated(RegionBoxCoder(region.location).activate_xy(x[:, :, 0:2]), x[:, :, 2:4],
                                       torch.sigmoid(to), x[:, :, 5:], targets, region, seen, class_only_objectness,
                                       obj_loss, to, box_loss)
