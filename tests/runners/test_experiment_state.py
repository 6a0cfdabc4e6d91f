"""Experiment gathers its checkpoint state, and refuses state that does not fit it (issue 13)."""
from pathlib import Path

import pytest
import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Context, Experiment


class Tiny(Experiment):
    def setup(self, cfg, ctx):
        torch.manual_seed(0)
        self.model = torch.nn.Linear(3, 2)
        self.opt = torch.optim.Adam(self.model.parameters(), 0.1)
        self.gen = torch.Generator().manual_seed(1)
        self.step = 0

    def train_step(self):
        loss = self.model(torch.randn(4, 3, generator=self.gen)).pow(2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"train/loss": loss.item()}

    def evaluate(self):
        return {}


def _made(steps=0):
    e = Tiny()
    e.setup(None, Context(torch.device("cpu"), 0, Path("."), lambda d: None))
    for _ in range(steps):
        e.train_step()
    return e


def test_gathered_state_resumes_exactly():
    a = _made(3)
    b = _made()
    b.load_state_dict(a.state_dict())
    assert sorted(a.state_dict()) == ["gen", "model", "opt", "step"] and b.step == 3
    assert a.train_step() == b.train_step()


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_state_of_another_version_is_refused_in_one_line(change):
    state = _made(1).state_dict()
    if change == "extra":
        state["G"] = state["model"]
    else:
        del state["opt"]
    with pytest.raises(GymlabError) as e:
        _made().load_state_dict(state)
    msg = str(e.value)
    assert "\n" not in msg and "does not fit Tiny" in msg and ("G" if change == "extra" else "opt") in msg
