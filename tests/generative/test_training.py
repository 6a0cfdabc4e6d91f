"""generative.training: the models train from a notebook with library code only (issue 13, item 5)."""
import torch

from gymlab.generative.baselines import IndependentBernoulli
from gymlab.generative.data import load
from gymlab.generative.gan import Discriminator, Generator
from gymlab.generative.metrics import categorical_nll
from gymlab.generative.pixelcnn import PixelCNN
from gymlab.generative.training import autoregressive_loss, fit, fit_gan, vae_loss
from gymlab.generative.vae import VAE
from gymlab.vision.data.batching import batch_indices


def _digits():
    return load("digits", seed=0).data


def test_batches_cover_every_example_once_per_epoch_and_depend_only_on_seed_and_step():
    n, b = 103, 10
    epoch = torch.cat([batch_indices(3, s, n, b) for s in range(11)])
    assert sorted(epoch.tolist()) == list(range(n))
    assert torch.equal(batch_indices(3, 13, n, b), batch_indices(3, 13, n, b))
    assert not torch.equal(batch_indices(3, 0, n, b), batch_indices(4, 0, n, b))


def test_fit_pixelcnn_beats_the_bernoulli_baseline_and_is_reproducible():
    d = _digits()
    bern = IndependentBernoulli((1, 8, 8)).fit(d.train.x)
    bern_nats = categorical_nll(bern(d.test.x), d.test.x, 2).mean().item()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = PixelCNN(1, 2, hidden=32, n_blocks=2)
        history = fit(model, d.train.x, autoregressive_loss(levels=2), epochs=6, batch_size=64, lr=3e-3, seed=0)
        with torch.no_grad():
            runs.append((categorical_nll(model(d.test.x), d.test.x, 2).mean().item(), history[-1]["nll_nats"]))
    assert runs[0] == runs[1]  # seeded: the same numbers twice
    assert runs[0][0] < bern_nats - 3.0, (runs[0][0], bern_nats)


def test_fit_vae_raises_the_elbo():
    d = _digits()
    torch.manual_seed(0)
    model = VAE((1, 8, 8), latent=8, hidden=128)
    with torch.no_grad():
        before = model.elbo(d.test.x)["elbo"].mean().item()
    fit(model, d.train.x, vae_loss(), epochs=10, batch_size=64, lr=3e-3)
    with torch.no_grad():
        after = model.elbo(d.test.x)["elbo"].mean().item()
    assert after > before + 10.0, (before, after)


def test_fit_gan_moves_the_generators_pixel_means_towards_the_data():
    x = _digits().train.x
    torch.manual_seed(0)
    gen, disc = Generator((1, 8, 8), latent=16, width=32), Discriminator((1, 8, 8), width=32)
    z = torch.randn(512, 16, generator=torch.Generator().manual_seed(1))
    target = x.mean(0)
    with torch.no_grad():
        before = (gen(z).mean(0) - target).abs().mean().item()
    fit_gan(gen, disc, x, latent=16, epochs=15, batch_size=64, lr=1e-3)
    with torch.no_grad():
        after = (gen(z).mean(0) - target).abs().mean().item()
    assert after < 0.5 * before, (before, after)
