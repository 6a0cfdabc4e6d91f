"""Config groups (optim.*, data.*, agent.*) and the spellings that keep working (issue 13)."""
from dataclasses import dataclass

import pytest

from gymlab.runners import config
from gymlab.runners.checkpoint import fingerprint
from gymlab.runners.config import DataConfig, OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError


@dataclass
class Demo(RunConfig):
    batch_size: int = 64
    data: DataConfig = group(DataConfig)
    optim: OptimConfig = group(OptimConfig, name="momentum", lr=0.05)


def test_group_defaults_are_the_configs_own():
    cfg = Demo()
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == ("momentum", 0.05, 0.9)
    assert Demo().optim is not cfg.optim  # a fresh group per instance


def test_short_spellings_reach_the_dotted_keys():
    cfg = config.build(Demo, ["lr=0.1", "data=mnist", "optimizer=adam", "data_root=/data", "max_train=7",
                              "optim.schedule=step"])
    assert (cfg.optim.lr, cfg.optim.name, cfg.optim.schedule) == (0.1, "adam", "step")
    assert (cfg.data.name, cfg.data.root, cfg.data.max_train) == ("mnist", "/data", 7)


def test_a_saved_flat_config_loads_nested():
    cfg = config.build(Demo, [], base={"lr": 0.3, "data": "mnist", "optimizer": "sgd", "seed": 3})
    assert (cfg.optim.lr, cfg.optim.name, cfg.data.name, cfg.seed) == (0.3, "sgd", "mnist", 3)


@pytest.mark.parametrize("override, message", [
    ("optimizer=lbfgs", "bad value for 'optim.name': 'lbfgs'; valid: sgd, momentum, nesterov, adagrad, rmsprop, adam"),
    ("optim.schedule=cosine", "bad value for 'optim.schedule': 'cosine'; valid: none, step, plateau"),
    ("lrate=1", "unknown key 'lrate'"),
])
def test_bad_values_are_one_line(override, message):
    with pytest.raises(GymlabError) as e:
        config.build(Demo, [override])
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_show_prints_each_group_key_with_its_help():
    text = config.annotated_yaml(Demo)
    assert "optim:\n  name: momentum  # the update rule" in text and "  lr: 0.05  # learning rate" in text


def test_a_key_moved_into_a_group_keeps_its_fingerprint():
    flat = {"seed": 0, "lr": 0.1, "optimizer": "adam", "data": "mnist", "data_root": "/a", "batch_size": 64}
    nested = {"seed": 0, "optim": {"lr": 0.1, "name": "adam"}, "data": {"name": "mnist", "root": "/b"},
              "batch_size": 64}
    assert fingerprint(flat) == fingerprint(nested)
    assert fingerprint(nested) != fingerprint({**nested, "optim": {"lr": 0.2, "name": "adam"}})
