"""The region loss against darknet's own training deltas (../shared/reference/darknet/loss/).

darknet's ``l.delta`` is the negative gradient of the loss w.r.t. the activated outputs (x, y, obj after
the sigmoid; tw, th raw; class logits under the softmax). We compute the loss from leaves holding exactly
those quantities (float64) and compare ``-grad`` with ``delta.npy`` on every channel of every cell.

Relations with darknet's printed cost (``pow(mag_array(l.delta), 2)``):
* cost = sum(delta**2) = |grad of the loss w.r.t. the activated outputs|**2, accumulated by darknet
  sequentially in float32 (reproduced here to the printed digits);
* it is NOT 2 * total: each squared term is ``0.5 * s * (t - x)**2`` with delta ``s * (t - x)``, so
  total = sum over the non-class outputs of ``delta**2 / (2 s)`` + class_scale * cross-entropy, where s is
  the per-output scale (coord_scale*(2-wh), object_scale, noobject_scale, .01) -- tested below, with s
  read off the loss's own (diagonal) second derivative.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from functools import lru_cache

import numpy as np
import pytest
import torch

from yolo9000.darknet.cfg import parse_cfg
from yolo9000.train.loss import _region_loss_from_activated, build_region_targets, region_loss
from yolo9000.models.darknet import RegionSpec
from yolo9000.ops.region import region_activate

from tests.conftest import REFERENCE

LOSS_DIR = REFERENCE / "loss"
CASES = sorted(p.name for p in LOSS_DIR.iterdir() if p.is_dir()) if LOSS_DIR.is_dir() else []
DELTA_TOL = 1e-5
TERMS = ("coord", "obj", "noobj", "cls", "prior")


def test_all_cases_present() -> None:
    assert len(CASES) == 4, CASES


@lru_cache(maxsize=None)
def load_case(case: str) -> dict:
    d = LOSS_DIR / case
    info = dict(line.split("=", 1) for line in (d / "loss.txt").read_text().splitlines() if "=" in line)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unused training options of the cfg
        region = parse_cfg(REFERENCE / info["cfg"]).region
    return {
        "region": region,
        "seen": int(info["seen"]),
        "truths": int(info["truths"]),
        "cost": float(info["cost"]),
        "raw": np.load(d / "loss_input.npy"),
        "act": np.load(d / "loss_output.npy"),
        "truth": np.load(d / "truth.npy"),
        "delta": np.load(d / "delta.npy"),
    }


def targets_of(c: dict, batch: int = 1) -> torch.Tensor:
    """truth.npy (30, 5), zero-padded -> (batch, 30, 5) float64."""
    return torch.from_numpy(c["truth"]).double().unsqueeze(0).repeat(batch, 1, 1)


def activated_leaves(raw: torch.Tensor, region: RegionSpec) -> tuple[torch.Tensor, ...]:
    """The quantities darknet's delta differentiates against, as leaves: sigmoid(tx, ty), raw tw th,
    sigmoid(to), class logits (B, A, ..., H, W)."""
    b, _, h, w = raw.shape
    x = raw.detach().view(b, region.num, 5 + region.classes, h, w)
    return (torch.sigmoid(x[:, :, 0:2]).requires_grad_(), x[:, :, 2:4].clone().requires_grad_(),
            torch.sigmoid(x[:, :, 4]).requires_grad_(), x[:, :, 5:].clone().requires_grad_())


def to_head(xy: torch.Tensor, wh: torch.Tensor, obj: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
    """Per-part tensors (B, A, ..., H, W) -> the head layout (B, A*(5+C), H, W)."""
    b, a, _, h, w = xy.shape
    return torch.cat([xy, wh, obj.unsqueeze(2), cls], dim=2).reshape(b, -1, h, w)


@lru_cache(maxsize=None)
def case_grad(case: str) -> tuple[np.ndarray, dict]:
    """-d total / d activated, in darknet's layout, and the loss terms (float64, batch of 1)."""
    c = load_case(case)
    leaves = activated_leaves(torch.from_numpy(c["raw"]).double(), c["region"])
    out = _region_loss_from_activated(*leaves, targets_of(c), c["region"], c["seen"])
    out["total"].backward()
    neg = -to_head(*(t.grad for t in leaves)).numpy()
    return neg, {k: v.item() for k, v in out.items()}


