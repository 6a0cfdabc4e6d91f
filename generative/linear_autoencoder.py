"""A linear undercomplete autoencoder with squared error learns PCA's subspace (Bourlard & Kamp 1988;
Baldi & Hornik 1989).

With x in R^D centred by the biases, codes h = W_e x + b_e in R^k (k < D) and reconstructions
x_hat = W_d h + b_d, the loss

    L(W_e, W_d) = (1/N) sum_i ||x_i - x_hat_i||^2

depends on the weights only through the rank-k map W_d W_e; it is minimised when W_d W_e is the
orthogonal projection onto the span of the top k eigenvectors U_k of the data covariance, and every
local minimum is global (the other critical points are saddles). So gradient descent finds
span(W_d) = span(U_k), PCA's principal subspace, but not U_k itself: any invertible A gives the
same loss with W_d A^-1, A W_e (the codes are a linear mix of PCA's, not its ordered components).

Two subspaces are compared by their principal angles: with Q_A, Q_B orthonormal bases (QR of the
spanning matrices),

    cos θ_i = σ_i(Q_A^T Q_B),   θ_1 <= ... <= θ_k   (0: the subspaces coincide)

A non-linear autoencoder with the same code size is not bound to a linear subspace; it can bend its
k-dimensional manifold through the data and reconstruct better, with more parameters. ``comparison``
measures the three side by side (with k-means purity of each code, generative.clustering) and
``comparison_figures`` draws them.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class LinearAutoencoder(nn.Module):
    """x (N, ...) -> h = W_e x + b_e (N, k) -> x_hat = W_d h + b_d, flattened inputs."""

    def __init__(self, dim: int, code: int):
        super().__init__()
        if not 0 < code < dim:
            raise ValueError(f"an undercomplete autoencoder needs 0 < code < dim, got code={code}, dim={dim}")
        self.encoder, self.decoder = nn.Linear(dim, code), nn.Linear(code, dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x)).view_as(x)

    def subspace(self) -> np.ndarray:
        """(dim, code): the decoder's columns, which span the reconstructions (minus b_d)."""
        return self.decoder.weight.detach().cpu().double().numpy()


def squared_error(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(1/N) sum_i ||x_i - x_hat_i||^2 (summed over pixels, averaged over images)."""
    return (model(x) - x).pow(2).flatten(1).sum(1).mean()


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (radians, ascending) between span(a) and span(b), a: (D, k), b: (D, m)."""
    qa, _ = np.linalg.qr(np.asarray(a, dtype=np.float64))
    qb, _ = np.linalg.qr(np.asarray(b, dtype=np.float64))
    s = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.sort(np.arccos(np.clip(s, -1.0, 1.0)))


def max_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The largest principal angle between span(a) and span(b), in degrees."""
    return float(np.degrees(principal_angles(a, b).max()))


def pca_reconstruction_error(train: np.ndarray, test: np.ndarray, code: int) -> tuple[float, np.ndarray]:
    """scikit-learn's PCA with ``code`` components fitted on ``train`` (N, D): the squared error of
    ``test`` reconstructed from its codes (per image, summed over pixels), and the components (D, code)."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=code).fit(train)
    err = ((pca.inverse_transform(pca.transform(test)) - test) ** 2).sum(1).mean()
    return float(err), pca.components_.T


def pca_reconstruct(x: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """x (N, D) projected on the orthonormal components (D, k) around ``mean`` and mapped back."""
    return (x - mean) @ components @ components.T + mean


def aligned_basis(w: np.ndarray, components: np.ndarray) -> np.ndarray:
    """The combinations of w's columns closest (least squares) to each component: w @ argmin_A ||w A - C||."""
    return w @ np.linalg.lstsq(w, components, rcond=None)[0]


def _np(x: torch.Tensor) -> np.ndarray:
    return x.flatten(1).detach().cpu().double().numpy()


@torch.no_grad()
def comparison(linear: LinearAutoencoder, nonlinear: nn.Module, train: torch.Tensor, test: torch.Tensor,
               labels, components: np.ndarray, clusters: int = 10, seed: int = 0) -> dict:
    """PCA (``components`` fitted on ``train``) against a linear and a non-linear autoencoder on ``test``:
    max_angle_deg, mean_angle_deg (principal angles of the linear decoder's span to PCA's), pca_error,
    linear_ae_error, nonlinear_ae_error (squared error per image), nonlinear_over_pca, and
    purity_{pixels,pca,linear_ae,nonlinear_ae}: k-means purity on each representation of ``test``."""
    from gymlab.generative.clustering import kmeans_purity

    ang = np.degrees(principal_angles(linear.subspace(), components))
    xtr, xte = _np(train), _np(test)
    pca = ((pca_reconstruct(xte, xtr.mean(0), components) - xte) ** 2).sum(1).mean()
    out = {"max_angle_deg": float(ang.max()), "mean_angle_deg": float(ang.mean()), "pca_error": float(pca),
           "linear_ae_error": squared_error(linear, test).item(),
           "nonlinear_ae_error": squared_error(nonlinear, test).item()}
    out["nonlinear_over_pca"] = out["nonlinear_ae_error"] / out["pca_error"]
    codes = {"pixels": xte, "pca": (xte - xtr.mean(0)) @ components, "linear_ae": _np(linear.encode(test)),
             "nonlinear_ae": _np(nonlinear.encode(test))}
    for name, z in codes.items():
        out[f"purity_{name}"] = kmeans_purity(z, np.asarray(labels.cpu() if torch.is_tensor(labels) else labels),
                                              clusters, seed)
    return out


@torch.no_grad()
def comparison_figures(linear: LinearAutoencoder, nonlinear: nn.Module, train: torch.Tensor, test: torch.Tensor,
                       components: np.ndarray, shape: tuple, angles: list = (), measures: dict | None = None,
                       n: int = 10) -> dict:
    """components: PCA's beside the linear decoder's columns mapped onto them (``aligned_basis``);
    reconstructions: n test images, by PCA, by the linear and by the non-linear autoencoder;
    angle_curve: the (step, largest principal angle) pairs of ``angles`` on a log scale; summary (with
    ``comparison``'s ``measures``): k-means purity and test squared error per representation."""
    from gymlab.generative import figures

    x, xtr = test[:n], _np(train)
    rows = {"test digit": _np(x), "PCA": pca_reconstruct(_np(x), xtr.mean(0), components),
            "linear AE": _np(linear(x)), "non-linear AE": _np(nonlinear(x))}
    aligned = aligned_basis(linear.subspace(), components)
    out = {} if measures is None else {"summary": [
        {"representation": r, "kmeans_purity": measures[f"purity_{r}"],
         "test_squared_error": measures.get(f"{r}_error", float("nan"))}
        for r in ("pixels", "pca", "linear_ae", "nonlinear_ae")]}
    return {**out, "components": figures.basis_figure({"PCA": components, "linear AE": aligned}, shape),
            "reconstructions": figures.image_rows(rows, shape),
            "angle_curve": figures.line_figure([a[0] for a in angles], [a[1] for a in angles], "step",
                                               "largest principal angle (degrees)", "linear AE subspace against PCA's",
                                               logy=True)}
