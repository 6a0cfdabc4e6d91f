"""The keys a user sets on both sides of a comparison have the same names: ``learning_rate`` (SB3's)
and ``lr`` (ours) are accepted by our agents and by the sb3-* experiments alike (into the group ``agent``)."""
import pytest

from gymlab.runners.config import build
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.rl.deep_rl import ActorCriticExperiment, DQNExperiment, PPOExperiment
from gymlab.runners.experiments.rl.sb3 import SB3A2C, SB3DQN, SB3PPO


@pytest.mark.parametrize("ours", [PPOExperiment, ActorCriticExperiment, DQNExperiment], ids=lambda c: c.__name__)
def test_learning_rate_and_lr_on_both_sides(ours):
    for key in ("lr", "learning_rate"):
        assert build(ours.Config, [f"{key}=0.0007"]).agent.lr == 0.0007
    for sb3 in (SB3PPO, SB3A2C, SB3DQN):
        for key in ("lr", "learning_rate"):
            assert build(sb3.Config, [f"{key}=0.0007"]).agent.learning_rate == 0.0007
    with pytest.raises(GymlabError, match="unknown key 'learnin_rate'"):
        build(ours.Config, ["learnin_rate=0.1"])