@pytest.mark.parametrize("case", CASES)
def test_activation_matches_darknet(case: str) -> None:
    c = load_case(case)
    act = region_activate(torch.from_numpy(c["raw"]).double(), c["region"].num)
    np.testing.assert_allclose(act.numpy(), c["act"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_gradient_equals_darknet_delta(case: str) -> None:
    neg, _ = case_grad(case)
    delta = load_case(case)["delta"].astype(np.float64)
    err = np.abs(neg - delta)
    assert err.max() < DELTA_TOL, (err.max(), np.unravel_index(err.argmax(), err.shape))


@pytest.mark.parametrize("case", CASES)
def test_cost_is_squared_gradient_norm(case: str) -> None:
    c = load_case(case)
    neg, _ = case_grad(case)
    delta = c["delta"].astype(np.float64)
    # cost = sum(delta^2): ours in float64 against darknet's deltas in float64
    np.testing.assert_allclose(np.square(neg).sum(), np.square(delta).sum(), rtol=1e-6)
    # darknet's printed value accumulates the squares one by one in float32 (mag_array), then sqrt, square
    for d in (c["delta"], neg.astype(np.float32)):
        acc = np.cumsum(np.square(d.ravel()), dtype=np.float32)[-1]
        assert float(np.sqrt(acc)) ** 2 == pytest.approx(c["cost"], rel=2e-6 if d is c["delta"] else 2e-5)


@pytest.mark.parametrize("case", CASES)
def test_total_from_delta(case: str) -> None:
    """total = sum(delta^2 / (2 s)) over x, y, w, h, obj  +  class_scale * sum(-log p[class])."""
    c = load_case(case)
    region = c["region"]
    xy, wh, obj, cls = activated_leaves(torch.from_numpy(c["raw"]).double(), region)
    out = _region_loss_from_activated(xy, wh, obj, cls, targets_of(c), region, c["seen"])
    grads = torch.autograd.grad(out["total"], (xy, wh, obj), create_graph=True)
    # every non-class term is separable and quadratic: d(sum grad)/dx = the scale s of x's term
    scales = torch.autograd.grad(sum(g.sum() for g in grads), (xy, wh, obj))
    scale = to_head(*scales, torch.zeros_like(cls)).detach().numpy()
    delta = c["delta"].astype(np.float64)
    a, k = region.num, 5 + region.classes
    d5 = delta.reshape(1, a, k, *delta.shape[2:])
    s5 = scale.reshape(d5.shape)
    box_obj_d, box_obj_s = d5[:, :, :5], s5[:, :, :5]
    used = box_obj_s > 0
    assert np.all(box_obj_d[~used] == 0)
    quad = 0.5 * np.sum(box_obj_d[used] ** 2 / box_obj_s[used])
    # class term: the responsible cells are those with a class delta; the target is its positive entry
    cls_d = d5[:, :, 5:]
    resp = np.any(cls_d != 0, axis=2)
    target = cls_d.argmax(axis=2)
    p = c["act"].reshape(d5.shape)[:, :, 5:]
    ce = -np.log(np.take_along_axis(p, target[:, :, None], axis=2)[:, :, 0])
    assert resp.sum() == len(set(np.flatnonzero(resp)))  # sanity
    cls_term = region.class_scale * ce[resp].sum()
    assert out["cls"].item() == pytest.approx(cls_term, rel=1e-5)
    assert out["total"].item() - out["cls"].item() == pytest.approx(quad, rel=1e-5)
    assert out["total"].item() == pytest.approx(quad + cls_term, rel=1e-5)
    # the naive cost = 2 * total does not hold (object_scale = 5, coord weights 2 - wh, .01 prior, CE)
    assert out["total"].item() != pytest.approx(c["cost"] / 2, rel=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_raw_gradient_is_darknet_gpu_update(case: str) -> None:
    """Through the sigmoids, autograd's raw gradient is backward_region_layer_gpu's update:
    -delta * sigma * (1 - sigma) on x, y, obj; -delta on tw, th and the class logits."""
    c = load_case(case)
    region = c["region"]
    raw = torch.from_numpy(c["raw"]).double().requires_grad_()
    out = region_loss(raw, targets_of(c), region, c["seen"])
    out["total"].backward()
    assert raw.grad is not None and torch.isfinite(raw.grad).all()
    delta = c["delta"].astype(np.float64).reshape(1, region.num, 5 + region.classes, *raw.shape[2:]).copy()
    sig = torch.sigmoid(torch.from_numpy(c["raw"]).double()).numpy().reshape(delta.shape)
    for k in (0, 1, 4):
        delta[:, :, k] *= sig[:, :, k] * (1 - sig[:, :, k])
    np.testing.assert_allclose(-raw.grad.numpy(), delta.reshape(raw.shape), rtol=0, atol=DELTA_TOL)
    assert out["total"].item() == pytest.approx(case_grad(case)[1]["total"], rel=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_bce_objectness_is_darknet_delta_on_the_logit(case: str) -> None:
    """obj_loss="bce": the raw objectness gradient is darknet's delta itself, without the sigmoid's
    derivative (the mse update carries it); every other channel keeps darknet's update exactly."""
    c = load_case(case)
    region = c["region"]
    grads = {}
    for obj_loss in ("mse", "bce"):
        raw = torch.from_numpy(c["raw"]).double().requires_grad_()
        out = region_loss(raw, targets_of(c), region, c["seen"], obj_loss=obj_loss)
        out["total"].backward()
        grads[obj_loss] = raw.grad.view(1, region.num, 5 + region.classes, *raw.shape[2:])
    delta = torch.from_numpy(c["delta"].astype(np.float64)).view_as(grads["bce"])
    np.testing.assert_allclose(-grads["bce"][:, :, 4].numpy(), delta[:, :, 4].numpy(), rtol=0, atol=DELTA_TOL)
    others = [k for k in range(5 + region.classes) if k != 4]
    assert torch.equal(grads["bce"][:, :, others], grads["mse"][:, :, others])
    sig = torch.sigmoid(torch.from_numpy(c["raw"]).double()).view_as(delta)[:, :, 4]
    np.testing.assert_allclose(-grads["mse"][:, :, 4].numpy(), (delta[:, :, 4] * sig * (1 - sig)).numpy(),
                               rtol=0, atol=DELTA_TOL)


def test_bce_objectness_terms_by_hand() -> None:
    """One truth on a 2x2 grid, one anchor: obj = 5 * BCE(to, IoU) at the responsible cell, noobj = the sum of
    -log(1 - sigmoid(to)) over the three others (none overlaps the truth by > thresh)."""
    region = RegionSpec(classes=1, num=1, anchors=(1.0, 1.0), object_scale=5.0, noobject_scale=1.0,
                        rescore=True, bias_match=True, thresh=0.6)
    raw = torch.zeros(1, 6, 2, 2, dtype=torch.float64)
    logits = torch.tensor([[-2.0, 0.5], [1.0, -0.3]], dtype=torch.float64)
    raw[0, 4] = logits
    targets = torch.tensor([[[0.25, 0.25, 0.5, 0.5, 0.0]]], dtype=torch.float64)  # exactly cell (0, 0)'s box
    out = region_loss(raw, targets, region, seen=20000, obj_loss="bce")
    p = torch.sigmoid(logits)
    iou = 1.0  # sigmoid(0) = .5 centres the box in its cell; exp(0) * anchor 1 cell = the truth's size
    assert out["iou_resp"].item() == pytest.approx(iou)
    bce = -(iou * torch.log(p[0, 0]) + (1 - iou) * torch.log(1 - p[0, 0]))
    assert out["obj"].item() == pytest.approx(5 * bce.item())
    free = [p[0, 1], p[1, 0], p[1, 1]]
    assert out["noobj"].item() == pytest.approx(sum(-torch.log(1 - q).item() for q in free))
    assert out["obj_resp"].item() == pytest.approx(p[0, 0].item())
    assert out["obj_free"].item() == pytest.approx(sum(q.item() for q in free) / 3)
    assert out["total"].item() == pytest.approx(sum(out[k].item() for k in TERMS))
    with pytest.raises(Exception, match="obj_loss 'hinge'"):
        region_loss(raw, targets, region, seen=0, obj_loss="hinge")


@pytest.mark.parametrize("case", CASES)
def test_mixed_objectness_is_the_unit_delta_where_responsible_and_darknet_elsewhere(case: str) -> None:
    """obj_loss="mixed": at the responsible predictions the raw objectness gradient is darknet's delta on the
    logit at unit scale (delta / object_scale: darknet's YOLOv3 layer writes it so); everywhere else, and on
    every other channel, it is darknet's own update (the mse loss's gradient)."""
    c = load_case(case)
    region = c["region"]
    grads = {}
    for obj_loss in ("mse", "mixed"):
        raw = torch.from_numpy(c["raw"]).double().requires_grad_()
        out = region_loss(raw, targets_of(c), region, c["seen"], obj_loss=obj_loss)
        out["total"].backward()
        grads[obj_loss] = raw.grad.view(1, region.num, 5 + region.classes, *raw.shape[2:])
    x = torch.from_numpy(c["raw"]).double().view_as(grads["mse"])
    resp = build_region_targets(torch.sigmoid(x[:, :, 0:2]), x[:, :, 2:4], targets_of(c), region).responsible
    assert resp.any() and (~resp).any()
    delta = torch.from_numpy(c["delta"].astype(np.float64)).view_as(grads["mse"])[:, :, 4]
    np.testing.assert_allclose(-grads["mixed"][:, :, 4][resp].numpy(), (delta[resp] / region.object_scale).numpy(),
                               rtol=0, atol=DELTA_TOL)
    assert torch.equal(grads["mixed"][:, :, 4][~resp], grads["mse"][:, :, 4][~resp])
    others = [k for k in range(5 + region.classes) if k != 4]
    assert torch.equal(grads["mixed"][:, :, others], grads["mse"][:, :, others])


def test_mixed_objectness_terms_by_hand() -> None:
    """The 2x2 case of the bce test: obj = BCE(to, IoU) (no object_scale), noobj = 0.5 * sum of sigmoid(to)^2."""
    region = RegionSpec(classes=1, num=1, anchors=(1.0, 1.0), object_scale=5.0, noobject_scale=1.0,
                        rescore=True, bias_match=True, thresh=0.6)
    raw = torch.zeros(1, 6, 2, 2, dtype=torch.float64)
    logits = torch.tensor([[-2.0, 0.5], [1.0, -0.3]], dtype=torch.float64)
    raw[0, 4] = logits
    targets = torch.tensor([[[0.25, 0.25, 0.5, 0.5, 0.0]]], dtype=torch.float64)
    out = region_loss(raw, targets, region, seen=20000, obj_loss="mixed")
    p = torch.sigmoid(logits)
    assert out["obj"].item() == pytest.approx(-torch.log(p[0, 0]).item())  # IoU 1: BCE(to, 1)
    assert out["noobj"].item() == pytest.approx(0.5 * sum(q.item() ** 2 for q in (p[0, 1], p[1, 0], p[1, 1])))
    with pytest.raises(Exception, match="obj_loss 'hinge': choose mse, bce or mixed"):
        region_loss(raw, targets, region, seen=0, obj_loss="hinge")


@pytest.mark.parametrize("case", CASES)
def test_fit_stats_follow_the_targets(case: str) -> None:
    """iou_resp is the mean rescore target of the responsible predictions, obj_resp their mean objectness,
    obj_free the mean objectness under the no-object penalty; none of them is part of the total."""
    c = load_case(case)
    region = c["region"]
    raw = torch.from_numpy(c["raw"]).double()
    out = region_loss(raw, targets_of(c), region, c["seen"])
    x = raw.view(1, region.num, 5 + region.classes, *raw.shape[2:])
    tg = build_region_targets(torch.sigmoid(x[:, :, 0:2]), x[:, :, 2:4], targets_of(c), region)
    obj = torch.sigmoid(x[:, :, 4])
    assert tg.responsible.any()
    assert out["iou_resp"].item() == pytest.approx(tg.obj_target[tg.responsible].mean().item(), rel=1e-12)
    assert out["obj_resp"].item() == pytest.approx(obj[tg.responsible].mean().item(), rel=1e-12)
    assert out["obj_free"].item() == pytest.approx(obj[tg.noobj].mean().item(), rel=1e-12)
    assert out["total"].item() == pytest.approx(sum(out[k].item() for k in TERMS), rel=1e-12)
    assert not out["iou_resp"].requires_grad


def test_last_truth_wins_in_shared_slot() -> None:
    """The dog truths 2 and 6 share cell (3, 8) and anchor 2: six truths, five responsible predictions,
    and the shared one carries truth 6's targets."""
    c = load_case("yolov2-voc_416_dog_seen0")
    region = c["region"]
    xy, wh, _, _ = activated_leaves(torch.from_numpy(c["raw"]).double(), region)
    truth = targets_of(c)
    tg = build_region_targets(xy, wh, truth, region)
    assert c["truths"] == 6 and int(tg.responsible.sum()) == 5
    expected = {(2, 6, 5), (2, 8, 3), (1, 2, 9), (0, 8, 3), (1, 8, 3)}  # (anchor, row, col)
    assert {tuple(i) for i in tg.responsible[0].nonzero().tolist()} == expected
    x, y, w, h, cl = truth[0, 5].tolist()
    assert int(tg.cls_target[0, 2, 8, 3]) == int(cl)
    assert tg.coord_target[0, 2, 0, 8, 3].item() == pytest.approx(x * 13 - 3)
    assert tg.coord_weight[0, 2, 8, 3].item() == pytest.approx(2 - w * h)
    # swap truths 2 and 6 (rows 1 and 5): truth 2 now comes last and wins the slot
    swapped = truth.clone()
    swapped[0, [1, 5]] = truth[0, [5, 1]]
    tg2 = build_region_targets(xy, wh, swapped, region)
    assert int(tg2.cls_target[0, 2, 8, 3]) == int(truth[0, 1, 4])


@pytest.mark.parametrize("case", CASES)
def test_batch_is_averaged(case: str) -> None:
    c = load_case(case)
    raw = torch.from_numpy(c["raw"]).double()
    one = region_loss(raw, targets_of(c), c["region"], c["seen"])
    two = region_loss(raw.repeat(2, 1, 1, 1), targets_of(c, 2), c["region"], c["seen"])
    for k in (*TERMS, "total"):
        assert two[k].item() == pytest.approx(one[k].item(), rel=1e-12), k


def test_mixed_batch_is_mean_of_images() -> None:
    c1, c2 = load_case("yolov2-voc_416_dog_seen0"), load_case("yolov2-voc_416_dog_seen100000")
    region, seen = c1["region"], 0
    raw1 = torch.from_numpy(c1["raw"]).double()
    raw2 = raw1.flip(-1)  # a different image
    t1, t2 = targets_of(c1), targets_of(c2)[:, :3]
    t2 = torch.cat([t2, torch.zeros(1, 27, 5, dtype=t2.dtype)], dim=1)
    l1 = region_loss(raw1, t1, region, seen)["total"]
    l2 = region_loss(raw2, t2, region, seen)["total"]
    both = region_loss(torch.cat([raw1, raw2]), torch.cat([t1, t2]), region, seen)["total"]
    assert both.item() == pytest.approx((l1.item() + l2.item()) / 2, rel=1e-12)


def test_prior_only_before_12800_seen() -> None:
    early, late = case_grad("yolov2-voc_416_dog_seen0")[1], case_grad("yolov2-voc_416_dog_seen100000")[1]
    assert early["prior"] > 0 and late["prior"] == 0
    for k in ("coord", "obj", "noobj", "cls"):
        assert early[k] == pytest.approx(late[k], rel=1e-12)
    c = load_case("yolov2-voc_416_dog_seen0")
    raw = torch.from_numpy(c["raw"]).double()
    for seen, has_prior in ((12799, True), (12800, False)):
        assert (region_loss(raw, targets_of(c), c["region"], seen)["prior"].item() > 0) == has_prior


@pytest.mark.parametrize("empty", ["no_rows", "all_padding"])
def test_empty_targets_finite(empty: str) -> None:
    c = load_case("yolov2-voc_416_dog_seen0")
    raw = torch.from_numpy(c["raw"]).double().repeat(2, 1, 1, 1).requires_grad_()
    targets = torch.zeros(2, 0 if empty == "no_rows" else 30, 5, dtype=torch.float64)
    out = region_loss(raw, targets, c["region"], 0)
    assert all(torch.isfinite(v) for v in out.values())
    assert out["coord"].item() == out["obj"].item() == out["cls"].item() == 0
    assert out["noobj"].item() > 0 and out["prior"].item() > 0
    out["total"].backward()
    assert torch.isfinite(raw.grad).all() and raw.grad.abs().sum() > 0
    # without truths: every objectness is pushed to 0
    obj = torch.sigmoid(raw.detach().view(2, 5, 25, 13, 13)[:, :, 4])
    assert out["noobj"].item() == pytest.approx(0.5 * (obj[0] ** 2).sum().item(), rel=1e-12)


def test_float32_gradients_flow_to_raw() -> None:
    c = load_case("yolov2-tiny-voc_416_person_seen20000")
    raw = torch.from_numpy(c["raw"]).requires_grad_()
    out = region_loss(raw, torch.from_numpy(c["truth"]).unsqueeze(0), c["region"], c["seen"])
    assert out["total"].dtype == torch.float32
    out["total"].backward()
    assert torch.isfinite(raw.grad).all() and raw.grad.abs().sum() > 0
    assert out["total"].item() == pytest.approx(case_grad("yolov2-tiny-voc_416_person_seen20000")[1]["total"],
                                                rel=1e-5)


def test_bias_match_off_uses_predicted_shapes() -> None:
    """Without bias_match the responsible anchor is chosen by the predicted sizes; with tw = th = 0 these
    are the anchors, so the choice equals bias_match's; with other sizes it can differ."""
    c = load_case("yolov2-voc_416_dog_seen0")
    region = c["region"]
    free = dataclasses.replace(region, bias_match=False)
    xy, wh, _, _ = activated_leaves(torch.from_numpy(c["raw"]).double(), region)
    zero = torch.zeros_like(wh)
    a = build_region_targets(xy, zero, targets_of(c), region).responsible
    b = build_region_targets(xy, zero, targets_of(c), free).responsible
    assert torch.equal(a, b)
    # make anchor 4 predict the truth's exact shape at the first truth's cell: it must then be chosen
    x, y, w, h, _ = targets_of(c)[0, 0].tolist()
    col, row = int(x * 13), int(y * 13)
    aw, ah = region.anchors_grid[4]
    shaped = zero.clone()
    shaped[0, 4, 0, row, col] = np.log(w * 13 / aw)
    shaped[0, 4, 1, row, col] = np.log(h * 13 / ah)
    assert build_region_targets(xy, shaped, targets_of(c), free).responsible[0, 4, row, col]


def test_logistic_classes_gradient() -> None:
    """softmax=0: classes are logistic; darknet's GPU update on the logits is class_scale*(onehot - p),
    with the classes of every truth sharing the prediction all marked."""
    c = load_case("yolov2-voc_416_dog_seen0")
    region = dataclasses.replace(c["region"], softmax=False, class_scale=2.0)
    xy, wh, obj, cls = activated_leaves(torch.from_numpy(c["raw"]).double(), region)
    out = _region_loss_from_activated(xy, wh, obj, cls, targets_of(c), region, c["seen"])
    out["total"].backward()
    p = torch.sigmoid(cls.detach())
    g = cls.grad
    truth = targets_of(c)[0]
    shared = {int(truth[1, 4]), int(truth[5, 4])}      # truths 2 and 6 share (anchor 2, row 8, col 3)
    hot = torch.zeros(region.classes, dtype=torch.float64)
    hot[list(shared)] = 1
    torch.testing.assert_close(g[0, 2, :, 8, 3], 2.0 * (p[0, 2, :, 8, 3] - hot), rtol=0, atol=1e-12)
    assert g[0, 3].abs().sum() == 0                     # anchor 3 is responsible for nothing


def test_map_without_tree_not_implemented() -> None:
    region = dataclasses.replace(load_case("yolov2-voc_416_dog_seen0")["region"], map="coco9k.map")
    with pytest.raises(NotImplementedError):
        region_loss(torch.zeros(1, 125, 13, 13), torch.zeros(1, 0, 5), region, 0)


# ---------------------------------------------------------------------------------------------------
# WordTree heads: darknet's hierarchical delta_region_class and classification-only truths
# ---------------------------------------------------------------------------------------------------
# top level {polygon, round}; polygon -> {triangle, square, pentagon}; round -> {circle, ellipse}
SHAPE_TREE = ["polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1"]
POLYGON, ROUND, TRIANGLE, SQUARE, PENTAGON, CIRCLE, ELLIPSE = range(7)


@pytest.fixture(scope="module")
def tree_region(tmp_path_factory) -> RegionSpec:
    p = tmp_path_factory.mktemp("tree") / "shapes.tree"
    p.write_text("\n".join(SHAPE_TREE) + "\n")
    return RegionSpec(anchors=(1.0, 1.0, 2.0, 2.0, 3.0, 1.5), classes=7, num=3, softmax=True, tree=str(p),
                      object_scale=5.0, noobject_scale=1.0, class_scale=2.0, coord_scale=1.0, rescore=True,
                      bias_match=True, thresh=0.6)


def _tree_raw(seed: int = 0, batch: int = 1, obj_logit: float | None = None) -> torch.Tensor:
    """(batch, 3*12, 4, 4) float64 random head; objectness logits set to ``obj_logit`` when given."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(batch, 3, 12, 4, 4, generator=g, dtype=torch.float64)
    if obj_logit is not None:
        raw[:, :, 4] = obj_logit + 0.3 * torch.randn(batch, 3, 4, 4, generator=g, dtype=torch.float64)
    return raw.view(batch, 36, 4, 4)


def _darknet_tree_delta(p: torch.Tensor, node: int, tree, scale: float, delta: torch.Tensor) -> None:
    """darknet's delta_region_class with a hierarchy, on one prediction's conditional probs p (C,)."""
    while node >= 0:
        g = int(tree.group[node])
        off, size = int(tree.group_offset[g]), int(tree.group_size[g])
        delta[off:off + size] = scale * (0 - p[off:off + size])
        delta[node] = scale * (1 - p[node])
        node = int(tree.parent[node])


def _slot(box: tuple[float, float, float, float], region: RegionSpec, h: int = 4, w: int = 4) -> tuple[int, int, int]:
    """(anchor, row, col) darknet makes responsible for a truth box (bias_match)."""
    cx, cy, bw, bh = box
    col, row = int(cx * w), int(cy * h)
    ious = []
    for aw, ah in region.anchors_grid:
        aw, ah = aw / w, ah / h
        inter = min(aw, bw) * min(ah, bh)
        ious.append(inter / (aw * ah + bw * bh - inter))
    return int(np.argmax(ious)), row, col


def test_tree_class_gradient_is_darknet_hierarchical_delta(tree_region: RegionSpec) -> None:
    """-d loss / d logits = class_scale * (target - p) in every group on the path of each truth's node,
    0 in the other groups (below the node, off the path) and at every other prediction; an inner-node
    label (``round``) trains only the top group."""
    from yolo9000.wordtree.tree import group_softmax, load_tree

    tree = load_tree(tree_region.tree)
    raw = _tree_raw(1)
    boxes = [((0.30, 0.30, 0.20, 0.22), SQUARE), ((0.80, 0.60, 0.60, 0.30), ROUND)]
    targets = torch.tensor([[*b, c] for b, c in boxes], dtype=torch.float64).unsqueeze(0)
    xy, wh, obj, cls = activated_leaves(raw, tree_region)
    out = _region_loss_from_activated(xy, wh, obj, cls, targets, tree_region, seen=0)
    out["total"].backward()
    p = group_softmax(cls.detach(), tree, dim=2)
    expected = torch.zeros_like(cls)
    for box, node in boxes:
        a, r, c = _slot(box, tree_region)
        d = torch.zeros(7, dtype=torch.float64)
        _darknet_tree_delta(p[0, a, :, r, c], node, tree, tree_region.class_scale, d)
        expected[0, a, :, r, c] = d
    torch.testing.assert_close(-cls.grad, expected, rtol=0, atol=1e-12)
    a, r, c = _slot(boxes[0][0], tree_region)
    assert (cls.grad[0, a, 5:, r, c] == 0).all() and (cls.grad[0, a, :2, r, c] != 0).all()
    a, r, c = _slot(boxes[1][0], tree_region)
    assert (cls.grad[0, a, 2:, r, c] == 0).all()       # round: only the top group trains
    # the class term is class_scale * the sum over the path groups of -log P(path node | parent)
    logp = torch.log(p)
    ce = sum(-logp[0, _slot(b, tree_region)[0], k, _slot(b, tree_region)[1], _slot(b, tree_region)[2]]
             for b, node in boxes for k in tree.path_to_root(node))
    assert out["cls"].item() == pytest.approx(tree_region.class_scale * ce.item(), rel=1e-12)


def test_tree_shared_slot_groups_take_the_last_truth(tree_region: RegionSpec) -> None:
    """Two truths on one prediction: each group keeps the target of the last truth crossing it
    (darknet assigns), so square-then-circle trains polygon-group -> square, top -> round, round -> circle."""
    from yolo9000.wordtree.tree import group_softmax, load_tree

    tree = load_tree(tree_region.tree)
    raw = _tree_raw(2)
    box = (0.40, 0.40, 0.25, 0.25)
    targets = torch.tensor([[*box, SQUARE], [0.41, 0.41, 0.25, 0.25, CIRCLE]], dtype=torch.float64)[None]
    xy, wh, obj, cls = activated_leaves(raw, tree_region)
    _region_loss_from_activated(xy, wh, obj, cls, targets, tree_region, seen=0)["total"].backward()
    a, r, c = _slot(box, tree_region)
    p = group_softmax(cls.detach(), tree, dim=2)[0, a, :, r, c]
    d = torch.zeros(7, dtype=torch.float64)
    _darknet_tree_delta(p, SQUARE, tree, 2.0, d)
    _darknet_tree_delta(p, CIRCLE, tree, 2.0, d)
    torch.testing.assert_close(-cls.grad[0, a, :, r, c], d, rtol=0, atol=1e-12)
    assert d[ROUND] > 0 and d[SQUARE] > 0 and d[CIRCLE] > 0 and d[POLYGON] < 0


@pytest.mark.parametrize("rule", ["paper", "darknet"])
def test_tree_gradient_matches_finite_differences(tree_region: RegionSpec, rule: str) -> None:
    """float64 gradcheck of the whole loss w.r.t. the raw head: a detection image and a classification one
    (rescore off: darknet's IoU objectness target is a constant of the update, not differentiated)."""
    from yolo9000.train.loss import class_only_rows

    tree_region = dataclasses.replace(tree_region, rescore=False)

    raw = _tree_raw(3, batch=2, obj_logit=-1.5).requires_grad_()
    targets = torch.zeros(2, 2, 5, dtype=torch.float64)
    targets[0, 0] = torch.tensor([0.30, 0.30, 0.20, 0.22, SQUARE])
    targets[0, 1] = torch.tensor([0.70, 0.60, 0.30, 0.40, ELLIPSE])
    targets[1, 0] = class_only_rows(torch.tensor([PENTAGON]))[0].double()
    f = lambda x: region_loss(x, targets, tree_region, seen=0, class_only_objectness=rule)["total"]  # noqa: E731
    assert torch.autograd.gradcheck(f, (raw,), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)
    # and on the class logits and objectness alone (a second random direction)
    sub = raw.detach().view(2, 3, 12, 4, 4)[:, :, 4:].clone().requires_grad_()

    def g(part: torch.Tensor) -> torch.Tensor:
        full = torch.cat([raw.detach().view(2, 3, 12, 4, 4)[:, :, :4], part], dim=2).view(2, 36, 4, 4)
        return f(full)
    assert torch.autograd.gradcheck(g, (sub,), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)


def _class_only_setup(tree_region: RegionSpec, obj_logit: float, rule: str):
    from yolo9000.train.loss import class_only_rows
    from yolo9000.wordtree.tree import group_softmax, load_tree

    tree = load_tree(tree_region.tree)
    raw = _tree_raw(4, obj_logit=obj_logit)
    targets = torch.cat([class_only_rows(torch.tensor([PENTAGON])).double(),
                         torch.tensor([[0.5, 0.5, 0.3, 0.3, CIRCLE]], dtype=torch.float64)])[None]  # box row ignored
    xy, wh, obj, cls = activated_leaves(raw, tree_region)
    out = _region_loss_from_activated(xy, wh, obj, cls, targets, tree_region, seen=0, class_only_objectness=rule)
    out["total"].backward()
    p = group_softmax(cls.detach(), tree, dim=2)
    p_node = p[:, :, PENTAGON] * p[:, :, POLYGON]                                    # get_hierarchy_probability
    score = (obj.detach() * p_node)[0]                                                # (A, H, W)
    best = np.unravel_index(int(score.argmax()), score.shape)
    return tree, out, (xy, wh, obj, cls), p, best


@pytest.mark.parametrize("rule", ["paper", "darknet"])
def test_class_only_image_trains_one_box(tree_region: RegionSpec, rule: str) -> None:
    """A classification image: class gradient only at the box with the highest obj * P(pentagon), the
    hierarchical delta there; no-object on every other box; no coord, no prior, box rows ignored."""
    tree, out, (xy, wh, obj, cls), p, best = _class_only_setup(tree_region, -3.0, rule)
    a, r, c = best
    touched = (cls.grad[0].abs().sum(dim=1) > 0).nonzero().tolist()
    assert touched == [[a, r, c]]
    d = torch.zeros(7, dtype=torch.float64)
    _darknet_tree_delta(p[0, a, :, r, c], PENTAGON, tree, tree_region.class_scale, d)
    torch.testing.assert_close(-cls.grad[0, a, :, r, c], d, rtol=0, atol=1e-12)
    assert xy.grad.abs().sum() == 0 and wh.grad.abs().sum() == 0          # no coord, no prior at seen=0
    assert out["coord"].item() == 0 and out["prior"].item() == 0
    others = torch.ones_like(obj, dtype=torch.bool)
    others[0, a, r, c] = False
    torch.testing.assert_close(obj.grad[others], tree_region.noobject_scale * obj.detach()[others], rtol=0, atol=1e-12)
    o = obj.detach()[0, a, r, c].item()
    assert o < 0.3
    expected = -tree_region.object_scale * (0.3 - o) if rule == "paper" else 0.0
    assert obj.grad[0, a, r, c].item() == pytest.approx(expected, abs=1e-12)


def test_class_only_paper_rule_zero_above_point3(tree_region: RegionSpec) -> None:
    """objectness >= .3 at the chosen box: the paper rule gives no objectness gradient there either."""
    _, _, (_, _, obj, _), _, (a, r, c) = _class_only_setup(tree_region, 2.0, "paper")
    assert obj.detach()[0, a, r, c].item() > 0.3
    assert obj.grad[0, a, r, c].item() == 0.0


def test_tree_batch_is_mean_of_images(tree_region: RegionSpec) -> None:
    from yolo9000.train.loss import class_only_rows

    raw = _tree_raw(5, batch=2)
    det = torch.tensor([[[0.30, 0.30, 0.20, 0.22, SQUARE], [0, 0, 0, 0, 0]]], dtype=torch.float64)
    cls_only = torch.cat([class_only_rows(torch.tensor([ELLIPSE])).double(), torch.zeros(1, 5, dtype=torch.float64)])[None]
    both = region_loss(raw, torch.cat([det, cls_only]), tree_region, 0)
    one = region_loss(raw[:1], det, tree_region, 0)
    two = region_loss(raw[1:], cls_only, tree_region, 0)
    for k in (*TERMS, "total"):
        assert both[k].item() == pytest.approx((one[k].item() + two[k].item()) / 2, rel=1e-12, abs=1e-15), k
    empty = region_loss(raw, torch.zeros(2, 0, 5, dtype=torch.float64), tree_region, 0)
    assert empty["cls"].item() == 0 and empty["noobj"].item() > 0


def test_tree_errors(tree_region: RegionSpec) -> None:
    from yolo9000.errors import Yolo9000Error

    with pytest.raises(Yolo9000Error, match="class_only_objectness"):
        region_loss(_tree_raw(0), torch.zeros(1, 0, 5), tree_region, 0, class_only_objectness="maybe")
    wrong = dataclasses.replace(tree_region, classes=6)
    with pytest.raises(Yolo9000Error, match="7 nodes"):
        region_loss(torch.zeros(1, 33, 4, 4), torch.zeros(1, 0, 5), wrong, 0)


def test_yolo9000_cfg_tree_loss_runs() -> None:
    """The real 9418-node tree (yolo9000.cfg): finite, and only the truth's path groups train."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        region = parse_cfg(REFERENCE / "cfg" / "yolo9000.cfg").region
    raw = torch.zeros(1, region.num * (5 + region.classes), 3, 3).requires_grad_()
    node = 5000
    out = region_loss(raw, torch.tensor([[[0.5, 0.5, 0.3, 0.3, float(node)]]]), region, 0)
    out["total"].backward()
    from yolo9000.wordtree.tree import load_tree

    tree = load_tree(region.tree)
    g = raw.grad.view(region.num, 5 + region.classes, 3, 3)[:, 5:]
    groups = {int(tree.group[k]) for k in tree.path_to_root(node)}
    nonzero = set((g.abs().sum(dim=(0, 2, 3)) > 0).nonzero().squeeze(1).tolist())
    assert nonzero == {k for k in range(tree.num_nodes) if int(tree.group[k]) in groups}


def test_shape_errors() -> None:
    region = load_case("yolov2-voc_416_dog_seen0")["region"]
    with pytest.raises(ValueError):
        region_loss(torch.zeros(1, 124, 13, 13), torch.zeros(1, 0, 5), region, 0)
    with pytest.raises(ValueError):
        region_loss(torch.zeros(1, 125, 13, 13), torch.zeros(2, 1, 5), region, 0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_no_host_sync() -> None:
    """On CUDA the loss and its backward run without a host synchronisation, and match the CPU."""
    c = load_case("yolov2-voc_416_dog_seen0")
    region = c["region"]
    raw_cpu = torch.from_numpy(c["raw"]).double().repeat(4, 1, 1, 1)
    tg_cpu = targets_of(c, 4)
    ref = region_loss(raw_cpu, tg_cpu, region, 0)["total"].item()
    raw = raw_cpu.cuda().requires_grad_()
    tg = tg_cpu.cuda()
    region_loss(raw, tg, region, 0)  # warm-up: caches the anchors on the device
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        t0 = time.perf_counter()
        out = region_loss(raw, tg, region, 0)
        out["total"].backward()
        launched = time.perf_counter() - t0
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    assert out["total"].item() == pytest.approx(ref, rel=1e-10)
    assert torch.isfinite(raw.grad).all()
    assert launched < 5.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tree_loss_no_host_sync(tree_region: RegionSpec) -> None:
    """The WordTree branch (detection and classification images) runs without a host sync on CUDA."""
    from yolo9000.train.loss import class_only_rows

    raw_cpu = _tree_raw(6, batch=2)
    targets = torch.zeros(2, 2, 5, dtype=torch.float64)
    targets[0, 0] = torch.tensor([0.30, 0.30, 0.20, 0.22, SQUARE])
    targets[1, 0] = class_only_rows(torch.tensor([PENTAGON]))[0].double()
    ref = region_loss(raw_cpu, targets, tree_region, 0)["total"].item()
    raw, tg = raw_cpu.cuda().requires_grad_(), targets.cuda()
    region_loss(raw, tg, tree_region, 0)  # warm-up: caches the tree and anchors on the device
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = region_loss(raw, tg, tree_region, 0)
        out["total"].backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert out["total"].item() == pytest.approx(ref, rel=1e-10)
