"""The VAE's bounds: IWAE with k = 1 is the ELBO in expectation, and IWAE grows with k."""
import math

import torch

from gymlab.generative.data import load
from gymlab.generative.vae import VAE, gaussian_kl


def _trained_a_little(x):
    torch.manual_seed(0)
    vae = VAE((1, 8, 8), latent=4, hidden=64)
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    for _ in range(60):
        loss = -vae.elbo(x[torch.randint(len(x), (64,))])["elbo"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return vae


def test_iwae_k1_equals_elbo_in_expectation_and_grows_with_k():
    x = load("digits", seed=0).data.train.x
    vae = _trained_a_little(x)
    n, reps = 8, 500
    xs = x[:n].repeat(reps, 1, 1, 1)  # every image `reps` times: independent draws in one batch
    torch.manual_seed(1)
    with torch.no_grad():
        draws = {"elbo": vae.elbo(xs)["elbo"], 1: vae.iwae_bound(xs, k=1), 5: vae.iwae_bound(xs, k=5),
                 50: vae.iwae_bound(xs, k=50)}
    mean = {k: v.view(reps, n).mean(0) for k, v in draws.items()}
    se = {k: v.view(reps, n).std(0) / reps ** 0.5 for k, v in draws.items()}
    # the analytic-KL ELBO and the one-sample weight log p(x,z) - log q(z|x) share their mean
    assert ((mean[1] - mean["elbo"]).abs() < 4 * (se[1] ** 2 + se["elbo"] ** 2).sqrt()).all()
    # IWAE_1 < IWAE_5 < IWAE_50: on every image, and on their average by many standard errors
    for lo, hi in [(1, 5), (5, 50)]:
        gap, gap_se = mean[hi] - mean[lo], (se[hi] ** 2 + se[lo] ** 2).sqrt()
        assert (gap > 0).all() and gap.mean() > 6 * gap_se.pow(2).mean().sqrt() / n ** 0.5, (lo, hi, gap, gap_se)


def test_closed_form_kl_matches_monte_carlo_and_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5) * 0.5
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(5), torch.ones(5))
    assert torch.allclose(gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)


def test_beta_scales_only_the_kl_term():
    x = load("digits", seed=0).data.test.x[:8]
    vae = VAE((1, 8, 8), latent=3, hidden=32)
    torch.manual_seed(5)
    a = vae.elbo(x, beta=1.0)
    torch.manual_seed(5)
    b = vae.elbo(x, beta=4.0)
    assert torch.allclose(b["elbo"], a["recon"] - 4 * a["kl"]) and torch.allclose(a["elbo"], a["recon"] - a["kl"])
    assert math.isfinite(vae.iwae_bound(x, 3).sum().item())


def test_discretized_logistic_vae_on_256_levels():
    d = load("digits-gray", seed=0)
    x = d.data.test.x[:8]
    vae = VAE((1, 8, 8), latent=3, hidden=32, levels=256)
    out = vae.elbo(x)
    assert out["elbo"].shape == (8,) and torch.isfinite(out["elbo"]).all()
    s = vae.sample(5, generator=torch.Generator().manual_seed(0), mean=False)
    assert s.shape == (5, 1, 8, 8) and torch.equal(torch.round(s * 255) / 255, s)
