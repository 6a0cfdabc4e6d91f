import math

import pytest
import torch

from gymlab.vision.classify.mlp import ACTIVATIONS, MLP, Maxout, init_std


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_builds_and_backpropagates(activation):
    net = MLP(64, (32, 16), 10, activation, "xavier", batchnorm=True, dropout=0.3)
    x = torch.randn(8, 1, 8, 8)
    logits, acts, pre = net(x, return_activations=True, return_preactivations=True)
    assert logits.shape == (8, 10) and [a.shape for a in acts] == [(8, 32), (8, 16)]
    logits.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    if activation != "maxout":
        expected = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
                    "elu": torch.nn.functional.elu}[activation]
        torch.testing.assert_close(acts[0], expected(pre[0]))


def test_maxout_is_the_max_of_its_pieces():
    m = Maxout(5, 3, pieces=4)
    x = torch.randn(7, 5)
    z = x @ m.linear.weight.T + m.linear.bias  # (7, 12) = 3 units x 4 pieces
    torch.testing.assert_close(m(x), z.view(7, 3, 4).max(-1).values)


@pytest.mark.parametrize("init,std", [("small", lambda n: 0.01), ("xavier", lambda n: 1 / math.sqrt(n)),
                                      ("he", lambda n: math.sqrt(2 / n)), (1.0, lambda n: 1.0)])
def test_initialisation_scales(init, std):
    torch.manual_seed(0)
    net = MLP(400, (300,), 10, "relu", init)
    w = net.layers[0].linear.weight
    assert w.std().item() == pytest.approx(std(400), rel=0.02)
    assert net.layers[0].linear.bias.abs().max().item() == 0
    assert init_std(init, 400) == pytest.approx(std(400))


def test_deep_tanh_activations_collapse_with_small_init_and_not_with_xavier():
    torch.manual_seed(0)
    x = torch.randn(200, 256)
    small = MLP(256, [256] * 8, 10, "tanh", "small")(x, return_activations=True)[1]
    xavier = MLP(256, [256] * 8, 10, "tanh", "xavier")(x, return_activations=True)[1]
    assert small[-1].std() < 1e-6 < 0.1 < xavier[-1].std()


def test_dropout_only_in_training_and_errors():
    net = MLP(10, (50,), 3, "relu", dropout=0.5)
    x = torch.randn(4, 10)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
    assert net.features(x).shape == (4, 50) and net.feature_dim == 50
    with pytest.raises(ValueError, match="valid: sigmoid"):
        MLP(10, (5,), 2, "swish")
    with pytest.raises(ValueError, match="valid: small, xavier, he"):
        MLP(10, (5,), 2, "relu", "orthogonal")
