import pytest
import torch

from gymlab.vision.classify import linear
from gymlab.vision.nn.gradcheck import gradcheck, numerical_gradient, relative_error


def _problem(seed=0, n=40, d=12, c=5):
    g = torch.Generator().manual_seed(seed)
    X = linear.add_bias(torch.randn(n, d, generator=g, dtype=torch.float64))
    y = torch.randint(0, c, (n,), generator=g)
    W = 0.5 * torch.randn(d + 1, c, generator=g, dtype=torch.float64)
    return W, X, y


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("reg_type", ["l2", "l1", "elastic"])
def test_analytic_gradient_matches_numerical(loss, reg_type):
    W, X, y = _problem()
    fn = linear.LOSSES[loss]
    _, dW = fn(W, X, y, 0.1, reg_type=reg_type, l1_ratio=0.3)
    err = gradcheck(lambda w: fn(w, X, y, 0.1, reg_type=reg_type, l1_ratio=0.3)[0], W, dW)
    assert err < 1e-6


def test_losses_equal_torch_reference():
    W, X, y = _problem(1)
    s = X @ W
    sm, _ = linear.softmax_loss(W, X, y)
    torch.testing.assert_close(sm, torch.nn.functional.cross_entropy(s, y))
    hinge, _ = linear.svm_loss(W, X, y)
    margins = (s - s.gather(1, y[:, None]) + 1).clamp(min=0)
    ref = (margins.sum(1) - 1).mean()  # the j = y_i term contributes exactly delta = 1
    torch.testing.assert_close(hinge, ref)
    # regularisers
    r1, _ = linear.regularization(W, 0.2, "l1")
    r2, _ = linear.regularization(W, 0.2, "l2")
    re, _ = linear.regularization(W, 0.2, "elastic", l1_ratio=0.25)
    torch.testing.assert_close(re, 0.25 * r1 + 0.75 * r2)


def test_gradcheck_catches_a_wrong_gradient():
    W, X, y = _problem(2)
    _, dW = linear.softmax_loss(W, X, y)
    f = lambda w: linear.softmax_loss(w, X, y)[0]  # noqa: E731
    assert gradcheck(f, W, dW * 1.01) > 1e-3
    assert gradcheck(f, W, dW, num_checks=10, generator=torch.Generator().manual_seed(0)) < 1e-6
    with pytest.raises(TypeError, match="float64"):
        gradcheck(f, W.float(), dW.float())


def test_numerical_gradient_of_a_known_function():
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    g = numerical_gradient(lambda v: (v ** 3).sum(), x)
    assert relative_error(g, 3 * x ** 2).max() < 1e-8
    assert x.tolist() == [1.0, -2.0, 3.0]  # restored


def test_unknown_regulariser():
    W, X, y = _problem()
    with pytest.raises(ValueError, match="valid: l2, l1, elastic"):
        linear.softmax_loss(W, X, y, 0.1, reg_type="l3")


def test_as_module_computes_x_w_plus_b():
    from gymlab.vision.classify.linear import add_bias, as_module

    g = torch.Generator().manual_seed(0)
    W, x = torch.randn(13, 4, generator=g), torch.rand(5, 1, 3, 4, generator=g)
    assert torch.allclose(as_module(W)(x), add_bias(x.flatten(1)) @ W, atol=1e-6)
