"""The babysitting checks (runners/sanity.py): each verdict on a case built to produce it."""
import json
import math

import pytest
import torch

from gymlab.runners import registry, sanity
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.vision.linear import LinearConfig, Softmax
from gymlab.runners.loop import run
from gymlab.vision.classify import linear
from gymlab.vision.data.datasets import load_digits_split, standardize


@pytest.fixture(scope="module")
def digits():
    ds = load_digits_split(0)
    xtr = standardize(ds.train.x)
    return linear.add_bias(xtr), ds.train.y, ds


def softmax_case(W, x, y):
    return sanity.SanityModel(W, lambda W, x, y: linear.softmax_loss(W, x, y)[0], x, y, "softmax")


def test_zero_init_softmax_has_initial_loss_log_c(digits):
    x, y, _ = digits
    r = sanity.check_initial_loss(softmax_case(torch.zeros(x.shape[1], 10), x, y))
    assert r["init_expected"] == pytest.approx(math.log(10))
    assert r["init_loss"] == pytest.approx(math.log(10), rel=1e-6)
    assert r["init_ok"]


def test_large_init_is_flagged(digits):
    x, y, _ = digits
    W = 10 * torch.randn(x.shape[1], 10, generator=torch.Generator().manual_seed(0))
    r = sanity.check_initial_loss(softmax_case(W, x, y))
    assert not r["init_ok"] and r["init_loss"] > 5 * math.log(10)


def test_svm_expects_c_minus_one(digits):
    x, y, _ = digits
    W = linear.init_weights(x.shape[1] - 1, 10, torch.Generator().manual_seed(0))
    sm = sanity.SanityModel(W, lambda W, x, y: linear.svm_loss(W, x, y)[0], x, y, "svm")
    r = sanity.check_initial_loss(sm)
    assert r["init_expected"] == 9.0 and r["init_loss"] == pytest.approx(9.0, rel=0.01) and r["init_ok"]


class AutoregressiveLogistic(torch.nn.Module):
    """p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j<i} W_ij x_j): a fully visible sigmoid belief net."""

    def __init__(self, d, scale=0.0):
        super().__init__()
        self.W = torch.nn.Parameter(scale * torch.randn(d, d, generator=torch.Generator().manual_seed(1)))
        self.b = torch.nn.Parameter(torch.zeros(d))
        self.register_buffer("mask", torch.tril(torch.ones(d, d), diagonal=-1))

    def forward(self, x):
        return x @ (self.W * self.mask).T + self.b


def bits_per_dim(model, x, y):
    return torch.nn.functional.binary_cross_entropy_with_logits(model(x), x) / math.log(2)


@pytest.mark.parametrize("scale", [0.0, 1e-3])
def test_untrained_binary_model_is_one_bit_per_dim(digits, scale):
    _, _, ds = digits
    xb = (ds.train.x.reshape(len(ds.train.x), -1) > 0.5).float()
    sm = sanity.SanityModel(AutoregressiveLogistic(64, scale), bits_per_dim, xb, None, "bits")
    r = sanity.check_initial_loss(sm)
    assert r["init_expected"] == 1.0
    assert r["init_loss"] == pytest.approx(1.0, abs=1e-6 if scale == 0 else 0.01) and r["init_ok"]
    nats = sanity.SanityModel(sm.model, lambda m, x, y: bits_per_dim(m, x, y) * math.log(2), xb, None, "binary")
    assert sanity.check_initial_loss(nats)["init_loss"] == pytest.approx(math.log(2), abs=0.01)


def mlp(hidden):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))


def ce(model, x, y):
    return torch.nn.functional.cross_entropy(model(x), y)


def test_overfits_twenty_examples_to_near_zero(digits):
    x, y, _ = digits
    r = sanity.check_overfit(sanity.SanityModel(mlp(32), ce, x[:, :-1], y, "softmax"))
    assert r["overfit_examples"] == 20
    assert r["overfit_ok"] and r["overfit_loss"] <= 0.01 * math.log(10)


