"""`fast-style-transfer` (vision.fast_style): the transform network starts as the identity, the batch loss
is vision.style's per-image loss averaged, the crops are seeded, and the claim: one forward pass gets
most of the per-image optimisation's improvement on held-out photos, orders of magnitude faster."""
import pytest
import torch

from gymlab.runners.loop import run
from gymlab.vision.understand import fast_style as fs
from gymlab.vision.understand import style as st


def test_transform_net_starts_as_the_identity_and_checks_sizes():
    torch.manual_seed(0)
    net = fs.TransformNet((4, 8, 8), blocks=1)
    x = torch.rand(2, 3, 16, 20)
    assert torch.allclose(net(x), x.clamp(0.01, 0.99), atol=1e-5)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 3, 18, 16))


def test_batch_objective_is_the_per_image_objective_averaged():
    loss_net = st.RandomConvNet((8, 16), seed=0)
    g = torch.Generator().manual_seed(0)
    style, x, y = (torch.rand(n, 3, 16, 16, generator=g) for n in (1, 3, 3))
    batch = fs.batch_objective(loss_net, style, 1, None, 1.0, 2.0, 0.5)
    total, parts = batch(y, x)
    per = [st.style_transfer_objective(loss_net, x[i:i + 1], style, 1, None, 1.0, 2.0, 0.5)(y[i:i + 1]) for i in range(3)]
    assert total.item() == pytest.approx(sum(t.item() for t, _ in per) / 3, rel=1e-5)
    for k in ("content", "style"):
        assert parts[k].item() == pytest.approx(sum(p[k].item() for _, p in per) / 3, rel=1e-5)


def test_crops_are_seeded_and_sized():
    photos = fs.load_photos(["camera", "chelsea"], 16)
    assert {tuple(p.shape) for p in photos} == {(3, 16, 16), (3, 20, 20), (3, 24, 24)}
    a = fs.random_crops(photos, 5, 16, torch.Generator().manual_seed(3))
    b = fs.random_crops(photos, 5, 16, torch.Generator().manual_seed(3))
    assert a.shape == (5, 3, 16, 16) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    photos[0].zero_()  # the photos are cached: a caller's change never reaches the next caller
    assert fs.load_photos(["camera"], 16)[0].max() > 0


def test_one_forward_pass_gets_most_of_the_optimisation(tmp_path):
    # a third of the default training budget and one held-out photo, to keep the test short
    s = run("fast-style-transfer", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "steps=250",
                                    "eval_every=250", "test_photos=[immunohistochemistry]"], quiet=True)
    assert s["eval/loss"] < 0.6 * s["eval/content_image_loss"], s  # it stylises a photo it never saw
    assert s["eval/gap_closed"] > 0.5, s  # more than half of what per-image optimisation gains
    assert s["eval/loss_ratio"] < 6, s  # the untouched photo is 12 times the optimisation's loss
    assert s["eval/speedup"] > 0, s  # reported; its size is measured in benchmarks, never asserted in a test
    assert any(tmp_path.rglob("panel.png"))


def test_fast_style_resumes_exactly(tmp_path):
    # the three runs load the same photos: st.square_photo resizes each once per process
    from gymlab.runners.loop import resume

    common = ["logger.mode=disabled", "progress=false", "eval_every=3", "size=16", "channels=[8,16]",
              "content_layer=1", "widths=[4,8,8]", "blocks=1", "opt_steps=2", "test_photos=[rocket]"]
    full = run("fast-style-transfer", common + ["steps=6", f"run_dir={tmp_path / 'full'}"], quiet=True)
    run("fast-style-transfer", common + ["steps=3", f"run_dir={tmp_path / 'half'}"], quiet=True)
    resumed = resume(tmp_path / "half", ["steps=6"], quiet=True)
    assert resumed["eval/loss"] == full["eval/loss"]


def test_compare_scores_the_untrained_identity_net_as_the_photo():
    net, style = st.RandomConvNet((8, 16), seed=0), st.load_photo("coffee", 16)
    photos = [st.load_photo("rocket", 16)]
    objectives = [st.style_transfer_objective(net, c, style, 1, None, 1.0, 1.0, 0.1) for c in photos]
    optimised = fs.optimise_each(photos, objectives, steps=5, lr=0.03)
    m = fs.compare(fs.TransformNet((4, 8, 8), 1).eval(), photos, objectives, optimised, reps=1)
    assert m["opt_loss"] < m["content_image_loss"]  # five steps of optimisation help
    assert m["loss"] == pytest.approx(m["content_image_loss"], rel=0.05)  # the identity changes nothing
    assert abs(m["gap_closed"]) < 0.1
