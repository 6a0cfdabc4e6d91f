"""Top-1 accuracy in chunks (vision.classify.accuracy) and the classifiers' figures (vision.classify.plots)."""
import numpy as np
import pytest
import torch
from torch import nn

from gymlab.vision.classify import plots
from gymlab.vision.classify.accuracy import accuracy


class Echo(nn.Module):
    """Scores that put the maximum at the first input feature's value; records the chunk sizes seen."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(len(x))
        return nn.functional.one_hot(x[:, 0].long(), 3).float()


def test_accuracy_counts_hits_over_chunks_in_eval_mode():
    x = torch.tensor([[0.], [1.], [2.], [1.], [0.]])
    y = torch.tensor([0, 1, 1, 1, 2])
    m = Echo().train()
    assert accuracy(m, x, y, batch=2) == pytest.approx(3 / 5)
    assert m.seen == [2, 2, 1] and not m.training


def test_figures_draw_one_artist_per_series():
    cv = {1: np.array([0.9, 0.8]), 3: np.array([0.95, 0.85])}
    fig = plots.cross_validation(cv, 3, 2)
    assert "chosen k=3" in fig.axes[0].get_title()
    fig = plots.class_templates(torch.randn(65, 10), (1, 8, 8))
    assert len(fig.axes) == 10 and fig.axes[4].images[0].get_array().shape == (8, 8)
    rows = [{"labelled_scenes": n, "frozen": 0.5, "scratch": 0.2} for n in (20, 50)]
    assert len(plots.accuracy_vs_labels(rows, ("frozen", "scratch")).axes[0].lines) == 2
