"""Fixed seed, default budgets, binarized digits: every likelihood model beats the independent-Bernoulli
baseline by a clear margin, the gated PixelCNN beats the plain one, and a trained GAN's digit-FID is far
below an untrained generator's. Runs go through the runner, as a user would start them."""
import pytest
import torch

from generative.baselines import IndependentBernoulli
from generative.data import load, quantize
from generative.gan import Generator
from generative.metrics import categorical_nll, fid
from runners.loop import resume, run

QUIET = ["logger.mode=disabled", "progress=false"]


@pytest.fixture(scope="module")
def bernoulli_nats():
    d = load("digits", seed=0).data
    model = IndependentBernoulli((1, 8, 8)).fit(d.train.x)
    return categorical_nll(model(d.test.x), d.test.x, 2).mean().item()  # about 25.2 nats


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("gen"))
    small = ["fid_samples=0", "sample_images=16"]  # default budgets; fewer samples drawn for scores and media
    cases = {"pixelcnn": ("pixelcnn", ["fid_samples=64", "sample_images=16"]), "gated-pixelcnn": ("gated-pixelcnn", small),
             "row-lstm": ("pixelrnn", ["kind=row-lstm", *small]), "diagonal-bilstm": ("pixelrnn", ["kind=diagonal-bilstm", *small]),
             "vae": ("vae", ["fid_samples=0"])}
    return {k: run(name, [*QUIET, f"out={out}", *ov], quiet=True) for k, (name, ov) in cases.items()}


@pytest.mark.parametrize("model", ["pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm", "vae"])
def test_every_likelihood_model_beats_independent_bernoulli(runs, bernoulli_nats, model):
    s = runs[model]
    assert s["eval/nll_nats"] < bernoulli_nats - 5.0, (model, s["eval/nll_nats"], bernoulli_nats)
    assert s["eval/bits_per_dim"] == pytest.approx(s["eval/nll_nats"] / (64 * 0.6931471805599453))
    if model == "vae":  # ELBO <= IWAE_50 <= log p(x): the bounds are ordered
        assert s["eval/elbo_nats"] < s["eval/iwae_nats"] == -s["eval/nll_nats"]


def test_gated_pixelcnn_beats_plain_pixelcnn(runs):
    assert runs["gated-pixelcnn"]["eval/nll_nats"] < runs["pixelcnn"]["eval/nll_nats"] - 0.5


def test_autoregressive_samples_are_scored(runs):
    s = runs["pixelcnn"]
    assert 0 < s["eval/fid"] < 200 and s["eval/inception_score"] > 3


def test_trained_gan_fid_is_far_below_an_untrained_generator(tmp_path):
    from runners.experiments.generative import feature_classifier

    s = run("gan", [*QUIET, f"out={tmp_path}"], quiet=True)
    torch.manual_seed(0)
    g = Generator((1, 8, 8), latent=32, width=32).eval()
    with torch.no_grad():
        untrained = quantize(g(torch.randn(256, 32)), 2)
    d = load("digits", seed=0).data
    fid_untrained = fid(feature_classifier("digits", None, 0), d.test.x, untrained)
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
