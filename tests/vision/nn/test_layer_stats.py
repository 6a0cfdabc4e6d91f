"""Per-layer activation and gradient statistics (vision/nn/layer_stats.py) say what the notes say."""
import matplotlib
import pytest
import torch

from gymlab.vision.classify.mlp import MLP
from gymlab.vision.nn import layer_stats as L

matplotlib.use("Agg")


def _data(n=200, d=32):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, d, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_small_init_collapses_deep_tanh_and_xavier_does_not():
    x, y = _data()
    torch.manual_seed(0)
    small = L.layer_stats(MLP(32, [64] * 6, 10, "tanh", "small"), x, y)
    torch.manual_seed(0)
    xavier = L.layer_stats(MLP(32, [64] * 6, 10, "tanh", "xavier"), x, y)
    assert small["act_std_last"] < 1e-4 * small["act_std_first"]
    assert 0.1 < xavier["act_std_last"] and small["grad_std_first"] < 1e-4 * xavier["grad_std_first"]
    assert len(small["act_std"]) == len(small["samples"]) == 6
    assert small["act_std_first"] == small["act_std"][0] and small["wgrad_last"] == small["wgrad"][-1]


def test_layer_stats_leaves_the_model_as_it_was():
    x, y = _data()
    net = MLP(32, [16, 16], 10, "relu", "he", batchnorm=True)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    L.layer_stats(net, x, y)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # BN running stats too
    assert all(p.grad is None or not p.grad.any() for p in net.parameters())


def test_same_sign_rows_is_one_for_positive_inputs_only():
    x, y = _data(16)
    torch.manual_seed(0)
    assert L.same_sign_rows(MLP(32, [16, 16], 10, "relu", "he"), x, y) == 1.0  # ReLU outputs are >= 0
    torch.manual_seed(0)
    assert L.same_sign_rows(MLP(32, [16, 16], 10, "tanh", "xavier"), x, y) < 0.2


def test_dead_fraction_counts_units_that_are_zero_for_every_example():
    x, _ = _data()
    net = MLP(32, [10], 10, "relu", "he")
    with torch.no_grad():
        net.layers[0].linear.bias[:3] = -1e6  # three units never fire
    assert L.dead_fraction(net, x) == pytest.approx(0.3)


def test_figures_have_a_panel_per_model_or_statistic():
    x, y = _data()
    stats = {n: L.layer_stats(MLP(32, [16] * 3, 10, "tanh", n), x, y) for n in ("small", "xavier")}
    assert len(L.histograms_figure(stats, "t").axes) == 2
    fig = L.per_layer_figure(stats, ("act_std", "grad_std"))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
