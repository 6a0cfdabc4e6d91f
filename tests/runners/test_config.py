import pytest

from gymlab.runners import config, registry
from gymlab.runners.errors import GymlabError


def cfg_cls():
    return registry.get("softmax").config_cls


def test_overrides_are_typed_and_dotted():
    c = config.build(cfg_cls(), ["lr=0.25", "steps=7", "logger.mode=offline", "epochs=1.5", "device=cpu"])
    assert c.lr == 0.25 and c.steps == 7 and c.logger.mode == "offline" and c.epochs == 1.5
    assert isinstance(c.steps, int)


@pytest.mark.parametrize("item, message", [
    ("foo=1", "unknown key 'foo'"),
    ("lrr=1", "did you mean 'lr'"),
    ("lr=abc", "bad value for 'lr'"),
    ("steps=1.5", "bad value for 'steps'"),
    ("logger.mode=loud", "valid: online, offline, disabled"),
    ("lr", "expected key=value"),
])
def test_bad_overrides_are_one_line_errors_naming_valid_keys(item, message):
    with pytest.raises(GymlabError) as err:
        config.build(cfg_cls(), [item])
    text = str(err.value)
    assert message in text and "\n" not in text
    if "mode" not in item:
        assert "valid keys: seed" in text and "logger.mode" in text


def test_unknown_experiment_suggests_and_lists():
    with pytest.raises(GymlabError, match=r"unknown experiment 'sofmax' \(did you mean 'softmax'\?\); valid: .*softmax"):
        registry.get("sofmax")


def test_saved_config_round_trips():
    c = config.build(cfg_cls(), ["lr=0.125", "logger.tags=[a,b]"])
    again = config.build(cfg_cls(), [], base=config.to_dict(c))
    assert again == c
