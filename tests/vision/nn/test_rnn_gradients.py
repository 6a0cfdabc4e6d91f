"""Gradient flow through time (vision/nn/rnn_gradients.py, experiment rnn-gradients)."""
import math

import pytest
import torch

from gymlab.runners.loop import run
from gymlab.vision.nn import rnn_gradients as rg


def test_scaled_orthogonal_has_every_singular_value_equal_to_the_radius():
    W = rg.scaled_orthogonal(16, 1.3, torch.Generator().manual_seed(0))
    assert torch.allclose(torch.linalg.svdvals(W), torch.full((16,), 1.3), atol=1e-5)
    assert torch.linalg.eigvals(W).abs().max().item() == pytest.approx(1.3, abs=1e-4)


@pytest.mark.parametrize("r", [0.5, 0.9, 1.1, 1.5])
def test_vanilla_rnn_gradient_is_r_to_the_T_in_the_linear_regime(r):
    Ts = [1, 5, 20, 40]
    norms = rg.gradient_norms(rg.vanilla_rnn(32, r), Ts)  # h_t = 0: tanh' = 1, dh_T/dh_0 = W^T
    for T, n in zip(Ts, norms):
        assert n == pytest.approx(r ** T, rel=1e-3)


def test_vanilla_rnn_vanishes_below_one_and_explodes_above():
    small, large = (rg.gradient_norms(rg.vanilla_rnn(32, r), [1, 100])[1] for r in (0.5, 1.5))
    assert small < 1e-20 and large > 1e15
    # driven by inputs, every tanh factor is <= 1: the gradient is at most r^T
    for r in (0.9, 1.1):
        for T, n in zip([1, 10, 50], rg.gradient_norms(rg.vanilla_rnn(32, r), [1, 10, 50], input_scale=1.0)):
            assert n <= r ** T * (1 + 1e-4)


def test_backprop_through_time_equals_the_product_of_jacobians():
    rnn = rg.vanilla_rnn(8, 1.2, seed=3)
    g = torch.Generator().manual_seed(1)
    x, h0, v = torch.randn(12, 1, 1, generator=g), 0.3 * torch.randn(1, 1, 8, generator=g), torch.randn(8, generator=g)
    h0.requires_grad_(True)
    out, _ = rnn(x, h0)
    (out[-1, 0] @ v).backward()
    J = rg.jacobian_product(rnn.cells[0].W_hh.detach(), out[:, 0].detach())
    assert torch.allclose(h0.grad[0, 0], J.T @ v, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make,peer", [(rg.vanilla_rnn, torch.nn.RNN), (rg.lstm, torch.nn.LSTM)])
def test_gradients_equal_torch_recurrent_layers_with_the_same_weights(make, peer):
    ours = make(16, 1.2, seed=2)
    torch.manual_seed(0)
    theirs = peer(1, 16)
    with torch.no_grad():
        c = ours.cells[0]
        for name, p in (("weight_ih_l0", c.W_xh), ("weight_hh_l0", c.W_hh), ("bias_ih_l0", c.b_xh),
                        ("bias_hh_l0", c.b_hh)):
            getattr(theirs, name).copy_(p)
    for T in (1, 7, 30):
        a = rg.grad_wrt_h0(ours, T, input_scale=1.0, h0_scale=0.5, seed=T)
        b = rg.grad_wrt_h0(theirs, T, input_scale=1.0, h0_scale=0.5, seed=T)
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("r", [0.5, 1.0, 1.5])
def test_lstm_gradient_stays_in_range_with_the_forget_gate_open(r):
    Ts = [1, 10, 50, 100]
    open_ = rg.gradient_norms(rg.lstm(32, r, forget_bias=5.0), Ts, input_scale=1.0)
    assert all(1e-2 < n < 1e2 for n in open_), open_
    assert 0.1 < open_[-1] / open_[0] < 50
    shut = rg.gradient_norms(rg.lstm(32, r, forget_bias=-5.0), Ts, input_scale=1.0)
    assert shut[-1] < 1e-10 * shut[0]  # the same LSTM with the gate shut forgets h_0 entirely


def test_clipping_rescales_to_the_threshold_only_when_above():
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([3.0, 4.0, 0.0])
    assert rg.clipped([p], 1.0) == pytest.approx((5.0, 1.0), rel=1e-5)
    assert torch.allclose(p.grad, torch.tensor([0.6, 0.8, 0.0]), atol=1e-5)
    assert rg.clipped([p], 10.0) == pytest.approx((1.0, 1.0), rel=1e-5)


def test_experiment_measures_the_grid_and_trains(tmp_path):
    s = run("rnn-gradients", ["steps=30", "eval_every=30", "T=10", "grid_T=[1,30]", "grid_radii=[0.5,1.5]",
                              "logger.mode=disabled", "progress=false", f"run_dir={tmp_path}"], quiet=True)
    assert s["eval/grad_log10_rnn_linear_r0.5"] == pytest.approx(29 * math.log10(0.5), abs=1e-3)
    assert s["eval/grad_log10_rnn_linear_r1.5"] == pytest.approx(29 * math.log10(1.5), abs=1e-3)
    assert abs(s["eval/grad_log10_lstm_r1.5"]) < 2 and s["eval/grad_log10_lstm_closed_r0.5"] < -5
    assert s["eval/accuracy"] > 0.9  # the LSTM recalls the first input 10 steps back (chance: 0.5)
    media = {p.name for p in (tmp_path / "media").iterdir()}
    assert {"grad_vs_T.png", "training_grad_norms.png", "grad_table.md"} <= media


def test_experiment_offers_the_sanity_protocol(tmp_path):
    from gymlab.runners import registry, sanity

    exp = registry.get("rnn-gradients").cls()
    cfg = exp.Config(T=5, grid_T=[1], grid_radii=[1.0])
    exp.setup(cfg, registry.Context(device=torch.device("cpu"), seed=0, run_dir=tmp_path, log=lambda m: None))
    r = sanity.check_initial_loss(sanity.as_sanity_model(exp.sanity_model()))
    assert r["init_expected"] == pytest.approx(math.log(2)) and r["init_ok"]


def test_gradient_grid_rows_and_growth_keys():
    rows = rg.gradient_grid(8, [0.5], [1, 11], forget_bias=5.0)
    assert [r["model"] for r in rows] == ["rnn (linear regime)", "rnn (tanh, inputs)", "lstm (forget bias 5)",
                                          "lstm (forget bias 0)"]
    growth = rg.grid_growth(rows, [1, 11])
    assert set(growth) == {"rnn_linear_r0.5", "rnn_r0.5", "lstm_r0.5", "lstm_closed_r0.5"}
    assert growth["rnn_linear_r0.5"] == pytest.approx(10 * math.log10(0.5), abs=1e-3)  # exactly r^T
    assert rg.grid_table(rows)[0]["T=1"] == f"{rows[0]['T=1']:.3g}"


def test_clipped_step_reports_the_norm_before_clipping():
    net = rg.RecallNet(rg.lstm(4, 1.0))
    x, y = rg.recall_batch(5, 8, torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # no change: the same gradient twice
    _, free = rg.clipped_step(net, opt, x, y, clip=0.0)
    loss, before = rg.clipped_step(net, opt, x, y, clip=free / 10)
    assert before == pytest.approx(free, rel=1e-5) and loss > 0
    assert rg.grad_norm(net.parameters()) == pytest.approx(free / 10, rel=1e-4)
    assert rg.recall_eval(net, x, y)[1] == pytest.approx(loss, rel=1e-5)
