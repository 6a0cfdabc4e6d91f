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
k-dimensional manifold through the data and reconstruct better, with more parameters.
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


def pca_reconstruction_error(train: np.ndarray, test: np.ndarray, code: int) -> tuple[float, np.ndarray]:
    """scikit-learn's PCA with ``code`` components fitted on ``train`` (N, D): the squared error of
    ``test`` reconstructed from its codes (per image, summed over pixels), and the components (D, code)."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=code).fit(train)
    err = ((pca.inverse_transform(pca.transform(test)) - test) ** 2).sum(1).mean()
    return float(err), pca.components_.T
