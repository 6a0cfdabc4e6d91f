"""`embedding` (vision.embedding): the scores against scikit-learn on known geometry, the penultimate
hook against a hand-written forward, and the claim: on a trained digits classifier, classes separate
better in the 2-D reductions of the penultimate features than in those of the pixels."""
import numpy as np
import pytest
import torch

from gymlab.runners.loop import run
from gymlab.vision.understand import embedding as E


def test_knn_accuracy_is_leave_one_out():
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    pts = rng.normal(size=(120, 2)) + np.repeat(np.eye(2) * 2.0, 60, axis=0)
    y = np.repeat([0, 1], 60)
    want = cross_val_score(KNeighborsClassifier(n_neighbors=5), pts, y, cv=LeaveOneOut()).mean()
    assert E.knn_accuracy(pts, y, 5) == pytest.approx(want)  # odd k, two classes: no ties
    far = np.r_[rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 50]
    s = E.separation(far, np.repeat([0, 1], 30))
    assert s["knn"] == 1.0 and s["silhouette"] > 0.9


def test_penultimate_is_the_last_linear_input_and_reduce_2d():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    x = torch.rand(10, 1, 4, 4)
    assert torch.allclose(E.penultimate(net, x, batch_size=3), net[:3](x))
    with pytest.raises(ValueError, match="no nn.Linear"):
        E.penultimate(torch.nn.ReLU(), x)
    for m in E.METHODS:
        assert E.reduce_2d(torch.rand(40, 5), m).shape == (40, 2)
    with pytest.raises(ValueError, match="valid: pca, tsne"):
        E.reduce_2d(torch.rand(40, 5), "umap")


def test_features_separate_classes_better_than_pixels(tmp_path):
    s = run("embedding", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "steps=200",
                          "eval_every=200"], quiet=True)
    assert s["eval/accuracy"] > 0.9, s
    for method in E.METHODS:
        assert s[f"eval/feature_{method}_knn"] > s[f"eval/pixel_{method}_knn"], (method, s)
        assert s[f"eval/feature_{method}_silhouette"] > s[f"eval/pixel_{method}_silhouette"] + 0.05, (method, s)
    assert s["eval/feature_tsne_knn"] >= 0.95, s
    assert any(tmp_path.rglob("embedding.png"))