def test_a_model_that_cannot_memorise_fails_the_overfit_check(digits):
    x, y, _ = digits  # one hidden unit: 20 examples of 10 classes cannot all be separated
    r = sanity.check_overfit(sanity.SanityModel(mlp(1), ce, x[:, :-1], y, "softmax"))
    assert not r["overfit_ok"] and r["overfit_loss"] > 0.1


@pytest.mark.parametrize("lr,verdict", [(1e-7, "too low"), (0.5, "ok"), (1e4, "too high")])
def test_lr_probe_verdicts(digits, lr, verdict):
    x, y, _ = digits
    W = linear.init_weights(x.shape[1] - 1, 10, torch.Generator().manual_seed(0))
    got, losses = sanity.probe_lr(softmax_case(W, x, y), lr)
    assert got == verdict, losses[:5]
    if verdict == "ok":
        assert losses[-1] < 0.5 * losses[0]


def test_lr_verdict_rules():
    assert sanity.lr_verdict([2.0, 2.0, 1.999]) == "too low"
    assert sanity.lr_verdict([2.0, 1.0, 0.5]) == "ok"
    assert sanity.lr_verdict([2.0, 1.0, float("nan")]) == "too high"
    assert sanity.lr_verdict([2.0, 9.0, 0.1]) == "too high"  # a blow-up that later recovers is still unstable


def test_check_leaves_model_and_random_stream_untouched(digits):
    x, y, _ = digits
    model = mlp(16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    report = sanity.check(sanity.SanityModel(model, ce, x[:, :-1], y, "softmax"), lr=0.1,
                          settings=sanity.Settings(decades=(1e-3, 1e-1)))
    after_rng = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(after_rng, torch.rand(3))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert report["lr_verdict"] in ("ok", "too low", "too high") and report["lr_suggest"] in (1e-3, 1e-1)


def test_tuple_protocol_and_bad_returns(digits):
    x, y, _ = digits
    sm = sanity.as_sanity_model((torch.zeros(65, 10), lambda W, x, y: linear.softmax_loss(W, x, y)[0], x, y, 2.0))
    assert sanity.expected_initial_loss(sm) == 2.0
    with pytest.raises(TypeError, match="sanity_model"):
        sanity.as_sanity_model((1, 2))
    with pytest.raises(ValueError, match="valid: softmax"):
        sanity.expected_initial_loss(sanity.SanityModel(None, None, x, y, "gaussian"))


# --------------------------------------------------------------------- through the runner
class SoftmaxWithout:
    """An experiment that offers no sanity_model()."""

    Config = LinearConfig

    def __init__(self):
        self._inner = Softmax()

    def __getattr__(self, name):
        if name == "sanity_model":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _register(monkeypatch, name, cls):
    registry._load_all()
    monkeypatch.setitem(registry._REGISTRY, name,
                        registry.Spec(name, cls, "test", "digits", "eval/accuracy", "max", "eval/val_accuracy"))


def test_runner_sanity_true_reports_and_leaves_the_run_unchanged(monkeypatch, tmp_path):
    common = ["steps=30", "eval_every=30", "logger.mode=disabled", "progress=false"]
    plain = run("softmax", common + [f"run_dir={tmp_path / 'a'}"], quiet=True)
    checked = run("softmax", common + ["sanity=true", f"run_dir={tmp_path / 'b'}"], quiet=True)
    assert plain["eval/accuracy"] == checked["eval/accuracy"]
    assert plain["eval/val_accuracy"] == checked["eval/val_accuracy"]
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    sanity_row = next(r for r in rows if "sanity/init_loss" in r)
    assert sanity_row["sanity/init_loss"] == pytest.approx(math.log(10), rel=0.01)
    assert sanity_row["sanity/init_ok"] and sanity_row["sanity/overfit_ok"]
    assert sanity_row["sanity/lr"] == LinearConfig.lr


def test_runner_sanity_without_protocol_is_a_clear_error(monkeypatch, tmp_path):
    _register(monkeypatch, "test-softmax-nosanity", SoftmaxWithout)
    with pytest.raises(GymlabError, match="sanity_model"):
        run("test-softmax-nosanity", ["steps=1", "sanity=true", "logger.mode=disabled", "progress=false",
                                      f"run_dir={tmp_path}"], quiet=True)
