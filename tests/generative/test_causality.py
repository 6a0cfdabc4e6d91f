"""Causality of every autoregressive model, checked through gradients: the logits of sub-pixel k
(raster order: rows, columns, then channels) must not depend on inputs k' >= k; the gated stack
and the Diagonal BiLSTM must depend on every k' < k (no blind spot)."""
import pytest
import torch

from gymlab.generative.baselines import FVSBN
from gymlab.generative.gated_pixelcnn import GatedPixelCNN
from gymlab.generative.masked import MaskedConv2d, causal_mask
from gymlab.generative.pixelcnn import PixelCNN
from gymlab.generative.pixelrnn import PixelRNN, skew, unskew


def dependencies(model, c, h, w, y=None):
    """dep[k_out, k_in]: does any logit of sub-pixel k_out move with input sub-pixel k_in (raster indices)."""
    torch.manual_seed(0)
    x = torch.rand(3, c, h, w, requires_grad=True)
    order = lambda ch, i, j: (i * w + j) * c + ch  # noqa: E731
    dep = torch.zeros(c * h * w, c * h * w, dtype=torch.bool)
    out = model(x, y)
    assert out.shape[:2] == (3, c) and out.shape[3:] == (h, w)
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                (g,) = torch.autograd.grad(out[:, ch, :, i, j].sum(), x, retain_graph=True)
                nz = g.abs().sum(0) > 0  # (C, H, W)
                for ci, ii, jj in nz.nonzero().tolist():
                    dep[order(ch, i, j), order(ci, ii, jj)] = True
    return dep


def past(n):
    return torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-1)


MODELS = {
    "pixelcnn": lambda c: PixelCNN(c, levels=4, hidden=12 * c, n_blocks=2),
    "gated-pixelcnn": lambda c: GatedPixelCNN(c, levels=4, hidden=6 * c, n_layers=6, kernel_size=3),
    "gated-pixelcnn-conditional": lambda c: GatedPixelCNN(c, levels=4, hidden=6 * c, n_layers=3, num_classes=10),
    "row-lstm": lambda c: PixelRNN("row-lstm", c, levels=4, hidden=4 * c, n_layers=2),
    "diagonal-bilstm": lambda c: PixelRNN("diagonal-bilstm", c, levels=4, hidden=16 if c == 1 else 24, n_layers=2),
    "fvsbn": lambda c: FVSBN((c, 6, 6), levels=4),
}


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", list(MODELS))
def test_no_future_dependence(name, channels):
    torch.manual_seed(1)
    model = MODELS[name](channels)
    if name == "fvsbn":
        torch.nn.init.normal_(model.linear.weight)
    y = torch.tensor([1, 4, 7]) if "conditional" in name else None
    dep = dependencies(model, channels, 6, 6, y)
    n = dep.shape[0]
    assert not (dep & ~past(n)).any(), "a logit depends on its own or a later sub-pixel"
    if name in ("gated-pixelcnn", "fvsbn"):  # complete context: every earlier sub-pixel
        assert (dep | ~past(n)).all(), "blind spot: an earlier sub-pixel does not reach a later logit"
    elif name == "diagonal-bilstm":
        # complete except the last sub-pixel of the row above: the features at a position never hold
        # that position's last channel (mask A, then B), and no position after (i-1, W-1) is on row
        # i-1, so it reaches pixel (i, j) only through the 7x7 first layer (W-1 <= j + 3).
        pix, ch = torch.arange(n) // channels, torch.arange(n) % channels
        i, j = pix // 6, pix % 6
        far_end = (i[None, :] == i[:, None] - 1) & (j[None, :] == 5) & (j[:, None] + 3 < 5) & (ch[None, :] == channels - 1)
        assert torch.equal(~dep & past(n), far_end & past(n))
    else:
        assert dep.any(1)[channels:].all()  # every sub-pixel after the first sees something


def test_plain_pixelcnn_has_the_blind_spot_that_gated_removes():
    torch.manual_seed(0)
    plain = dependencies(PixelCNN(1, levels=2, hidden=8, n_blocks=5, first_kernel=3), 1, 6, 6)
    gated = dependencies(GatedPixelCNN(1, levels=2, hidden=8, n_layers=6, kernel_size=3), 1, 6, 6)
    k = 3 * 6 + 2  # pixel (3, 2): the pixels up-right of it, e.g. (2, 5), are in the blind spot
    assert not plain[k, 2 * 6 + 5] and gated[k, 2 * 6 + 5]
    assert plain[k].sum() < gated[k].sum() == k


def test_mask_patterns():
    a = causal_mask(1, 1, (3, 3), "A")[0, 0]
    b = causal_mask(1, 1, (3, 3), "B")[0, 0]
    assert a.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert b.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    m = causal_mask(3, 3, (1, 1), "A", data_channels=3)[:, :, 0, 0]  # R sees nothing, G sees R, B sees R, G
    assert m.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    m = causal_mask(6, 3, (1, 1), "B", data_channels=3)[:, :, 0, 0]
    assert m.tolist() == [[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]]
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2d(1, 4, 3, "C")


def test_skew_unskew_round_trip_and_layout():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float).view(2, 3, 4, 5)
    s = skew(x)
    assert s.shape == (2, 3, 4, 8)
    assert torch.equal(s[:, :, 2, 2:7], x[:, :, 2]) and (s[:, :, 2, :2] == 0).all()
    assert torch.equal(unskew(s, 5), x)
