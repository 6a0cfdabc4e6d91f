"""The autoencoders' penalties equal their definitions computed another way."""
import pytest
import torch

from gymlab.generative.autoencoder import (KINDS, Autoencoder, contractive_penalty, corrupt, kl_sparsity, l1_penalty,
                                    loss)


def test_contractive_penalty_is_the_squared_frobenius_norm_of_the_autograd_jacobian():
    torch.manual_seed(0)
    model = Autoencoder((1, 8, 8), latent=6, hidden=20).double()
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    norms = []
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda v: model.encode(v.view(1, 1, 8, 8))[0], xi.flatten())
        norms.append(jac.pow(2).sum())
    assert torch.allclose(contractive_penalty(model, x), torch.stack(norms).mean(), rtol=1e-10)
    assert torch.allclose(model.encoder_jacobian(x)[2], torch.autograd.functional.jacobian(
        lambda v: model.encode(v.view(1, 1, 8, 8))[0], x[2].flatten()), rtol=1e-10)


def test_kl_sparsity_is_its_closed_form_and_torch_bernoulli_kl():
    torch.manual_seed(0)
    h = torch.sigmoid(torch.randn(32, 10, dtype=torch.float64))
    rho = 0.05
    rho_hat = h.mean(0)
    closed = (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
    peer = torch.distributions.kl_divergence(torch.distributions.Bernoulli(probs=torch.full((10,), rho, dtype=torch.float64)),
                                             torch.distributions.Bernoulli(probs=rho_hat)).sum()
    assert torch.allclose(kl_sparsity(h, rho), closed) and torch.allclose(kl_sparsity(h, rho), peer)
    assert kl_sparsity(torch.full((8, 3), rho, dtype=torch.float64), rho).abs() < 1e-12  # zero at the target


def test_l1_penalty_and_corruptions():
    h = torch.tensor([[0.5, -0.25], [1.0, 0.0]])
    assert l1_penalty(h).item() == pytest.approx(0.875)
    x = torch.ones(1000, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    assert abs(1 - corrupt(x, "drop", 0.25, g).mean().item() - 0.25) < 0.01
    assert abs(1 - corrupt(x, "flip", 0.1, g).mean().item() - 0.1) < 0.01
    with pytest.raises(ValueError, match="valid"):
        corrupt(x, "salt")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_trains_its_loss(kind):
    torch.manual_seed(0)
    model = Autoencoder((1, 8, 8), latent=8, hidden=32)
    out = loss(model, torch.rand(16, 1, 8, 8).round(), kind, lam=0.1, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out["loss"], out["recon"] + 0.1 * out["penalty"])
    assert (out["penalty"] == 0).item() == (kind in ("undercomplete", "denoising"))
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())
