"""`fooling-images` (vision.fooling): the ascent on a linear model, and the claim on a trained digits
classifier: every (A, B) pair is fooled with high confidence by a perturbation much smaller than the
distance to a real digit B."""
import pytest
import torch

from gymlab.runners.loop import run
from gymlab.vision.understand.fooling import fooling_images


def test_fooling_a_linear_model_moves_along_the_score_gradient():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    x = torch.full((2, 1, 4, 4), 0.5)
    target = torch.tensor([1, 2])
    r = fooling_images(model, x, target, confidence=0.95, step=0.05, max_steps=1000, clamp=None)
    assert r.success.all() and (r.confidence >= 0.95).all()
    w = model[1].weight.detach()
    d = (r.images - x).flatten(1)
    # without clipping every step is along the (constant) gradient w_B: the perturbation is parallel to it
    cos = torch.nn.functional.cosine_similarity(d, w[target], dim=1)
    assert torch.allclose(cos, torch.ones(2), atol=1e-5)
    assert torch.allclose(r.l2, r.steps.float() * 0.05, atol=1e-4)  # steps of length 0.05, stopped at the first hit
    with torch.no_grad():
        unit = w[target] / w[target].norm(dim=1, keepdim=True)
        before = torch.softmax(model(r.images - 0.05 * unit.view(2, 1, 4, 4)), 1)
    assert (before[torch.arange(2), target] < 0.95).all()  # one step earlier it was not yet confident


def test_fooling_reports_failure_and_checks_confidence():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    r = fooling_images(model, torch.zeros(1, 1, 2, 2), torch.tensor([0]), confidence=0.99, step=1e-4, max_steps=3)
    assert not r.success.any() and int(r.steps[0]) == 3 and float(r.confidence[0]) < 0.99
    with pytest.raises(ValueError, match="confidence"):
        fooling_images(model, torch.zeros(1, 1, 2, 2), torch.tensor([0]), confidence=1.0)


def test_every_pair_is_fooled_with_a_small_change(tmp_path):
    s = run("fooling-images", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "steps=200",
                               "eval_every=200"], quiet=True)
    assert s["eval/accuracy"] > 0.9, s
    assert s["eval/pairs"] == 90 and s["eval/success_rate"] == 1.0 and s["eval/says_target"] == 1.0, s
    # "the image barely changes": far less than the way to the nearest real digit of the target class
    assert s["eval/mean_l2"] < 0.6 * s["eval/mean_l2_to_nearest_b"], s
    assert s["eval/mean_relative_l2"] < 0.4, s
    assert s["eval/pixel_nn_still_a"] > 0.8, s  # to a pixel-space nearest neighbour they are still As
    assert any(tmp_path.rglob("fooling_images.png"))


def test_all_pairs_and_metrics_of_a_perfect_classifier():
    from gymlab.vision.understand.fooling import all_pairs, fool_all_pairs, fooling_metrics

    x = torch.eye(3).view(3, 1, 1, 3).repeat(2, 1, 1, 1)  # two one-hot images per class
    y = torch.arange(3).repeat(2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, 3, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(8 * torch.eye(3) - 4)  # S_k = 4 (2 x_k - sum x): pixels of other classes count against
    src, a, b = all_pairs(model, x, y, per_class=2, classes=3)
    assert len(src) == 12 and bool((a != b).all()) and bool((y[src] == a).all())
    with pytest.raises(ValueError, match="per_class=3"):
        all_pairs(model, x, y, per_class=3, classes=3)
    x0, a, b, r = fool_all_pairs(model, x, y, per_class=1, confidence=0.9, step=0.1, max_steps=100,
                                 classes=3)
    m = fooling_metrics(model, x0, a, b, r, x, y)
    assert m["success_rate"] == 1.0 and m["says_target"] == 1.0 and m["pairs"] == 6
    assert m["mean_l2_to_nearest_b"] == pytest.approx(2 ** 0.5)  # one-hot to one-hot
