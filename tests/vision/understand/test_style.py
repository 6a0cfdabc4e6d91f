"""Textures, style transfer, DeepDream, feature inversion (vision/understand/style.py and their experiments)."""
import pytest
import torch

from gymlab.runners.loop import resume, run
from gymlab.vision.understand import style as st

SIZE = 48


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    return st.RandomConvNet(seed=0), st.load_photo("astronaut", SIZE), st.load_photo("coffee", SIZE)


def test_load_photo():
    x = st.load_photo("camera", 40)
    assert x.shape == (1, 3, 40, 40) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(x[:, 0], x[:, 1])  # a grey photo repeated over the channels
    assert not torch.equal(st.load_photo("chelsea", 40)[:, 0], st.load_photo("chelsea", 40)[:, 2])
    with pytest.raises(ValueError, match="valid: astronaut"):
        st.load_photo("lena")


def test_gram_matrix_and_losses_by_their_definitions():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 5, 4, 3, generator=g)
    G = st.gram_matrix(f)
    explicit = torch.stack([sum(torch.outer(f[b, :, i, j], f[b, :, i, j]) for i in range(4) for j in range(3)) / 12
                            for b in range(2)])
    assert torch.allclose(G, explicit, atol=1e-5)
    assert torch.linalg.eigvalsh(G).min() > -1e-5  # positive semi-definite
    a = torch.randn(1, 5, 5, generator=g)
    assert st.style_loss([f[:1]], [a]).item() == pytest.approx(((G[0] - a[0]) ** 2).sum().item() / 25, rel=1e-5)
    assert st.style_loss([f[:1]], [G[:1]]).item() == 0
    checker = (torch.arange(4).view(4, 1) + torch.arange(4).view(1, 4)) % 2  # every neighbour differs by 1
    assert st.total_variation(checker.float().view(1, 1, 4, 4)).item() == pytest.approx(2.0)
    assert st.total_variation(torch.full((1, 3, 5, 5), 0.3)).item() == 0
    assert st.content_loss(f, f + 2).item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="as many"):
        st.style_loss([f], [a, a])


def test_texture_matches_the_style_statistics(setup):
    net, content, style = setup
    obj = st.texture_objective(net, style)
    x, hist = st.synthesize_texture(net, style, steps=80, lr=0.03)
    assert obj(x).item() < 0.02 * obj(st.noise_image(style.shape)).item()
    assert obj(x).item() < 0.02 * obj(content).item()  # another photo is far from the style's statistics
    assert (x - style).abs().mean() > 0.1  # a new image with those statistics, not a copy


def test_style_transfer_takes_the_style_and_keeps_the_content(setup):
    net, content, style = setup
    x, _ = st.style_transfer(net, content, style, steps=80, lr=0.03, tv_weight=0.1)
    _, parts = st.style_transfer_objective(net, content, style)(x)
    _, of_content = st.style_transfer_objective(net, content, style)(content)
    _, of_style = st.style_transfer_objective(net, content, style)(style)
    assert parts["style"] < 0.1 * of_content["style"]
    assert parts["content"] < 0.5 * of_style["content"]


def test_feature_inversion_reconstructs_the_features_better_than_noise(setup):
    net, content, _ = setup
    x, _ = st.invert_features(net, content, layer=2, steps=80, lr=0.03)
    target = net(content)[2]
    err = st.feature_error(net(x)[2], target).item()
    assert err < 0.05 * st.feature_error(net(st.noise_image(content.shape))[2], target).item()
    # and the pixels come back closer to the photo than the noise was
    assert (x - content).pow(2).mean() < 0.5 * (st.noise_image(content.shape) - content).pow(2).mean()


def test_deepdream_increases_the_layer_activation(setup):
    net, content, _ = setup
    x, hist = st.deepdream(net, content, layer=2, steps=20)
    before, after = (net(im)[2].pow(2).mean().sqrt().item() for im in (content, x))
    assert after > 1.1 * before  # an untouched image: exactly 1.0
    assert hist[-1] < hist[0]  # the objective is -1/2 mean a^2


@pytest.mark.parametrize("name,key,extra", [
    ("texture", "eval/style_loss", []), ("style-transfer", "eval/style_loss", []),
    ("deepdream", "eval/activation_norm", []), ("feature-inversion", "eval/feature_error", ["layer=1"])])
def test_experiments_run_and_improve(tmp_path, name, key, extra):
    common = ["size=32", "channels=[16,32,64]", "logger.mode=disabled", "progress=false"]
    s = run(name, common + ["steps=30", "eval_every=30", f"run_dir={tmp_path / 'run'}"] + extra, quiet=True)
    ref = {"texture": "eval/style_loss_start", "style-transfer": "eval/style_loss_content",
           "deepdream": "eval/activation_norm_start", "feature-inversion": "eval/feature_error_noise"}[name]
    if name == "deepdream":
        assert s[key] > 1.2 * s[ref]
    else:
        assert s[key] < 0.5 * s[ref]
    assert any(p.suffix == ".png" for p in (tmp_path / "run" / "media").iterdir())


def test_deepdream_resumes_exactly(tmp_path):
    common = ["size=32", "channels=[16,32]", "layer=1", "logger.mode=disabled", "progress=false", "eval_every=4"]
    full = run("deepdream", common + ["steps=8", f"run_dir={tmp_path / 'full'}"], quiet=True)
    run("deepdream", common + ["steps=4", f"run_dir={tmp_path / 'half'}"], quiet=True)
    resumed = resume(tmp_path / "half", ["steps=8"], quiet=True)
    assert resumed["eval/activation_norm"] == full["eval/activation_norm"]


def test_bad_photo_is_a_clear_error(tmp_path):
    from gymlab.runners.errors import GymlabError

    with pytest.raises(GymlabError, match="valid: astronaut"):
        run("texture", ["style=lena", "logger.mode=disabled", "progress=false", f"run_dir={tmp_path}"], quiet=True)


def test_tasks_score_their_start_and_check_layers(setup):
    net, content, style = setup
    t = st.texture_task(net, style, tv_weight=0.1, seed=1)
    with torch.no_grad():
        m = t.metrics(t.start)
    assert m["style_loss"] == pytest.approx(m["style_loss_start"]) and set(t.shown) == {"style", "noise"}
    d = st.dream_task(net, content, layer=1)
    with torch.no_grad():
        assert d.metrics(content)["activation_gain"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="out of range"):
        st.inversion_task(net, content, layer=7)
    with pytest.raises(ValueError, match="at least one stage"):
        st.RandomConvNet(())
