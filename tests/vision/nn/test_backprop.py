"""The hand-written graph engine: every gate's gradient against torch.autograd and a numerical
gradient, the notes' worked examples, the two-layer net against PyTorch, and learning on digits."""
import numpy as np
import pytest
import torch

from gymlab.vision.nn import backprop
from gymlab.vision.nn.backprop import Node, numerical_gradient
from gymlab.vision.data.safe_load import load_checkpoint

RNG = np.random.default_rng(0)

# name -> (engine function of the inputs, torch function of the inputs, input shapes, positive inputs?)
UNARY = {
    "exp": (lambda a: a.exp(), torch.exp),
    "log": (lambda a: a.log(), torch.log),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid),
    "sigmoid_by_parts": (backprop.sigmoid_by_parts, torch.sigmoid),
    "tanh": (lambda a: a.tanh(), torch.tanh),
    "relu": (lambda a: a.relu(), torch.relu),
    "neg": (lambda a: -a, lambda a: -a),
    "pow3": (lambda a: a ** 3, lambda a: a ** 3),
    "pow-0.5": (lambda a: a ** -0.5, lambda a: a ** -0.5),
    "sum": (lambda a: a.sum(), torch.sum),
    "sum_axis0": (lambda a: a.sum(axis=0), lambda a: a.sum(0)),
    "sum_axis1_keep": (lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(1, keepdim=True)),
    "mean": (lambda a: a.mean(), torch.mean),
    "mean_axis1": (lambda a: a.mean(axis=1), lambda a: a.mean(1)),
    "rsub": (lambda a: 3.0 - a, lambda a: 3.0 - a),
    "rdiv": (lambda a: 2.0 / a, lambda a: 2.0 / a),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, (3, 4), (3, 4)),
    "add_broadcast_row": (lambda a, b: a + b, lambda a, b: a + b, (3, 4), (4,)),
    "add_broadcast_col": (lambda a, b: a + b, lambda a, b: a + b, (3, 4), (3, 1)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (3, 4), (3, 4)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (3, 4), (3, 4)),
    "mul_broadcast": (lambda a, b: a * b, lambda a, b: a * b, (3, 4), (1, 4)),
    "mul_scalar_node": (lambda a, b: a * b, lambda a, b: a * b, (3, 4), ()),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (3, 4), (3, 4)),
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b, (3, 4), (4, 5)),
    "matvec": (lambda a, b: a @ b, lambda a, b: a @ b, (3, 4), (4,)),
    "vecmat": (lambda a, b: a @ b, lambda a, b: a @ b, (4,), (4, 5)),
    "dot": (lambda a, b: a @ b, lambda a, b: a @ b, (4,), (4,)),
    "maximum": (lambda a, b: a.maximum(b), torch.maximum, (3, 4), (3, 4)),
    "branch": (lambda a, b: a * b + a.exp() * a, lambda a, b: a * b + a.exp() * a, (3, 4), (3, 4)),
}


def _reduce(out_value, upstream):
    return float((out_value * upstream).sum())


