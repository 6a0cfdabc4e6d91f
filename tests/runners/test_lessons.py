"""The six lesson experiments: each claim of the notes asserted on the numbers the run produces."""
import json

import pytest
import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import resume, run
from gymlab.vision.data.safe_load import load_checkpoint

BASE = ["logger.mode=disabled", "progress=false"]
# The module fixtures evaluate once, at the end of the default budget: evaluations draw nothing from
# training's random streams, so every eval/ number and media file is the one of the default schedule
# (measured: benchmarks/results/test_budgets.md).


def _run(tmp_path_factory, name, *overrides):
    d = tmp_path_factory.mktemp(name) / "run"
    s = run(name, BASE + [f"run_dir={d}", *overrides], quiet=True)
    s["_dir"] = d
    return s


@pytest.fixture(scope="module")
def init_run(tmp_path_factory):
    return _run(tmp_path_factory, "init-activations", "width=128", "steps=100", "eval_every=100")


def test_init_small_collapses_activations_and_gradients(init_run):
    s = init_run
    assert s["eval/small/act_std_last"] < 1e-6 < 1e-2 < s["eval/small/act_std_first"]
    assert s["eval/small/grad_std_first"] < 1e-4 * s["eval/xavier/grad_std_first"]
    assert s["eval/small/wgrad_first"] < 1e-4 * s["eval/xavier/wgrad_first"]
    assert s["eval/small/accuracy"] < 0.2  # no signal reaches the first layers: it does not learn


def test_init_big_saturates_tanh(init_run):
    s = init_run
    assert s["eval/big/saturated_last"] > 0.6
    assert s["eval/xavier/saturated_last"] < 0.05 and s["eval/he/saturated_last"] < 0.05
    assert s["eval/big/accuracy"] < s["eval/xavier/accuracy"] - 0.3


def test_init_xavier_and_he_keep_a_healthy_spread_and_learn(init_run):
    s = init_run
    for name in ("xavier", "he"):
        assert 0.1 < s["eval/{}/act_std_last".format(name)] < 0.9
        assert s[f"eval/{name}/accuracy"] >= 0.9
    media = s["_dir"] / "media"
    assert (media / "histograms.png").exists() and (media / "std_per_layer.png").exists()


@pytest.fixture(scope="module")
def act_run(tmp_path_factory):
    return _run(tmp_path_factory, "activations", "eval_every=300")


def test_activations_zero_centred_or_not(act_run):
    s = act_run
    assert s["eval/sigmoid/act_mean"] > 0.4 and abs(s["eval/tanh/act_mean"]) < 0.05
    # every input to layer 2 positive -> each row of a per-example dL/dW has one sign
    assert s["eval/sigmoid/same_sign_rows"] == 1.0 and s["eval/relu/same_sign_rows"] == 1.0
    assert s["eval/tanh/same_sign_rows"] < 0.05


def test_activations_sigmoid_saturation_kills_the_gradient(act_run):
    s = act_run
    assert s["eval/sigmoid/grad_ratio"] < 0.02  # at most 1/4 of the gradient passes each sigmoid
    assert s["eval/tanh/grad_ratio"] > 0.3 and s["eval/relu/grad_ratio"] > 0.3
    assert s["eval/relu/accuracy"] >= 0.9 and s["eval/sigmoid/accuracy"] < s["eval/relu/accuracy"] - 0.3


def test_activations_dead_relus(act_run):
    s = act_run
    assert s["eval/relu_kicked/dead_fraction"] > 0.15
    assert s["eval/relu_kicked/dead_fraction"] > 5 * s["eval/relu/dead_fraction"]
    for name in ("leaky_relu", "elu", "maxout", "tanh"):
        assert s[f"eval/{name}/dead_fraction"] == 0.0
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"):
        assert f"eval/{name}/accuracy" in s  # every activation trained without diverging


@pytest.fixture(scope="module")
def opt_run(tmp_path_factory):
    return _run(tmp_path_factory, "optimizers", "eval_every=300")


def test_optimizers_momentum_and_adaptive_beat_plain_sgd(opt_run):
    s = opt_run
    sgd = s["eval/sgd/train_loss"]
    for name in ("momentum", "nesterov", "rmsprop", "adam", "adagrad"):
        assert s[f"eval/{name}/train_loss"] < 0.5 * sgd, name
        assert s[f"eval/{name}/accuracy"] >= 0.9, name
    assert sgd < 1.0  # plain SGD learns too, only slower
    assert (s["_dir"] / "media" / "loss.png").exists()


def test_optimizers_step_schedule(tmp_path):
    s = run("optimizers", BASE + [f"out={tmp_path}", "optimizers=sgd,adam", "schedule=step", "step_size=1",
                                  "steps=40"], quiet=True)
    assert s["eval/sgd/lr"] == pytest.approx(0.01 * 0.1 ** 2)  # 17 steps an epoch: decayed twice
    assert s["eval/adam/lr"] == pytest.approx(0.001 * 0.1 ** 2)


@pytest.fixture(scope="module")
def reg_run(tmp_path_factory):
    return _run(tmp_path_factory, "regularization", "eval_every=300")


