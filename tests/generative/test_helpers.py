"""The library pieces the generative experiments are wired from: the FID classifier and sample scores,
picture helpers, completions, the autoencoder's objective and measures, the GAN's step and sampler,
the IWAE loss and the PCA comparison."""
import numpy as np
import pytest
import torch

from gymlab.generative import autoencoder as ae
from gymlab.generative import figures, gan, metrics, sampling
from gymlab.generative import linear_autoencoder as LA
from gymlab.generative.autoencoder import Autoencoder
from gymlab.generative.baselines import IndependentBernoulli
from gymlab.generative.data import load
from gymlab.generative.training import gan_step, iwae_loss, vae_loss
from gymlab.generative.vae import VAE, traversal


def _digits():
    return load("digits", seed=0).data


def test_fid_classifier_is_trained_once_and_scores_real_digits_near_zero():
    d = _digits()
    clf = metrics.fid_classifier("digits", None, 0, steps=20)
    assert metrics.fid_classifier("digits", None, 0, steps=20) is clf  # cached for the process
    same = metrics.sample_scores(clf, d.test.x, d.test.x, d.val.x)
    assert set(same) == {"fid", "val_fid", "inception_score"}
    assert abs(same["fid"]) < 1e-6 < same["val_fid"]  # a set against itself, then against other digits
    noise = metrics.sample_scores(clf, torch.rand_like(d.test.x).round(), d.test.x, d.val.x)
    assert noise["fid"] > same["val_fid"]


def test_image_grid_layout_and_history_lines():
    img = figures.image_grid(torch.ones(5, 1, 2, 3), nrow=2, scale=1)
    assert img.shape == (3 * 3 + 1, 2 * 4 + 1)  # 3 rows of 2, 1-pixel gaps around each image
    assert img[1:3, 1:4].min() == 1.0 and img[0, 0] == 0.5 and img[7:9, 5:8].max() == 0.5  # one missing image
    assert figures.image_grid(torch.zeros(1, 3, 2, 2), 1, scale=4).shape == (16, 16, 3)  # (2 + 2) * 4
    rows = [{"step": 1, "train/a": 3.0}, {"step": 2, "eval/b": 1.0}, {"step": 3, "train/a": 2.0}]
    assert figures.history_lines(rows, ["train/a", "eval/b", "eval/c"]) == {"a": ((1, 3), (3.0, 2.0)), "b": ((2,), (1.0,))}


def test_completion_rows_keep_each_image_and_its_top_half():
    d = _digits()
    model = IndependentBernoulli((1, 8, 8)).fit(d.train.x)
    x = d.test.x[:3]
    rows = sampling.completion_rows(model, x, 2, per=4, generator=torch.Generator().manual_seed(0)).view(3, 5, 1, 8, 8)
    assert torch.equal(rows[:, 0], x)
    assert torch.equal(rows[:, 1:, :, :4], x[:, None, :, :4].expand(3, 4, 1, 4, 8))
    pics = sampling.pictures(model, sampling.sample(model, 16, (1, 8, 8), 2), x, 2)
    assert set(pics) == {"samples", "completions"} and pics["completions"].ndim == 2


def test_autoencoder_objective_measures_and_shuffles():
    d = _digits()
    torch.manual_seed(0)
    net = Autoencoder((1, 8, 8), latent=4, hidden=16)
    obj = ae.Objective(net, "contractive", lam=0.1)
    x = d.test.x[:50]
    assert torch.allclose(obj(x)["loss"], ae.loss(net, x, "contractive", lam=0.1)["loss"])
    with pytest.raises(ValueError, match="unknown autoencoder kind"):
        ae.Objective(net, "nope")
    odd = ae.shuffle_pixels(x, torch.Generator().manual_seed(0))
    assert torch.equal(odd.flatten(1).sum(1), x.flatten(1).sum(1)) and not torch.equal(odd, x)  # same ink
    m = ae.measures(net, d.test.x, d.val.x)
    assert m["jacobian_frobenius"] ** 2 == pytest.approx(ae.contractive_penalty(net, d.test.x).item(), rel=1e-5)
    assert m["recon_nats"] == pytest.approx(ae.reconstruction_nats(net, d.test.x)[0].mean().item())
    assert 0 <= m["anomaly_auc"] <= 1


def test_gan_step_and_sampler():
    d = _digits()
    torch.manual_seed(0)
    g, disc = gan.Generator((1, 8, 8), latent=8, width=8, num_classes=10), gan.Discriminator((1, 8, 8), 8, 10)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(disc.parameters(), 1e-3)
    before = [p.clone() for p in g.parameters()]
    row = gan_step(g, disc, opt_g, opt_d, d.train.x[:16], torch.randn(16, 8), d.train.y[:16])
    assert set(row) == {"d_loss", "g_loss", "d_fake"} and 0 < row["d_fake"] < 1
    assert all(not torch.equal(a, b) for a, b in zip(before, g.parameters()))
    s = gan.sample(g, 20, levels=2, seed=3)
    assert s.shape == (20, 1, 8, 8) and set(s.unique().tolist()) <= {0.0, 1.0} and g.training
    assert torch.equal(s, gan.sample(g, 20, levels=2, seed=3))


def test_iwae_loss_bounds_the_elbo_and_traversal_rows():
    x = _digits().test.x[:64]
    torch.manual_seed(0)
    model = VAE((1, 8, 8), latent=3, hidden=32).eval()
    with torch.no_grad():
        loss, m = iwae_loss(20)(model, x)
        elbo = vae_loss()(model, x)[1]["elbo_nats"]
    assert m["nll_nats"] == -m["iwae_nats"] and loss.item() == pytest.approx(-m["iwae_nats"].item() / 64)
    assert m["iwae_nats"] > max(m["elbo_nats"], elbo) - 0.5  # IWAE_20 >= ELBO (up to Monte Carlo noise)
    t = traversal(model, dims=8, n=5)
    assert t.shape == (3 * 5, 1, 8, 8)  # dims capped at the latent size


def test_pca_helpers_on_an_exact_subspace():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0]
    assert LA.max_angle_deg(basis, basis @ np.array([[2.0, 1.0], [0.0, 1.0]])) < 1e-5
    assert np.allclose(LA.aligned_basis(basis @ np.array([[0.0, 1.0], [1.0, 0.0]]), basis), basis)
    x = rng.normal(size=(10, 2)) @ basis.T + 3.0
    assert np.allclose(LA.pca_reconstruct(x, np.full(6, 3.0), basis), x)  # x lies in the subspace
