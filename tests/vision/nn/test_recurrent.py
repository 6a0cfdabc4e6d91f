import pytest
import torch

from gymlab.vision.nn.recurrent import LSTM, RNN, LSTMCell, RNNCell


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_rnn_equals_torch(batch_first, layers):
    torch.manual_seed(0)
    ref = torch.nn.RNN(5, 7, layers, batch_first=batch_first).double()
    ours = RNN(5, 7, layers, batch_first=batch_first).double().copy_from_torch(ref)
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    h0 = torch.randn(layers, 3 if batch_first else 4, 7, dtype=torch.float64)
    for args in [(x,), (x, h0)]:
        (a, ha), (b, hb) = ref(*args), ours(*args)
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(hb, ha, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_equals_torch_including_gradients(batch_first, layers):
    torch.manual_seed(1)
    ref = torch.nn.LSTM(5, 6, layers, batch_first=batch_first).double()
    ours = LSTM(5, 6, layers, batch_first=batch_first).double().copy_from_torch(ref)
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    state = (torch.randn(layers, 3 if batch_first else 4, 6, dtype=torch.float64),
             torch.randn(layers, 3 if batch_first else 4, 6, dtype=torch.float64))
    a, (ha, ca) = ref(x, state)
    b, (hb, cb) = ours(x, state)
    for u, v in [(a, b), (ha, hb), (ca, cb)]:
        torch.testing.assert_close(v, u, rtol=1e-12, atol=1e-12)
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    torch.testing.assert_close(ours.cells[0].W_hh.grad, ref.weight_hh_l0.grad, rtol=1e-10, atol=1e-12)


def test_cells_follow_the_equations():
    torch.manual_seed(0)
    cell = RNNCell(3, 4).double()
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h), torch.tanh(x @ cell.W_xh.T + cell.b_xh + h @ cell.W_hh.T + cell.b_hh))
    lstm = LSTMCell(3, 4).double()
    c = torch.randn(2, 4, dtype=torch.float64)
    z = x @ lstm.W_xh.T + lstm.b_xh + h @ lstm.W_hh.T + lstm.b_hh
    i, f, g, o = torch.sigmoid(z[:, :4]), torch.sigmoid(z[:, 4:8]), torch.tanh(z[:, 8:12]), torch.sigmoid(z[:, 12:])
    h2, c2 = lstm(x, (h, c))
    torch.testing.assert_close(c2, f * c + i * g)
    torch.testing.assert_close(h2, o * torch.tanh(f * c + i * g))


def test_errors():
    with pytest.raises(ValueError, match="input features"):
        RNN(3, 4)(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match="num_layers"):
        RNN(3, 4, 2).copy_from_torch(torch.nn.RNN(3, 4, 1))
