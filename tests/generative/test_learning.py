"""Fixed seed, default budgets, binarized digits: every likelihood model beats the independent-Bernoulli
baseline by a clear margin, the gated PixelCNN beats the plain one, and a trained GAN's digit-FID is far
below an untrained generator's. Runs go through the runner, as a user would start them."""
import pytest
import torch

from gymlab.generative.baselines import IndependentBernoulli
from gymlab.generative.data import load, quantize
from gymlab.generative.gan import Generator
from gymlab.generative.metrics import categorical_nll, fid
from gymlab.runners.loop import resume, run

QUIET = ["logger.mode=disabled", "progress=false"]


@pytest.fixture(scope="module")
def bernoulli_nats():
    d = load("digits", seed=0).data
    model = IndependentBernoulli((1, 8, 8)).fit(d.train.x)
    return categorical_nll(model(d.test.x), d.test.x, 2).mean().item()  # about 25.2 nats


def _run(name, tmp_path, *overrides):
    return run(name, [*QUIET, f"out={tmp_path}", *overrides], quiet=True)


# The runs below keep their default budgets, evaluated once at the end (ONCE_300: the pixel models' 300 steps):
# the summary is the last evaluation, and evaluations never touch the training stream (the FID's samples and
# classifier fork the RNG), so the figures are the default runs'.
ONCE_300 = "eval_every=300"


def _beats_bernoulli(s, bernoulli_nats):
    assert s["eval/nll_nats"] < bernoulli_nats - 5.0, (s["experiment"], s["eval/nll_nats"], bernoulli_nats)
    assert s["eval/bits_per_dim"] == pytest.approx(s["eval/nll_nats"] / (64 * 0.6931471805599453))


# one test per run (no shared fixture), so that pytest-xdist spreads the runs over its workers
def test_pixelcnn_and_gated_pixelcnn_beat_bernoulli_and_gated_beats_plain(tmp_path, bernoulli_nats):
    plain = _run("pixelcnn", tmp_path, ONCE_300, "fid_samples=64", "sample_images=16")
    gated = _run("gated-pixelcnn", tmp_path, ONCE_300, "fid_samples=0", "sample_images=16")
    _beats_bernoulli(plain, bernoulli_nats)
    _beats_bernoulli(gated, bernoulli_nats)
    assert gated["eval/nll_nats"] < plain["eval/nll_nats"] - 0.5  # about 17.9 against 19.0
    assert 0 < plain["eval/fid"] < 200 and plain["eval/inception_score"] > 3  # its samples are scored


@pytest.mark.parametrize("kind", ["row-lstm", "diagonal-bilstm"])
def test_pixelrnn_beats_bernoulli(tmp_path, bernoulli_nats, kind):
    _beats_bernoulli(_run("pixelrnn", tmp_path, ONCE_300, f"kind={kind}", "fid_samples=0", "sample_images=16"),
                     bernoulli_nats)


def test_vae_iwae_bound_beats_bernoulli(tmp_path, bernoulli_nats):
    s = _run("vae", tmp_path, "eval_every=1500", "fid_samples=0")  # the default 1500 steps
    _beats_bernoulli(s, bernoulli_nats)
    assert s["eval/elbo_nats"] < s["eval/iwae_nats"] == -s["eval/nll_nats"]  # ELBO <= IWAE_50 <= log p(x)


def test_trained_gan_fid_is_far_below_an_untrained_generator(tmp_path):
    from gymlab.generative.metrics import fid_classifier

    s = run("gan", [*QUIET, f"out={tmp_path}", "eval_every=1000"], quiet=True)  # the default 1000 steps, one FID
    torch.manual_seed(0)
    g = Generator((1, 8, 8), latent=32, width=32).eval()
    with torch.no_grad():
        untrained = quantize(g(torch.randn(256, 32)), 2)
    d = load("digits", seed=0).data
    fid_untrained = fid(fid_classifier("digits", None, 0), d.test.x, untrained)
    assert s["eval/fid"] < fid_untrained / 3, (s["eval/fid"], fid_untrained)  # about 39 against 177
    assert (tmp_path / f"{s['run_dir'].split('/')[-1]}" / "media" / "samples.png").exists()


@pytest.mark.parametrize("name,extra", [("gated-pixelcnn", ["conditional=true"]), ("gan", ["conditional=true"]),
                                        ("autoencoder", ["kind=contractive"]), ("vae", [])])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, name, extra):
    common = [*QUIET, "eval_every=3", "fid_samples=16", *extra]
    full = run(name, [*common, "steps=6", f"run_dir={tmp_path / 'full'}"], quiet=True)
    run(name, [*common, "steps=3", f"run_dir={tmp_path / 'half'}"], quiet=True)
    resumed = resume(tmp_path / "half", ["steps=6"], quiet=True)
    keys = [k for k in full if k.startswith("eval/")]
    assert keys and all(full[k] == pytest.approx(resumed[k], rel=1e-5) for k in keys)
