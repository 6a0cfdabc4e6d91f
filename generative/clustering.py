"""Clustering as unsupervised learning: k-means on a representation, scored by cluster purity.

k-means (Lloyd's algorithm, scikit-learn's k-means++ starts) minimises the within-cluster squared
distance sum_i ||z_i - mu_{c(i)}||^2 over assignments c and centres mu. The labels are not used to
fit; they only score the result. Purity: each cluster votes for its most common label,

    purity = (1/N) sum_clusters max_label |{i in cluster : y_i = label}|

(1 when every cluster holds one class; with K = number of classes it is at least the share of the
largest class). A representation in which same-class points are close (a good code) raises it.
"""
from __future__ import annotations

import numpy as np


def purity(clusters, labels) -> float:
    """Cluster purity of integer ``clusters`` against integer ``labels`` (both (N,))."""
    c, y = np.asarray(clusters), np.asarray(labels)
    if c.shape != y.shape or c.ndim != 1 or len(c) == 0:
        raise ValueError(f"clusters and labels must be equal-length 1-D arrays, got {c.shape} and {y.shape}")
    return float(sum(np.bincount(y[c == k]).max() for k in np.unique(c)) / len(y))


def kmeans_purity(points, labels, k: int = 10, seed: int = 0, n_init: int = 10) -> float:
    """Purity of scikit-learn's k-means (``k`` clusters, best of ``n_init`` k-means++ starts) on ``points``."""
    from sklearn.cluster import KMeans

    z = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    return purity(KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(z), labels)
