"""`pca-autoencoder` (generative.linear_autoencoder, generative.clustering): principal angles against
scipy's, purity by hand, and the claims: a linear autoencoder with squared error finds PCA's subspace
(principal angles near zero, PCA's error), a non-linear one with the same code reconstructs better."""
import numpy as np
import pytest
import torch

from gymlab.generative import clustering
from gymlab.generative import linear_autoencoder as LA
from gymlab.runners.loop import run


def test_principal_angles_equal_scipy():
    from scipy.linalg import subspace_angles

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 3)), rng.normal(size=(20, 4))
    assert np.allclose(np.sort(LA.principal_angles(a, b)), np.sort(subspace_angles(a, b)[:3]))
    mix = a @ rng.normal(size=(3, 3))  # the same span, another basis
    assert np.allclose(LA.principal_angles(a, mix), 0, atol=1e-6)


def test_purity():
    assert clustering.purity([0, 0, 1, 1, 1], [3, 3, 4, 4, 5]) == pytest.approx(4 / 5)
    assert clustering.purity([0, 1, 2], [7, 7, 7]) == 1.0
    pts = np.r_[np.zeros((10, 2)), np.full((10, 2), 9.0)]
    assert clustering.kmeans_purity(pts, [0] * 10 + [1] * 10, k=2) == 1.0
    with pytest.raises(ValueError):
        clustering.purity([0, 1], [0])


def test_linear_autoencoder_reaches_the_pca_optimum_on_small_data():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(200, 6)) * np.array([3.0, 2.0, 1.5, 0.3, 0.2, 0.1]) @ rng.normal(size=(6, 6)),
                     dtype=torch.float32)
    torch.manual_seed(0)
    m = LA.LinearAutoencoder(6, 2)
    opt = torch.optim.Adam(m.parameters(), 0.03)
    for _ in range(800):
        loss = LA.squared_error(m, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    err, comps = LA.pca_reconstruction_error(x.double().numpy(), x.double().numpy(), 2)
    assert np.degrees(LA.principal_angles(m.subspace(), comps).max()) < 0.5
    assert LA.squared_error(m, x).item() == pytest.approx(err, rel=5e-3)
    with pytest.raises(ValueError, match="undercomplete"):
        LA.LinearAutoencoder(6, 6)


def test_linear_ae_spans_pca_and_the_non_linear_one_reconstructs_better(tmp_path):
    s = run("pca-autoencoder", ["logger.mode=disabled", "progress=false", f"out={tmp_path}"], quiet=True)
    assert s["eval/max_angle_deg_init"] > 45, s  # a random start is far from PCA's subspace
    assert s["eval/max_angle_deg"] < 1.0, s
    assert s["eval/linear_ae_error"] == pytest.approx(s["eval/pca_error"], rel=2e-3), s
    assert s["eval/nonlinear_ae_error"] < 0.8 * s["eval/pca_error"], s
    assert s["eval/purity_pca"] > s["eval/purity_pixels"], s  # k-means does better on the 8-D codes
    assert s["eval/purity_linear_ae"] > s["eval/purity_pixels"], s
    assert any(tmp_path.rglob("components.png"))


def test_pca_autoencoder_resumes_exactly(tmp_path):
    from gymlab.runners.loop import resume

    common = ["logger.mode=disabled", "progress=false", "eval_every=20"]
    full = run("pca-autoencoder", common + ["steps=40", f"run_dir={tmp_path / 'full'}"], quiet=True)
    run("pca-autoencoder", common + ["steps=20", f"run_dir={tmp_path / 'half'}"], quiet=True)
    resumed = resume(tmp_path / "half", ["steps=40"], quiet=True)
    for key in ("eval/max_angle_deg", "eval/linear_ae_error", "eval/nonlinear_ae_error"):
        assert resumed[key] == full[key], key
