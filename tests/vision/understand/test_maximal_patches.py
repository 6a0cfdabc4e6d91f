"""`maximal-patches` (vision.maximal_patches): receptive fields against gradients, the streamed top k
against a brute-force sort, patches against the images, and the experiment's own check."""
import pytest
import torch
from torch import nn

from gymlab.runners.loop import run
from gymlab.vision.understand import maximal_patches as MP


def _net(pool=nn.AvgPool2d, act=nn.LeakyReLU):
    """Average pooling and leaky ReLUs pass a gradient to every pixel of the window (for the tightness
    check); the receptive field is the same with max pooling and ReLU."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), act()),
                         pool(2),
                         nn.Sequential(nn.Conv2d(4, 5, 3, padding=1), act()),
                         nn.Sequential(nn.Conv2d(5, 6, 5, stride=2, padding=2), act())).eval()


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_receptive_field_is_where_the_gradient_lives(depth):
    net = _net()[:depth]
    rf = MP.receptive_field(net)
    x = torch.rand(1, 1, 24, 24, requires_grad=True)
    out = net(x)
    for r, c in [(0, 0), (out.shape[2] // 2, out.shape[3] - 1), (out.shape[2] - 1, 1)]:
        # the sum over channels: a pixel matters to the unit iff it matters to some channel
        (g,) = torch.autograd.grad(out[0, :, r, c].sum(), x, retain_graph=True)
        inside = MP.window_mask(rf, r, c, 24, 24)
        assert (g[0, 0][~inside] == 0).all()
        # and the window is tight: its inside rows and columns each hold a pixel with a gradient
        nz = g[0, 0] != 0
        assert nz.any(1)[inside.any(1)].all() and nz.any(0)[inside.any(0)].all()
    rf = MP.receptive_field(_net(nn.MaxPool2d, nn.ReLU))
    assert (rf.size, rf.stride, rf.offset) == (4 + 2 * 2 + 4 * 2, 4, 1 + 1 * 2 + 2 * 2)


def test_receptive_field_rejects_what_it_cannot_follow():
    with pytest.raises(ValueError, match="Linear"):
        MP.receptive_field([nn.Linear(3, 3)])
    with pytest.raises(ValueError, match="out of range"):
        MP.truncate(_net(), 7)


def test_streamed_top_k_equals_brute_force_and_patches_are_the_windows():
    net = _net(nn.MaxPool2d, nn.ReLU)[:3]  # ReLU: many exact zeros, so many ties
    rf = MP.receptive_field(net)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(50, 1, 12, 12, generator=g)
    x[7] = 0  # an all-zero image: many equal activations, ties broken by position
    for batch in (1, 7, 50):
        v, where = MP.top_activations(net, x, k=6, batch_size=batch)
        with torch.no_grad():  # the same batches: a convolution's last bits may depend on the batch size
            a = torch.cat([net(chunk) for chunk in torch.split(x, batch)])
        n, c, h, w = a.shape
        flat = a.permute(1, 0, 2, 3).reshape(c, -1)
        order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :6]
        assert torch.equal(v, flat.gather(1, order))
        assert torch.equal(where, torch.stack([order // (h * w), order % (h * w) // w, order % w], -1))
    patches = MP.extract_patches(x, where, rf)
    assert patches.shape == (5, 6, 1, rf.size, rf.size)
    padded = torch.nn.functional.pad(x, (rf.offset,) * 4 + (0, 0, 0, 0))
    for u in range(5):
        for j in range(6):
            i, r, q = where[u, j].tolist()
            r0, c0 = r * rf.stride, q * rf.stride
            assert torch.equal(patches[u, j], padded[i, :, r0:r0 + rf.size, c0:c0 + rf.size])


def test_the_experiment_shows_the_true_top_k(tmp_path):
    s = run("maximal-patches", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "steps=60",
                                "eval_every=60", "units=4", "k=6"], quiet=True)
    assert s["eval/topk_match"] == 1.0, s
    assert s["eval/outside_change"] == 0.0, s
    assert s["eval/receptive_field"] == 5
    assert any(tmp_path.rglob("maximal_patches.png"))


def test_verify_top_confirms_the_streamed_answer():
    prefix = _net()[:3]
    x = torch.rand(7, 1, 9, 9, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        top = MP.top_units(prefix, x, units=3, k=4, batch_size=2)
        found = MP.verify_top(prefix, x, top, MP.receptive_field(prefix))
    assert found["topk_match"] == 1.0 and found["outside_change"] == 0.0
    assert found["top_activation"] == pytest.approx(float(top[1][:, 0].mean()))
