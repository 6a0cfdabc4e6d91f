"""First-layer filters as one picture (vision.understand.filters)."""
import numpy as np
import torch
from torch import nn

from gymlab.vision.understand.filters import filter_grid, first_layer_filters


def test_filter_grid_places_each_min_max_scaled_filter_in_its_cell():
    w = torch.arange(5 * 2 * 3 * 3, dtype=torch.float32).reshape(5, 2, 3, 3)
    img = filter_grid(w)
    assert img.shape == (2 * 4 + 1, 3 * 4 + 1)  # ceil(sqrt(5)) = 3 columns, 2 rows; 1-pixel white borders
    first = (w[0, 0] - w[0, 0].min()) / (w[0, 0].max() - w[0, 0].min())  # the channel drawn, min-max scaled
    assert np.allclose(img[1:4, 1:4], first.numpy())
    assert (img[0] == 1).all() and (img[:, 0] == 1).all() and (img[5:8, 9:12] == 1).all()  # the sixth cell is empty
    rgb = filter_grid(torch.rand(4, 3, 2, 2))
    assert rgb.shape == (7, 7, 3) and rgb.min() >= 0 and rgb.max() <= 1


def test_first_layer_filters_of_a_conv_net_and_of_an_mlp():
    conv = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 36, 10))
    assert torch.equal(first_layer_filters(conv, (1, 8, 8)), conv[0].weight.detach())
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 7), nn.ReLU(), nn.Linear(7, 10))
    w = first_layer_filters(mlp, (1, 8, 8))
    assert w.shape == (7, 1, 8, 8) and torch.equal(w[2, 0, 1], mlp[1].weight.detach()[2, 8:16])
    assert first_layer_filters(mlp, (3, 8, 8)) is None  # 64 inputs are not 3x8x8 pixels