def _check(engine_fn, torch_fn, arrays):
    nodes = [Node(a) for a in arrays]
    out = engine_fn(*nodes)
    upstream = RNG.standard_normal(out.shape)
    out.backward(upstream)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = torch_fn(*ts)
    np.testing.assert_allclose(out.value, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    tout.backward(torch.tensor(upstream))
    for i, (n, t) in enumerate(zip(nodes, ts)):
        np.testing.assert_allclose(n.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)

        def f(v, i=i):
            args = [Node(a) for a in arrays]
            args[i] = Node(v)
            return _reduce(engine_fn(*args).value, upstream)

        num = numerical_gradient(f, arrays[i])
        np.testing.assert_allclose(n.grad, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gate_matches_autograd_and_numerical(name):
    engine_fn, torch_fn = UNARY[name]
    a = RNG.standard_normal((3, 4))
    if name in ("log", "pow-0.5", "rdiv"):
        a = np.abs(a) + 0.5
    if name == "relu":  # keep away from the kink, where the numerical gradient is undefined
        a = np.where(np.abs(a) < 0.05, 0.3, a)
    _check(engine_fn, torch_fn, [a])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gate_matches_autograd_and_numerical(name):
    engine_fn, torch_fn, sa, sb = BINARY[name]
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    if name == "div":
        b = np.abs(b) + 0.5
    if name == "maximum":
        b = a + np.where(RNG.random(sb) < 0.5, -1, 1) * (0.1 + RNG.random(sb))  # no ties
    _check(engine_fn, torch_fn, [a, b])


def test_softmax_cross_entropy_matches_torch_and_numerical():
    s = RNG.standard_normal((6, 5)) * 3
    y = RNG.integers(0, 5, 6)
    n = Node(s)
    loss = backprop.softmax_cross_entropy(n, y)
    loss.backward()
    t = torch.tensor(s, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(t, torch.tensor(y))
    tl.backward()
    assert float(loss.value) == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(n.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
    num = numerical_gradient(lambda v: float(backprop.softmax_cross_entropy(Node(v), y).value), s)
    np.testing.assert_allclose(n.grad, num, rtol=1e-6, atol=1e-9)


def test_gradients_add_at_branches():
    x = Node(3.0)
    f = x * x + x  # x used three times: df/dx = 2x + 1
    f.backward()
    assert float(x.grad) == 7.0
    f.backward()  # a second backward starts from zero gradients, it does not accumulate runs
    assert float(x.grad) == 7.0


def test_notes_example_add_mul():
    assert backprop.example_add_mul() == {"f": -12.0, "dx": -4.0, "dy": -4.0, "dz": 3.0}


@pytest.mark.parametrize("by_parts", [False, True])
def test_notes_sigmoid_neuron(by_parts):
    out = backprop.example_sigmoid_neuron(by_parts=by_parts)
    s = 1 / (1 + np.exp(-1.0))  # w0 x0 + w1 x1 + w2 = 1 at the notes' values
    assert out["f"] == pytest.approx(s, rel=1e-14)
    d = (1 - s) * s
    np.testing.assert_allclose(out["dw"], [d * -1.0, d * -2.0, d], rtol=1e-12)
    np.testing.assert_allclose(out["dx"], [d * 2.0, d * -3.0], rtol=1e-12)
    np.testing.assert_allclose(np.round(out["dw"], 2), [-0.20, -0.39, 0.20])
    np.testing.assert_allclose(np.round(out["dx"], 2), [0.39, -0.59])


def test_notes_norm_wx():
    W, x = RNG.standard_normal((3, 5)), RNG.standard_normal(5)
    out = backprop.example_norm_wx(W, x)
    q = W @ x
    assert out["f"] == pytest.approx(q @ q, rel=1e-12)
    np.testing.assert_allclose(out["dW"], 2 * np.outer(q, x), rtol=1e-12)
    np.testing.assert_allclose(out["dx"], 2 * W.T @ q, rtol=1e-12)


def test_two_layer_net_gradients_equal_pytorch():
    X, y = RNG.standard_normal((16, 64)), RNG.integers(0, 10, 16)
    net = backprop.TwoLayerNet(64, 32, 10, np.random.default_rng(1))
    net.params["b1"] = RNG.standard_normal(32) * 0.1
    reg = 1e-2
    loss, grads = net.loss_and_grads(X, y, reg)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(net.params["W1"].T))
        model[0].bias.copy_(torch.tensor(net.params["b1"]))
        model[2].weight.copy_(torch.tensor(net.params["W2"].T))
        model[2].bias.copy_(torch.tensor(net.params["b2"]))
    tl = torch.nn.functional.cross_entropy(model(torch.tensor(X)), torch.tensor(y))
    tl = tl + reg * (model[0].weight.pow(2).sum() + model[2].weight.pow(2).sum())
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(grads["W1"], model[0].weight.grad.numpy().T, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["b1"], model[0].bias.grad.numpy(), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["W2"], model[2].weight.grad.numpy().T, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["b2"], model[2].bias.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_backward_of_vector_needs_upstream():
    with pytest.raises(ValueError, match="needs grad="):
        (Node(np.ones(3)) * 2).backward()


def test_backprop_experiment_learns_digits(tmp_path):
    from gymlab.runners.loop import run

    s = run("backprop", ["logger.mode=disabled", "progress=false", f"out={tmp_path}"], quiet=True)
    assert s["eval/accuracy"] >= 0.95  # chance is 0.10; an untrained net stays near it
    assert (tmp_path / next(p.name for p in tmp_path.iterdir()) / "media" / "loss.png").exists()


def test_backprop_experiment_resume_equals_uninterrupted(tmp_path):
    from gymlab.runners.loop import resume, run

    base = ["logger.mode=disabled", "progress=false", "eval_every=20"]
    full = run("backprop", base + ["steps=60", f"run_dir={tmp_path / 'a'}"], quiet=True)
    run("backprop", base + ["steps=40", f"run_dir={tmp_path / 'b'}"], quiet=True)
    (tmp_path / "b" / "summary.json").unlink()
    resumed = resume(tmp_path / "b", ["steps=60"], quiet=True)
    assert resumed["eval/accuracy"] == full["eval/accuracy"]

    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "latest.pt")["state"]["params"]
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "latest.pt")["state"]["params"]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_backprop_experiment_passes_the_sanity_checks(tmp_path):
    import json

    from gymlab.runners.loop import run

    run("backprop", ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / 'r'}", "sanity=true", "steps=1"],
        quiet=True)
    row = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[0])
    assert row["sanity/init_ok"] and row["sanity/overfit_ok"]  # small output weights: initial loss = log 10
    assert abs(row["sanity/init_loss"] - np.log(10)) < 0.05


def test_train_takes_the_seeded_minibatches_and_torch_loss_is_the_same_loss():
    from gymlab.vision.data.batching import batch_indices

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 6)), rng.integers(0, 3, 50)
    a, b = (backprop.TwoLayerNet(6, 5, 3, np.random.default_rng(0)) for _ in range(2))
    losses = backprop.train(a, X, y, steps=4, lr=0.1, reg=1e-3, batch_size=16, seed=3, start=2)
    for step in range(2, 6):  # what train does, by hand
        idx = batch_indices(3, step, 50, 16).numpy()
        assert losses[step - 2] == b.sgd_step(X[idx], y[idx], 0.1, 1e-3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    engine, _ = a.loss_and_grads(X, y)
    assert backprop.torch_loss({k: torch.tensor(v) for k, v in a.params.items()}, torch.tensor(X),
                               torch.tensor(y)).item() == pytest.approx(engine, rel=1e-10)
    assert a.accuracy(X, y) == np.mean(a.predict(X) == y)


def test_notes_examples_rows_hold_the_notes_values():
    rows = {r["example"]: r for r in backprop.notes_examples()}
    assert rows["f=(x+y)z at (-2,5,-4)"]["f"] == -12.0 and "dz=3" in rows["f=(x+y)z at (-2,5,-4)"]["gradients"]
    assert rows["sigmoid gate (1-s)s"]["f"] == pytest.approx(rows["sigmoid by primitive gates"]["f"])
