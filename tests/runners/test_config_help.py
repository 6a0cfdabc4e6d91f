"""Each key's help text, from the comment after its field, printed by `gymlab show` (issue 13)."""
import subprocess
import sys
from dataclasses import dataclass, field

import yaml

from gymlab.runners.config import RunConfig, annotated_yaml, field_help


@dataclass
class _Group:
    width: int = 3  # the group's width


@dataclass
class _Cfg(RunConfig):
    rate: float = 0.1  # the rate, "with # inside quotes" is fine
    plain: int = 2
    group: _Group = field(default_factory=_Group)
    text: str = "a # not a comment"  # the text


def test_field_help_reads_comments_of_fields_and_nested_groups():
    h = field_help(_Cfg)
    assert h["rate"] == 'the rate, "with # inside quotes" is fine'
    assert h["group.width"] == "the group's width" and h["text"] == "the text"
    assert "plain" not in h and h["logger.mode"].startswith("online | offline | disabled")


def test_annotated_yaml_is_the_same_yaml_with_comments():
    text = annotated_yaml(_Cfg)
    assert yaml.safe_load(text)["text"] == "a # not a comment" and yaml.safe_load(text)["group"] == {"width": 3}
    assert "  width: 3  # the group's width" in text.splitlines()


def test_show_prints_help(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gymlab.runners.cli", "show", "ppo"], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path).stdout
    assert "env: CartPole-v1  # any id gymnasium.make accepts" in out
    assert "  mode: null  # online | offline | disabled" in out
