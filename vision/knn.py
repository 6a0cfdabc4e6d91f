"""k-nearest-neighbour classification, as in the notes: memorise the training set; label a test
image by a majority vote of the k training images closest to it.

Distances, fully vectorised (no Python loop over pairs), a chunk of test rows at a time so that
the (chunk, n_train) distance block stays under ``memory_mb``:

    L1:  d(a, b) = sum_p |a_p - b_p|                           (torch.cdist with p=1)
    L2:  d(a, b) = sqrt(sum_p (a_p - b_p)^2),  computed from
         ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b               (one matrix multiply per chunk; the
         neighbours are ranked by ||b||^2 - 2 a.b, as ||a||^2 is the same for every candidate)

The vote counts the labels of the k nearest; a tie goes to the smallest label (as scikit-learn's
``KNeighborsClassifier`` does). Points tied in distance at the k-th place are picked arbitrarily
(scikit-learn's brute force does the same).
``cross_validate_k`` picks k by k-fold cross-validation (the notes' hyperparameter lesson: never
tune on the test set).

API::

    knn = KNearestNeighbor(k=3, metric="l2").fit(X_train, y_train)   # X: (N, ...) array or tensor
    y_pred = knn.predict(X_test)             # numpy in, numpy out; tensor in, tensor out
    dist, idx = knn.kneighbors(X_test)       # (M, k) distances and training indices, nearest first
    best_k, acc = cross_validate_k(X, y, ks=(1, 3, 5, 8, 10), folds=5, metric="l2")   # acc: {k: fold accuracies}
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

METRICS = ("l1", "l2")


def _as_tensor(x, dtype) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.reshape(len(t), -1).to(dtype)


def pairwise_distances(A: torch.Tensor, B: torch.Tensor, metric: str = "l2", squared: bool = False) -> torch.Tensor:
    """(len(A), len(B)) distances between the rows of A and B (no chunking; see ``KNearestNeighbor``)."""
    if metric == "l1":
        return torch.cdist(A, B, p=1.0)
    if metric == "l2":
        d2 = (A * A).sum(1, keepdim=True) + (B * B).sum(1) - 2.0 * (A @ B.T)
        d2.clamp_(min=0.0)
        return d2 if squared else d2.sqrt_()
    raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")


def majority_vote(neighbor_labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Most frequent label in each row of (M, k) neighbour labels; ties go to the smallest label."""
    counts = torch.zeros(len(neighbor_labels), num_classes, dtype=torch.int64, device=neighbor_labels.device)
    counts.scatter_add_(1, neighbor_labels, torch.ones_like(neighbor_labels))
    return counts.argmax(1)  # argmax returns the first maximum: the smallest label


class KNearestNeighbor:
    """k-NN classifier with L1 or L2 distance; ``memory_mb`` bounds each distance block."""

    def __init__(self, k: int = 1, metric: str = "l2", memory_mb: float = 256.0, dtype=torch.float32,
                 device: str | torch.device = "cpu"):
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k, self.metric, self.memory_mb, self.dtype = int(k), metric, memory_mb, dtype
        self.device = torch.device(device)

    def fit(self, X, y) -> "KNearestNeighbor":
        """Memorise the training data (the whole of 'training' for a nearest-neighbour classifier)."""
        self.X_train = _as_tensor(X, self.dtype).to(self.device)
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
        if len(y) != len(self.X_train):
            raise ValueError(f"X has {len(self.X_train)} rows but y has {len(y)} labels")
        if self.k > len(y):
            raise ValueError(f"k={self.k} exceeds the number of training points ({len(y)})")
        self.train_sq_norms = (self.X_train * self.X_train).sum(1)  # ||b||^2, reused by every query
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.y_train = torch.as_tensor(codes.reshape(-1), dtype=torch.int64, device=self.device)
        return self

    def _chunk_rows(self) -> int:
        bytes_per_row = len(self.X_train) * torch.finfo(self.dtype).bits // 8 * 2  # distances + topk scratch
        return max(1, int(self.memory_mb * 2**20 // bytes_per_row))

    def kneighbors(self, X, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances and training indices of the k nearest training points of each row, nearest first."""
        if not hasattr(self, "X_train"):
            raise ValueError("call fit(X, y) before kneighbors/predict")
        k = self.k if k is None else k
        Xq = _as_tensor(X, self.dtype).to(self.device)
        if Xq.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"X has {Xq.shape[1]} features per row, the training data {self.X_train.shape[1]}")
        dists, idxs = [], []
        rows = self._chunk_rows()
        for start in range(0, len(Xq), rows):
            A = Xq[start:start + rows]
            if self.metric == "l2":
                # ||a||^2 is the same for every candidate of a query, so rank by ||b||^2 - 2 a.b (one fused
                # multiply-add over the block) and add ||a||^2 to the k winners only
                d = torch.addmm(self.train_sq_norms, A, self.X_train.T, beta=1.0, alpha=-2.0)
            else:
                d = pairwise_distances(A, self.X_train, "l1")
            val, idx = torch.topk(d, k, dim=1, largest=False, sorted=True)  # the k smallest, nearest first
            if self.metric == "l2":
                val = (val + (A * A).sum(1, keepdim=True)).clamp_(min=0.0).sqrt_()
            dists.append(val)
            idxs.append(idx)
        return torch.cat(dists), torch.cat(idxs)

    def predict(self, X):
        """Majority vote over the k nearest neighbours' labels."""
        _, idx = self.kneighbors(X)
        pred = majority_vote(self.y_train[idx], len(self.classes_)).cpu()
        labels = self.classes_[pred.numpy()]
        return torch.as_tensor(labels) if isinstance(X, torch.Tensor) else labels

    def score(self, X, y) -> float:
        pred = np.asarray(self.predict(X))
        return float((pred == np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)).mean())


def cross_validate_k(X, y, ks: Sequence[int] = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100), folds: int = 5, metric: str = "l2",
                     seed: int = 0, memory_mb: float = 256.0) -> tuple[int, dict[int, np.ndarray]]:
    """Choose k by ``folds``-fold cross-validation on (X, y); returns (best k, {k: fold accuracies}).

    Each fold's neighbours are searched once for the largest k; every smaller k reuses them.
    Ties in mean accuracy go to the smaller k.
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    Xt = _as_tensor(X, torch.float32)
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    ks = sorted(set(int(k) for k in ks))
    perm = np.random.default_rng(seed).permutation(len(y))
    parts = np.array_split(perm, folds)
    acc = {k: np.zeros(folds) for k in ks}
    for f in range(folds):
        val = parts[f]
        tr = np.concatenate([parts[j] for j in range(folds) if j != f])
        knn = KNearestNeighbor(max(ks), metric, memory_mb).fit(Xt[tr], y[tr])
        _, idx = knn.kneighbors(Xt[val])
        neigh = knn.y_train[idx]
        for k in ks:
            pred = knn.classes_[majority_vote(neigh[:, :k], len(knn.classes_)).numpy()]
            acc[k][f] = (pred == y[val]).mean()
    best = max(ks, key=lambda k: (acc[k].mean(), -k))
    return best, acc