def test_regularization_closes_the_gap(reg_run):
    s = reg_run
    assert s["eval/none/train_accuracy"] > 0.95 and s["eval/none/gap"] > 0.15  # memorises the noisy labels
    assert s["eval/l2=0.03/gap"] < s["eval/l2=0.01/gap"] < s["eval/none/gap"]  # more L2, smaller gap
    for name in ("l2=0.03", "max_norm=0.5", "dropconnect=0.5"):
        assert s[f"eval/{name}/gap"] < s["eval/none/gap"] - 0.15, name
        assert s[f"eval/{name}/val_accuracy"] > s["eval/none/val_accuracy"] + 0.03, name
    assert s["eval/dropout=0.5/gap"] < s["eval/none/gap"]
    assert s["eval/crop=1/gap"] < s["eval/none/gap"] - 0.15  # shifted copies cannot all be memorised
    assert s["eval/l2=0.1/train_accuracy"] < 0.5  # far too much: underfitting
    rows = json.loads((s["_dir"] / "media" / "verdicts.json").read_text())
    verdict = {r["variant"]: r["verdict"] for r in rows}
    assert verdict["none"].startswith("big gap") and verdict["l2=0.1"].startswith("low training accuracy")


def test_regularization_resume_equals_uninterrupted(tmp_path):
    common = BASE + ["eval_every=6", "l2=0,0.01", "dropout=0.5"]
    run("regularization", common + ["steps=12", f"run_dir={tmp_path / 'a'}"], quiet=True)
    run("regularization", common + ["steps=6", f"run_dir={tmp_path / 'b'}"], quiet=True)
    (tmp_path / "b" / "summary.json").unlink()
    resume(tmp_path / "b", ["steps=12"], quiet=True)
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "latest.pt")["state"]
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "latest.pt")["state"]
    assert a["step"] == b["step"] == 12 and a["history"] == b["history"]
    for name in a["models"]:
        for k, v in a["models"][name].items():
            assert torch.equal(v, b["models"][name][k]), (name, k)


@pytest.fixture(scope="module")
def bn_run(tmp_path_factory):
    return _run(tmp_path_factory, "batchnorm", "eval_every=200")


def test_batchnorm_makes_training_independent_of_the_init(bn_run):
    s = bn_run
    assert s["eval/small/act_std_last"] < 1e-6 and s["eval/small+bn/act_std_last"] > 0.3
    assert s["eval/small/accuracy"] < 0.2 and s["eval/small+bn/accuracy"] >= 0.8
    assert s["eval/xavier+bn/accuracy"] >= 0.9 and s["eval/xavier/accuracy"] >= 0.9


@pytest.fixture(scope="module")
def hp_run(tmp_path_factory):
    return _run(tmp_path_factory, "hparam-search", "steps=100")  # stops by itself after 30 trials


def test_hparam_search_coarse_to_fine(hp_run):
    s = hp_run
    assert s["steps"] == 30 and s["eval/trials"] == 30
    assert 1e-5 <= s["eval/fine_lr_min"] < s["eval/fine_lr_max"] <= 10.0
    assert 1e-6 <= s["eval/fine_reg_min"] < s["eval/fine_reg_max"] <= 1.0
    assert (s["eval/fine_lr_max"] / s["eval/fine_lr_min"]) < 1e6 / 100  # narrower than the coarse range
    assert s["eval/fine_median"] > s["eval/coarse_median"] + 0.2  # the refined region is better
    assert s["eval/fine_best"] >= s["eval/coarse_best"]  # and longer trials there do better still
    assert s["eval/val_accuracy"] >= 0.93
    rows = json.loads((s["_dir"] / "media" / "trials.json").read_text())
    too_low = [r["val_accuracy"] for r in rows if r["lr"] < 1e-4]
    too_high = [r["val_accuracy"] for r in rows if r["lr"] > 1.0]
    assert too_low and max(too_low) < 0.3  # the loss barely moves in a short trial
    assert too_high and max(too_high) < s["eval/val_accuracy"] - 0.2
    assert s["eval/fine_lr_min"] <= s["eval/best_lr"] <= s["eval/fine_lr_max"] or any(
        r["stage"] == "coarse" and r["lr"] == s["eval/best_lr"] for r in rows)


def test_train_trial_is_a_usable_function():
    from gymlab.runners.experiments.lessons import train_trial

    good = train_trial(0.05, 1e-4, 2, seed=0)
    bad = train_trial(50.0, 0.0, 1, seed=0)
    assert good["val_accuracy"] > 0.85 and not good["diverged"]
    assert bad["diverged"] and bad["val_accuracy"] == 0.1


def test_bad_lists_are_one_line_errors(tmp_path):
    with pytest.raises(GymlabError, match="valid: small, xavier, he, big"):
        run("init-activations", BASE + [f"out={tmp_path}", "inits=tiny"], quiet=True)
    with pytest.raises(GymlabError, match="valid: sgd"):
        run("optimizers", BASE + [f"out={tmp_path}", "optimizers=lbfgs"], quiet=True)
